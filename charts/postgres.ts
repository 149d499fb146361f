import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { PlatformConfig } from '../lib/config/schema';
import { IMAGES } from '../lib/config/versions';
import { AllowFlows, namespacePeer, podsPeer, tcp } from '../lib/constructs/network-policy';
import { PgBouncer } from '../lib/constructs/postgres/pgbouncer';
import { PostgresCluster } from '../lib/constructs/postgres/postgres-cluster';
import { MetricsEndpoint } from '../lib/constructs/service-monitor';
import { componentLabels } from '../lib/labels';

export interface PostgresChartProps {
  readonly config: PlatformConfig;
}

/** Pods in the app namespace with this label may reach the primary directly (migration Jobs). */
export const DIRECT_DB_ACCESS_LABEL = { 'platform.io/postgres-direct': 'true' };

/** PostgreSQL primary + streaming replicas, PgBouncer, their exporters and network flows. */
export class PostgresChart extends Chart {
  public readonly cluster: PostgresCluster;
  public readonly pgbouncer: PgBouncer;

  constructor(scope: Construct, id: string, props: PostgresChartProps) {
    super(scope, id, { labels: { 'app.kubernetes.io/part-of': 'platform' } });
    const { config } = props;
    const namespace = config.namespaces.data;
    const images = { ...IMAGES, ...config.images };

    this.cluster = new PostgresCluster(this, 'postgres', {
      config, namespace, image: images.postgres, exporterImage: images.postgresExporter,
    });
    this.pgbouncer = new PgBouncer(this, 'pgbouncer', {
      config, namespace, cluster: this.cluster, image: images.pgbouncer, exporterImage: images.pgbouncerExporter,
    });

    const monitoring = namespacePeer(config.namespaces.monitoring);
    new AllowFlows(this, 'postgres-flows', {
      name: 'postgres',
      namespace,
      podLabels: this.cluster.podLabels,
      ingress: [
        { peers: [podsPeer(this.pgbouncer.podLabels)], ports: tcp(this.cluster.port) },
        { peers: [podsPeer(this.cluster.podLabels)], ports: tcp(this.cluster.port) }, // replicas stream from the primary
        { peers: [namespacePeer(config.namespaces.backup)], ports: tcp(this.cluster.port) },
        { peers: [namespacePeer(config.namespaces.app, DIRECT_DB_ACCESS_LABEL)], ports: tcp(this.cluster.port) },
        { peers: [monitoring], ports: tcp(this.cluster.metricsPort) },
      ],
      egress: [{ peers: [podsPeer(this.cluster.primaryPodLabels)], ports: tcp(this.cluster.port) }],
    });
    new AllowFlows(this, 'pgbouncer-flows', {
      name: 'pgbouncer',
      namespace,
      podLabels: this.pgbouncer.podLabels,
      ingress: [
        { peers: [namespacePeer(config.namespaces.app)], ports: tcp(this.pgbouncer.port) },
        { peers: [monitoring], ports: tcp(this.pgbouncer.metricsPort) },
      ],
      egress: [{ peers: [podsPeer(this.cluster.primaryPodLabels)], ports: tcp(this.cluster.port) }],
    });

    new MetricsEndpoint(this, 'postgres-metrics', {
      name: 'postgres', namespace, serviceLabels: componentLabels('postgres', 'metrics'), port: 'metrics',
    });
    new MetricsEndpoint(this, 'pgbouncer-metrics', {
      name: 'pgbouncer', namespace, serviceLabels: componentLabels('pgbouncer', 'pooler'), port: 'metrics',
    });
  }
}
