/**
 * Generated secrets at synth time: what the secrets chart renders for `mode: generated` declarations,
 * and the errors for declarations that cannot work. The real controller runs in
 * the prod lab (test/lab.real.test.ts, test/helpers/generated-secrets.ts).
 */
import { externalSecrets } from '../lib/addons/external-secrets';
import { passwordSpec } from '../lib/constructs/generated-secrets';
import { referenceDir } from '../lib/project';
import { loadCatalog } from '../lib/validation/schema-catalog';
import { validateObject } from '../lib/validation/validate-object';
import { BadInput, describeBadInputs } from './helpers/bad-input';
import { find, one, synthEnv } from './helpers/platform';

describe('GIVEN prod, whose internal credentials are generated', () => {
  const s = synthEnv('prod');
  const es = (namespace: string, name: string) => find(s, 'ExternalSecret').find((o) => o.metadata.namespace === namespace && o.metadata.name === name);

  test('THEN the External Secrets Operator is a pinned add-on beside the sealed-secrets controller, controller only, in a wave before the secrets chart', () => {
    const app = one(s, 'Application', 'external-secrets');
    expect(app.spec.source).toMatchObject({ repoURL: 'https://charts.external-secrets.io', chart: 'external-secrets', targetRevision: externalSecrets.version });
    expect(app.spec.destination.namespace).toBe('kube-system');
    expect(app.spec.source.helm.valuesObject).toMatchObject({ installCRDs: true, webhook: { create: false }, certController: { create: false }, resources: s.config.gitops.resources.externalSecrets });
    expect(Number(app.metadata.annotations['argocd.argoproj.io/sync-wave'])).toBeLessThan(Number(one(s, 'Application', 'secrets').metadata.annotations['argocd.argoproj.io/sync-wave']));
  });

  test('THEN each source ExternalSecret draws every key from a Password generator once and never refreshes', () => {
    const redis = es('data', 'redis-auth');
    expect(redis.spec).toMatchObject({ refreshPolicy: 'CreatedOnce', refreshInterval: '0s', target: { name: 'redis-auth' } });
    expect(redis.spec.dataFrom.map((d: any) => [d.sourceRef.generatorRef.kind, d.rewrite[0].regexp.target])).toEqual([
      ['Password', 'app-password'], ['Password', 'exporter-password'], ['Password', 'admin-password'],
    ]);
  });

  test('THEN every generated Secret outlives its ExternalSecret and keeps its values: orphaned, immutable, never pruned nor deleted by Argo CD; copies stay owned', () => {
    const all = find(s, 'ExternalSecret');
    const sources = all.filter((o) => o.spec.dataFrom !== undefined);
    expect(sources.length).toBeGreaterThan(10);
    for (const o of sources) {
      const where = `${o.metadata.namespace}/${o.metadata.name}`;
      // Orphan: no owner reference, so the garbage collector keeps the Secret when the ExternalSecret goes.
      // Immutable: a re-created ExternalSecret (no sync status) cannot write the new values it draws.
      expect([where, o.spec.target]).toMatchObject([where, { creationPolicy: 'Orphan', deletionPolicy: 'Retain', immutable: true }]);
      expect([where, o.metadata.annotations?.['argocd.argoproj.io/sync-options']]).toEqual([where, 'Prune=false,Delete=false']);
    }
    // A copy re-reads its source every minute: owned by its ExternalSecret, re-made when missing.
    for (const o of all.filter((x) => x.spec.data !== undefined)) {
      expect(o.spec.target).toMatchObject({ creationPolicy: 'Owner' });
      expect(o.spec.target.immutable).toBeUndefined();
      // Prunable (no sync options), and applied after the sources have made their Secrets (wave 1).
      expect(o.metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-wave': '1' });
    }
  });

  test('THEN MinIO keys are generated in the shape S3 clients take (20 and 40 letters and digits) and Grafana\'s user name is fixed', () => {
    const minio = es('data', 'minio-app-crm');
    const generator = (name: string) => find(s, 'Password').find((p) => p.metadata.namespace === 'data' && p.metadata.name === name);
    const byKey = Object.fromEntries(minio.spec.dataFrom.map((d: any) => [d.rewrite[0].regexp.target, generator(d.sourceRef.generatorRef.name).spec]));
    expect(byKey).toEqual({ 'access-key': passwordSpec(20), 'secret-key': passwordSpec(40) });
    expect(passwordSpec(20)).toMatchObject({ length: 20, symbols: 0 });
    const grafana = es('monitoring', 'grafana-admin');
    expect(grafana.spec.target.template).toEqual({ mergePolicy: 'Merge', data: { 'admin-user': 'admin' } });
    expect(grafana.spec.dataFrom.map((d: any) => d.rewrite[0].regexp.target)).toEqual(['admin-password']);
  });

  test('THEN a copy reads its source through a Kubernetes-provider SecretStore whose ServiceAccount may get exactly the copied Secrets', () => {
    const copy = es('app', 'redis-auth');
    expect(copy.spec).toMatchObject({ secretStoreRef: { kind: 'SecretStore', name: 'copy-from-data' }, data: [{ secretKey: 'app-password', remoteRef: { key: 'redis-auth', property: 'app-password' } }] });
    const store = find(s, 'SecretStore').find((o) => o.metadata.namespace === 'app')!;
    expect(store.spec.provider.kubernetes).toMatchObject({ remoteNamespace: 'data', auth: { serviceAccount: { name: 'external-secrets-copy-from-data' } } });
    const role = find(s, 'Role').find((o) => o.metadata.namespace === 'data' && o.metadata.name === 'external-secrets-copy-to-app')!;
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['minio-app-crm', 'minio-app-web', 'postgres-app', 'redis-auth'] }]);
  });

  test('THEN the generators, ExternalSecrets and SecretStores validate against the ESO CRDs of the reference', () => {
    const catalog = loadCatalog(referenceDir(), '1.33.0');
    const objects = ['Password', 'ExternalSecret', 'SecretStore'].flatMap((k) => find(s, k));
    expect(objects.length).toBeGreaterThan(20);
    for (const o of objects) expect([o.kind, o.metadata.name, validateObject(catalog, o)]).toEqual([o.kind, o.metadata.name, []]);
  });
});

const BAD: BadInput[] = [
  ['a generated key too short to be a password', { secrets: { data: { 'postgres-app': { keys: ['password'], mode: 'generated', generate: { password: { length: 4 } } } } } }, ['secrets.data.postgres-app.generate.password', 'is shorter than 8', 'fix:']],
  ['a shape for a key the Secret does not hold', { secrets: { data: { 'postgres-app': { keys: ['password'], mode: 'generated', generate: { pasword: { length: 32 } } } } } }, ['secrets.data.postgres-app.generate.pasword', 'is not one of the declared keys (password)', 'fix:']],
  ['a copy of a Secret the source role does not declare', { secrets: { app: { 'stripe-keys': { keys: ['secret-key'], mode: 'generated', copyOf: 'data' } } } }, ['secrets.app.stripe-keys.copyOf', 'names secrets.data.stripe-keys, which is not declared', 'fix:']],
  ['a copy of a key its source lacks', { secrets: { app: { 'redis-auth': { keys: ['app-password', 'root-password'], mode: 'generated', copyOf: 'data' } } } }, ['secrets.app.redis-auth.keys', 'lists "root-password", which secrets.data.redis-auth (the source of the copy) lacks', 'fix:']],
  ['a copy of itself', { secrets: { data: { 'postgres-app': { keys: ['password'], mode: 'generated', copyOf: 'data' } } } }, ['secrets.data.postgres-app.copyOf', 'names the Secret\'s own namespace role', 'fix:']],
  ['a fixed value that looks like a password', { secrets: { monitoring: { 'grafana-admin': { keys: ['admin-user', 'admin-password'], mode: 'generated', generate: { 'admin-user': { fixed: 'Hunter2!' } } } } } }, ['secrets.monitoring.grafana-admin.generate.admin-user', 'is not a plain user name', 'fix:']],
];

describeBadInputs('GIVEN a bad generated-secret declaration WHEN synthesizing', BAD, { endToEnd: ['a copy of a key its source lacks'] });
