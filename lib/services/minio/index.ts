/**
 * MinIO as a built-in service: S3 storage (community edition, maintenance mode, pinned) in the data
 * namespace, buckets and per-app keys provisioned after every sync; standalone on one or two nodes,
 * distributed (3 servers × 2 drives) on three or more (README, "Redis and MinIO"); its console behind
 * the admin access, its S3 API public.
 */
import { IMAGES } from '../../config/versions';
import { streamingEdge } from '../../constructs/edge/edge-chains';
import { PublicIngress } from '../../constructs/edge/public-ingress';
import { builtInService, InDataNamespace, ServiceContext } from '../service';
import { MinioConfig } from './config';
import { Minio } from './minio';

/** What the MinIO service reads. */
export interface MinioServiceConfig extends InDataNamespace {
  readonly minio: MinioConfig;
  /** How many nodes: three or more run the distributed pool. */
  readonly node: { readonly count: number };
}

export const minioService = builtInService({
  section: undefined,
  key: 'minio',
  resourceKeys: { minio: 'minio.resources' },
  build: (chart, { config, peers, edge }: ServiceContext<MinioServiceConfig>) => {
    const m = config.minio;
    const namespace = config.namespaces.data;
    const access = { public: edge.attachment('data', 'public'), admin: edge.attachment('data', 'admin') };
    const minio = new Minio(chart, 'Minio', {
      namespace,
      backupReader: true,
      edgeNamespace: peers.edge,
      monitoringNamespace: peers.monitoring,
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
      // Three nodes or more: 3 servers × 2 drives, one server per node, erasure-coded (README "Redis and MinIO").
      ...(config.node.count >= 3 ? { distributed: { pods: 3, drivesPerPod: 2, nodes: config.node.count } } : {}),
    });
    // The console is an admin UI (IP allow-list); the S3 API serves public downloads and presigned URLs.
    new PublicIngress(chart, 'console-ingress', {
      name: 'minio-console', namespace, hosts: [m.consoleHost],
      serviceName: minio.consoleServiceName, servicePort: minio.consolePort, edge: access.admin,
    });
    new PublicIngress(chart, 'api-ingress', {
      name: 'minio-api', namespace, hosts: [m.apiHost],
      serviceName: minio.serviceName, servicePort: minio.apiPort,
      // Not the apps' 10 MB buffering limit: presigned uploads reach MinIO as they arrive (S3 refuses a single PUT
      // over 5 GB; MinIO itself allows more, the signing app bounds what it signs), downloads stream back.
      edge: streamingEdge(access.public, namespace),
    });
    // Public downloads: only the paths of public-download buckets reach MinIO on this host, and
    // their bucket policy allows anonymous GetObject only (no listing, no writes).
    const publicBuckets = m.buckets.filter((b) => b.access === 'public-download');
    if (publicBuckets.length > 0) {
      new PublicIngress(chart, 'public-ingress', {
        name: 'minio-public', namespace, hosts: [m.publicHost], paths: publicBuckets.map((b) => `/${b.name}/`),
        // Downloads only (anonymous GetObject): streamed, not buffered whole by the body limit.
        serviceName: minio.serviceName, servicePort: minio.apiPort, edge: streamingEdge(access.public, namespace),
      });
    }
    return minio;
  },
});
