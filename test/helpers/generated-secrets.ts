/**
 * The generated-secrets proof with the real External Secrets Operator controller (built from its Go
 * module, scripts/external-secrets/build.sh), run inside the prod lab of test/lab.real.test.ts after
 * dist/prod was applied as synthesized: every internal credential exists in its declared shape, values
 * differ, copies equal their source, the copier reads nothing else, and a controller restart plus a
 * re-apply of the secrets chart (what Argo CD does on every sync) changes no value.
 */
import { LabCluster } from '../../scripts/lab/cluster';
import { LabExternalSecrets } from '../../scripts/lab/external-secrets';
import { keyShapes } from '../../lib/constructs/generated-secrets';
import { PlatformConfig, SECRET_SCOPES, secretScopeNamespace } from '../../lib/config/schema';

const decode = (data: Record<string, string> | undefined) => Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

/** Declares the tests; `ctx` gives the running lab and controller once the sync is done. */
export function generatedSecretTests(ctx: () => { lab: LabCluster; eso: LabExternalSecrets }, config: PlatformConfig, objects: readonly { chart: string; object: any }[]): void {
  const secretsChart = objects.filter((o) => o.chart === 'secrets' && o.object.kind !== 'Application').map((o) => o.object);
  const generated = SECRET_SCOPES.flatMap((role) => Object.entries(config.secrets[role])
    .filter(([, d]) => d.mode === 'generated')
    .map(([name, declaration]) => ({ role, namespace: secretScopeNamespace(config, role), name, declaration })));
  const sources = generated.filter((g) => g.declaration.copyOf === undefined);
  const copies = generated.filter((g) => g.declaration.copyOf !== undefined);
  let first: Map<string, { values: Record<string, string>; resourceVersion: string }> | undefined;

  const read = async (namespace: string, name: string) => ctx().lab.request('GET', `/api/v1/namespaces/${namespace}/secrets/${name}`);
  const readAll = async () => new Map(await Promise.all(generated.map(async (g) => {
    const res = await read(g.namespace, g.name);
    return [`${g.namespace}/${g.name}` as string, { values: decode(res.body?.data), resourceVersion: String(res.body?.metadata?.resourceVersion) }] as const;
  })));
  const firstRead = async () => (first ??= await readAll());

  test('THEN every generated Secret holds every declared key, not empty, in its declared shape', async () => {
    const all = await firstRead();
    console.log(`generated secrets: ${sources.length} generated, ${copies.length} copies; controller memory ${JSON.stringify(ctx().eso.memory())} MiB`);
    for (const g of sources) {
      const { values } = all.get(`${g.namespace}/${g.name}`)!;
      expect(Object.keys(values).sort()).toEqual([...g.declaration.keys].sort());
      for (const [key, shape] of keyShapes(g.declaration)) {
        const where = `${g.namespace}/${g.name}.${key}`;
        if ('fixed' in shape) expect([where, values[key]]).toEqual([where, shape.fixed]);
        else expect([where, /^[A-Za-z0-9]+$/.test(values[key]), values[key].length]).toEqual([where, true, shape.length]);
      }
    }
  });

  test('THEN the generated values differ between roles and keys', async () => {
    const all = await firstRead();
    const values = sources.flatMap((g) => keyShapes(g.declaration).filter(([, s]) => 'length' in s).map(([key]) => all.get(`${g.namespace}/${g.name}`)!.values[key]));
    expect(values.length).toBeGreaterThan(10);
    expect(new Set(values).size).toBe(values.length);
  });

  test('THEN each copy holds exactly its keys, equal to its source in the other namespace', async () => {
    const all = await firstRead();
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      const source = all.get(`${config.namespaces[c.declaration.copyOf!]}/${c.name}`)!.values;
      expect([`${c.namespace}/${c.name}`, all.get(`${c.namespace}/${c.name}`)!.values]).toEqual([`${c.namespace}/${c.name}`, Object.fromEntries(c.declaration.keys.map((k) => [k, source[k]]))]);
    }
  });

  test('THEN the copier reads only what it copies: its ServiceAccount may get a copied Secret but no other Secret of data', async () => {
    const review = async (name: string) => (await ctx().lab.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: { user: `system:serviceaccount:${config.namespaces.app}:external-secrets-copy-from-${config.namespaces.data}`, resourceAttributes: { namespace: config.namespaces.data, verb: 'get', resource: 'secrets', name } },
    })).body.status.allowed;
    expect(await review('postgres-app')).toBe(true);
    expect(await review('postgres-superuser')).toBe(false);
    expect(await review('minio-root')).toBe(false);
  });

  test('WHEN the controller restarts and the secrets chart is applied again THEN no value changes, and a deleted copy comes back equal to its source', async () => {
    const { lab, eso } = ctx();
    const before = await firstRead();
    await eso.restart();
    for (const o of secretsChart) {
      const res = await lab.apply(o);
      expect([`${o.kind} ${o.metadata.namespace}/${o.metadata.name}`, res.status]).toEqual([`${o.kind} ${o.metadata.namespace}/${o.metadata.name}`, 200]);
    }
    // Proof the new process reconciles: a copy deleted now is recreated by it.
    const probe = copies.find((c) => c.namespace === config.namespaces.app && c.name === 'postgres-app')!;
    expect((await lab.request('DELETE', `/api/v1/namespaces/${probe.namespace}/secrets/${probe.name}`)).status).toBe(200);
    await lab.waitFor('the deleted copy to be recreated', async () => (await read(probe.namespace, probe.name)).status === 200, 120_000).catch((err) => {
      throw new Error(`${err.message}\nexternal-secrets log:\n${eso.log()}`);
    });
    await lab.waitFor('every ExternalSecret Ready after the restart', async () => {
      const items = await lab.list('/apis/external-secrets.io/v1/externalsecrets');
      return items.length === generated.length && items.every((es) => es.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
    }, 120_000);
    const after = await readAll();
    for (const g of generated) {
      const id = `${g.namespace}/${g.name}`;
      expect([id, after.get(id)!.values]).toEqual([id, before.get(id)!.values]);
      // The sources were not even rewritten (same resourceVersion).
      if (g.declaration.copyOf === undefined) expect([id, after.get(id)!.resourceVersion]).toEqual([id, before.get(id)!.resourceVersion]);
    }
  });
}
