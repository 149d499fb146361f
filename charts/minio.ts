import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { EdgeAttachment, PublicIngress } from '../lib/constructs/edge/public-ingress';
import { PlatformConfig } from '../lib/config/schema';
import { clusterPeers } from '../lib/config/shared-cluster';
import { IMAGES } from '../lib/config/versions';
import { Minio } from '../lib/services/minio/minio';

export interface MinioChartProps {
  readonly config: PlatformConfig;
  /** Publishes the console and the S3 API through the edge when given. @default no Ingress */
  readonly edge?: MinioEdge;
}

/**
 * S3 storage: MinIO (community edition, maintenance mode, pinned) in the data namespace,
 * with buckets and per-app keys provisioned after every sync. Standalone in every
 * environment, ha included (see README, "Redis and MinIO").
 */
export interface MinioEdge {
  /** For the S3 API (public downloads, presigned URLs). */
  readonly public: EdgeAttachment;
  /** For the console, an admin UI (adds the IP allow-list). */
  readonly admin: EdgeAttachment;
}

export class MinioChart extends Chart {
  public readonly minio: Minio;

  constructor(scope: Construct, id: string, props: MinioChartProps) {
    super(scope, id, { labels: { 'app.kubernetes.io/part-of': 'platform' } });
    const { config } = props;
    const m = config.minio;
    this.minio = new Minio(this, 'Minio', {
      namespace: config.namespaces.data,
      backupReader: true,
      edgeNamespace: clusterPeers(config).edge,
      monitoringNamespace: clusterPeers(config).monitoring,
      image: config.images.minio ?? IMAGES.minio,
      clientImage: config.images.minioClient ?? IMAGES.minioClient,
      storageSize: m.storage.size,
      storageClass: m.storage.storageClass ?? config.storageClass,
      resources: m.resources,
      provisioningResources: m.provisioning.resources,
      consoleHost: m.consoleHost,
      apiHost: m.apiHost,
      publicHost: m.publicHost,
      buckets: m.buckets,
      appAccess: Object.entries(m.appAccess).map(([app, access]) => ({ app, buckets: access.buckets })),
    });

    if (props.edge) {
      // The console is an admin UI (IP allow-list); the S3 API serves public downloads and presigned URLs.
      new PublicIngress(this, 'console-ingress', {
        name: 'minio-console', namespace: config.namespaces.data, hosts: [m.consoleHost],
        serviceName: this.minio.consoleServiceName, servicePort: this.minio.consolePort, edge: props.edge.admin,
      });
      new PublicIngress(this, 'api-ingress', {
        name: 'minio-api', namespace: config.namespaces.data, hosts: [m.apiHost],
        serviceName: this.minio.serviceName, servicePort: this.minio.apiPort, edge: props.edge.public,
      });
      // Public downloads: only the paths of public-download buckets reach MinIO on this host, and
      // their bucket policy allows anonymous GetObject only (no listing, no writes).
      const publicBuckets = m.buckets.filter((b) => b.access === 'public-download');
      if (publicBuckets.length > 0) {
        new PublicIngress(this, 'public-ingress', {
          name: 'minio-public', namespace: config.namespaces.data, hosts: [m.publicHost], paths: publicBuckets.map((b) => `/${b.name}/`),
          serviceName: this.minio.serviceName, servicePort: this.minio.apiPort, edge: props.edge.public,
        });
      }
    }
  }
}
