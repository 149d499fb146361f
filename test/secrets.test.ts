import { ApiObject, App, Chart } from 'cdk8s';
import { ConfigError } from '../lib/config/errors';
import { isSealedValue } from '../lib/config/fields';
import { sealedSecrets } from '../lib/addons/sealed-secrets';
import { assertSecretsDeclared, checkSecretDeclarations, findSecretReferences } from '../lib/gitops/secret-references';
import { chartWave } from '../lib/gitops/sync-order';
import { referenceDir } from '../lib/project';
import { loadCatalog } from '../lib/validation/schema-catalog';
import { validateObject } from '../lib/validation/validate-object';
import { findCredentials } from './helpers/credentials';
import { newSealingKey, seal, unseal } from './helpers/kubeseal';
import { configFor, ENVIRONMENTS, find, one, synth, synthEnv, loadFixture } from './helpers/platform';

describe('GIVEN the bundled config, where internal secrets are "generated" and outside ones "existing"', () => {
  const s = synthEnv('prod');

  test('THEN no SealedSecret is rendered and the sealed-secrets controller is installed where kubeseal looks for it', () => {
    expect(find(s, 'SealedSecret')).toEqual([]);
    const controller = one(s, 'Application', 'sealed-secrets-controller');
    expect(controller.spec.source).toMatchObject({ repoURL: sealedSecrets.repo, chart: 'sealed-secrets', targetRevision: sealedSecrets.version });
    expect(controller.spec.destination.namespace).toBe('kube-system');
    expect(controller.spec.source.helm.valuesObject.fullnameOverride).toBe('sealed-secrets-controller');
    expect(controller.spec.source.helm.valuesObject.resources).toEqual(s.config.gitops.resources.sealedSecrets);
  });

  test('THEN the scan finds every Secret key the pods read, and in the data and app namespaces each declared key has a reader', () => {
    const scanned = new Set(s.objects.flatMap((o) => findSecretReferences(o.object)).map((r) => `${r.namespace}/${r.name}/${r.key}`));
    // Monitoring's Secrets are named only inside Helm values (Grafana's existingSecret, Alertmanager's
    // mounted secrets), and so is Argo CD's notifications Secret: the scan cannot read them;
    // Platform.declaredSecrets lists them instead.
    // Traefik reads the admin UIs' credential through the basicAuth Middlewares, not a pod spec: EdgeChart lists it.
    const byTraefik = s.platform.edge.secrets.map((r) => `${r.namespace}/${r.name}/${r.key}`);
    expect(byTraefik).toContain('data/edge-admin-auth/password');
    const inPods = s.platform.declaredSecrets.filter((r) => r.namespace !== s.config.namespaces.monitoring && r.namespace !== 'argocd' && !byTraefik.includes(`${r.namespace}/${r.name}/${r.key}`));
    for (const r of inPods) expect(scanned).toContain(`${r.namespace}/${r.name}/${r.key}`);
    for (const role of ['data', 'app'] as const) {
      const ns = s.config.namespaces[role];
      const declared = Object.entries(s.config.secrets[role]).flatMap(([name, d]) => d.keys.map((k) => `${ns}/${name}/${k}`));
      expect(declared.sort()).toEqual([...scanned, ...byTraefik].filter((r) => r.startsWith(`${ns}/`)).sort());
    }
    expect(scanned).toContain('data/postgres-superuser/password');
    expect(scanned).toContain('app/redis-auth/app-password');
    expect(scanned).not.toContain('app/redis-auth/admin-password'); // the app namespace only gets the app's own password
  });
});

describe.each(ENVIRONMENTS)('the %s environment in dist/', (env) => {
  const s = synthEnv(env);

  test('THEN no object is a Secret carrying data or stringData', () => {
    expect(find(s, 'Secret').filter((o) => o.data !== undefined || o.stringData !== undefined)).toEqual([]);
  });

  test('THEN no literal anywhere looks like a credential', () => {
    expect(s.objects.flatMap((o) => findCredentials(o.object, o.file))).toEqual([]);
  });
});

describe('the credential detector', () => {
  const deployment = (env: object[]) => ({ kind: 'Deployment', spec: { template: { spec: { containers: [{ name: 'x', env }] } } } });

  test.each([
    ['an env var named like a secret with a literal value', deployment([{ name: 'DB_PASSWORD', value: 'hunter2hunter2' }]), 'env DB_PASSWORD has a literal value'],
    ['a password inside a URL', deployment([{ name: 'DATABASE_URL', value: 'postgres://app:s3cr3t@pgbouncer:6432/app' }]), 'a password inside a URL'],
    ['a password in a config file', { kind: 'ConfigMap', data: { 'app.ini': '[db]\npassword = s3cr3tP4ss\n' } }, 'a literal password setting'],
    ['a Redis requirepass directive', { kind: 'ConfigMap', data: { 'redis.conf': 'requirepass 9f8e7d6c5b\n' } }, 'a literal requirepass directive'],
    ['an AWS access key id', { kind: 'ConfigMap', data: { k: 'AKIAIOSFODNN7EXAMPLE' } }, 'an AWS access key id'],
    ['a private key', { kind: 'ConfigMap', data: { k: '-----BEGIN RSA PRIVATE KEY-----\nMIIE...' } }, 'a private key'],
    ['a random token', { kind: 'ConfigMap', data: { k: 'token-for-webhook: Zx8fQ2LmR7vT1kPw9sYc4HbN6jDa3GeU' } }, 'a long high-entropy token'],
  ])('GIVEN %s THEN it is found', (_name, object, reason) => {
    expect(findCredentials(object).map((f) => f.reason)).toContain(reason);
  });

  test('GIVEN values composed from Secret references THEN nothing is found', () => {
    const ok = deployment([{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'postgres-app', key: 'password' } } }, { name: 'DATABASE_URL', value: 'postgres://app:$(DB_PASSWORD)@pgbouncer:6432/app' }]);
    expect(findCredentials(ok)).toEqual([]);
  });
});

describe('GIVEN an environment that seals its secrets with kubeseal', () => {
  const key = newSealingKey();
  const values = { 'postgres-app': 'app-password-from-a-vault', 'pgbouncer-auth': 'pooler-password-from-a-vault' };
  const config = configFor('prod', {
    secrets: {
      data: {
        'postgres-app': { keys: ['password'], mode: 'sealed', encryptedData: { password: seal(key, 'data', 'postgres-app', values['postgres-app']) } },
        'pgbouncer-auth': { keys: ['password'], mode: 'sealed', encryptedData: { password: seal(key, 'data', 'pgbouncer-auth', values['pgbouncer-auth']) } },
      },
    },
  });
  const s = synth(config);

  test('THEN one SealedSecret per sealed declaration carries exactly the committed ciphertext, for its name and namespace', () => {
    expect(find(s, 'SealedSecret').map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual(['data/pgbouncer-auth', 'data/postgres-app']);
    const sealed = one(s, 'SealedSecret', 'postgres-app');
    expect(sealed.spec.encryptedData).toEqual(config.secrets.data['postgres-app'].encryptedData);
    expect(sealed.spec.template.metadata).toMatchObject({ name: 'postgres-app', namespace: 'data' });
    expect(sealed.metadata.annotations?.['sealedsecrets.bitnami.com/cluster-wide']).toBeUndefined(); // strict scope
  });

  test('THEN the ciphertext decrypts with the sealing key, for exactly that name and namespace (strict scope)', () => {
    const sealed = one(s, 'SealedSecret', 'postgres-app');
    expect(unseal(key, 'data', 'postgres-app', sealed.spec.encryptedData.password)).toBe(values['postgres-app']);
    expect(() => unseal(key, 'app', 'postgres-app', sealed.spec.encryptedData.password)).toThrow();
  });

  test('THEN the SealedSecrets validate against the sealed-secrets CRD and sync in the secrets wave, after the controller', () => {
    const catalog = loadCatalog(referenceDir(), '1.33.0');
    for (const o of find(s, 'SealedSecret')) expect(validateObject(catalog, o)).toEqual([]);
    const app = one(s, 'Application', 'secrets');
    expect(Number(app.metadata.annotations['argocd.argoproj.io/sync-wave'])).toBe(chartWave('secrets'));
    expect(chartWave('secrets')).toBeGreaterThan(Number(one(s, 'Application', 'sealed-secrets-controller').metadata.annotations['argocd.argoproj.io/sync-wave']));
    expect(chartWave('secrets')).toBeLessThan(chartWave('postgres'));
  });

  test('THEN the app namespace, which was not sealed, still gets its copy of the generated Secret', () => {
    expect(find(s, 'SealedSecret').some((o) => o.metadata.namespace === 'app')).toBe(false);
    expect(config.secrets.app['postgres-app']).toMatchObject({ mode: 'generated', copyOf: 'data' });
    expect(find(s, 'ExternalSecret').filter((o) => o.metadata.namespace === 'app').map((o) => o.metadata.name)).toContain('postgres-app');
  });
});

describe('the kubeseal value check', () => {
  test('GIVEN real-format ciphertext from 2048- and 4096-bit keys THEN it is accepted', () => {
    expect(isSealedValue(seal(newSealingKey(), 'data', 'x', 'v'))).toBe(true);
    expect(isSealedValue(seal(newSealingKey(4096), 'data', 'x', ''))).toBe(true);
  });

  test.each([
    ['a plain password', 'hunter2'],
    ['a base64-encoded plain password (a Secret data value)', Buffer.from('hunter2').toString('base64')],
    ['truncated ciphertext', seal(newSealingKey(), 'data', 'x', 'v').slice(0, 300)],
    ['base64 with a line break', `${seal(newSealingKey(), 'data', 'x', 'v').slice(0, 40)}\n${seal(newSealingKey(), 'data', 'x', 'v').slice(40)}`],
  ])('GIVEN %s THEN it is refused', (_name, value) => {
    expect(isSealedValue(value)).toBe(false);
  });
});

describe('checking the declarations against what the charts read', () => {
  const config = loadFixture('prod');
  const read = (namespace: string, name: string, key?: string) => ({ namespace, name, key, from: 'CronJob backup/pg-dump' });

  test('GIVEN a key the declaration does not list THEN the problem names the key and who reads it', () => {
    expect(checkSecretDeclarations(config, [read('data', 'postgres-app', 'username')], [])).toEqual([
      { key: 'secrets.data.postgres-app.keys', value: ['password'], message: 'lacks "username", which CronJob backup/pg-dump reads; fix: add "username" to the keys (and seal it in sealed mode)' },
    ]);
  });

  test('GIVEN a Secret read outside the platform namespaces THEN it is refused', () => {
    expect(checkSecretDeclarations(config, [read('kube-system', 'x', 'y')], [])[0].message).toMatch(/kube-system is no platform namespace; fix:/);
  });

  test('GIVEN a chart that renders a declared Secret itself WHEN the platform is checked THEN it fails as declared twice', () => {
    const app = new App();
    const chart = new Chart(app, 'monitoring');
    new ApiObject(chart, 'grafana', { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name: 'postgres-app', namespace: 'data' }, spec: { encryptedData: {} } });
    let error: unknown;
    try {
      assertSecretsDeclared(config, [chart], []);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('secrets.data.postgres-app = "generated": is declared twice: in the config and as a SealedSecret rendered by chart "monitoring"; fix:');
  });

  test('GIVEN a Helm value that names an existing Secret (invisible to the scan) WHEN it is listed as an extra reference THEN it must be declared too', () => {
    const app = new App();
    expect(() => assertSecretsDeclared(config, [new Chart(app, 'monitoring')], [{ namespace: 'monitoring', name: 'grafana-oauth', key: 'client-secret' }])).toThrow(
      /secrets\.monitoring\.grafana-oauth = \(not set\): is read by Platform\.declaredSecrets but never declared; fix: add to secrets\.monitoring .*'grafana-oauth': \{ keys: \['client-secret'\], mode: 'existing' \}/,
    );
  });

  test('GIVEN envFrom, a secret volume with items and a projected volume THEN every reference is found', () => {
    const pod = {
      kind: 'CronJob', metadata: { name: 'dump', namespace: 'backup' },
      spec: { jobTemplate: { spec: { template: { spec: {
        containers: [{ name: 'c', envFrom: [{ secretRef: { name: 'b2' } }] }],
        volumes: [
          { name: 'a', secret: { secretName: 'ssh', items: [{ key: 'id', path: 'id' }] } },
          { name: 'b', projected: { sources: [{ secret: { name: 'tls', items: [{ key: 'ca.crt', path: 'ca' }] } }] } },
        ],
      } } } } },
    };
    expect(findSecretReferences(pod).map((r) => `${r.name}/${r.key ?? '*'}`).sort()).toEqual(['b2/*', 'ssh/id', 'tls/ca.crt']);
  });
});
