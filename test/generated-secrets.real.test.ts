/**
 * Generated secrets with the real External Secrets Operator controller (built from its Go module,
 * scripts/external-secrets/build.sh) against a real API server (the lab cluster, with the ESO CRDs of
 * ../shared/reference): the generators, ExternalSecrets, SecretStores and RBAC of dist/prod's secrets
 * chart, applied exactly as synthesized, make every internal credential once; copies in other
 * namespaces equal their source; a controller restart and a re-apply (what Argo CD does on every sync)
 * change no value.
 */
import { LabCluster, missingLabPrograms, nodesFor } from '../scripts/lab/cluster';
import { externalSecretsBuilt, LabExternalSecrets } from '../scripts/lab/external-secrets';
import { keyShapes } from '../lib/constructs/generated-secrets';
import { SECRET_SCOPES, secretScopeNamespace } from '../lib/config/schema';
import { synthUserEnv } from './helpers/platform';

const IS_CI = process.env.CI === 'true';
const missing = [...missingLabPrograms(), ...(externalSecretsBuilt() ? [] : ['external-secrets'])];
if (missing.length > 0 && !IS_CI) {
  console.warn(`\n!!! SKIPPING the generated-secrets tests: ${missing.join(', ')} not built (bash scripts/lab/build.sh; bash scripts/external-secrets/build.sh; CI always runs them) !!!\n`);
}
const describeReal = missing.length > 0 && !IS_CI ? describe.skip : describe;

const SECRET_KINDS = ['Password', 'ExternalSecret', 'SecretStore', 'ServiceAccount', 'Role', 'RoleBinding'];
const decode = (data: Record<string, string> | undefined) => Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

describeReal('GIVEN the secrets chart of dist/prod applied to a real API server with the real ESO controller running', () => {
  const { config, objects } = synthUserEnv('prod');
  const namespaces = objects.filter((o) => o.object.kind === 'Namespace').map((o) => o.object);
  const applied = objects.filter((o) => o.chart === 'secrets' && SECRET_KINDS.includes(o.object.kind)).map((o) => o.object);
  const generated = SECRET_SCOPES.flatMap((role) => Object.entries(config.secrets[role])
    .filter(([, d]) => d.mode === 'generated')
    .map(([name, declaration]) => ({ role, namespace: secretScopeNamespace(config, role), name, declaration })));
  const sources = generated.filter((g) => g.declaration.copyOf === undefined);
  const copies = generated.filter((g) => g.declaration.copyOf !== undefined);
  let lab: LabCluster;
  let eso: LabExternalSecrets;
  /** The Secrets as first generated, by namespace/name. */
  let first: Map<string, { values: Record<string, string>; resourceVersion: string }>;

  const read = async (namespace: string, name: string) => (await lab.request('GET', `/api/v1/namespaces/${namespace}/secrets/${name}`));
  const readAll = async () => new Map(await Promise.all(generated.map(async (g) => {
    const res = await read(g.namespace, g.name);
    return [`${g.namespace}/${g.name}` as string, { values: decode(res.body?.data), resourceVersion: String(res.body?.metadata?.resourceVersion) }] as const;
  })));
  const applyAll = async () => {
    for (const o of applied) {
      const res = await lab.apply(o);
      if (res.status >= 300) throw new Error(`${o.kind} ${o.metadata.namespace}/${o.metadata.name}: ${res.status} ${res.body?.message}`);
    }
  };
  const allExist = async () => (await Promise.all(generated.map(async (g) => (await read(g.namespace, g.name)).status === 200))).every(Boolean);

  beforeAll(async () => {
    if (missing.length > 0) throw new Error(`CI=true but ${missing.join(', ')} not built: .ci/run must run scripts/lab/build.sh and scripts/external-secrets/build.sh`);
    lab = await LabCluster.start({ nodes: nodesFor('prod', { ...config.node, count: 1 }), crdFolders: ['external-secrets'] });
    for (const ns of namespaces) await lab.apply(ns);
    // The Kubernetes provider's CA: the ConfigMap kube-controller-manager publishes in every namespace.
    await lab.waitFor('kube-root-ca.crt in every namespace', async () => {
      for (const ns of namespaces) if ((await lab.request('GET', `/api/v1/namespaces/${ns.metadata.name}/configmaps/kube-root-ca.crt`)).status !== 200) return false;
      return true;
    }, 60_000);
    eso = await LabExternalSecrets.start(lab);
    await applyAll();
    await lab.waitFor('every generated Secret and copy', allExist, 180_000).catch((err) => {
      throw new Error(`${err.message}\nexternal-secrets log:\n${eso.log()}`);
    });
    first = await readAll();
    console.log(`generated secrets: ${sources.length} generated, ${copies.length} copies, ${applied.length} objects applied; ` +
      `controller memory ${JSON.stringify(eso.memory())} MiB; ${eso.forwarded} connection(s) through the in-cluster API address`);
  }, 400_000);

  afterAll(async () => {
    await eso?.stop();
    await lab?.stop();
  });

  test('THEN every generated Secret holds every declared key, not empty, in its declared shape', () => {
    for (const g of sources) {
      const { values } = first.get(`${g.namespace}/${g.name}`)!;
      expect(Object.keys(values).sort()).toEqual([...g.declaration.keys].sort());
      for (const [key, shape] of keyShapes(g.declaration)) {
        const where = `${g.namespace}/${g.name}.${key}`;
        if ('fixed' in shape) expect([where, values[key]]).toEqual([where, shape.fixed]);
        else expect([where, /^[A-Za-z0-9]+$/.test(values[key]), values[key].length]).toEqual([where, true, shape.length]);
      }
    }
  });

  test('THEN the generated values differ between roles and keys', () => {
    const all = sources.flatMap((g) => keyShapes(g.declaration).filter(([, s]) => 'length' in s).map(([key]) => first.get(`${g.namespace}/${g.name}`)!.values[key]));
    expect(all.length).toBeGreaterThan(10);
    expect(new Set(all).size).toBe(all.length);
  });

  test('THEN each copy holds exactly its keys, equal to its source in the other namespace', () => {
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      const source = first.get(`${config.namespaces[c.declaration.copyOf!]}/${c.name}`)!.values;
      const copy = first.get(`${c.namespace}/${c.name}`)!.values;
      expect([`${c.namespace}/${c.name}`, copy]).toEqual([`${c.namespace}/${c.name}`, Object.fromEntries(c.declaration.keys.map((k) => [k, source[k]]))]);
    }
  });

  test('THEN the copier reads only what it copies: its ServiceAccount may get a copied Secret but no other Secret of data', async () => {
    const review = async (name: string) => (await lab.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: { user: `system:serviceaccount:${config.namespaces.app}:external-secrets-copy-from-${config.namespaces.data}`, resourceAttributes: { namespace: config.namespaces.data, verb: 'get', resource: 'secrets', name } },
    })).body.status.allowed;
    expect(await review('postgres-app')).toBe(true);
    expect(await review('postgres-superuser')).toBe(false);
    expect(await review('minio-root')).toBe(false);
  });

  test('WHEN the controller restarts and every object is applied again THEN no value changes, and a deleted copy comes back equal to its source', async () => {
    await eso.restart();
    await applyAll();
    // Proof the new process reconciles: a copy deleted now is recreated by it.
    const probe = copies.find((c) => c.namespace === config.namespaces.app && c.name === 'postgres-app')!;
    expect((await lab.request('DELETE', `/api/v1/namespaces/${probe.namespace}/secrets/${probe.name}`)).status).toBe(200);
    await lab.waitFor('the deleted copy to be recreated', async () => (await read(probe.namespace, probe.name)).status === 200, 120_000).catch((err) => {
      throw new Error(`${err.message}\nexternal-secrets log:\n${eso.log()}`);
    });
    // Every ExternalSecret reconciled by the new process: Ready again.
    await lab.waitFor('every ExternalSecret Ready after the restart', async () => {
      const items = await lab.list('/apis/external-secrets.io/v1/externalsecrets');
      return items.length === generated.length && items.every((es) => es.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
    }, 120_000);
    const after = await readAll();
    for (const g of generated) {
      const id = `${g.namespace}/${g.name}`;
      expect([id, after.get(id)!.values]).toEqual([id, first.get(id)!.values]);
      // The sources were not even rewritten (same resourceVersion); only the deleted copy is new.
      if (id !== `${probe.namespace}/${probe.name}` && g.declaration.copyOf === undefined) expect([id, after.get(id)!.resourceVersion]).toEqual([id, first.get(id)!.resourceVersion]);
    }
  });
});
