import { App, Chart } from 'cdk8s';
import { BaseChart } from '../charts/base';
import { AppChart } from '../charts/app';
import { EdgeChart } from '../charts/edge';
import { DIRECT_DB_ACCESS_LABEL, PostgresChart } from '../charts/postgres';
import { PlatformConfig } from './config/schema';

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

  constructor(config: PlatformConfig) {
    this.config = config;
    this.app = new App();
    this.base = new BaseChart(this.app, 'base', { config });
    this.postgres = new PostgresChart(this.app, 'postgres', { config });
    this.edge = new EdgeChart(this.app, 'edge', { config });

    const { cluster, pgbouncer } = this.postgres;
    const data = config.namespaces.data;
    this.apps = new AppChart(this.app, 'app', {
      config,
      wiring: {
        pooler: { host: pgbouncer.host, port: pgbouncer.port, database: pgbouncer.database, user: cluster.appUser, passwordSecret: pgbouncer.appSecret },
        primary: { host: cluster.primaryHost, port: cluster.port },
        readOnly: cluster.readOnlyHost ? { host: cluster.readOnlyHost, port: cluster.port } : undefined,
      },
      dataTargets: [{ namespace: data, podLabels: pgbouncer.podLabels, port: pgbouncer.port }],
      primaryTarget: { namespace: data, podLabels: cluster.primaryPodLabels, port: cluster.port },
      directDbAccessLabels: DIRECT_DB_ACCESS_LABEL,
      edge: {
        ingressClassName: this.edge.ingressClassName,
        issuerName: this.edge.issuerName,
        middlewares: this.edge.middlewares.app.publicAnnotation,
      },
    });
  }

  /**
   * Every Secret the platform's pods reference, by namespace. They are created out of band (or
   * sealed); the platform never writes their values.
   */
  public get declaredSecrets(): { namespace: string; name: string; key: string }[] {
    const { cluster, pgbouncer } = this.postgres;
    const data = this.config.namespaces.data;
    return [
      ...Object.values(cluster.secrets).map((ref) => ({ namespace: data, ...ref })),
      // Apps read the app role's password in their own namespace (Secrets do not cross namespaces).
      { namespace: this.config.namespaces.app, ...pgbouncer.appSecret },
    ];
  }

  /** Charts in construct order; the id of each is its folder name. */
  public get charts(): Chart[] {
    return this.app.charts;
  }
}
