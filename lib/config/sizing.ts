/**
 * Sizes as profiles: the environment's `node: { cpu, memory, count }` picks one of three sizes
 * (the machines our users rent) and derives every size-dependent default from it. An environment
 * file still overrides any key; these only replace the defaults underneath it.
 *
 * Rules (README, "Sizes"):
 * - Postgres gets a quarter of the node's memory as its limit; shared_buffers = limit / 4,
 *   effective_cache_size = 3 × shared_buffers, maintenance_work_mem = limit / 16,
 *   work_mem = limit / 128, wal_buffers = shared_buffers / 32, request = 1.5 × shared_buffers,
 *   max_connections 100 (50 below a 2 GiB limit). At 16 GiB this is exactly the seed's tuning.
 * - Redis: maxmemory = node memory / 32, request = 1.25 × maxmemory (the AOF-rewrite headroom),
 *   limit = 2 × maxmemory.
 * - No Postgres replica on one node (a same-node replica doubles memory and adds no availability);
 *   with more nodes, one per extra node, at most 2.
 * - Everything else (Helm add-ons, retention, caches, Argo CD, apps) comes from the table of its size.
 */
import { parseQuantity } from './quantity';

/** The machine an environment runs on: `count` nodes of `cpu` cores and `memory` bytes. */
export interface NodeShape {
  readonly cpu: string;
  readonly memory: string;
  readonly count: number;
}

export const SIZES = ['small', 'medium', 'large'] as const;
export type SizeName = (typeof SIZES)[number];

const GI = 2 ** 30;
const MI = 2 ** 20;

/** small: under 8 GiB (2 vCPU / 4 GB), medium: under 16 GiB (4 vCPU / 8 GB), large: 16 GiB and more. */
export function sizeOf(node: Pick<NodeShape, 'memory'>): SizeName {
  const memory = parseQuantity(node.memory);
  return memory < 8 * GI ? 'small' : memory < 16 * GI ? 'medium' : 'large';
}

/**
 * Share of the allocatable CPU and memory the steady-state requests may take, per size. The rest
 * is headroom for bursts above requests, rollouts (a second pod during a rolling update) and Jobs.
 */
export const BUDGETS: Record<SizeName, { readonly cpu: number; readonly memory: number }> = {
  large: { cpu: 0.5, memory: 0.5 },
  medium: { cpu: 0.6, memory: 0.6 },
  // "Fits": every pod schedules (CPU up to 100 %), memory at most 85 %.
  small: { cpu: 1, memory: 0.85 },
};

/** The kubelet's default hard eviction threshold on k3s (memory.available<100Mi). */
export const EVICTION_HARD_MEMORY = 100 * MI;

/**
 * What k3s itself (server + agent + containerd, one process tree) takes on a node, which we
 * reserve with `--kubelet-arg=system-reserved=cpu=…,memory=…` so that allocatable excludes it.
 * k3s's own resource profiling measured a single-node server with a workload at 6 % of a core
 * and 1596 M (v1.26.5, cgroup memory on an 8 GB host) and 768 M (v1.19); we reserve 100m and
 * 768 MiB at 4 GiB, growing by 1/16 of the memory above that (1 GiB at 8 GiB, 1.5 GiB at 16 GiB).
 */
export function k3sReserved(node: Pick<NodeShape, 'memory'>): { cpu: number; memory: number } {
  const memory = parseQuantity(node.memory);
  return { cpu: 0.1, memory: 768 * MI + Math.max(0, memory - 4 * GI) / 16 };
}

/** Allocatable of one node: capacity − k3s's reservation − the eviction threshold. */
export function allocatable(node: Pick<NodeShape, 'cpu' | 'memory'>): { cpu: number; memory: number } {
  const reserved = k3sReserved(node);
  return { cpu: parseQuantity(node.cpu) - reserved.cpu, memory: parseQuantity(node.memory) - reserved.memory - EVICTION_HARD_MEMORY };
}

/** A quantity as config values are written: whole Gi when exact, else whole Mi (rounded down). */
const mi = (bytes: number) => (bytes % GI === 0 ? `${bytes / GI}Gi` : `${Math.floor(bytes / MI)}Mi`);
const r = (cpu: string, memory: string, limit: string) => ({ requests: { cpu, memory }, limits: { memory: limit } });

/** Postgres memory derived from its share of the node (see the file comment). */
export function postgresSizing(node: Pick<NodeShape, 'memory'>, cpu: string) {
  const limit = parseQuantity(node.memory) / 4;
  const sharedBuffers = limit / 4;
  return {
    resources: r(cpu, mi(1.5 * sharedBuffers), mi(limit)),
    tuning: {
      maxConnections: limit >= 2 * GI ? 100 : 50,
      sharedBuffers: mi(sharedBuffers),
      effectiveCacheSize: mi(3 * sharedBuffers),
      workMem: mi(limit / 128),
      maintenanceWorkMem: mi(limit / 16),
      walBuffers: mi(Math.max(MI, sharedBuffers / 32)),
    },
  };
}

/** Redis memory derived from the node (see the file comment). */
export function redisSizing(node: Pick<NodeShape, 'memory'>, cpu: string) {
  const maxmemory = parseQuantity(node.memory) / 32;
  return { maxmemory: mi(maxmemory), resources: r(cpu, mi(1.25 * maxmemory), mi(2 * maxmemory)) };
}

/** One value per size: small, medium, large. */
class PerSize<T> {
  constructor(readonly values: Record<SizeName, T>) {}
}
const by = <T>(small: T, medium: T, large: T) => new PerSize<T>({ small, medium, large });
/** Requests and memory limit per size: [cpu, memory request, memory limit] for small, medium, large. */
const res = (...[small, medium, large]: [string, string, string][]) => by(r(...small), r(...medium), r(...large));

type Picked<T> = T extends PerSize<infer U> ? U : T extends object ? { [K in keyof T]: Picked<T[K]> } : T;

/** `table` with every per-size value replaced by the one of `size`. */
function pick<T>(size: SizeName, table: T): Picked<T> {
  if (table instanceof PerSize) return table.values[size];
  if (typeof table !== 'object' || table === null) return table as Picked<T>;
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, pick(size, v)])) as Picked<T>;
}

/**
 * What is not derived by a formula, per size (small, medium, large). Requests are the steady state
 * at that scale; limits allow bursts.
 */
const TABLE = {
  postgresCpu: by('100m', '200m', '300m'),
  redisCpu: by('20m', '30m', '50m'),
  pgbouncer: {
    replicas: by(1, 2, 2),
    resources: res(['20m', '16Mi', '64Mi'], ['30m', '32Mi', '128Mi'], ['50m', '32Mi', '128Mi']),
  },
  redisExporter: res(['5m', '16Mi', '64Mi'], ['10m', '24Mi', '64Mi'], ['10m', '32Mi', '64Mi']),
  minio: res(['30m', '144Mi', '512Mi'], ['50m', '224Mi', '768Mi'], ['50m', '512Mi', '1Gi']),
  edge: {
    traefik: res(['50m', '64Mi', '192Mi'], ['100m', '96Mi', '256Mi'], ['100m', '128Mi', '256Mi']),
    certManager: res(['10m', '24Mi', '96Mi'], ['10m', '32Mi', '128Mi'], ['10m', '64Mi', '128Mi']),
  },
  prometheus: {
    retention: by('7d', '10d', '15d'),
    retentionSize: by('4GB', '8GB', '16GB'),
    storage: {
      size: by('5Gi', '10Gi', '20Gi'),
    },
  },
  loki: {
    retention: by('7d', '14d', '30d'),
    storage: {
      type: 'filesystem',
      size: by('5Gi', '10Gi', '20Gi'),
    },
    chunksCacheMB: by(0, 0, 128),
    resultsCacheMB: by(0, 0, 32),
  },
  monitoring: {
    prometheus: res(['50m', '192Mi', '768Mi'], ['75m', '288Mi', '1Gi'], ['100m', '512Mi', '1536Mi']),
    alertmanager: res(['5m', '24Mi', '96Mi'], ['10m', '24Mi', '128Mi'], ['10m', '32Mi', '128Mi']),
    operator: res(['5m', '32Mi', '96Mi'], ['10m', '32Mi', '128Mi'], ['10m', '48Mi', '128Mi']),
    configReloader: res(['5m', '12Mi', '48Mi'], ['5m', '16Mi', '64Mi'], ['5m', '16Mi', '64Mi']),
    grafana: res(['15m', '80Mi', '256Mi'], ['20m', '80Mi', '320Mi'], ['25m', '128Mi', '384Mi']),
    grafanaSidecar: res(['5m', '16Mi', '96Mi'], ['5m', '32Mi', '128Mi'], ['5m', '48Mi', '128Mi']),
    kubeStateMetrics: res(['5m', '24Mi', '96Mi'], ['10m', '32Mi', '128Mi'], ['10m', '48Mi', '128Mi']),
    nodeExporter: res(['5m', '16Mi', '48Mi'], ['10m', '24Mi', '64Mi'], ['10m', '24Mi', '64Mi']),
    loki: res(['20m', '80Mi', '512Mi'], ['40m', '128Mi', '768Mi'], ['50m', '256Mi', '1Gi']),
    cacheExporter: r('5m', '16Mi', '32Mi'),
    alloy: res(['15m', '64Mi', '192Mi'], ['20m', '80Mi', '256Mi'], ['20m', '96Mi', '256Mi']),
    blackbox: res(['5m', '16Mi', '48Mi'], ['5m', '16Mi', '64Mi'], ['5m', '24Mi', '64Mi']),
    statusPage: res(['5m', '16Mi', '48Mi'], ['5m', '16Mi', '64Mi'], ['5m', '24Mi', '64Mi']),
  },
  argoCd: {
    controller: res(['50m', '128Mi', '512Mi'], ['100m', '192Mi', '768Mi'], ['100m', '384Mi', '1Gi']),
    repoServer: res(['25m', '96Mi', '384Mi'], ['50m', '112Mi', '512Mi'], ['50m', '192Mi', '512Mi']),
    server: res(['10m', '32Mi', '192Mi'], ['20m', '48Mi', '256Mi'], ['20m', '96Mi', '256Mi']),
    redis: res(['5m', '16Mi', '96Mi'], ['10m', '16Mi', '128Mi'], ['10m', '32Mi', '128Mi']),
    applicationSet: res(['5m', '16Mi', '96Mi'], ['10m', '24Mi', '128Mi'], ['10m', '32Mi', '128Mi']),
    notifications: res(['5m', '16Mi', '96Mi'], ['10m', '24Mi', '128Mi'], ['10m', '32Mi', '128Mi']),
  },
  sealedSecrets: res(['5m', '16Mi', '96Mi'], ['10m', '16Mi', '128Mi'], ['10m', '48Mi', '128Mi']),
  // ESO: ~30 MiB of heap; its 150 MB binary is mapped on top (file pages, reclaimable), hence the limits.
  externalSecrets: res(['5m', '16Mi', '192Mi'], ['10m', '24Mi', '192Mi'], ['10m', '48Mi', '256Mi']),
  // GlitchTip (error tracking, 256Mi) fits the budget on 16 GB only: off on 4 and 8 GB, where the apps
  // get no SENTRY_DSN (point them at a hosted Sentry-compatible service instead).
  errorTracking: by(false, false, true),
  // Next.js apps use ~500 MB each. 16 and 8 GB: two Next.js apps (crm, web) at 512Mi and the queue
  // worker. 4 GB: one Next.js app (crm) beside a light site and a worker; a second 512Mi Next.js app
  // would take the requests past 85 % of a 4 GB node.
  apps: {
    crm: {
      replicas: {
        min: 1,
        max: by(1, 2, 3),
      },
      resources: res(['100m', '512Mi', '768Mi'], ['250m', '512Mi', '768Mi'], ['250m', '512Mi', '768Mi']),
    },
    web: {
      replicas: {
        min: 1,
        max: by(1, 2, 3),
      },
      resources: res(['50m', '192Mi', '384Mi'], ['100m', '512Mi', '768Mi'], ['100m', '512Mi', '768Mi']),
    },
    worker: {
      replicas: {
        min: 1,
        max: by(1, 1, 2),
      },
      resources: res(['50m', '160Mi', '384Mi'], ['100m', '256Mi', '512Mi'], ['100m', '384Mi', '512Mi']),
    },
  },
};

/**
 * The size-dependent defaults of a node shape, merged over lib/config/defaults.ts and under the
 * environment file. Keys here are not repeated in the defaults.
 */
export function sizedDefaults(node: NodeShape) {
  const t = pick(sizeOf(node), TABLE);
  const pg = postgresSizing(node, t.postgresCpu);
  const redis = redisSizing(node, t.redisCpu);
  return {
    postgres: { replicas: Math.min(2, node.count - 1), resources: pg.resources, tuning: pg.tuning },
    pgbouncer: { replicas: node.count > 1 ? node.count : t.pgbouncer.replicas, resources: t.pgbouncer.resources },
    edge: { resources: t.edge },
    redis: { maxmemory: redis.maxmemory, resources: redis.resources, exporter: { resources: t.redisExporter } },
    minio: { resources: t.minio },
    monitoring: { prometheus: t.prometheus, loki: t.loki, resources: t.monitoring },
    gitops: { resources: { argoCd: t.argoCd, sealedSecrets: t.sealedSecrets, externalSecrets: t.externalSecrets } },
    glitchtip: { enabled: t.errorTracking },
    apps: { ...t.apps, crm: { ...t.apps.crm, sentry: t.errorTracking }, web: { ...t.apps.web, sentry: t.errorTracking } },
  };
}
