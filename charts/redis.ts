import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { PlatformConfig } from '../lib/config/schema';
import { clusterPeers } from '../lib/config/shared-cluster';
import { IMAGES } from '../lib/config/versions';
import { Redis } from '../lib/services/redis/redis';

export interface RedisChartProps {
  readonly config: PlatformConfig;
}

/**
 * Redis for sessions, cache, rate limits and job queues: one persistent instance in the
 * data namespace. A single instance in every environment (see README, "Redis and MinIO").
 */
export class RedisChart extends Chart {
  public readonly redis: Redis;

  constructor(scope: Construct, id: string, props: RedisChartProps) {
    super(scope, id, { labels: { 'app.kubernetes.io/part-of': 'platform' } });
    const { config } = props;
    this.redis = new Redis(this, 'Redis', {
      namespace: config.namespaces.data,
      monitoringNamespace: clusterPeers(config).monitoring,
      image: config.images.redis ?? IMAGES.redis,
      exporterImage: config.images.redisExporter ?? IMAGES.redisExporter,
      storageSize: config.redis.storage.size,
      storageClass: config.redis.storage.storageClass ?? config.storageClass,
      resources: config.redis.resources,
      exporterResources: config.redis.exporter.resources,
      maxmemory: config.redis.maxmemory,
      maxmemoryPolicy: config.redis.maxmemoryPolicy,
      appendfsync: config.redis.appendfsync,
      save: config.redis.save,
    });
  }
}
