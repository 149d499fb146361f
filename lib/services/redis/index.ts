/**
 * Redis as a built-in service: sessions, cache, rate limits and job queues, one persistent instance
 * in the data namespace in every environment (README, "Redis and MinIO").
 */
import { IMAGES } from '../../config/versions';
import { builtInService, InDataNamespace, ServiceContext } from '../service';
import { RedisConfig } from './config';
import { Redis } from './redis';

/** What the Redis service reads. */
export interface RedisServiceConfig extends InDataNamespace {
  readonly redis: RedisConfig;
}

export const redisService = builtInService({
  section: undefined,
  key: 'redis',
  resourceKeys: { redis: 'redis.resources' },
  build: (chart, { config, peers }: ServiceContext<RedisServiceConfig>) => {
    const r = config.redis;
    return new Redis(chart, 'Redis', {
      namespace: config.namespaces.data,
      monitoringNamespace: peers.monitoring,
      image: config.images.redis ?? IMAGES.redis,
      exporterImage: config.images.redisExporter ?? IMAGES.redisExporter,
      storageSize: r.storage.size,
      storageClass: r.storage.storageClass ?? config.storageClass,
      resources: r.resources,
      exporterResources: r.exporter.resources,
      maxmemory: r.maxmemory,
      maxmemoryPolicy: r.maxmemoryPolicy,
      appendfsync: r.appendfsync,
      save: r.save,
    });
  },
});
