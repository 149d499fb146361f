import { ApiObject, App, Chart } from 'cdk8s';
import { BaseChart } from '../charts/base';
import { AppChart } from '../charts/app';
import { EdgeChart } from '../charts/edge';
import { DIRECT_DB_ACCESS_LABEL, PostgresChart } from '../charts/postgres';
import { MinioChart } from '../charts/minio';
import { MonitoringChart } from '../charts/monitoring';
import { ProbeTarget } from './constructs/monitoring/probes';
import { RedisChart } from '../charts/redis';
import { BackupChart } from '../charts/backup';
import { ROLES } from './constructs/postgres/config-files';
import { PlatformConfig } from './config/schema';
import { ArgoCdChart } from '../charts/argocd';
import { SecretsChart } from '../charts/secrets';
import { assertSecretsDeclared } from './gitops/secret-references';
import { selectorLabels } from './labels';
import { Minio } from './constructs/minio';
import { Redis } from './constructs/redis';
import { REDIS_SECRET_KEYS } from './constructs/redis-conf';
import { HelmAddOn } from './addons/addon';
import { ADD_ONS } from './addons/registry';

export interface PlatformOptions {
  /**
   * The Helm add-ons; each is installed by the chart its descriptor names as host.
   * @default ADD_ONS (lib/addons/registry.ts)
   */
  readonly addOns?: readonly HelmAddOn[];
}

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
  /** Prometheus, Alertmanager, Grafana, Loki, Alloy, probes and the status page. */
  public readonly monitoring: MonitoringChart;
  /** pg_dump CronJobs, MinIO mirror, restore and drill (Backblaze B2). */
  public readonly backup: BackupChart;
  /** SealedSecrets of the `secrets` declarations and the sealed-secrets controller. */
  public readonly secrets: SecretsChart;
  /** Argo CD: AppProject, root and one Application per chart, derived from the charts above. */
  public readonly argocd: ArgoCdChart;

  constructor(config: PlatformConfig, options: PlatformOptions = {}) {
    const addOns = options.addOns ?? ADD_ONS;
    this.config = config;
    this.app = new App();
    this.base = new BaseChart(this.app, 'base', { config });
    this.postgres = new PostgresChart(this.app, 'postgres', { config });
    this.edge = new EdgeChart(this.app, 'edge', { config, addOns });
    this.redis = new RedisChart(this.app, 'redis', { config }).redis;
    this.minio = new MinioChart(this.app, 'minio', {
      config,
      edge: { public: this.edge.attachment('data', 'public'), admin: this.edge.attachment('data', 'admin') },
    }).minio;

    const { cluster, pgbouncer } = this.postgres;
    this.backup = new BackupChart(this.app, 'backup', {
      config,
      postgres: {
        host: cluster.primaryHost, port: cluster.port, database: cluster.database, appUser: cluster.appUser,
        backupUser: ROLES.backup, backupSecret: cluster.secrets.backup,
        superuser: ROLES.superuser, superuserSecret: cluster.secrets.superuser, podLabels: cluster.podLabels,
      },
      minio: {
        endpoint: this.minio.s3Endpoint, secretName: this.minio.backupSecretName!,
        buckets: config.backup.minioMirror.buckets ?? this.minio.bucketNames, podLabels: selectorLabels('minio'), port: this.minio.apiPort,
      },
    });
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
      edge: this.edge.attachment('app', 'public'),
    });

    this.monitoring = new MonitoringChart(this.app, 'monitoring', {
      config,
      addOns,
      edge: {
        namespace: config.namespaces.edge,
        public: this.edge.attachment('monitoring', 'public'),
        admin: this.edge.attachment('monitoring', 'admin'),
        traefikPodLabels: { ...this.edge.traefikPodLabels },
      },
      targets: this.probeTargets(),
      publicHosts: this.publicHosts(),
      s3: { endpoint: this.minio.s3Endpoint, backend: { namespace: data, podLabels: selectorLabels('minio'), port: this.minio.apiPort } },
    });

    // --- GitOps: keep these lines last; they derive from every chart above (README, "GitOps") ---
    this.secrets = new SecretsChart(this.app, 'secrets', { config, addOns });
    assertSecretsDeclared(config, this.charts, this.declaredSecrets);
    this.argocd = new ArgoCdChart(this.app, 'argocd', { config, charts: this.charts, addOns });
  }

  /** Health checks of the apps and data services, from the attributes of their constructs. */
  private probeTargets(): ProbeTarget[] {
    const data = this.config.namespaces.data;
    const { cluster, pgbouncer } = this.postgres;
    const apps = this.apps.apps.flatMap((w): ProbeTarget[] => {
      const app = this.config.apps.find((a) => a.name === w.name);
      if (!app || app.kind !== 'web' || !w.serviceName) return [];
      return [{
        name: w.name, group: 'apps', kind: 'http',
        target: `http://${w.serviceName}.${this.config.namespaces.app}.svc.cluster.local:${w.servicePort}${app.healthPath}`,
        backend: { namespace: this.config.namespaces.app, podLabels: w.podLabels, port: app.port },
      }];
    });
    return [
      ...apps,
      { name: 'minio', group: 'data', kind: 'http', target: `${this.minio.s3Endpoint}/minio/health/live`, backend: { namespace: data, podLabels: selectorLabels('minio'), port: this.minio.apiPort } },
      { name: 'postgres', group: 'data', kind: 'tcp', target: `${cluster.primaryHost}:${cluster.port}`, backend: { namespace: data, podLabels: cluster.primaryPodLabels, port: cluster.port } },
      { name: 'pgbouncer', group: 'data', kind: 'tcp', target: `${pgbouncer.host}:${pgbouncer.port}`, backend: { namespace: data, podLabels: pgbouncer.podLabels, port: pgbouncer.port } },
      { name: 'redis', group: 'data', kind: 'tcp', target: `${this.redis.host}:${this.redis.port}`, backend: { namespace: data, podLabels: selectorLabels('redis'), port: this.redis.port } },
    ];
  }

  /** Every host an Ingress or HTTPRoute of the charts built so far serves (their certificates are checked). */
  private publicHosts(): string[] {
    const routes = this.app.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject && ['Ingress', 'HTTPRoute'].includes(c.kind));
    const hosts = routes
      .flatMap((route) => {
        const spec = route.toJson().spec ?? {};
        return route.kind === 'Ingress' ? ((spec.rules ?? []) as { host?: string }[]).map((r) => r.host) : ((spec.hostnames ?? []) as string[]);
      })
      .filter((h): h is string => Boolean(h));
    return [...new Set(hosts)].sort();
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
      // Alertmanager receivers, the Grafana admin, Loki's S3 key pair (when Loki uses S3).
      ...this.monitoring.secrets.map((ref) => ({ namespace: this.monitoring.namespace, ...ref })),
      // Backups: the MinIO read-only key is created by the provisioning Job (data) and used by the mirror (backup).
      ...['access-key', 'secret-key'].map((key) => ({ namespace: data, name: this.minio.backupSecretName!, key })),
      ...this.backup.backups.secrets.map((ref) => ({ namespace: this.config.namespaces.backup, ...ref })),
    ];
  }

  /** Charts in construct order; the id of each is its folder name. */
  public get charts(): Chart[] {
    return this.app.charts;
  }
}
