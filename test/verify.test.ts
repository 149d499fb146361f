/**
 * `npm run verify` without a cluster: the planner and the report with fake discovery data, the
 * @kubernetes/client-node adapter against a stub HTTP endpoint that records what it is sent (it
 * answers like an API server for the few paths used, nothing more), and the no-cluster path of the
 * script itself.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { AddressInfo } from 'net';
import { connect, KubernetesClientModule } from '../lib/gitops/kube-client';
import { chartWave, CRD_ADDONS, CRD_ADDONS_ON_MONITORING } from '../lib/gitops/sync-order';
import { ClusterApi, DistObject, planVerification, runVerification } from '../lib/gitops/verify';
import { synthEnv } from './helpers/platform';

const ROOT = path.resolve(__dirname, '..');
const VERIFY = path.join(ROOT, 'build', 'scripts', 'verify.js');

const prod = synthEnv('prod');
const objects: DistObject[] = prod.objects.map((o) => ({ file: o.file, object: o.object }));
/** Discovery that serves every kind of dist/ except the groups listed. */
function discoveryWithout(...groups: string[]): Map<string, Map<string, boolean> | undefined> {
  const d = new Map<string, Map<string, boolean> | undefined>();
  for (const { object } of objects) {
    const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : '';
    if (groups.includes(group)) d.set(object.apiVersion, undefined);
    else d.set(object.apiVersion, (d.get(object.apiVersion) ?? new Map()).set(object.kind, Boolean(object.metadata.namespace)));
  }
  return d;
}

describe('planning a verification', () => {
  test('GIVEN every kind served THEN every object is applied once, in sync-wave order, namespaces first within a wave', () => {
    const plan = planVerification(objects, discoveryWithout());
    expect(plan.unserved).toEqual([]);
    expect(plan.applies.length).toBe(objects.length);
    const waves = plan.applies.map((a) => a.wave);
    expect([...waves].sort((a, b) => a - b)).toEqual(waves);
    const base = plan.applies.filter((a) => a.wave === chartWave('base'));
    expect(base[0].object.kind).toBe('Namespace');
    // NetworkPolicies of every chart are applied with base; Helm add-ons with the CRD add-ons.
    expect(plan.applies.find((a) => a.id === 'NetworkPolicy data/postgres')!.wave).toBe(chartWave('base'));
    expect(plan.applies.find((a) => a.id === 'Application argocd/traefik')!.wave).toBe(chartWave(CRD_ADDONS_ON_MONITORING));
    expect(plan.applies.find((a) => a.id === 'StatefulSet data/postgres')!.wave).toBeLessThan(plan.applies.find((a) => a.id === 'Deployment app/crm')!.wave);
  });

  test('GIVEN a cluster without the add-ons CRDs and without Argo CD THEN each missing kind is reported once with the add-on that brings it', () => {
    const plan = planVerification(objects, discoveryWithout('cert-manager.io', 'traefik.io', 'argoproj.io'));
    expect(plan.unserved.map((u) => `${u.apiVersion} ${u.kind} ×${u.objects}: ${u.hint}`)).toEqual([
      `argoproj.io/v1alpha1 Application ×${objects.filter((o) => o.object.kind === 'Application').length}: install Argo CD first (README, "Bootstrap")`,
      `argoproj.io/v1alpha1 AppProject ×1: install Argo CD first (README, "Bootstrap")`,
      `cert-manager.io/v1 ClusterIssuer ×3: its CRD comes with the cert-manager add-on: sync the add-ons first (wave ${chartWave(CRD_ADDONS)})`,
      `traefik.io/v1alpha1 Middleware ×${objects.filter((o) => o.object.kind === 'Middleware').length}: its CRD comes with the traefik add-on: sync the add-ons first (wave ${chartWave(CRD_ADDONS_ON_MONITORING)})`,
    ]);
    expect(plan.applies.some((a) => a.object.kind === 'Middleware')).toBe(false);
  });
});

/** A ClusterApi from fixed answers, recording the dry-run applies. */
function fakeCluster(options: { minor?: string; failing?: Record<string, string>; existingNamespaces?: string[]; unservedGroups?: string[] }): ClusterApi & { applied: string[] } {
  const discovery = discoveryWithout(...(options.unservedGroups ?? []));
  const applied: string[] = [];
  return {
    server: 'https://fake:6443',
    applied,
    serverVersion: async () => ({ major: '1', minor: options.minor ?? '33', gitVersion: `v1.${options.minor ?? '33'}.4` }),
    servedKinds: async (apiVersion) => discovery.get(apiVersion),
    namespaceExists: async (name) => (options.existingNamespaces ?? []).includes(name),
    dryRunApply: async (object) => {
      const id = `${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`;
      applied.push(id);
      const message = options.failing?.[id];
      if (message) throw new Error(message);
    },
  };
}

describe('the verification report', () => {
  const allNamespaces = Object.values(prod.config.namespaces);

  test('GIVEN two objects the API server rejects THEN both failures are reported with wave, object, file and message, and the rest still run', async () => {
    const cluster = fakeCluster({
      existingNamespaces: allNamespaces,
      failing: {
        'StatefulSet data/redis': 'StatefulSet.apps "redis" is invalid: spec: Forbidden: updates to statefulset spec for fields other than ... are forbidden',
        'Deployment app/crm': 'admission webhook "validate.kyverno.svc" denied the request',
      },
    });
    const lines: string[] = [];
    const report = await runVerification('prod', objects, cluster, (l) => lines.push(l));
    expect(report.failures).toEqual([
      `wave ${chartWave('redis')} StatefulSet data/redis (prod/redis/StatefulSet.data.redis.yaml): StatefulSet.apps "redis" is invalid: spec: Forbidden: updates to statefulset spec for fields other than ... are forbidden`,
      `wave ${chartWave('app')} Deployment app/crm (prod/app/Deployment.app.crm.yaml): admission webhook "validate.kyverno.svc" denied the request`,
    ]);
    expect(cluster.applied.length).toBe(objects.length);
    expect(report.applied).toBe(objects.length - 2);
    expect(lines[0]).toBe('API server https://fake:6443: Kubernetes v1.33.4');
    expect(lines[lines.length - 1]).toBe(`verify prod: ${objects.length - 2} of ${objects.length} objects pass a server-side dry-run apply; 2 failure(s), 0 skipped`);
  });

  test('GIVEN a fresh cluster THEN objects in namespaces this sync creates are skipped, not failed, and unserved kinds fail', async () => {
    const cluster = fakeCluster({ existingNamespaces: [], unservedGroups: ['argoproj.io'] });
    const report = await runVerification('prod', objects, cluster, () => undefined);
    expect(report.failures.every((f) => f.startsWith('not served: argoproj.io/v1alpha1'))).toBe(true);
    expect(report.failures.length).toBe(2);
    const inPlatformNamespaces = objects.filter((o) => allNamespaces.includes(o.object.metadata.namespace) && !o.object.apiVersion.startsWith('argoproj.io/'));
    expect(report.skipped.length).toBe(inPlatformNamespaces.length);
    expect(report.skipped).toContain('StatefulSet data/postgres (namespace data is created by this sync)');
    // Cluster-scoped objects (Namespaces, ClusterIssuers) are still dry-run applied.
    expect(cluster.applied).toContain('Namespace /data');
    expect(cluster.applied).toContain('ClusterIssuer /letsencrypt-prod');
  });

  test('GIVEN an API server older than 1.33 (the supported minimum) THEN it is a failure; newer than 1.33 only a note', async () => {
    const old = await runVerification('prod', objects, fakeCluster({ minor: '32', existingNamespaces: allNamespaces }), () => undefined);
    expect(old.failures[0]).toMatch(/^Kubernetes v1\.32\.4 is older than 1\.33.*fix: upgrade the cluster$/);
    const lines: string[] = [];
    const recent = await runVerification('prod', objects, fakeCluster({ minor: '35', existingNamespaces: allNamespaces }), (l) => lines.push(l));
    expect(recent.failures).toEqual([]);
    expect(lines).toContain('note: Kubernetes 1.35 is newer than 1.33, the newest dist/ is validated against');
  });
});

function writeKubeconfig(server: string, insecure = false): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kubeconfig-')), 'config');
  fs.writeFileSync(file, [
    'apiVersion: v1', 'kind: Config', 'current-context: test',
    'clusters:', '- name: test', `  cluster: { server: "${server}"${insecure ? ', insecure-skip-tls-verify: true' : ''} }`,
    'contexts:', '- name: test', '  context: { cluster: test, user: test }',
    'users:', '- name: test', '  user: { token: test-token }', '',
  ].join('\n'));
  return file;
}

describe('the @kubernetes/client-node adapter', () => {
  let client: KubernetesClientModule;
  let server: http.Server;
  let url: string;
  const requests: { method: string; url: string; contentType?: string; auth?: string; body: string }[] = [];

  beforeAll(async () => {
    client = await import('@kubernetes/client-node');
    // Answers the paths the adapter uses: /version, discovery of v1 and apps/v1 (404 for the rest),
    // a namespace lookup, and server-side apply patches (422 for the ConfigMap named "rejected").
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        requests.push({ method: req.method!, url: req.url!, contentType: req.headers['content-type'], auth: req.headers.authorization, body });
        const send = (code: number, json: object) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(json));
        const resource = (name: string, kind: string, namespaced: boolean) => ({ name, singularName: '', namespaced, kind, verbs: ['get', 'patch'] });
        const u = new URL(req.url!, 'http://x');
        if (u.pathname === '/version') return send(200, { major: '1', minor: '31', gitVersion: 'v1.31.2' });
        if (u.pathname === '/api/v1') return send(200, { kind: 'APIResourceList', groupVersion: 'v1', resources: [resource('namespaces', 'Namespace', false), resource('configmaps', 'ConfigMap', true)] });
        if (u.pathname === '/apis/monitoring.coreos.com/v1') return send(200, { kind: 'APIResourceList', groupVersion: 'monitoring.coreos.com/v1', resources: [resource('probes', 'Probe', true)] });
        if (u.pathname === '/apis/apps/v1') return send(200, { kind: 'APIResourceList', groupVersion: 'apps/v1', resources: [resource('deployments', 'Deployment', true)] });
        if (u.pathname === '/api/v1/namespaces/data' && req.method === 'GET') return send(200, { kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'data' } });
        if (req.method === 'PATCH' && u.pathname.endsWith('/rejected')) {
          return send(422, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Invalid', code: 422, message: 'ConfigMap "rejected" is invalid: data[bad key]: Invalid value' });
        }
        if (req.method === 'PATCH') return send(200, JSON.parse(body));
        return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `${u.pathname} not found` });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('GIVEN a kubeconfig THEN it asks /version, discovers kinds, finds namespaces, and dry-runs as a forced server-side apply', async () => {
    // Plain HTTP on loopback: the client only allows it with TLS verification explicitly off.
    const api = connect(client, { kubeconfig: writeKubeconfig(url, true) });
    requests.length = 0;
    expect(await api.serverVersion()).toEqual({ major: '1', minor: '31', gitVersion: 'v1.31.2' });
    expect(await api.servedKinds('v1', ['ConfigMap', 'Namespace', 'Secret'])).toEqual(new Map([['ConfigMap', true], ['Namespace', false]]));
    expect(await api.servedKinds('cert-manager.io/v1', ['ClusterIssuer'])).toBeUndefined();
    expect(await api.namespaceExists('data')).toBe(true);
    expect(await api.namespaceExists('backup')).toBe(false);
    await api.dryRunApply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ok', namespace: 'data' }, data: { a: 'b' } });
    await expect(api.dryRunApply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'rejected', namespace: 'data' } })).rejects.toThrow(
      'ConfigMap "rejected" is invalid: data[bad key]: Invalid value',
    );

    const patch = requests.find((r) => r.method === 'PATCH')!;
    const query = new URL(patch.url, 'http://x');
    expect(query.pathname).toBe('/api/v1/namespaces/data/configmaps/ok');
    expect(Object.fromEntries(query.searchParams)).toEqual({ dryRun: 'All', fieldManager: 'platform-verify', force: 'true', fieldValidation: 'Strict' });
    expect(patch.contentType).toBe('application/apply-patch+yaml');
    expect(JSON.parse(patch.body)).toMatchObject({ kind: 'ConfigMap', metadata: { name: 'ok' } });
    expect(requests.every((r) => r.auth === 'Bearer test-token')).toBe(true);
  });

  test('GIVEN a custom resource whose kind is also a core type name (prometheus-operator Probe) THEN it is sent exactly as written', async () => {
    const api = connect(client, { kubeconfig: writeKubeconfig(url, true) });
    requests.length = 0;
    const probe = { apiVersion: 'monitoring.coreos.com/v1', kind: 'Probe', metadata: { name: 'p', namespace: 'monitoring' }, spec: { module: 'http_2xx', targets: { staticConfig: { static: ['http://x'] } } } };
    await api.dryRunApply(probe);
    const patch = requests.find((r) => r.method === 'PATCH')!;
    expect(new URL(patch.url, 'http://x').pathname).toBe('/apis/monitoring.coreos.com/v1/namespaces/monitoring/probes/p');
    expect(JSON.parse(patch.body)).toEqual(probe);
  });

  test('GIVEN a kubeconfig whose server refuses connections THEN serverVersion fails with one line naming the server and the context', async () => {
    const api = connect(client, { kubeconfig: writeKubeconfig('https://127.0.0.1:1') });
    await expect(api.serverVersion()).rejects.toThrow(/^cannot reach the Kubernetes API server https:\/\/127\.0\.0\.1:1 \(context "test"\): .*ECONNREFUSED.*; fix: check KUBECONFIG, --context and the network$/);
  });
});

describe('npm run verify without a reachable cluster', () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [VERIFY, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  let dist: string;

  beforeAll(() => {
    dist = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-dist-'));
    for (const o of prod.objects) {
      fs.mkdirSync(path.join(dist, path.dirname(o.file)), { recursive: true });
      fs.writeFileSync(path.join(dist, o.file), JSON.stringify(o.object));
    }
  });

  test('GIVEN KUBECONFIG pointing at a server that refuses connections THEN it exits 2 with exactly one line on stderr and nothing on stdout', () => {
    const result = run(['--env', 'prod', '--dist', dist], { KUBECONFIG: writeKubeconfig('https://127.0.0.1:1') });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^verify: cannot reach the Kubernetes API server https:\/\/127\.0\.0\.1:1 \(context "test"\): .*ECONNREFUSED/);
  });

  test('GIVEN a kubeconfig file that does not exist THEN it exits 2 with one line', () => {
    const result = run(['--env', 'prod', '--dist', dist, '--kubeconfig', path.join(dist, 'missing')]);
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^verify: cannot read the kubeconfig: .*fix: set KUBECONFIG or pass --kubeconfig/);
  });

  test('GIVEN no kubeconfig at all (KUBECONFIG unset, no ~/.kube/config) THEN it exits 2 with one line that says so, not an error about localhost:8080', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-home-'));
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
    delete env.KUBECONFIG;
    const result = spawnSync(process.execPath, [VERIFY, '--env', 'prod', '--dist', dist], { encoding: 'utf8', env });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^verify: no kubeconfig: KUBECONFIG is not set and .*\.kube\/config does not exist; fix: set KUBECONFIG or pass --kubeconfig/);
    expect(result.stderr).not.toMatch(/8080/);
  });

  test('GIVEN KUBECONFIG naming a file that does not exist THEN it exits 2 with one line naming it', () => {
    const result = run(['--env', 'prod', '--dist', dist], { KUBECONFIG: path.join(dist, 'nowhere.yaml') });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^verify: no kubeconfig: KUBECONFIG names .*nowhere\.yaml, which does not exist/);
  });

  test('GIVEN no --env or an environment without dist/ THEN it exits 2 and says what to run', () => {
    expect(run([]).stderr.trim()).toBe('verify: which environment? fix: npm run verify -- --env prod');
    const missing = run(['--env', 'staging', '--dist', dist]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^verify: no objects under .*staging; fix: npm run synth, or pass --dist/);
  });
});
