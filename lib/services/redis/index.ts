/**
 * Redis as a built-in service: sessions, cache, rate limits and job queues, one persistent instance
 * in the data namespace in every environment (README, "Redis and MinIO").
 */
import { IMAGES } from '../../config/versions';
import { builtInService, InDataNamespace, ServiceContext } from '../service';
import { RedisConfig } from './config';
import { Redis, RedisProps } from './redis';

/** What the Redis service reads. */
export interface RedisServiceConfig extends InDataNamespace {
  readonly redis: RedisConfig;
}

/** The construct's props from the `redis` section: its maxmemory and persistence as written, the images pinned unless overridden. */
export function redisProps({ config, peers }: ServiceContext<RedisServiceConfig>): RedisProps {
  const { redis: r, images } = config;
  return {
    namespace: config.namespaces.data, monitoringNamespace: peers.monitoring,
    image: images.redis ?? IMAGES.redis, exporterImage: images.redisExporter ?? IMAGES.redisExporter,
    storageSize: r.storage.size, storageClass: r.storage.storageClass ?? config.storageClass,
    resources: r.resources, exporterResources: r.exporter.resources,
    maxmemory: r.maxmemory, maxmemoryPolicy: r.maxmemoryPolicy, appendfsync: r.appendfsync, save: r.save,
  };
}

export const redisService = builtInService({
  section: undefined,
  key: 'redis',
  resourceKeys: { redis: 'redis.resources' },
  build: (chart, context: ServiceContext<RedisServiceConfig>) => new Redis(chart, 'Redis', redisProps(context)),
});
