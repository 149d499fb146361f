/**
 * Fixture charts of our own (test/fixtures/charts/) as a chart cache, and the add-on descriptor
 * that installs `fixture-app` through the same code path as the platform's add-ons.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { HelmAddOn } from '../../lib/addons/addon';
import { namespacePeer, podsPeer, tcp } from '../../lib/constructs/network-policy';
import { HelmResources } from '../../lib/constructs/resources';
import { row, sized } from '../../lib/footprint';
import { CRD, RBAC } from '../../lib/gitops/helm-scope';
import { KPS } from '../../lib/addons/kube-prometheus-stack';

export const FIXTURE_CHART_DIR = path.join(__dirname, '..', 'fixtures', 'charts', 'fixture-app');
export const FIXTURE_REPO = 'https://charts.fixtures.platform.io';
export const FIXTURE_PORT = 8080;

/** What an upgrade changes in the fixture chart: its version, the default image tag, and one new template. */
export interface FixtureVersion {
  readonly version: string;
  readonly imageTag?: string;
  /** Extra template files (name → text). */
  readonly templates?: Record<string, string>;
}

/** A copy of the fixture chart at `v` in a temporary folder (the committed chart is 1.0.0). */
export function fixtureChartAt(v: FixtureVersion): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fixture-chart-')), 'fixture-app');
  fs.cpSync(FIXTURE_CHART_DIR, dir, { recursive: true });
  const chart = yaml.load(fs.readFileSync(path.join(dir, 'Chart.yaml'), 'utf8')) as any;
  fs.writeFileSync(path.join(dir, 'Chart.yaml'), yaml.dump({ ...chart, version: v.version, appVersion: v.imageTag ?? chart.appVersion }));
  if (v.imageTag) {
    const values = yaml.load(fs.readFileSync(path.join(dir, 'values.yaml'), 'utf8')) as any;
    fs.writeFileSync(path.join(dir, 'values.yaml'), yaml.dump({ ...values, image: { ...values.image, tag: v.imageTag } }));
  }
  for (const [name, text] of Object.entries(v.templates ?? {})) fs.writeFileSync(path.join(dir, 'templates', name), text);
  return dir;
}

/** `helm package` of each version into `cacheDir` (created when missing): `fixture-app-<version>.tgz`. */
export function packageFixtures(helm: string, cacheDir: string, versions: FixtureVersion[]): string {
  fs.mkdirSync(cacheDir, { recursive: true });
  for (const v of versions) {
    const run = spawnSync(helm, ['package', fixtureChartAt(v), '--destination', cacheDir], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`helm package failed: ${run.stderr}`);
  }
  return cacheDir;
}

export interface FixtureValues {
  readonly replicas: number;
  readonly resources: HelmResources;
  readonly migration: { readonly resources: HelmResources };
  /** The subchart's values, under its name. */
  readonly 'fixture-worker': { readonly enabled: boolean; readonly resources: HelmResources };
}

export const FIXTURE_RESOURCES: HelmResources = { requests: { cpu: '25m', memory: '48Mi' }, limits: { memory: '96Mi' } };
export const FIXTURE_APP_PODS = { 'app.kubernetes.io/name': 'fixture-app', 'app.kubernetes.io/instance': 'fixture' };
export const FIXTURE_WORKER_PODS = { 'app.kubernetes.io/name': 'fixture-worker', 'app.kubernetes.io/instance': 'fixture' };

/**
 * The fixture chart as a CRD-bearing add-on of the edge chart, in the edge namespace (restricted,
 * default-deny): Prometheus and the worker reach the app on 8080, the worker reaches nothing else.
 */
export function fixtureAddOn(version = '1.0.0', values: Partial<FixtureValues> = {}): HelmAddOn<FixtureValues> {
  const addOn: HelmAddOn<FixtureValues> = {
    id: 'fixture', host: 'edge', repo: FIXTURE_REPO, chart: 'fixture-app', version, releaseName: 'fixture',
    namespace: (config) => config.namespaces.edge,
    crdGroups: ['fixtures.platform.io'], clusterKinds: [CRD, ...RBAC], extraNamespaces: [],
    pods: { app: { labels: FIXTURE_APP_PODS, ports: { http: FIXTURE_PORT } }, worker: { labels: FIXTURE_WORKER_PODS, ports: {} } },
    footprint: (v, _n, at) => [row('app', v.replicas, [sized(at('resources'), v.resources)]), row('worker', 1, [sized(at('fixture-worker.resources'), v['fixture-worker'].resources)])],
    values: () => ({ replicas: 2, resources: FIXTURE_RESOURCES, migration: { resources: FIXTURE_RESOURCES }, 'fixture-worker': { enabled: true, resources: FIXTURE_RESOURCES }, ...values }),
    flows: ({ config }) => [
      { name: 'fixture-app', podLabels: { ...FIXTURE_APP_PODS }, ingress: [{ peers: [namespacePeer(config.namespaces.monitoring, { ...KPS.prometheus.pods }), podsPeer(FIXTURE_WORKER_PODS)], ports: tcp(FIXTURE_PORT) }] },
      { name: 'fixture-worker', podLabels: { ...FIXTURE_WORKER_PODS }, egress: [{ peers: [podsPeer(FIXTURE_APP_PODS)], ports: tcp(FIXTURE_PORT) }] },
    ],
  };
  return addOn;
}
