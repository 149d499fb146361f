import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { PlatformConfig } from '../lib/config/schema';
import { clusterPeers } from '../lib/config/shared-cluster';
import { IMAGES } from '../lib/config/versions';
import { EdgeAttachment } from '../lib/constructs/edge/public-ingress';
import { GlitchTip } from '../lib/services/glitchtip/glitchtip';
import { Minio } from '../lib/services/minio/minio';
import { Postgres } from '../lib/services/postgres/postgres';
import { Redis } from '../lib/services/redis/redis';

export interface GlitchTipChartProps {
  readonly config: PlatformConfig;
  readonly postgres: Postgres;
  readonly redis: Redis;
  readonly minio: Minio;
  /** The admin attachment of the monitoring namespace (allow-list). */
  readonly edge: EdgeAttachment;
  readonly traefikPodLabels: Readonly<Record<string, string>>;
}

/**
 * GlitchTip (error tracking) in the monitoring namespace, on the data services' attributes:
 * its database through PgBouncer, Redis as a bound client, MinIO when `glitchtip.s3` is set.
 */
export class GlitchTipChart extends Chart {
  public readonly glitchtip: GlitchTip;

  constructor(scope: Construct, id: string, props: GlitchTipChartProps) {
    super(scope, id, { labels: { 'app.kubernetes.io/part-of': 'platform' } });
    const { config, redis } = props;
    const namespace = config.namespaces.monitoring;
    this.glitchtip = new GlitchTip(this, 'GlitchTip', {
      config: config.glitchtip,
      namespace,
      image: config.images.glitchtip ?? IMAGES.glitchtip,
      database: props.postgres.addDatabase(config.glitchtip.database),
      redis: { host: redis.host, port: redis.port, username: redis.username, binding: redis.bindApp({ name: 'glitchtip', namespace }) },
      s3: { endpoint: props.minio.s3Endpoint, api: props.minio.endpoint },
      edge: props.edge,
      edgeNamespace: clusterPeers(config).edge,
      traefikPodLabels: props.traefikPodLabels,
      sentryApps: config.apps.filter((a) => a.sentry).map((a) => a.name),
      storageClass: config.storageClass,
    });
  }
}
