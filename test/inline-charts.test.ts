/**
 * `helm.render: inline` with the real helm binary, offline, on a chart of our own
 * (test/fixtures/charts/fixture-app) packaged into a temporary chart cache: CRDs from crds/, a
 * hook, Capabilities.APIVersions checks, namespaced and cluster-scoped objects, a subchart and a
 * values schema. The add-on goes through the platform's own path (descriptor → installAddOn →
 * HelmRelease → dist/), and its output is checked by the same consumers as our objects: strict
 * validation, the network matrix, the footprint, the Argo CD order and `npm run diff`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { installAddOn } from '../lib/addons/addon';
import { builtInApiVersions } from '../lib/addons/inline';
import { CHART_LOCK_FILE, sha256File, writeLock } from '../lib/addons/chart-cache';
import { ADD_ONS } from '../lib/addons/registry';
import { KPS } from '../lib/addons/kube-prometheus-stack';
import { ConfigError } from '../lib/config/errors';
import { footprint } from '../lib/footprint';
import { argoSyncOrder } from '../lib/gitops/argo-order';
import { diffDist, formatMarkdown } from '../lib/gitops/dist-diff';
import { chartWave, CRD_ADDONS } from '../lib/gitops/sync-order';
import { Manifests, renderPlatform, writeManifests } from '../lib/synth';
import { validateDist } from '../lib/validation/validate-dist';
import { NetworkModel, selects, workloadEndpoints } from '../lib/validation/reachability';
import { referenceDir } from '../lib/project';
import { Platform } from '../charts/platform';
import { helmBinary } from '../lib/helm-binary';
import { PRODUCES_SECRETS_ANNOTATION, producedSecrets, unproducedSecrets } from '../lib/gitops/secret-producers';
import { describeWithPrograms } from './helpers/real-programs';
import { configFor } from './helpers/platform';
import { FIXTURE_APP_PODS, FIXTURE_PORT, FIXTURE_RESOURCES, FIXTURE_WORKER_PODS, fixtureAddOn, FixtureValues, packageFixtures } from './helpers/chart-fixtures';
import * as yaml from 'js-yaml';

const helm = helmBinary();
const UPGRADE = {
  version: '1.1.0', imageTag: '1.1.0',
  templates: { 'configmap.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\ndata:\n  feature: "on"\n' },
};

/** prod with the fixture add-on inline (every other add-on stays an Application) and `cache` as chart cache. */
const inlineConfig = (cache: string, helmOverrides: Record<string, unknown> = {}) =>
  configFor('prod', { helm: { addOns: { fixture: { render: 'inline' } }, chartCache: cache, ...helmOverrides } });

const render = (cache: string, version = '1.0.0', values: Partial<FixtureValues> = {}): Manifests =>
  renderPlatform(new Platform(inlineConfig(cache), { addOns: [...ADD_ONS, fixtureAddOn(version, values)] }));

const parse = (files: Manifests) => [...files].map(([file, text]) => ({ file, chart: file.split('/')[1], object: yaml.load(text) as any }));

describeWithPrograms('GIVEN a chart cache holding the fixture chart and prod rendering that add-on inline', { helm }, () => {
  let cache: string;
  let files: Manifests;
  let objects: { file: string; chart: string; object: any }[];
  const folder = () => objects.filter((o) => o.chart === 'fixture').map((o) => o.object);
  const get = (kind: string, name: string) => {
    const found = folder().filter((o) => o.kind === kind && o.metadata.name === name);
    if (found.length !== 1) throw new Error(`expected one ${kind} ${name} in prod/fixture, found ${found.length}`);
    return found[0];
  };

  beforeAll(() => {
    cache = packageFixtures(helm!, fs.mkdtempSync(path.join(os.tmpdir(), 'chart-cache-')), [{ version: '1.0.0' }, UPGRADE]);
    files = render(cache);
    objects = parse(files);
  });

  test('THEN the chart\'s objects land in dist/prod/fixture/, namespaced ones in the release namespace, cluster-scoped ones without', () => {
    const kinds = folder().map((o) => `${o.kind} ${o.metadata.namespace ?? '-'}/${o.metadata.name}`).sort();
    expect(kinds).toEqual([
      'ClusterRole -/fixture-app', 'ClusterRoleBinding -/fixture-app', 'CustomResourceDefinition -/gadgets.fixtures.platform.io',
      'Deployment edge/fixture-app', 'Deployment edge/fixture-worker', 'Job edge/fixture-app-migrate', 'PodDisruptionBudget edge/fixture-app',
      'Service edge/fixture-app', 'ServiceAccount edge/fixture-app', 'ServiceMonitor edge/fixture-app',
    ]);
    // The subchart renders with its values from ours; the helm test pod is not part of an install.
    expect(get('Deployment', 'fixture-worker').spec.template.spec.containers[0].resources).toEqual(FIXTURE_RESOURCES);
    expect(objects.some((o) => o.object.kind === 'Pod')).toBe(false);
    expect(get('Deployment', 'fixture-app').spec.replicas).toBe(2);
  });

  test('THEN the Helm hook is an Argo CD PreSync hook with its weight as wave and its delete policy, and no Helm hook annotation is left', () => {
    expect(get('Job', 'fixture-app-migrate').metadata.annotations).toEqual({
      'argocd.argoproj.io/hook': 'PreSync', 'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation,HookSucceeded', 'argocd.argoproj.io/sync-wave': '-5',
    });
    expect(JSON.stringify(folder())).not.toContain('helm.sh/hook');
  });

  test('THEN Capabilities.APIVersions sees the built-in policy/v1 and the ServiceMonitor kube-prometheus-stack installs', () => {
    expect(get('PodDisruptionBudget', 'fixture-app').apiVersion).toBe('policy/v1');
    expect(get('ServiceMonitor', 'fixture-app').apiVersion).toBe('monitoring.coreos.com/v1');
  });

  test('THEN the CRD syncs server-side, and the folder has its Application at the CRD add-ons\' wave instead of a Helm Application', () => {
    expect(get('CustomResourceDefinition', 'gadgets.fixtures.platform.io').metadata.annotations['argocd.argoproj.io/sync-options']).toBe('ServerSideApply=true');
    const apps = objects.filter((o) => o.object.kind === 'Application').map((o) => o.object);
    const app = apps.find((a) => a.metadata.name === 'fixture');
    expect(app.spec.source).toEqual({ repoURL: 'https://github.com/example/platform.git', targetRevision: 'main', path: 'dist/prod/fixture' });
    expect(app.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe(String(chartWave(CRD_ADDONS)));
    expect(apps.filter((a) => a.spec.source?.chart === 'fixture-app')).toEqual([]);
    // The other add-ons stay Applications rendered by Argo CD.
    expect(apps.filter((a) => a.spec.source?.chart).map((a) => a.spec.source.chart).sort()).toEqual(ADD_ONS.map((a) => a.chart).sort());
  });

  test('THEN the AppProject allows the chart\'s cluster-scoped kinds, read from the rendered objects', () => {
    const project = objects.find((o) => o.object.kind === 'AppProject')!.object;
    expect(project.spec.clusterResourceWhitelist).toEqual(expect.arrayContaining([
      { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' }, { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' },
    ]));
  });

  test('THEN every object of dist/ passes strict validation against Kubernetes 1.28 and 1.33', () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'inline-dist-')), 'dist');
    writeManifests(files, dir);
    const report = validateDist(dir, referenceDir());
    expect(report.problems).toEqual([]);
    expect(report.objects).toBe(files.size);
  });

  test('THEN the footprint reads the rendered pods\' requests (not the values model) and counts the hook as transient', () => {
    const f = footprint(objects, inlineConfig(cache), [...ADD_ONS, fixtureAddOn()]);
    const rows = f.rows.filter((r) => r.chart === 'fixture');
    expect(rows.map((r) => [r.workload, r.pods, r.cpu, r.memory, r.transient, r.source]).sort()).toEqual([
      ['Deployment/fixture-app', 2, 0.025, 48 * 2 ** 20, false, 'object'],
      ['Deployment/fixture-worker', 1, 0.025, 48 * 2 ** 20, false, 'object'],
      ['Job/fixture-app-migrate', 1, 0.025, 48 * 2 ** 20, true, 'object'],
    ]);
    expect(f.rows.filter((r) => r.workload.startsWith('fixture/'))).toEqual([]);
  });

  test('THEN the descriptor\'s NetworkPolicies select the rendered pods, and the matrix admits exactly Prometheus and the worker', () => {
    const all = objects.map((o) => o.object);
    const pods = workloadEndpoints(folder());
    const policies = all.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.name.startsWith('fixture-'));
    expect(policies).toHaveLength(2);
    for (const p of policies) expect(pods.filter((e) => e.namespace === p.metadata.namespace && selects(p.spec.podSelector, e.labels)).length).toBeGreaterThan(0);
    const model = new NetworkModel(all);
    const app = pods.find((e) => e.name === 'fixture-app')!;
    const worker = pods.find((e) => e.name === 'fixture-worker')!;
    const prometheus = { name: 'prometheus', namespace: 'monitoring', labels: { ...KPS.prometheus.pods } };
    const web = workloadEndpoints(all).find((e) => e.name === 'web')!;
    expect(app.labels).toMatchObject(FIXTURE_APP_PODS);
    expect(worker.labels).toMatchObject(FIXTURE_WORKER_PODS);
    expect(model.allows(prometheus, app, FIXTURE_PORT)).toBe(true);
    expect(model.allows(worker, app, FIXTURE_PORT)).toBe(true);
    expect(model.allows(web, app, FIXTURE_PORT)).toBe(false);
    expect(model.allows(app, worker, FIXTURE_PORT)).toBe(false);
    expect(model.allows(worker, web, 3001)).toBe(false);
  });

  test('THEN Argo CD\'s order syncs the folder after base and before the secrets, the hook first, the CRD before the custom resources', () => {
    const order = argoSyncOrder(objects).filter((o) => o.application === 'fixture' || o.application === 'base' || o.application === 'secrets');
    const at = (pred: (o: any) => boolean) => order.findIndex((o) => pred(o.object));
    const fixture = order.filter((o) => o.application === 'fixture');
    expect(new Set(fixture.map((o) => o.applicationWave))).toEqual(new Set([chartWave(CRD_ADDONS)]));
    expect(at((o) => o.kind === 'Namespace')).toBeLessThan(at((o) => o.kind === 'Job' && o.metadata.name === 'fixture-app-migrate'));
    expect(fixture[0].object.kind).toBe('Job');
    expect(fixture.findIndex((o) => o.object.kind === 'CustomResourceDefinition')).toBeLessThan(fixture.findIndex((o) => o.object.kind === 'ServiceMonitor'));
  });

  test('WHEN the fixture chart is upgraded to 1.1.0 THEN npm run diff\'s report lists exactly the changed objects of that folder', () => {
    const after = render(cache, '1.1.0');
    const changes = diffDist(files, after);
    expect(changes.map((c) => `${c.status} ${c.kind} ${c.id} (${c.chart})`).sort()).toEqual([
      'added ConfigMap edge/fixture-settings (fixture)',
      'changed ClusterRole fixture-app (fixture)', 'changed ClusterRoleBinding fixture-app (fixture)',
      'changed Deployment edge/fixture-app (fixture)', 'changed Job edge/fixture-app-migrate (fixture)',
      'changed PodDisruptionBudget edge/fixture-app (fixture)', 'changed Service edge/fixture-app (fixture)',
      'changed ServiceAccount edge/fixture-app (fixture)', 'changed ServiceMonitor edge/fixture-app (fixture)',
    ].sort());
    const deployment = changes.find((c) => c.kind === 'Deployment')!;
    expect(deployment.patch).toContain('-        - image: registry.example.com/fixture-app:1.0.0\n+        - image: registry.example.com/fixture-app:1.1.0');
    const md = formatMarkdown(changes, { base: '`main` (abc1234)', envs: ['prod'] });
    expect(md).toContain('| prod | 1 | 8 | 0 |');
    expect(md).toContain('<code>edge/fixture-app</code> (changed, fixture)');
  });

  test('WHEN a value breaks the chart\'s values.schema.json THEN the synth fails naming the release and helm\'s reason', () => {
    expect(() => render(cache, '1.0.0', { replicas: 0 })).toThrow(/HelmRelease fixture: helm template of fixture-app 1\.0\.0 failed: .*- replicas: Must be greater than or equal to 1/s);
  });

  test('WHEN the pinned version is not in the cache THEN the synth fails with the key, its value and the command to run', () => {
    let error: unknown;
    try {
      render(cache, '2.0.0');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('helm.addOns.fixture.render = "inline": chart fixture-app 2.0.0 (https://charts.fixtures.platform.io) is not in the chart cache');
    expect((error as Error).message).toContain('fix: run `npm run charts:pull`');
  });

  test('WHEN an archive differs from the sha256 charts.lock.json recorded THEN the synth refuses it', () => {
    const tampered = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-cache-'));
    fs.copyFileSync(path.join(cache, 'fixture-app-1.0.0.tgz'), path.join(tampered, 'fixture-app-1.0.0.tgz'));
    writeLock(tampered, [{ repo: 'x', chart: 'fixture-app', version: '1.0.0', file: 'fixture-app-1.0.0.tgz', sha256: sha256File(path.join(cache, 'fixture-app-1.1.0.tgz')), verified: 'test' }]);
    expect(fs.existsSync(path.join(tampered, CHART_LOCK_FILE))).toBe(true);
    expect(() => render(tampered)).toThrow(/does not match the sha256 in charts.lock.json/);
  });

  test('WHEN the descriptor names a Secret its hook Job creates at run time THEN the Job is marked as its producer and the secret checks count it as produced', () => {
    const scope = Testing.chart();
    const withSecret = { ...fixtureAddOn(), runtimeSecrets: [{ name: 'fixture-token', producer: { kind: 'Job', name: 'fixture-app-migrate' } }] };
    const release = installAddOn(scope, 'edge', withSecret, { config: inlineConfig(cache) }, ['fixtures.platform.io']);
    const job = release.renderedObjects.find((o) => o.kind === 'Job')!.toJson();
    expect(job.metadata.annotations[PRODUCES_SECRETS_ANNOTATION]).toBe('fixture-token');
    const reader = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'reader', namespace: 'edge' }, spec: { template: { spec: { containers: [{ name: 'c', env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'fixture-token', key: 'token' } } }] }] } } } };
    expect(unproducedSecrets([job, reader])).toEqual([]);
    expect(producedSecrets([job]).map((p) => `${p.namespace}/${p.name} by ${p.by}`)).toContain('edge/fixture-token by Job edge/fixture-app-migrate');
    // Without the descriptor's entry the same reader reads a Secret nothing produces.
    const plain = installAddOn(Testing.chart(), 'edge', fixtureAddOn(), { config: inlineConfig(cache) }, ['fixtures.platform.io']).renderedObjects.find((o) => o.kind === 'Job')!.toJson();
    expect(unproducedSecrets([plain, reader]).map((m) => m.name)).toEqual(['fixture-token']);
  });

  test('WHEN a runtime Secret\'s producer is not rendered by the chart THEN the synth fails naming the producer, the Secret and where to fix it', () => {
    const wrong = { ...fixtureAddOn(), runtimeSecrets: [{ name: 'fixture-token', producer: { kind: 'Job', name: 'fixture-app-init' } }] };
    expect(() => installAddOn(Testing.chart(), 'edge', wrong, { config: inlineConfig(cache) }, ['fixtures.platform.io']))
      .toThrow('add-on fixture: chart fixture-app 1.0.0 renders no Job fixture-app-init, which runtimeSecrets names as the creator of Secret fixture-token; fix: find what creates fixture-token in this chart version and correct runtimeSecrets of the fixture descriptor in lib/addons/');
  });

  test('WHEN helm.kubeVersion is newer than every reference schema (1.34.2) THEN the chart renders for it with the newest built-in API list not newer (1.33)', () => {
    const release = installAddOn(Testing.chart(), 'edge', fixtureAddOn(), { config: inlineConfig(cache, { kubeVersion: '1.34.2' }) }, ['fixtures.platform.io']);
    expect(release.renderedObjects.find((o) => o.kind === 'PodDisruptionBudget')?.apiVersion).toBe('policy/v1');
    expect(builtInApiVersions('1.34.2')).toEqual(builtInApiVersions('1.33.0'));
    expect(builtInApiVersions('1.27.0')).toBeUndefined();
  });

  test('WHEN kube-prometheus-stack is not among the add-ons THEN the chart sees no ServiceMonitor API and renders none', () => {
    const scope = Testing.chart();
    const config = inlineConfig(cache);
    const without = installAddOn(scope, 'edge', fixtureAddOn(), { config }, ['fixtures.platform.io']);
    const kinds = without.renderedObjects.map((o) => o.kind);
    expect(kinds).not.toContain('ServiceMonitor');
    expect(kinds).toContain('PodDisruptionBudget');
  });
});

describe('GIVEN a Helm render mode in the config', () => {
  test('WHEN it is not a known mode THEN the config names the key, the value and the modes', () => {
    expect(() => configFor('prod', { helm: { render: 'helmfile' } })).toThrow(/helm\.render = "helmfile": must be "application" or "inline"; fix:/);
    expect(() => configFor('prod', { helm: { addOns: { traefik: { render: 'argo' } } } })).toThrow(/helm\.addOns\.traefik\.render = "argo": must be "application" or "inline"/);
  });

  test('WHEN helm.addOns names no add-on THEN the synth fails before rendering, listing the ids', () => {
    expect(() => new Platform(configFor('prod', { helm: { addOns: { trafik: { render: 'inline' } } } })))
      .toThrow(/helm\.addOns\.trafik = \{"render":"inline"\}: names no Helm add-on; fix: use the id of one of traefik, cert-manager/);
  });

  test('WHEN every add-on is inline and the cache is empty THEN the first add-on fails with the command to run', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-cache-'));
    expect(() => new Platform(configFor('prod', { helm: { render: 'inline', chartCache: empty } })))
      .toThrow(/helm\.render = "inline": chart traefik 41\.3\.0 \(https:\/\/traefik\.github\.io\/charts\) is not in the chart cache .*; fix: run `npm run charts:pull`/);
  });
});
