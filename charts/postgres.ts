import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { PlatformConfig } from '../lib/config/schema';
import { clusterPeers } from '../lib/config/shared-cluster';
import { IMAGES } from '../lib/config/versions';
import { PgBouncer } from '../lib/services/postgres/pgbouncer';
import { Postgres } from '../lib/services/postgres/postgres';
import { PostgresCluster } from '../lib/services/postgres/postgres-cluster';

export interface PostgresChartProps {
  readonly config: PlatformConfig;
}

/** PostgreSQL primary + streaming replicas, PgBouncer, their exporters and network flows. */
export class PostgresChart extends Chart {
  /** The data service (cluster and pooler). */
  public readonly postgres: Postgres;
  public readonly cluster: PostgresCluster;
  public readonly pgbouncer: PgBouncer;

  constructor(scope: Construct, id: string, props: PostgresChartProps) {
    super(scope, id, { labels: { 'app.kubernetes.io/part-of': 'platform' } });
    const { config } = props;
    const images = { ...IMAGES, ...config.images };
    this.postgres = new Postgres(this, 'postgres', {
      config,
      namespace: config.namespaces.data,
      monitoringNamespace: clusterPeers(config).monitoring,
      image: images.postgres,
      exporterImage: images.postgresExporter,
      pgbouncerImage: images.pgbouncer,
      pgbouncerExporterImage: images.pgbouncerExporter,
    });
    this.cluster = this.postgres.cluster;
    this.pgbouncer = this.postgres.pgbouncer;
  }
}
