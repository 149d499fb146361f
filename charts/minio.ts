import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { PlatformConfig } from '../lib/config/schema';
import { IMAGES } from '../lib/config/versions';
import { Minio } from '../lib/constructs/minio';

export interface MinioChartProps {
  readonly config: PlatformConfig;
}

/**
 * S3 storage: MinIO (community edition, maintenance mode, pinned) in the data namespace,
 * with buckets and per-app keys provisioned after every sync. Standalone in every
 * environment, ha included (see README, "Redis and MinIO").
 */
export class MinioChart extends Chart {
  public readonly minio: Minio;

  constructor(scope: Construct, id: string, props: MinioChartProps) {
    super(scope, id, { labels: { 'app.kubernetes.io/part-of': 'platform' } });
    const { config } = props;
    const m = config.minio;
    this.minio = new Minio(this, 'Minio', {
      namespace: config.namespaces.data,
      clientNamespaces: [config.namespaces.app],
      edgeNamespace: config.namespaces.edge,
      monitoringNamespace: config.namespaces.monitoring,
      image: config.images.minio ?? IMAGES.minio,
      clientImage: config.images.minioClient ?? IMAGES.minioClient,
      storageSize: m.storage.size,
      storageClass: m.storage.storageClass ?? config.storageClass,
      resources: m.resources,
      provisioningResources: m.provisioning.resources,
      consoleHost: m.consoleHost,
      apiHost: m.apiHost,
      buckets: m.buckets,
      appAccess: Object.entries(m.appAccess).map(([app, access]) => ({ app, buckets: access.buckets })),
    });
  }
}
