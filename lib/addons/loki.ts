/**
 * Loki (grafana-community chart): one single-binary pod with its index and chunks on a PVC (or in
 * the platform's S3), retention that really deletes, and small caches. test/addons.test.ts
 * validates the values against the chart's values.schema.json.
 */
import { PlatformConfig } from '../config/schema';
import { serviceHost } from '../constructs/monitoring/names';
import { namespacePeer, podsPeer, tcp } from '../constructs/network-policy';
import { HelmResources, helmResources } from '../constructs/resources';
import { row, sized } from '../footprint';
import { RBAC } from '../gitops/helm-scope';
import { chartPin, HelmAddOn } from './addon';
import { KPS, LOKI, lokiIngress } from './monitoring-pods';

export { LOKI };

/** Loki's in-cluster URL (queries, and pushes under /loki/api/v1/push). */
export const lokiUrl = (config: PlatformConfig) => `http://${serviceHost(LOKI.service, loki.namespace(config))}:${LOKI.port}`;

interface CacheValues {
  readonly enabled: boolean;
  /** MB memcached may use (`-m`); the chart's default of 8192 would not fit the node. */
  readonly allocatedMemory: number;
  readonly resources: HelmResources;
}

export interface LokiValues {
  readonly deploymentMode: 'Monolithic';
  readonly loki: {
    readonly auth_enabled: false;
    readonly commonConfig: { readonly replication_factor: number };
    readonly storage: LokiStorageValues;
    readonly schemaConfig: {
      readonly configs: { readonly from: string; readonly store: 'tsdb'; readonly object_store: string; readonly schema: 'v13'; readonly index: { readonly prefix: string; readonly period: '24h' } }[];
    };
    readonly limits_config: { readonly retention_period: string; readonly reject_old_samples: boolean; readonly reject_old_samples_max_age: string };
    readonly compactor: {
      readonly working_directory: string;
      readonly retention_enabled: true;
      readonly delete_request_store: string;
      readonly compaction_interval: string;
      readonly retention_delete_delay: string;
    };
    readonly analytics: { readonly reporting_enabled: boolean };
  };
  readonly singleBinary: {
    readonly replicas: number;
    readonly resources: HelmResources;
    readonly persistence: { readonly enabled: true; readonly size: string; readonly storageClass: string };
    readonly extraArgs: string[];
    readonly extraEnv: { readonly name: string; readonly valueFrom: { readonly secretKeyRef: { readonly name: string; readonly key: string } } }[];
    /** The rules sidecar: we run no Loki ruler rules. */
    readonly sidecar: boolean;
  };
  // Single-binary mode: the simple-scalable targets must be off, or the chart refuses to render.
  readonly read: { readonly replicas: 0 };
  readonly write: { readonly replicas: 0 };
  readonly backend: { readonly replicas: 0 };
  readonly gateway: { readonly enabled: false };
  readonly chunksCache: CacheValues;
  readonly resultsCache: CacheValues;
  readonly memcachedExporter: { readonly resources: HelmResources };
  /** The canary DaemonSet and the Helm test pod (image tag "latest") are not for production. */
  readonly lokiCanary: { readonly enabled: false };
  readonly test: { readonly enabled: false };
  readonly monitoring: { readonly serviceMonitor: { readonly enabled: boolean } };
}

type LokiStorageValues =
  | { readonly type: 'filesystem'; readonly filesystem: { readonly chunks_directory: string; readonly rules_directory: string } }
  | {
      readonly type: 's3';
      readonly bucketNames: { readonly chunks: string; readonly ruler: string };
      readonly s3: {
        readonly endpoint: string;
        readonly region: string;
        readonly accessKeyId: string;
        readonly secretAccessKey: string;
        readonly s3ForcePathStyle: true;
        readonly insecure: boolean;
      };
    };

/** Environment variables Loki expands in its config for the S3 key pair. */
export const LOKI_S3_ENV = { accessKey: 'LOKI_S3_ACCESS_KEY', secretKey: 'LOKI_S3_SECRET_KEY' } as const;
/** Keys of the Loki S3 Secret: the same shape as the apps' MinIO key pairs. */
export const LOKI_S3_SECRET_KEYS = { accessKey: 'access-key', secretKey: 'secret-key' } as const;

export interface LokiInputs {
  readonly config: PlatformConfig;
  /** In-cluster S3 endpoint (host:port, http) for `storage.type: s3`. */
  readonly s3Endpoint: string;
}

/** The schema's start date: fixed, because changing it would re-key the existing index. */
const SCHEMA_FROM = '2025-01-01';
const DATA = '/var/loki';
/** Memcached needs a little above its item memory (connections, slabs). */
const cacheMemory = (mb: number) => `${Math.ceil(mb * 1.2)}Mi`;

export function lokiValues(inputs: LokiInputs): LokiValues {
  const { config } = inputs;
  const m = config.monitoring;
  const s = m.loki.storage;
  const cache = (mb: number): CacheValues => ({
    enabled: mb > 0,
    allocatedMemory: Math.max(mb, 1),
    resources: { requests: { cpu: '10m', memory: cacheMemory(Math.max(mb, 1)) }, limits: { memory: cacheMemory(Math.max(mb, 1)) } },
  });
  const storage: LokiStorageValues =
    s.type === 'filesystem'
      ? { type: 'filesystem', filesystem: { chunks_directory: `${DATA}/chunks`, rules_directory: `${DATA}/rules` } }
      : {
          type: 's3',
          bucketNames: { chunks: s.bucket, ruler: s.bucket },
          s3: {
            endpoint: inputs.s3Endpoint,
            region: 'us-east-1',
            // Expanded by Loki from the environment (-config.expand-env), filled from the Secret.
            accessKeyId: `\${${LOKI_S3_ENV.accessKey}}`,
            secretAccessKey: `\${${LOKI_S3_ENV.secretKey}}`,
            s3ForcePathStyle: true,
            insecure: true,
          },
        };
  return {
    deploymentMode: 'Monolithic',
    loki: {
      auth_enabled: false,
      commonConfig: { replication_factor: 1 },
      storage,
      schemaConfig: {
        configs: [{ from: SCHEMA_FROM, store: 'tsdb', object_store: s.type, schema: 'v13', index: { prefix: 'index_', period: '24h' } }],
      },
      limits_config: { retention_period: m.loki.retention, reject_old_samples: true, reject_old_samples_max_age: '168h' },
      // Retention is enforced by the compactor; deletes go through the delete-request store.
      compactor: {
        working_directory: `${DATA}/compactor`,
        retention_enabled: true,
        delete_request_store: s.type,
        compaction_interval: '10m',
        retention_delete_delay: '2h',
      },
      analytics: { reporting_enabled: false },
    },
    singleBinary: {
      replicas: 1,
      resources: helmResources(m.resources.loki),
      persistence: { enabled: true, size: s.size, storageClass: s.storageClass ?? config.storageClass },
      extraArgs: s.type === 's3' ? ['-config.expand-env=true'] : [],
      extraEnv:
        s.type === 's3'
          ? (['accessKey', 'secretKey'] as const).map((k) => ({ name: LOKI_S3_ENV[k], valueFrom: { secretKeyRef: { name: s.secret, key: LOKI_S3_SECRET_KEYS[k] } } }))
          : [],
      sidecar: false,
    },
    read: { replicas: 0 },
    write: { replicas: 0 },
    backend: { replicas: 0 },
    gateway: { enabled: false },
    chunksCache: cache(m.loki.chunksCacheMB),
    resultsCache: cache(m.loki.resultsCacheMB),
    memcachedExporter: { resources: helmResources(m.resources.cacheExporter) },
    lokiCanary: { enabled: false },
    test: { enabled: false },
    monitoring: { serviceMonitor: { enabled: true } },
  };
}

export const loki: HelmAddOn<LokiValues> = {
  id: 'loki', host: 'monitoring', ...chartPin('https://grafana-community.github.io/helm-charts', 'loki'), releaseName: LOKI.release,
  kubernetes: { minimum: '1.25.0', reason: "Chart.yaml kubeVersion '>=1.25.0-0'" },
  namespace: (config) => config.namespaces.monitoring,
  crdGroups: [], clusterKinds: RBAC, extraNamespaces: [],
  pods: { loki: { labels: LOKI.pods, ports: { http: LOKI.port, cacheExporter: LOKI.cacheExporterPort } } },
  resourceKey: (part) => (part === 'loki' ? 'monitoring.resources.loki' : `monitoring.loki.${part}MB`),
  footprint: (v, _n, at) => {
    const exporter = () => sized(at('memcachedExporter.resources'), v.memcachedExporter?.resources);
    const caches = (['chunksCache', 'resultsCache'] as const)
      .filter((c) => v[c]?.enabled)
      .map((c) => row(c, v[c].replicas ?? 1, [sized(at(`${c}.resources`), v[c].resources), exporter()]));
    return [row('loki', v.singleBinary?.replicas ?? 1, [sized(at('singleBinary.resources'), v.singleBinary?.resources)]), ...caches];
  },
  values: ({ config, s3 }) => {
    if (config.monitoring.loki.storage.type === 's3' && !s3) throw new Error('loki: monitoring.loki.storage.type is s3, but no S3 service was passed to the monitoring chart');
    return lokiValues({ config, s3Endpoint: (s3?.endpoint ?? '').replace(/^https?:\/\//, '') });
  },
  flows: ({ config, s3 }) => {
    const prometheus = podsPeer(KPS.prometheus.pods);
    const store = config.monitoring.loki.storage.type === 's3' ? s3?.backend : undefined;
    return [{
      name: 'loki',
      podLabels: LOKI.pods,
      ingress: [
        { peers: [podsPeer(LOKI.pods)], ports: [] }, // the single binary and its caches (memberlist, gRPC, memcached)
        lokiIngress(), // Alloy and Grafana (LOKI_CLIENTS)
        { peers: [prometheus], ports: tcp(LOKI.port, LOKI.cacheExporterPort) },
      ],
      egress: [
        { peers: [podsPeer(LOKI.pods)], ports: [] },
        ...(store ? [{ peers: [namespacePeer(store.namespace, store.podLabels)], ports: tcp(store.port) }] : []),
      ],
    }];
  },
};
