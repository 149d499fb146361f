/** The `redis` section, beside the construct that reads it. */
import { z } from '../../config/zod';
import { BOUNDS, positiveInt, quantity, resources, storage } from '../../config/fields';

export const redisSchema = z.strictObject({
  storage,
  resources: resources(),
  /** `maxmemory`; the memory limit must leave REDIS_MEMORY_HEADROOM on top (fork for AOF rewrite, fragmentation). */
  maxmemory: quantity(),
  maxmemoryPolicy: z.enum(['allkeys-lru', 'allkeys-lfu', 'volatile-lru', 'volatile-lfu', 'allkeys-random', 'volatile-ttl', 'noeviction']),
  appendfsync: z.enum(['always', 'everysec', 'no']),
  /** RDB snapshots: `save <seconds> <changes>` lines. */
  save: z.array(z.strictObject({ seconds: positiveInt('seconds', BOUNDS.seconds), changes: positiveInt('changes', { max: 100_000_000, why: 'a snapshot that waits for more changes than that never runs' }) })).max(10, 'lists more than 10 save rules, the most this platform accepts because each is one snapshot trigger and two or three cover every pattern; fix: keep at most 10'),
  exporter: z.strictObject({ resources: resources() }),
});

export type RedisConfig = z.output<typeof redisSchema>;
