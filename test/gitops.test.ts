import { spawnSync } from 'child_process';
import * as path from 'path';
import { ApiObject, App, Chart } from 'cdk8s';
import * as yaml from 'js-yaml';
import { ArgoCdChart } from '../charts/argocd';
import { APPLICATION_HEALTH_KEY, APPLICATION_HEALTH_LUA, EXTERNAL_SECRET_HEALTH_KEY, EXTERNAL_SECRET_HEALTH_LUA } from '../lib/gitops/health-check';
import { argoCd } from '../lib/addons/argo-cd';
import { ADD_ONS, addOnOf, addOnServing } from '../lib/addons/registry';
import { ARGOCD_CHART, globToRegExp, groupOf, ROOT_APPLICATION } from '../lib/gitops/placement';
import { applySyncPolicy, LARGE_OBJECT_BYTES, SYNC_OPTIONS_ANNOTATION } from '../lib/gitops/sync-policy';
import { chartWave, CRD_ADDONS, SYNC_ORDER } from '../lib/gitops/sync-order';
import { crdAddOnStep } from '../lib/addons/addon';
import { Platform } from '../charts/platform';
import { DependencyGraph } from 'cdk8s/lib/dependency';
import { Construct } from 'constructs';
import { appCharts, dependencyOrder } from '../lib/gitops/rendered';
import { renderPlatform } from '../lib/synth';
import { ENVIRONMENTS, find, one, Synthesized, synthEnv, loadFixture } from './helpers/platform';
import { requireBinary } from './helpers/real-programs';

const WAVE = 'argocd.argoproj.io/sync-wave';
const wave = (o: any): number => Number(o.metadata.annotations[WAVE]);

/** The files (repository paths) one Argo CD Application selects: directory sources, not recursive, include/exclude on names. */
function selectedFiles(app: any, repoFiles: string[]): string[] {
  const sources: any[] = app.spec.sources ?? (app.spec.source ? [app.spec.source] : []);
  return sources
    .filter((s) => s.chart === undefined)
    .flatMap((s) => {
      const inFolder = repoFiles.filter((f) => path.posix.dirname(f) === s.path).map((f) => path.posix.basename(f));
      const include = s.directory?.include ? globToRegExp(s.directory.include) : /^.*\.ya?ml$/;
      const exclude = s.directory?.exclude ? globToRegExp(s.directory.exclude) : /^$/;
      return inFolder.filter((name) => include.test(name) && !exclude.test(name)).map((name) => `${s.path}/${name}`);
    });
}

const repoFilesOf = (s: Synthesized): string[] => s.objects.map((o) => `${s.config.gitops.pathPrefix}/${o.file}`);
/** Applications that sync folders of dist/ (the root and one per chart), not the Helm add-ons. */
const folderApps = (s: Synthesized): any[] => s.objects.filter((o) => o.chart === ARGOCD_CHART && o.object.kind === 'Application' && !o.object.spec.source?.chart).map((o) => o.object);
const helmApps = (s: Synthesized): any[] => find(s, 'Application').filter((a) => a.spec.source?.chart !== undefined);
/** Which Application syncs each file. */
function ownersByFile(s: Synthesized): Map<string, string[]> {
  const owners = new Map<string, string[]>(repoFilesOf(s).map((f) => [f, []]));
  for (const app of folderApps(s)) for (const f of selectedFiles(app, repoFilesOf(s))) owners.get(f)!.push(app.metadata.name);
  return owners;
}

describe.each(ENVIRONMENTS)('GitOps objects of the %s environment', (env) => {
  const s = synthEnv(env);
  const repoFiles = repoFilesOf(s);
  const apps = folderApps(s);
  const byName = (name: string) => apps.find((a) => a.metadata.name === name);
  const syncerOf = (file: string) => byName(ownersByFile(s).get(file)![0]);

  test('THEN there is one Application per chart folder with objects of its own, plus the root', () => {
    const charts = s.platform.charts.map((c) => c.node.id).filter((id) => id !== ARGOCD_CHART);
    const withOwnObjects = charts.filter((id) => s.objects.some((o) => o.chart === id && !['Application', 'NetworkPolicy'].includes(o.object.kind)) || id === 'base');
    expect(apps.map((a) => a.metadata.name).sort()).toEqual([ROOT_APPLICATION, ...withOwnObjects].sort());
  });

  test('THEN every source path of every Application exists in dist/ and every include matches a file', () => {
    for (const app of apps) {
      const sources: any[] = app.spec.sources ?? [app.spec.source];
      for (const source of sources) {
        expect(source.repoURL).toBe(s.config.gitops.repoUrl);
        expect(source.targetRevision).toBe(s.config.gitops.targetRevision);
        expect(repoFiles.some((f) => path.posix.dirname(f) === source.path)).toBe(true);
        if (source.directory?.include) {
          expect(repoFiles.filter((f) => path.posix.dirname(f) === source.path && globToRegExp(source.directory.include).test(path.posix.basename(f))).length).toBeGreaterThan(0);
        }
      }
    }
  });

  test('THEN every file in dist/<env>/ is synced by exactly one Application', () => {
    const owners = ownersByFile(s);
    expect([...owners].filter(([, o]) => o.length !== 1)).toEqual([]);
    expect(owners.size).toBe(s.objects.length);
  });

  test('THEN the root syncs only files that exist: its own folder and the Helm add-on Applications', () => {
    const root = byName(ROOT_APPLICATION);
    const files = selectedFiles(root, repoFiles);
    expect(files.every((f) => repoFiles.includes(f))).toBe(true);
    const kinds = new Set(files.map((f) => s.objects.find((o) => `${s.config.gitops.pathPrefix}/${o.file}` === f)!.object.kind));
    expect([...kinds].sort()).toEqual(['AppProject', 'Application']);
    // Every Application object of dist/ (chart Applications and Helm add-ons) is created by the root.
    expect(files.length).toBe(find(s, 'Application').length + 1);
  });

  test('THEN chart Applications carry the waves of SYNC_ORDER, in the order argocd → base → CRD add-ons → secrets → CRD add-ons on generated secrets → on monitoring CRDs → edge → data → backup → app → monitoring', () => {
    const order = [ARGOCD_CHART, 'base', CRD_ADDONS, 'secrets', 'edge', 'postgres', 'backup', 'app', 'monitoring'];
    const waves = order.map(chartWave);
    expect([...waves].sort((a, b) => a - b)).toEqual(waves);
    expect(new Set(waves).size).toBe(waves.length);
    expect(chartWave('redis')).toBe(chartWave('postgres'));
    expect(chartWave('minio')).toBe(chartWave('postgres'));
    for (const app of apps.filter((a) => a.metadata.name !== ROOT_APPLICATION)) expect(wave(app)).toBe(chartWave(app.metadata.name));
    // Helm releases that bring CRDs sync with the CRD add-ons; the others with their chart.
    for (const o of s.objects.filter((x) => x.object.kind === 'Application' && x.object.spec.source?.chart)) {
      const chart = o.object.spec.source.chart;
      const addOn = addOnOf(chart);
      const expected = chart === 'argo-cd' ? chartWave(ARGOCD_CHART) : addOn.crdGroups.length > 0 ? chartWave(crdAddOnStep(addOn)!) : chartWave(o.chart);
      expect(`${chart}: ${wave(o.object)}`).toBe(`${chart}: ${expected}`);
    }
  });

  test('THEN every custom resource syncs after the add-on that brings its CRD, and every add-on after the namespace it installs into', () => {
    const present = new Map(helmApps(s).map((a) => [a.spec.source.chart as string, a]));
    const withoutAddOn = new Set<string>();
    // Argo CD's own kinds exist before anything syncs (bootstrap installs Argo CD).
    for (const o of s.objects.filter((x) => addOnServing(groupOf(x.object.apiVersion)) !== undefined && groupOf(x.object.apiVersion) !== 'argoproj.io')) {
      const addOn = present.get(addOnServing(groupOf(o.object.apiVersion))!);
      if (addOn === undefined) {
        withoutAddOn.add(groupOf(o.object.apiVersion));
        continue;
      }
      expect(wave(syncerOf(`${s.config.gitops.pathPrefix}/${o.file}`))).toBeGreaterThan(wave(addOn));
    }
    // ServiceMonitors wait for kube-prometheus-stack, which the monitoring chart brings.
    expect([...withoutAddOn]).toEqual(present.has('kube-prometheus-stack') ? [] : ['monitoring.coreos.com']);

    const namespaceFile = (ns: string) => s.objects.find((o) => o.object.kind === 'Namespace' && o.object.metadata.name === ns);
    for (const helm of helmApps(s)) {
      const ns = namespaceFile(helm.spec.destination.namespace);
      if (ns) expect(wave(syncerOf(`${s.config.gitops.pathPrefix}/${ns.file}`))).toBeLessThan(wave(helm));
    }
  });

  test('THEN every allow rule is synced with default-deny, by base, before any add-on', () => {
    for (const o of s.objects.filter((x) => x.object.kind === 'NetworkPolicy')) {
      expect(ownersByFile(s).get(`${s.config.gitops.pathPrefix}/${o.file}`)).toEqual(['base']);
    }
    expect(chartWave('base')).toBeLessThan(chartWave(CRD_ADDONS));
  });

  test('THEN the AppProject allows every repository, destination and cluster-scoped kind in use, and nothing more', () => {
    const project = one(s, 'AppProject', 'platform');
    const allApps = find(s, 'Application');
    const scopes = helmApps(s).map((a) => addOnOf(a.spec.source.chart));

    const repos = new Set(allApps.flatMap((a) => (a.spec.sources ?? [a.spec.source]).map((x: any) => x.repoURL)));
    expect(new Set(project.spec.sourceRepos)).toEqual(repos);
    expect(project.spec.sourceRepos).toContain(s.config.gitops.repoUrl);
    for (const helm of helmApps(s)) expect(ADD_ONS.some((c) => c.repo === helm.spec.source.repoURL && c.chart === helm.spec.source.chart)).toBe(true);

    const allowed = project.spec.destinations.map((d: any) => d.namespace).sort();
    expect(project.spec.destinations.every((d: any) => d.server === 'https://kubernetes.default.svc')).toBe(true);
    const used = new Set<string>([
      ...s.objects.map((o) => o.object.metadata.namespace).filter(Boolean),
      ...allApps.map((a) => a.spec.destination.namespace),
      ...scopes.flatMap((x) => x.extraNamespaces),
    ]);
    expect(allowed).toEqual([...used].sort());
    expect(allowed).toEqual([...Object.values(s.config.namespaces), 'argocd', 'kube-system'].sort());

    const whitelist = project.spec.clusterResourceWhitelist.map((k: any) => `${k.group}/${k.kind}`).sort();
    const clusterKinds = new Set<string>([
      ...s.objects.filter((o) => !o.object.metadata.namespace).map((o) => `${groupOf(o.object.apiVersion)}/${o.object.kind}`),
      ...scopes.flatMap((x) => x.clusterKinds.map((k) => `${k.group}/${k.kind}`)),
    ]);
    expect(whitelist).toEqual([...clusterKinds].sort());
    expect(whitelist).toEqual(expect.arrayContaining(['/Namespace', 'cert-manager.io/ClusterIssuer']));
  });

  test('THEN every folder Application syncs automatically with prune, self-heal, retries with backoff and PruneLast, never creating namespaces', () => {
    for (const app of [...apps, ...helmApps(s)]) {
      expect(app.spec.project).toBe('platform');
      expect(app.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
      // The root retries without a limit: its sync is the whole first install (charts/argocd.ts).
      expect(app.spec.syncPolicy.retry).toEqual({ limit: app.metadata.name === 'root' ? -1 : 5, backoff: { duration: '10s', factor: 2, maxDuration: '3m' } });
      expect(app.spec.syncPolicy.syncOptions).toEqual(expect.arrayContaining(['CreateNamespace=false', 'PruneLast=true']));
      expect(app.metadata.finalizers).toBeUndefined(); // deleting an Application never cascades to its resources
    }
    // CRD-bearing releases apply server-side (their CRDs exceed the client-side annotation limit); the others need not.
    for (const helm of helmApps(s)) {
      expect(helm.spec.syncPolicy.syncOptions.includes('ServerSideApply=true')).toBe(addOnOf(helm.spec.source.chart).crdGroups.length > 0);
    }
  });

  test('THEN the replicas of every HPA-scaled Deployment are ignored, and respected on sync', () => {
    for (const hpa of find(s, 'HorizontalPodAutoscaler')) {
      const target = hpa.spec.scaleTargetRef;
      const file = s.objects.find((o) => o.object.kind === target.kind && o.object.metadata.name === target.name && o.object.metadata.namespace === hpa.metadata.namespace)!.file;
      const app = syncerOf(`${s.config.gitops.pathPrefix}/${file}`);
      expect(app.spec.ignoreDifferences).toContainEqual({ group: 'apps', kind: target.kind, name: target.name, namespace: hpa.metadata.namespace, jsonPointers: ['/spec/replicas'] });
      expect(app.spec.syncPolicy.syncOptions).toContain('RespectIgnoreDifferences=true');
    }
    expect(find(s, 'HorizontalPodAutoscaler').length).toBe(s.config.apps.length);
  });

  test('THEN every object that holds data (StatefulSets with claim templates, PVCs, Namespaces) is never pruned nor deleted by Argo CD', () => {
    const holders = s.objects.map((o) => o.object).filter((o) => o.kind === 'PersistentVolumeClaim' || o.kind === 'Namespace' || o.spec?.volumeClaimTemplates?.length > 0);
    expect(holders.filter((o) => o.kind === 'StatefulSet').map((o) => o.metadata.name).sort()).toEqual(expect.arrayContaining(['minio', 'postgres', 'redis']));
    for (const o of holders) expect(o.metadata.annotations[SYNC_OPTIONS_ANNOTATION].split(',')).toEqual(expect.arrayContaining(['Prune=false', 'Delete=false']));
    // Custom resources keep their own option next to it.
    for (const issuer of find(s, 'ClusterIssuer')) expect(issuer.metadata.annotations[SYNC_OPTIONS_ANNOTATION]).toBe('SkipDryRunOnMissingResource=true');
  });

  test('THEN Argo CD manages itself through its pinned chart with the Application health check in argocd-cm', () => {
    const argo = helmApps(s).find((a) => a.spec.source.chart === 'argo-cd');
    expect(argo.spec.source).toMatchObject({ repoURL: argoCd.repo, targetRevision: argoCd.version });
    expect(argo.spec.destination.namespace).toBe('argocd');
    expect(argo.spec.source.helm.valuesObject.configs.cm[APPLICATION_HEALTH_KEY]).toBe(APPLICATION_HEALTH_LUA);
    expect(argo.spec.source.helm.valuesObject.configs.cm[EXTERNAL_SECRET_HEALTH_KEY]).toBe(EXTERNAL_SECRET_HEALTH_LUA);
    expect(s.objects.find((o) => o.object === argo)!.chart).toBe(ARGOCD_CHART);
  });

  test('THEN the bootstrap label selects exactly the AppProject and the root', () => {
    const labelled = s.objects.filter((o) => o.object.metadata.labels?.['platform.io/bootstrap'] === 'true').map((o) => `${o.object.kind}/${o.object.metadata.name}`);
    expect(labelled.sort()).toEqual(['AppProject/platform', `Application/${ROOT_APPLICATION}`]);
  });
});

describe('deriving the Argo CD objects from the charts', () => {
  const config = loadFixture('prod');

  test('GIVEN a chart id missing from SYNC_ORDER WHEN the argocd chart derives its Applications THEN it fails naming the chart and the fix', () => {
    const app = new App();
    const mystery = new Chart(app, 'mystery');
    new ApiObject(mystery, 'cm', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'app' } });
    expect(() => new ArgoCdChart(app, ARGOCD_CHART, { config, charts: [mystery] })).toThrow(
      /chart "mystery" has no sync wave; fix: add "mystery" to SYNC_ORDER in lib\/gitops\/sync-order.ts/,
    );
  });

  test('GIVEN a chart constructed after the argocd chart WHEN rendering THEN it fails instead of leaving the chart without an Application', () => {
    const platform = new Platform(config);
    new Chart(platform.app, 'late');
    expect(() => renderPlatform(platform)).toThrow(/charts were added after "argocd".*construct ArgoCdChart last/);
  });

  test('GIVEN every step of SYNC_ORDER THEN each explains why it comes where it does and no chart appears twice', () => {
    const ids = SYNC_ORDER.flatMap((step) => step.charts);
    expect(new Set(ids).size).toBe(ids.length);
    for (const step of SYNC_ORDER) expect(step.why.length).toBeGreaterThan(10);
  });

  test('GIVEN an object larger than the client-side apply limit THEN it syncs server-side; a small one does not', () => {
    const app = new App();
    const chart = new Chart(app, 'app');
    const big = new ApiObject(chart, 'big', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big', namespace: 'app' }, data: { blob: 'x'.repeat(LARGE_OBJECT_BYTES) } });
    const small = new ApiObject(chart, 'small', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'small', namespace: 'app' }, data: { a: 'b' } });
    applySyncPolicy([chart]);
    expect(big.toJson().metadata.annotations[SYNC_OPTIONS_ANNOTATION]).toBe('ServerSideApply=true');
    expect(small.toJson().metadata.annotations).toBeUndefined();
  });

  test('GIVEN a PVC with an existing sync option THEN Prune=false and Delete=false are added next to it', () => {
    const app = new App();
    const chart = new Chart(app, 'postgres');
    const pvc = new ApiObject(chart, 'pvc', {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: 'data', annotations: { [SYNC_OPTIONS_ANNOTATION]: 'SkipDryRunOnMissingResource=true' } },
    });
    applySyncPolicy([chart]);
    expect(pvc.toJson().metadata.annotations[SYNC_OPTIONS_ANNOTATION]).toBe('SkipDryRunOnMissingResource=true,Prune=false,Delete=false');
  });

  test('GIVEN a chart that renders a Secret with data THEN the synth refuses it before anything is written', () => {
    const app = new App();
    const chart = new Chart(app, 'backup');
    new ApiObject(chart, 's', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'b2', namespace: 'backup' }, stringData: { key: 'x' } });
    expect(() => applySyncPolicy([chart])).toThrow(/backup: Secret backup\/b2 carries data.*fix: declare it under secrets/);
  });

  test('GIVEN a different repository, revision and path prefix THEN every Application and the AppProject follow the config', () => {
    const custom = { ...config, gitops: { ...config.gitops, repoUrl: 'git@git.example.org:ops/platform.git', targetRevision: 'v2.1.0', pathPrefix: 'deploy/out' } };
    const objects = [...renderPlatform(new Platform(custom)).values()].map((t) => yaml.load(t) as any);
    const sources = objects.filter((o) => o.kind === 'Application' && !o.spec.source?.chart).flatMap((a) => a.spec.sources ?? [a.spec.source]);
    expect(sources.length).toBeGreaterThan(8);
    for (const src of sources) {
      expect(src).toMatchObject({ repoURL: 'git@git.example.org:ops/platform.git', targetRevision: 'v2.1.0' });
      expect(src.path).toMatch(/^deploy\/out\/prod\/[a-z]+$/);
    }
    expect(objects.find((o) => o.kind === 'AppProject').spec.sourceRepos[0]).toBe('git@git.example.org:ops/platform.git');
  });
});

/** The health check, run by a real Lua 5.1 interpreter (Argo CD runs gopher-lua, a Lua 5.1). */
describe('the Application health check in Lua', () => {
  const lua = requireBinary('lua5.1');
  const toLua = (v: unknown): string => {
    if (v === null || v === undefined) return 'nil';
    if (typeof v === 'string') return JSON.stringify(v);
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (Array.isArray(v)) return `{${v.map(toLua).join(', ')}}`;
    return `{${Object.entries(v as object).map(([k, x]) => `[${JSON.stringify(k)}] = ${toLua(x)}`).join(', ')}}`;
  };
  // As Argo CD runs a custom health check (util/lua: base, table and package libraries only, a safe os):
  // the standard libraries it does not open are removed before the check runs.
  const health = (application: unknown, check = APPLICATION_HEALTH_LUA): string => {
    const sandbox = 'local write = io.write\nstring, io, math, debug, coroutine, os = nil, nil, nil, nil, nil, nil\n';
    const program = `${sandbox}obj = ${toLua(application)}\nlocal hs = (function()\n${check}\nend)()\nwrite(hs.status, "|", hs.message)`;
    const run = spawnSync(lua!, ['-'], { input: program, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(run.stderr);
    return run.stdout;
  };
  const app = (status?: object) => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'postgres' }, ...(status ? { status } : {}) });

  (lua ? test : test.skip).each([
    ['no status yet', undefined, 'Progressing|waiting for the Application to report its health'],
    ['a running sync', { health: { status: 'Healthy' }, operationState: { phase: 'Running' } }, 'Progressing|sync running'],
    ['resources not created yet', { health: { status: 'Missing' }, sync: { status: 'OutOfSync' } }, 'Progressing|resources not created yet (Missing)'],
    ['healthy but not yet synced', { health: { status: 'Healthy' }, sync: { status: 'OutOfSync' } }, 'Progressing|healthy but out of sync: waiting for the sync'],
    ['healthy and synced', { health: { status: 'Healthy' }, sync: { status: 'Synced' }, operationState: { phase: 'Succeeded' } }, 'Healthy|'],
    ['degraded', { health: { status: 'Degraded', message: 'CrashLoopBackOff' }, sync: { status: 'Synced' } }, 'Degraded|CrashLoopBackOff'],
  ])('GIVEN a child Application with %s THEN its health is reported so that waves wait', (_name, status, expected) => {
    expect(health(app(status as object | undefined))).toBe(expected);
  });

  const generated = { target: { name: 'postgres-credentials', creationPolicy: 'Orphan', immutable: true }, dataFrom: [{ sourceRef: { generatorRef: { kind: 'Password', name: 'password-32' } } }] };
  const copy = { target: { name: 'postgres-credentials', immutable: true }, data: [{ secretKey: 'password', remoteRef: { key: 'postgres-credentials' } }] };
  const ready = (status: string, message: string) => ({ conditions: [{ type: 'Ready', status, reason: status === 'True' ? 'SecretSynced' : 'SecretSyncedError', message }] });
  const immutable = 'could not update secret, target is immutable';
  (lua ? test : test.skip).each([
    ['no status yet', generated, undefined, /^Progressing\|/],
    ['synced', generated, ready('True', 'secret synced'), /^Healthy\|secret synced$/],
    ['a refused redraw of an immutable generated Secret', generated, ready('False', immutable), /^Healthy\|the generated Secret exists and is immutable: its first values are kept \(could not update secret/],
    ['a refused redraw when the target is not immutable', { ...generated, target: { ...generated.target, immutable: false } }, ready('False', immutable), /^Degraded\|/],
    ['a copy (store-backed) refused by an immutable target', copy, ready('False', immutable), /^Degraded\|could not update secret/],
    ['a generator error', generated, ready('False', 'error processing spec.dataFrom[0].sourceRef.generatorRef'), /^Degraded\|error processing/],
  ])('GIVEN an ExternalSecret with %s THEN the platform\'s health check reports it so', (_name, spec, status, expected) => {
    const es = { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name: 'postgres-credentials' }, spec, ...(status ? { status } : {}) };
    expect(health(es, EXTERNAL_SECRET_HEALTH_LUA)).toMatch(expected);
  });
});

describe('the order charts and their objects render in', () => {
  const paths = (constructs: { node: { path: string } }[]): string[] => constructs.map((c) => c.node.path);
  const cdk8sOrder = (scope: Construct): string[] => paths(new DependencyGraph(scope.node).topology());

  /** Charts and objects depending on each other across charts, on shared dependencies (a diamond) and on groups of objects. */
  function tangledApp(): App {
    const app = new App();
    const object = (scope: Construct, id: string) => new ApiObject(scope, id, { apiVersion: 'v1', kind: 'ConfigMap' });
    const a = new Chart(app, 'a');
    const b = new Chart(app, 'b');
    const c = new Chart(app, 'c');
    const [a1, a2] = [object(a, 'a1'), object(a, 'a2')];
    const group = new Construct(a, 'group');
    object(group, 'g1');
    object(group, 'g2');
    a1.addDependency(a2, group);
    const b1 = object(b, 'b1');
    b1.addDependency(a1);
    b.addDependency(c);
    const [c1, c2, c3, c4] = ['c1', 'c2', 'c3', 'c4'].map((id) => object(c, id));
    c1.addDependency(c2, c3);
    c2.addDependency(c4);
    c3.addDependency(c4);
    new Chart(b, 'nested');
    return app;
  }

  test('GIVEN tangled dependencies WHEN ordered THEN the order is cdk8s\'s, before and after cdk8s resolves the app\'s dependencies', () => {
    const app = tangledApp();
    const check = () => {
      expect(paths(dependencyOrder(app))).toEqual(cdk8sOrder(app));
      for (const chart of app.node.findAll().filter((x): x is Chart => x instanceof Chart)) expect(paths(dependencyOrder(chart))).toEqual(cdk8sOrder(chart));
      expect(appCharts(app)).toEqual(app.charts);
    };
    check();
    app.charts[0].toJson(); // resolves the app's dependencies: chart to chart, object to object
    check();
  });

  test('GIVEN a dependency cycle WHEN ordered THEN it fails, as cdk8s does', () => {
    const app = tangledApp();
    const [a1, a2] = ['a1', 'a2'].map((id) => app.node.findChild('a').node.findChild(id));
    a2.node.addDependency(a1);
    expect(() => cdk8sOrder(app)).toThrow(/cycle/i);
    expect(() => dependencyOrder(app)).toThrow(/cycle/i);
  });

  test.each(ENVIRONMENTS)('GIVEN %s WHEN synthesized THEN its charts are in the order of cdk8s\'s App.charts', (env) => {
    const { platform } = synthEnv(env);
    expect(platform.charts).toEqual(platform.app.charts);
  });
});
