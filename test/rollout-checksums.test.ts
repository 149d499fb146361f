import { configFor, one, synth } from './helpers/platform';
import { CHECKSUM_ANNOTATION } from '../lib/gitops/rollout-checksums';
import { newSealingKey, seal } from './helpers/kubeseal';

const checksum = (s: ReturnType<typeof synth>, kind: string, name: string): string | undefined =>
  one(s, kind, name).spec.template.metadata.annotations?.[CHECKSUM_ANNOTATION];

describe('GIVEN the prod defaults', () => {
  const base = synth(configFor('prod', {}));

  test('THEN every workload that reads a platform ConfigMap carries a checksum of it', () => {
    for (const [kind, name] of [['Deployment', 'pgbouncer'], ['StatefulSet', 'postgres'], ['StatefulSet', 'redis']]) {
      expect(checksum(base, kind, name)).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  test('WHEN pgbouncer.ini or redis.conf content changes THEN their pods roll (the checksum changes), and nothing else does', () => {
    const changed = synth(configFor('prod', { pgbouncer: { defaultPoolSize: 24 }, redis: { maxmemoryPolicy: 'allkeys-lfu' } }));
    expect(checksum(changed, 'Deployment', 'pgbouncer')).not.toBe(checksum(base, 'Deployment', 'pgbouncer'));
    expect(checksum(changed, 'StatefulSet', 'redis')).not.toBe(checksum(base, 'StatefulSet', 'redis'));
    expect(checksum(changed, 'StatefulSet', 'postgres')).toBe(checksum(base, 'StatefulSet', 'postgres'));
  });

  test('WHEN a Postgres setting that reloads changes (work_mem) THEN Postgres does not restart; WHEN one read at start changes (max_connections) THEN it does', () => {
    const reload = synth(configFor('prod', { postgres: { tuning: { workMem: '16Mi' } } }));
    expect(one(reload, 'ConfigMap', 'postgres-config').data['postgresql.conf']).toContain('work_mem = 16MB');
    expect(checksum(reload, 'StatefulSet', 'postgres')).toBe(checksum(base, 'StatefulSet', 'postgres'));
    const restart = synth(configFor('prod', { postgres: { tuning: { maxConnections: 120 } } }));
    expect(checksum(restart, 'StatefulSet', 'postgres')).not.toBe(checksum(base, 'StatefulSet', 'postgres'));
  });

  test('WHEN the sealed value of a Secret an app reads changes THEN the app rolls', () => {
    const sealed = (value: string) => synth(configFor('prod', {
      apps: { crm: { secretEnv: { STRIPE_SECRET_KEY: { secret: 'crm-secrets', key: 'stripe' } } } },
      secrets: { app: { 'crm-secrets': { keys: ['stripe'], mode: 'sealed', encryptedData: { stripe: value } } } },
    }));
    const key = newSealingKey();
    const a = sealed(seal(key, 'app', 'crm-secrets', 'sk_live_one'));
    const b = sealed(seal(key, 'app', 'crm-secrets', 'sk_live_two'));
    expect(checksum(a, 'Deployment', 'crm')).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(a, 'Deployment', 'crm')).not.toBe(checksum(b, 'Deployment', 'crm'));
    expect(checksum(a, 'Deployment', 'web')).toBe(checksum(b, 'Deployment', 'web'));
  });
});
