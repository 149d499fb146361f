/**
 * GlitchTip (error tracking) as a built-in service, in the monitoring namespace, on the other
 * services' attributes: its own database on Postgres (asked for with addDatabase), through PgBouncer;
 * Redis as a bound client; MinIO when `glitchtip.s3` is set. Apps with `sentry: true` get SENTRY_DSN.
 */
import { IMAGES } from '../../config/versions';
import { Minio } from '../minio/minio';
import { Redis } from '../redis/redis';
import { builtInService, ServiceContext } from '../service';
import { GlitchTipServiceConfig, glitchtipIssues, glitchtipSchema } from './config';
import { GlitchTip } from './glitchtip';

export const glitchtipService = builtInService({
  key: 'glitchtip',
  section: {
    schema: glitchtipSchema,
    // GlitchTip documents 256 MB for its all-in-one mode (512 MB recommended): request the former, allow the latter.
    defaults: {
      enabled: true,
      host: 'errors.{domain}',
      database: 'glitchtip',
      retentionDays: 90,
      resources: { requests: { cpu: '50m', memory: '256Mi' }, limits: { memory: '512Mi' } },
      storage: { size: '2Gi' },
    },
    crossChecks: glitchtipIssues,
  },
  wave: 5,
  enabled: (config: GlitchTipServiceConfig) => config.glitchtip.enabled,
  resourceKeys: { glitchtip: 'glitchtip.resources' },
  build: (chart, { config, postgres, built, edge, peers }: ServiceContext<GlitchTipServiceConfig>) => {
    const namespace = config.namespaces.monitoring;
    const redis = built.get('redis') as Redis;
    const minio = built.get('minio') as Minio;
    return new GlitchTip(chart, 'GlitchTip', {
      config: config.glitchtip,
      namespace,
      image: config.images.glitchtip ?? IMAGES.glitchtip,
      database: postgres!.addDatabase(config.glitchtip.database),
      redis: { host: redis.host, port: redis.port, username: redis.username, binding: redis.bindApp({ name: 'glitchtip', namespace }) },
      s3: { endpoint: minio.s3Endpoint, api: minio.endpoint },
      edge: edge.attachment('monitoring', 'admin'),
      edgeNamespace: peers.edge,
      traefikPodLabels: edge.traefikPodLabels,
      sentryApps: config.apps.filter((a) => a.sentry).map((a) => a.name),
      storageClass: config.storageClass,
    });
  },
});
