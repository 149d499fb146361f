import { App, Chart } from 'cdk8s';
import { BaseChart } from '../charts/base';
import { AppChart } from '../charts/app';
import { EdgeChart } from '../charts/edge';
import { DIRECT_DB_ACCESS_LABEL, PostgresChart } from '../charts/postgres';
import { MinioChart } from '../charts/minio';
import { RedisChart } from '../charts/redis';
import { PlatformConfig } from './config/schema';
import { ArgoCdChart } from '../charts/argocd';
import { SecretsChart } from '../charts/secrets';
import { assertSecretsDeclared } from './gitops/secret-references';
import { selectorLabels } from './labels';
import { Minio } from './constructs/minio';
import { Redis } from './constructs/redis';
import { REDIS_SECRET_KEYS } from './constructs/redis-conf';

/**
 * The whole platform of one environment: one cdk8s App whose charts each become one
 * folder in dist/<env>/ and one Argo CD Application.
 */
export class Platform {
  public readonly app: App;
  public readonly config: PlatformConfig;
  public readonly base: BaseChart;
  public readonly postgres: PostgresChart;
  public readonly apps: AppChart;
  public readonly edge: EdgeChart;
  /** Host, port and Secret of Redis, for the app chart. */
  public readonly redis: Redis;
  /** S3 endpoint, buckets and Secrets of MinIO, for the app chart and backups. */
  public readonly minio: Minio;
  /** SealedSecrets of the `secrets` declarations and the sealed-secrets controller. */
  public readonly secrets: SecretsChart;
  /** Argo CD: AppProject, root and one Application per chart, derived from the charts above. */
  public readonly argocd: ArgoCdChart;

  constructor(config: PlatformConfig) {
    this.config = config;
    this.app = new App();
    this.base = new BaseChart(this.app, 'base', { config });
    this.postgres = new PostgresChart(this.app, 'postgres', { config });
    this.edge = new EdgeChart(this.app, 'edge', { config });
    this.redis = new RedisChart(this.app, 'redis', { config }).redis;
    this.minio = new MinioChart(this.app, 'minio', {
      config,
      edge: {
        ingressClassName: this.edge.ingressClassName,
        issuerName: this.edge.issuerName,
        middlewares: this.edge.middlewares.data.publicAnnotation,
        adminMiddlewares: this.edge.middlewares.data.adminAnnotation,
      },
    }).minio;

    const { cluster, pgbouncer } = this.postgres;
    const data = config.namespaces.data;
    this.apps = new AppChart(this.app, 'app', {
      config,
      wiring: (app) => ({
        pooler: { host: pgbouncer.host, port: pgbouncer.port, database: pgbouncer.database, user: cluster.appUser, passwordSecret: pgbouncer.appSecret },
        primary: { host: cluster.primaryHost, port: cluster.port },
        readOnly: cluster.readOnlyHost ? { host: cluster.readOnlyHost, port: cluster.port } : undefined,
        redis: { host: this.redis.host, port: this.redis.port, user: this.redis.username, passwordSecret: { name: this.redis.secretName, key: this.redis.secretKey } },
        s3: this.s3For(app.name),
      }),
      dataTargets: [
        { namespace: data, podLabels: pgbouncer.podLabels, port: pgbouncer.port },
        { namespace: data, podLabels: selectorLabels('redis'), port: this.redis.port },
        { namespace: data, podLabels: selectorLabels('minio'), port: this.minio.apiPort },
      ],
      primaryTarget: { namespace: data, podLabels: cluster.primaryPodLabels, port: cluster.port },
      directDbAccessLabels: DIRECT_DB_ACCESS_LABEL,
      edge: {
        ingressClassName: this.edge.ingressClassName,
        issuerName: this.edge.issuerName,
        middlewares: this.edge.middlewares.app.publicAnnotation,
      },
    });

    // --- GitOps: keep these lines last; they derive from every chart above (README, "GitOps") ---
    this.secrets = new SecretsChart(this.app, 'secrets', { config });
    assertSecretsDeclared(config, this.charts, this.declaredSecrets);
    this.argocd = new ArgoCdChart(this.app, 'argocd', { config, charts: this.charts });
  }

  /** Plain-S3 settings of one app: its own key pair and its first granted bucket. */
  private s3For(app: string) {
    const access = this.config.minio.appAccess[app];
    if (!access || access.buckets.length === 0) return undefined;
    const secret = this.minio.appSecretName(app);
    return {
      endpoint: this.minio.s3Endpoint,
      publicUrl: this.minio.publicUrl,
      bucket: access.buckets[0],
      region: 'us-east-1',
      accessKeySecret: { name: secret, key: 'access-key' },
      secretKeySecret: { name: secret, key: 'secret-key' },
    };
  }

  /**
   * Secrets the platform reads, by namespace. References in pod specs are also found by scanning
   * the synthesized objects; list here what a scan cannot see (a Helm value naming an existing
   * Secret). Each must be declared under `secrets` in the config, or the synth fails.
   */
  public get declaredSecrets(): { namespace: string; name: string; key: string }[] {
    const { cluster, pgbouncer } = this.postgres;
    const data = this.config.namespaces.data;
    return [
      ...Object.values(cluster.secrets).map((ref) => ({ namespace: data, ...ref })),
      // Apps read their credentials in their own namespace (Secrets do not cross namespaces).
      { namespace: this.config.namespaces.app, ...pgbouncer.appSecret },
      { namespace: this.config.namespaces.app, name: this.redis.secretName, key: this.redis.secretKey },
      ...this.config.apps.filter((a) => this.s3For(a.name)).flatMap((a) => ['access-key', 'secret-key'].map((key) => ({
        namespace: this.config.namespaces.app, name: this.minio.appSecretName(a.name), key,
      }))),
      ...Object.values(REDIS_SECRET_KEYS).map((key) => ({ namespace: data, name: this.redis.secretName, key })),
      ...['root-user', 'root-password'].map((key) => ({ namespace: data, name: this.minio.rootSecretName, key })),
      ...Object.keys(this.config.minio.appAccess).flatMap((app) => ['access-key', 'secret-key'].map((key) => ({
        namespace: data, name: this.minio.appSecretName(app), key,
      }))),
    ];
  }

  /** Charts in construct order; the id of each is its folder name. */
  public get charts(): Chart[] {
    return this.app.charts;
  }
}
