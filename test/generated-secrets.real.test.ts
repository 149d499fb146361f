/**
 * Generated credentials survive their ExternalSecret: the secrets chart of prod (generators, ExternalSecrets,
 * the copies' SecretStores and RBAC) applied to a lab cluster (scripts/lab: a real API server, controller
 * manager with its garbage collector) with the real External Secrets Operator controller
 * (scripts/external-secrets/build.sh). An ExternalSecret that is deleted and applied again (a prune, a rename
 * back, an Application re-created) must leave the Secret it made as it was: Postgres, Redis and MinIO keep
 * the passwords they were first given, so a new value would lock the platform out of its own data.
 */
import { LabCluster, LAB_PROGRAMS, missingLabPrograms, nodesFor } from '../scripts/lab/cluster';
import { EXTERNAL_SECRETS_BIN, externalSecretsBuilt, LabExternalSecrets } from '../scripts/lab/external-secrets';
import { isGeneratorBacked } from '../lib/gitops/secret-producers';
import { synthEnv } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const ES_API = '/apis/external-secrets.io/v1';
const missing = new Set(missingLabPrograms());
const programs = {
  ...Object.fromEntries(LAB_PROGRAMS.map((p) => [p, missing.has(p) ? undefined : p])),
  'external-secrets': externalSecretsBuilt() ? EXTERNAL_SECRETS_BIN : undefined,
};
const decode = (data: Record<string, string> | undefined) => Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
const id = (o: any) => `${o.metadata.namespace}/${o.metadata.name}`;

describeWithPrograms('GIVEN the generated secrets of prod applied to a lab cluster with the real External Secrets Operator', programs, () => {
  const s = synthEnv('prod');
  const chart = s.objects.filter((o) => o.chart === 'secrets' && o.object.kind !== 'Application' && o.object.kind !== 'SealedSecret').map((o) => o.object);
  // The Secrets generated in the cluster (not the copies, which re-read their source).
  const sources = chart.filter((o) => o.kind === 'ExternalSecret' && isGeneratorBacked(o));
  const target = (es: any) => `${es.metadata.namespace}/${es.spec.target.name}`;
  let lab: LabCluster;
  let eso: LabExternalSecrets;
  let first: Map<string, { values: Record<string, string>; type: string }>;

  const readSecret = async (key: string) => {
    const [namespace, name] = key.split('/');
    const res = await lab.request('GET', `/api/v1/namespaces/${namespace}/secrets/${name}`);
    return res.status === 200 ? { values: decode(res.body.data), type: String(res.body.type) } : undefined;
  };
  const readAll = async () => new Map(await Promise.all(sources.map(async (es) => [target(es), await readSecret(target(es))] as const)));
  const apply = async (objects: any[]) => {
    for (const o of objects) {
      const res = await lab.apply(o);
      if (res.status >= 300) throw new Error(`apply ${o.kind} ${id(o)}: ${res.status} ${res.body?.message}`);
    }
  };
  /** Every source ExternalSecret has been reconciled by the controller (it wrote a Ready condition, true or not). */
  const reconciled = () => lab.waitFor(`${sources.length} ExternalSecrets reconciled`, async () => {
    const items = await lab.list(`${ES_API}/externalsecrets`);
    return sources.every((es) => items.find((i) => id(i) === id(es))?.status?.conditions?.some((c: any) => c.type === 'Ready'));
  }, 120_000).catch((err) => {
    throw new Error(`${err.message}\nexternal-secrets log:\n${eso.log()}`);
  });

  beforeAll(async () => {
    lab = await LabCluster.start({ nodes: nodesFor('prod', { ...s.config.node, count: 1 }) });
    eso = await LabExternalSecrets.start(lab);
    const namespaces = [...new Set(chart.map((o) => o.metadata.namespace).filter(Boolean))];
    await apply(namespaces.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })));
    await apply(chart);
    await lab.waitFor('every generated Secret to exist', async () => [...(await readAll()).values()].every(Boolean), 120_000).catch((err) => {
      throw new Error(`${err.message}\nexternal-secrets log:\n${eso.log()}`);
    });
    first = new Map([...(await readAll())].map(([k, v]) => [k, v!]));
  }, 600_000);

  afterAll(async () => {
    await eso?.stop();
    await lab?.stop();
  }, 60_000);

  test('THEN the edge credential is a basic-auth Secret of user admin and a 32-character password, and so is its copy in data', async () => {
    const auth = first.get(`${s.config.namespaces.monitoring}/edge-admin-auth`)!;
    expect(auth.type).toBe('kubernetes.io/basic-auth');
    expect(auth.values.username).toBe('admin');
    expect(auth.values.password).toMatch(/^[A-Za-z0-9]{32}$/);
    await lab.waitFor('the copy of the edge credential in data', async () => (await readSecret(`${s.config.namespaces.data}/edge-admin-auth`))?.values.password === auth.values.password, 120_000);
    expect((await readSecret(`${s.config.namespaces.data}/edge-admin-auth`))!.type).toBe('kubernetes.io/basic-auth');
  });

  test('WHEN every generated ExternalSecret is deleted as Argo CD prunes (foreground) THEN every Secret it made survives; WHEN applied again THEN no value changes', async () => {
    expect(sources.length).toBeGreaterThan(10);
    for (const es of sources) {
      const res = await lab.request('DELETE', `${ES_API}/namespaces/${es.metadata.namespace}/externalsecrets/${es.metadata.name}?propagationPolicy=Foreground`);
      expect([id(es), res.status, res.body?.message]).toEqual([id(es), 200, undefined]);
    }
    // Foreground: an ExternalSecret is gone only once the garbage collector deleted what it owns (blockOwnerDeletion).
    await lab.waitFor('the ExternalSecrets to be gone', async () => {
      const left = new Set((await lab.list(`${ES_API}/externalsecrets`)).map(id));
      return sources.every((es) => !left.has(id(es)));
    }, 120_000);
    const afterDelete = await readAll();
    expect(sources.map((es) => [target(es), afterDelete.get(target(es)) !== undefined])).toEqual(sources.map((es) => [target(es), true]));

    await apply(sources);
    await reconciled();
    const conditions = (await lab.list(`${ES_API}/externalsecrets`)).filter((i) => sources.some((es) => id(es) === id(i)))
      .map((i) => `${id(i)}: ${i.status.conditions.map((c: any) => `${c.type}=${c.status} ${c.reason ?? ''} ${c.message ?? ''}`).join('; ')}`);
    console.log(`re-applied ExternalSecrets, as the controller left them:\n${conditions.join('\n')}`);
    const after = await readAll();
    for (const es of sources) expect([target(es), after.get(target(es))]).toEqual([target(es), first.get(target(es))]);
  }, 300_000);
});
