/**
 * Losing any one of ha's three nodes, on the model of lib/validation/node-loss.ts (the placement the
 * objects ask the scheduler for, k3s's 300 s eviction, node-bound volumes): every Service an app uses keeps
 * a ready endpoint, except Postgres's rw Service while Patroni promotes (proven by test/patroni.real.test.ts).
 */
import { DEFAULT_TOLERATION_SECONDS, nodeLoss, workloadsOf } from '../lib/validation/node-loss';
import { synthEnv } from './helpers/platform';

const s = synthEnv('ha');
const objects = s.objects.map((o) => o.object);
const nodes = s.config.node.count;
/** What the apps reach: their own Services, PgBouncer, Redis, MinIO (Traefik is a DaemonSet of the edge chart: one per node). */
export const APP_FACING = ['app/crm', 'app/web', 'data/pgbouncer', 'data/redis', 'data/minio', 'data/minio-console'];

describe.each(Array.from({ length: nodes }, (_, i) => i))('GIVEN ha on three nodes WHEN node %i is lost', (lost) => {
  const table = nodeLoss(objects, nodes, lost, [...APP_FACING, 'data/postgres-rw']);

  test.each(APP_FACING)('THEN %s keeps at least one ready endpoint', (service) => {
    const row = table.find((r) => r.service === service)!;
    expect([service, row.after]).toEqual([service, expect.any(Number)]);
    expect(row.after).toBeGreaterThanOrEqual(1);
  });

  test('THEN the rw Service of Postgres is the one that waits, for Patroni\'s promotion, when the leader was there', () => {
    expect(table.find((r) => r.service === 'data/postgres-rw')).toMatchObject({ before: 1, after: 0 });
  });
});

describe('GIVEN ha WHEN its workloads are read for a node loss', () => {
  const workloads = workloadsOf(objects);
  const of = (name: string) => workloads.find((w) => w.name === name)!;

  test('THEN every StatefulSet of data (Postgres, Redis, the MinIO pool) has one member per node by required anti-affinity', () => {
    for (const name of ['postgres', 'redis', 'minio-pool']) expect([name, of(name).spread, of(name).replicas]).toEqual([name, 'required', nodes]);
  });

  test('THEN HAProxy leaves a dead node after 30 s (it holds no data), the apps and PgBouncer after k3s\'s default 300 s', () => {
    expect(of('redis-haproxy').tolerationSeconds).toBe(30);
    for (const name of ['crm', 'web', 'pgbouncer']) expect(of(name).tolerationSeconds).toBe(DEFAULT_TOLERATION_SECONDS);
  });

  test('THEN every Deployment an app uses runs at least 2 pods kept apart, and has a PodDisruptionBudget', () => {
    for (const name of ['crm', 'web', 'worker', 'pgbouncer', 'redis-haproxy']) {
      expect([name, of(name).replicas >= 2, of(name).spread]).toEqual([name, true, 'preferred']);
      expect(objects.some((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === name)).toBe(true);
    }
  });
});
