import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { PlatformConfig } from '../lib/config/schema';
import { clusterPeers } from '../lib/config/shared-cluster';
import { IMAGES } from '../lib/config/versions';
import { Redis, RedisReplication } from '../lib/constructs/redis';

export interface RedisChartProps {
  readonly config: PlatformConfig;
}

/**
 * Redis for sessions, cache, rate limits and job queues in the data namespace: one persistent
 * instance on one or two nodes; on three nodes or more a primary and two replicas that fail over
 * (Sentinel), HAProxy in front (see README, "Redis and MinIO").
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
      // Three nodes or more: a primary and two replicas with Sentinel, HAProxy in front (README "Redis and MinIO").
      ...(config.node.count >= 3 ? { replication: redisReplication(config) } : {}),
    });
  }
}

/** Three members (one per node, a quorum of 2 survives one loss), two proxies; small fixed sizes for Sentinel and HAProxy. */
export function redisReplication(config: PlatformConfig): RedisReplication {
  return {
    members: 3,
    nodes: config.node.count,
    haproxyImage: config.images.haproxy ?? IMAGES.haproxy,
    sentinelResources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
    haproxyResources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
  };
}
