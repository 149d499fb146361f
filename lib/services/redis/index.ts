/**
 * Redis as a built-in service: sessions, cache, rate limits and job queues in the data namespace: one
 * persistent instance on one or two nodes; on three nodes or more a primary and two replicas that fail
 * over (Sentinel), HAProxy in front (README, "Redis and MinIO").
 */
import { IMAGES } from '../../config/versions';
import { builtInService, InDataNamespace, ServiceContext } from '../service';
import { RedisConfig } from './config';
import { Redis, RedisProps, RedisReplication } from './redis';

/** What the Redis service reads. */
export interface RedisServiceConfig extends InDataNamespace {
  readonly redis: RedisConfig;
  /** How many nodes: three or more run the failover set. */
  readonly node: { readonly count: number };
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
    // Three nodes or more: a primary and two replicas with Sentinel, HAProxy in front (README "Redis and MinIO").
    ...(config.node.count >= 3 ? { replication: redisReplication(config) } : {}),
  };
}

/** Three members (one per node, a quorum of 2 survives one loss), two proxies; small fixed sizes for Sentinel and HAProxy. */
export function redisReplication(config: Pick<RedisServiceConfig, 'node' | 'images'>): RedisReplication {
  return {
    members: 3,
    nodes: config.node.count,
    haproxyImage: config.images.haproxy ?? IMAGES.haproxy,
    sentinelResources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
    haproxyResources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
  };
}

export const redisService = builtInService({
  section: undefined,
  key: 'redis',
  resourceKeys: { redis: 'redis.resources' },
  build: (chart, context: ServiceContext<RedisServiceConfig>) => new Redis(chart, 'Redis', redisProps(context)),
});
