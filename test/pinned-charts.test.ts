/**
 * The exact pinned charts (../shared/reference/charts, packed from the upstream tags) served as a
 * Helm repository on loopback and pulled by `npm run charts:pull`'s code (helm pull, digest checked
 * against the served index.yaml, lock written), then every bundled environment synthesized with
 * every add-on `inline` and as `application`s, and each dist/ held to what CI holds dist/ to:
 * strict validation (`npm run validate`'s validateDist), the synth's own checks (secret
 * declarations, no Secret with data, requests and limits on every pod: the footprint budget), the
 * network matrix on the charts' real pods, and the supported Kubernetes versions re-derived from
 * the charts (lib/addons/kubernetes.ts).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { HelmAddOn } from '../lib/addons/addon';
import { readLock } from '../lib/addons/chart-cache';
import { compareKube, constraintMinimum, KUBERNETES_FEATURES, newestKube, OWN_OBJECTS_MINIMUM } from '../lib/addons/kubernetes';
import { ADD_ONS } from '../lib/addons/registry';
import { certManager } from '../lib/addons/cert-manager';
import { ROLE_LABEL } from '../lib/services/postgres/patroni';
import { ConfigError } from '../lib/config/errors';
import { DEFAULTS } from '../lib/config/defaults';
import { SUPPORTED_KUBERNETES } from '../lib/config/helm';
import { listEnvironments, loadConfig } from '../lib/config/load';
import { PlatformConfig } from '../lib/config/schema';
import { assertBudget, footprint } from '../lib/footprint';
import { helmBinary } from '../lib/helm-binary';
import { referenceDir } from '../lib/project';
import { renderPlatform, writeManifests } from '../lib/synth';
import { Endpoint, NetworkModel, selects, workloadEndpoints } from '../lib/validation/reachability';
import { loadCatalog } from '../lib/validation/schema-catalog';
import { validateDist } from '../lib/validation/validate-dist';
import { validateObject } from '../lib/validation/validate-object';
import { Platform } from '../charts/platform';
import { pullCharts } from '../scripts/charts-pull';
import { ChartRepo, serveChartRepo } from '../scripts/lab/chart-repo';
import { docFiles } from './helpers/docs';
import { configFor } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const helm = helmBinary();
const CHARTS_DIR = path.join(referenceDir(), 'charts');
/** The team's own environments (lib/config/environments): each must synthesize in both modes. */
const ENVIRONMENTS = listEnvironments();
/** Descriptor pods that a controller starts at run time from no rendered template: cert-manager's HTTP-01 solvers (one per challenge). */
const RUNTIME_PODS = ['cert-manager/solver'];
const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'];

type Mode = 'inline' | 'application';
interface Rendered {
  readonly config: PlatformConfig;
  readonly files: Map<string, string>;
  readonly objects: { file: string; chart: string; object: any }[];
  readonly dist: string;
}

function render(env: string, mode: Mode, cache: string): Rendered {
  const loaded = loadConfig(env);
  const config: PlatformConfig = { ...loaded, helm: { ...loaded.helm, render: mode, addOns: {}, chartCache: cache } };
  const files = renderPlatform(new Platform(config));
  const dist = path.join(fs.mkdtempSync(path.join(os.tmpdir(), `pinned-${env}-${mode}-`)), 'dist');
  writeManifests(files, dist);
  const objects = [...files].map(([file, text]) => ({ file, chart: file.split('/')[1], object: yaml.load(text) as any }));
  return { config, files, objects, dist };
}

/**
 * The pods a release's objects run: its workloads' templates, and the pods prometheus-operator makes
 * for a Prometheus or Alertmanager (labels `app.kubernetes.io/name: <kind>` and `<instance>`, plus `podMetadata.labels`).
 */
function releasePods(objects: any[]): Endpoint[] {
  const operated = objects.filter((o) => ['Prometheus', 'Alertmanager'].includes(o.kind) && o.apiVersion.startsWith('monitoring.coreos.com/')).map((o) => ({
    name: `${o.kind.toLowerCase()}-${o.metadata.name}`, namespace: o.metadata.namespace,
    labels: { 'app.kubernetes.io/name': o.kind.toLowerCase(), 'app.kubernetes.io/instance': o.metadata.name, ...(o.spec?.podMetadata?.labels ?? {}) },
  }));
  return [...workloadEndpoints(objects), ...operated];
}

describeWithPrograms('GIVEN the pinned charts served as a Helm repository on loopback and pulled by npm run charts:pull', { helm }, () => {
  let repo: ChartRepo;
  let cache: string;
  let pullProblems: string[];

  beforeAll(async () => {
    repo = await serveChartRepo(CHARTS_DIR);
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'pinned-cache-'));
    pullProblems = await pullCharts(ADD_ONS.map((a) => ({ repo: repo.url, chart: a.chart, version: a.version })), cache, { helm: helm!, log: () => undefined });
  }, 300_000);
  afterAll(() => repo?.stop());

  test('THEN every pinned chart is in the cache, its sha256 equal to the digest the served index.yaml publishes', () => {
    expect(pullProblems).toEqual([]);
    const index = yaml.load(fs.readFileSync(path.join(CHARTS_DIR, 'index.yaml'), 'utf8'), { schema: yaml.FAILSAFE_SCHEMA }) as any;
    const lock = readLock(cache);
    expect(lock.map((e) => e.chart).sort()).toEqual(ADD_ONS.map((a) => a.chart).sort());
    for (const entry of lock) {
      const published = index.entries[entry.chart].find((e: any) => e.version === entry.version || `v${e.version}` === entry.version);
      expect({ chart: entry.chart, sha256: entry.sha256, verified: entry.verified })
        .toEqual({ chart: entry.chart, sha256: published.digest, verified: `sha256 matches the digest in ${repo.url}/index.yaml` });
    }
    expect(repo.requests.filter((r) => !r.startsWith('200 '))).toEqual([]);
  });

  describe.each(ENVIRONMENTS)('WHEN %s is synthesized with every add-on inline and with every add-on as an Application', (env) => {
    const rendered: Partial<Record<Mode, Rendered>> = {};
    const inline = () => rendered.inline!;
    const addOnObjects = (addOn: HelmAddOn) => inline().objects.filter((o) => o.chart === (addOn.host === 'argocd' ? 'argocd' : addOn.id)
      && (addOn.host !== 'argocd' || o.object.metadata?.labels?.['app.kubernetes.io/instance'] === addOn.releaseName)).map((o) => o.object);

    beforeAll(() => {
      // Synth errors (an undeclared Secret, a Secret with data, a chart too new) throw here and fail every test below.
      rendered.inline = render(env, 'inline', cache);
      rendered.application = render(env, 'application', cache);
    }, 600_000);

    test.each(['inline', 'application'] as Mode[])('THEN dist/ (%s) passes npm run validate with 0 problems', (mode) => {
      const report = validateDist(rendered[mode]!.dist, referenceDir());
      expect(report.problems).toEqual([]);
      expect(report.objects).toBe(rendered[mode]!.files.size);
    });

    test('THEN inline, every add-on has its own folder (Argo CD\'s in argocd/), no Helm Application is left, and no Secret carries data', () => {
      const helmApps = inline().objects.filter((o) => o.object.kind === 'Application' && o.object.spec?.source?.chart);
      expect(helmApps).toEqual([]);
      for (const addOn of ADD_ONS) expect({ addOn: addOn.id, objects: addOnObjects(addOn).length > 0 }).toEqual({ addOn: addOn.id, objects: true });
      const secretsWithData = inline().objects.filter((o) => o.object.kind === 'Secret' && (o.object.data || o.object.stringData)).map((o) => o.file);
      expect(secretsWithData).toEqual([]);
    });

    test('THEN inline, every chart pod (hook Jobs too) has CPU and memory requests and a memory limit, read into the footprint, and the budget holds', () => {
      const f = footprint(inline().objects, inline().config, ADD_ONS);
      expect(f.rows.filter((r) => r.source === 'helm')).toEqual([]);
      const rows = new Set(f.rows.map((r) => `${r.chart} ${r.workload}`));
      for (const addOn of ADD_ONS) {
        const folder = addOn.host === 'argocd' ? 'argocd' : addOn.id;
        for (const w of addOnObjects(addOn).filter((o) => WORKLOADS.includes(o.kind))) expect(rows).toContain(`${folder} ${w.kind}/${w.metadata.name}`);
      }
      expect(() => assertBudget(f, inline().config, `${env} inline`)).not.toThrow();
    });

    test('THEN the footprint read from the rendered pods (operator-made Prometheus and Alertmanager pods too) equals the values model of application mode', () => {
      const real = footprint(inline().objects, inline().config, ADD_ONS);
      const model = footprint(rendered.application!.objects, rendered.application!.config, ADD_ONS);
      expect(real.rows.filter((r) => r.workload.startsWith('Prometheus/') || r.workload.startsWith('Alertmanager/')).length).toBe(2);
      expect({ cpu: real.cpu.toFixed(3), memory: real.memory }).toEqual({ cpu: model.cpu.toFixed(3), memory: model.memory });
    });

    test('THEN the network matrix holds on the charts\' real pods: each descriptor\'s pod labels and every NetworkPolicy select rendered pods, and a pod of another namespace reaches none', () => {
      const all = inline().objects.map((o) => o.object);
      const model = new NetworkModel(all);
      const stranger: Endpoint = { name: 'stranger', namespace: 'default', labels: { app: 'stranger' } };
      // The namespaces the platform governs: a default-deny (empty podSelector) for ingress. Not kube-system
      // (k3s's; sealed-secrets and ESO run there) nor argocd (Argo CD's own, made by the bootstrap): no default-deny there.
      const governed = new Set(all.filter((o) => o.kind === 'NetworkPolicy' && Object.keys(o.spec.podSelector ?? {}).length === 0 && (o.spec.policyTypes ?? []).includes('Ingress')).map((o) => o.metadata.namespace));
      expect([...governed]).toEqual(expect.arrayContaining(ADD_ONS.map((a) => a.namespace(inline().config)).filter((n) => !['kube-system', 'argocd'].includes(n))));
      for (const addOn of ADD_ONS) {
        const pods = releasePods(addOnObjects(addOn));
        for (const [component, { labels, ports }] of Object.entries(addOn.pods).filter(([c]) => !RUNTIME_PODS.includes(`${addOn.id}/${c}`))) {
          const selected = pods.filter((p) => selects({ matchLabels: { ...labels } }, p.labels));
          expect({ addOn: addOn.id, component, selects: selected.length > 0 }).toEqual({ addOn: addOn.id, component, selects: true });
          for (const pod of selected.filter((p) => governed.has(p.namespace))) for (const port of Object.values(ports)) expect({ to: `${pod.namespace}/${pod.name}:${port}`, open: model.allows(stranger, pod, port) }).toEqual({ to: `${pod.namespace}/${pod.name}:${port}`, open: false });
        }
      }
      // No NetworkPolicy (ours or a chart's) selects nothing: each names pods that exist, except those for pods a
      // controller labels at run time (cert-manager's solvers, Patroni's role label on Postgres pods).
      const everyPod = releasePods(all);
      const runtimeLabels = [...Object.keys(certManager.pods.solver.labels), ROLE_LABEL];
      const idle = all.filter((o) => o.kind === 'NetworkPolicy' && Object.keys(o.spec.podSelector ?? {}).length > 0
        && !Object.keys(o.spec.podSelector.matchLabels ?? {}).some((k) => runtimeLabels.includes(k))
        && !everyPod.some((p) => p.namespace === o.metadata.namespace && selects(o.spec.podSelector, p.labels))).map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
      expect(idle).toEqual([]);
      // Every pod a chart renders is under a default-deny: nothing of another namespace opens any of its ports.
      for (const pod of ADD_ONS.flatMap((a) => workloadEndpoints(addOnObjects(a))).filter((p) => governed.has(p.namespace))) {
        for (const port of Object.values(pod.namedPorts ?? {})) expect({ pod: pod.name, port, open: model.allows(stranger, pod, port) }).toEqual({ pod: pod.name, port, open: false });
      }
    });
  });

  describe('WHEN the Kubernetes versions the charts need are derived from the packed charts and their prod render', () => {
    let prod: Rendered;
    let prodApplications: Rendered;
    const derived = new Map<string, { minimum?: string; reasons: string[] }>();
    beforeAll(() => {
      prod = render('prod', 'inline', cache);
      prodApplications = render('prod', 'application', cache);
      const old = loadCatalog(referenceDir(), OWN_OBJECTS_MINIMUM.minimum);
      for (const addOn of ADD_ONS) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `chart-${addOn.chart}-`));
        execFileSync('tar', ['-xzf', path.join(cache, readLock(cache).find((e) => e.chart === addOn.chart)!.file), '-C', dir]);
        const chartYamls = [path.join(dir, addOn.chart, 'Chart.yaml'), ...(fs.existsSync(path.join(dir, addOn.chart, 'charts')) ? fs.readdirSync(path.join(dir, addOn.chart, 'charts'), { withFileTypes: true }) : []).filter((d) => d.isDirectory()).map((d) => path.join(dir, addOn.chart, 'charts', d.name, 'Chart.yaml'))]
          .filter((f) => fs.existsSync(f));
        const bounds = chartYamls.map((f) => ({ file: path.relative(dir, f), bound: constraintMinimum((yaml.load(fs.readFileSync(f, 'utf8')) as any).kubeVersion) })).filter((b) => b.bound);
        // Fields of the chart's objects that Kubernetes 1.28 does not know: each must be a known feature.
        const folder = addOn.host === 'argocd' ? 'argocd' : addOn.id;
        const objects = prod.objects.filter((o) => o.chart === folder && (addOn.host !== 'argocd' || o.object.metadata?.labels?.['app.kubernetes.io/instance'] === addOn.releaseName)).map((o) => o.object);
        const newer = objects.flatMap((o) => validateObject(old, o).map((p) => ({ kind: o.kind, path: p.path, message: p.message })));
        const unknown = newer.filter((p) => !KUBERNETES_FEATURES.some((f) => f.kind === p.kind && f.field.test(p.path)));
        if (unknown.length > 0) throw new Error(`${addOn.chart}: fields Kubernetes ${OWN_OBJECTS_MINIMUM.minimum} does not know and KUBERNETES_FEATURES does not name: ${JSON.stringify(unknown.slice(0, 5))}; fix: add each with the version that serves it to lib/addons/kubernetes.ts`);
        const features = KUBERNETES_FEATURES.filter((f) => newer.some((p) => p.kind === f.kind && f.field.test(p.path)));
        const all = [...bounds.map((b) => ({ v: b.bound!, why: `${b.file} kubeVersion` })), ...features.map((f) => ({ v: f.since, why: f.name }))];
        derived.set(addOn.chart, { minimum: all.length > 0 ? newestKube(all.map((a) => a.v)) : undefined, reasons: all.map((a) => `${a.why} ${a.v}`) });
      }
    }, 600_000);

    test('THEN each add-on descriptor states exactly the minimum its chart needs (Chart.yaml kubeVersion of the chart and its subcharts, and API features)', () => {
      const stated = Object.fromEntries(ADD_ONS.map((a) => [a.chart, a.kubernetes?.minimum]));
      const found = Object.fromEntries(ADD_ONS.map((a) => [a.chart, derived.get(a.chart)!.minimum]));
      expect(stated).toEqual(found);
      expect(derived.get('cert-manager')!.reasons).toContain('CustomResourceDefinition selectableFields 1.32.0');
    });

    test('THEN the supported minimum is the oldest reference schema not older than the charts\' and our own need, helm.kubeVersion defaults to it, and the README and docs/ state it', () => {
      const need = newestKube([OWN_OBJECTS_MINIMUM.minimum, ...[...derived.values()].flatMap((d) => (d.minimum ? [d.minimum] : []))]);
      const schema = [...SUPPORTED_KUBERNETES.referenceSchemas].sort(compareKube).find((v) => compareKube(v, need) >= 0);
      expect(schema).toBeDefined(); // else: add that version's OpenAPI schema to ../shared/reference/kubernetes
      expect(SUPPORTED_KUBERNETES.minimum).toBe(schema);
      expect(DEFAULTS.helm?.kubeVersion).toBe(SUPPORTED_KUBERNETES.minimum);
      // "Supported Kubernetes versions" is in docs/testing.md; the README's day 1 names the minimum too.
      const readme = docFiles().map((d) => d.text).join('\n');
      const minor = (v: string) => v.split('.').slice(0, 2).join('.');
      expect(readme).toContain(`**Supported Kubernetes (k3s): v${minor(SUPPORTED_KUBERNETES.minimum)} and newer**`);
      expect(readme).toContain(`the charts need ${minor(need)}`);
      expect(readme).toContain(`tested up to ${SUPPORTED_KUBERNETES.testedUpTo}`);
    });

    test('THEN our own objects (dist/ with every add-on an Application) validate against the schema of OWN_OBJECTS_MINIMUM', () => {
      expect(validateDist(prodApplications.dist, referenceDir(), [OWN_OBJECTS_MINIMUM.minimum]).problems).toEqual([]);
    });
  });
});

describe('GIVEN an environment that declares an older Kubernetes than a pinned chart needs', () => {
  test('WHEN it is synthesized (either mode) THEN it fails naming the key, the declared version, the chart, its need and the fix', () => {
    for (const render of ['application', 'inline']) {
      const config = configFor('prod', { helm: { render, kubeVersion: '1.31.0' } });
      let error: unknown;
      try {
        new Platform(config);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain('helm.kubeVersion = "1.31.0": is older than chart cert-manager v1.21.1 (add-on cert-manager) needs: Kubernetes 1.32.0 (its CRDs declare selectableFields');
      expect(message).toContain('fix: run k3s v1.32 or newer on the environment\'s clusters and set helm.kubeVersion to the oldest they run');
      expect(message).not.toContain('traefik');
    }
  });

  test('WHEN it declares the supported minimum THEN it synthesizes', () => {
    expect(() => new Platform(configFor('prod', { helm: { kubeVersion: SUPPORTED_KUBERNETES.minimum } }))).not.toThrow();
  });
});

describe('GIVEN Chart.yaml kubeVersion constraints', () => {
  test.each([
    ['>=1.25.0-0', '1.25.0'], ['>= 1.22.0-0', '1.22.0'], ['^1.10.0-0', '1.10.0'], ['>=1.21.0 <1.30.0', '1.21.0'], ['>=1.19', '1.19.0'], ['', undefined], [undefined, undefined],
  ])('WHEN the constraint is %p THEN its lower bound is %p', (constraint, bound) => {
    expect(constraintMinimum(constraint)).toBe(bound);
  });

  test('WHEN versions are compared THEN minor and patch compare as numbers', () => {
    expect(compareKube('1.9.0', '1.10.0')).toBe(-1);
    expect(compareKube('1.33.0', '1.33.0')).toBe(0);
    expect(newestKube(['1.25.0', '1.32.0', '1.9.9'])).toBe('1.32.0');
  });
});
