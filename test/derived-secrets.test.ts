/**
 * Issue 31: what the platform generates needs no hand-written Secret declaration. An app's MinIO key
 * pair follows from minio.appAccess; the GlitchTip DSN Secret is required only while GlitchTip runs
 * and some app sets sentry: true. A file's own declaration still wins.
 */
import { configFor, find, synth } from './helpers/platform';

describe('GIVEN an app granted a bucket without any Secret declaration', () => {
  const s = synth(configFor('prod', { minio: { appAccess: { worker: { buckets: ['documents'] } } } }));

  test('THEN its key pair is generated in the data namespace and copied into the app namespace, and the app reads it', () => {
    expect(s.config.secrets.data['minio-app-worker']).toMatchObject({ mode: 'generated', generate: { 'access-key': { length: 20 }, 'secret-key': { length: 40 } } });
    expect(s.config.secrets.app['minio-app-worker']).toMatchObject({ mode: 'generated', copyOf: 'data' });
    const env = find(s, 'Deployment', 'worker')[0].spec.template.spec.containers[0].env;
    expect(env.find((e: any) => e.name === 'S3_ACCESS_KEY').valueFrom.secretKeyRef).toEqual({ name: 'minio-app-worker', key: 'access-key' });
  });
});

describe('GIVEN a file that declares the key pair itself', () => {
  test('THEN its declaration wins', () => {
    const config = configFor('prod', { secrets: { app: { 'minio-app-web': { mode: 'existing', keys: ['access-key', 'secret-key'] } } } });
    expect(config.secrets.app['minio-app-web'].mode).toBe('existing');
  });
});

describe('GIVEN the GlitchTip DSN Secret', () => {
  test('WHEN GlitchTip runs and crm and web set sentry THEN it is declared with their keys', () => {
    expect(configFor('prod', { glitchtip: { enabled: true } }).secrets.app['glitchtip-dsn'].keys).toEqual(['crm-public-key', 'crm-project-id', 'web-public-key', 'web-project-id']);
  });

  test('WHEN GlitchTip does not run THEN it is not declared, so nobody is asked to supply it', () => {
    const config = configFor('prod', { glitchtip: { enabled: false }, apps: { crm: { sentry: false }, web: { sentry: false } } });
    expect(config.secrets.app['glitchtip-dsn']).toBeUndefined();
  });

  test('WHEN GlitchTip runs but no app sets sentry THEN it is not declared either', () => {
    expect(configFor('prod', { glitchtip: { enabled: true }, apps: { crm: { sentry: false }, web: { sentry: false } } }).secrets.app['glitchtip-dsn']).toBeUndefined();
  });
});
