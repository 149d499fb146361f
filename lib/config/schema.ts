/**
 * The typed configuration of one environment. Environment files under ./environments are
 * deep-merged over ./defaults.ts and parsed with this schema; unknown keys are errors.
 */
import { z } from 'zod';
import { cidr, cron, dnsName, gitRevision, gitUrl, httpPath, image, k8sName, positiveInt, quantity, replicas, repoPath, resources, s3BucketName, sealedValue } from './fields';
import { parseQuantity } from './quantity';
import { IMAGES, ImageName } from './versions';
import { alertsSchema } from './alerts';
import { monitoringIssues, monitoringSchema } from './monitoring';

/** `node: { cpu, memory, count }`: `count` nodes of `cpu` cores (2 or "2") and `memory` (4Gi). */
export const nodeSchema = z.strictObject({
  cpu: z.union([z.number().positive(), quantity()], { error: 'is not a CPU count; fix: write the vCPUs like 2 or 4' }).transform(String),
  memory: quantity().refine((q) => parseQuantity(q) >= 2 ** 31, 'is less than 2Gi, too small for k3s and the platform; fix: use at least 4Gi'),
  count: positiveInt('nodes'),
});

const storage = z.strictObject({
  /** PVC size. */
  size: quantity(),
  /** StorageClass; omitted means the platform-wide `storageClass`. */
  storageClass: k8sName().optional(),
});

const postgres = z.strictObject({
  /** The PostgreSQL major the image must carry; backup clients derive from it. */
  major: z.number().int().min(14, 'must be 14 or newer; fix: use 16').max(18, 'must be 18 or older'),
  /** Streaming replicas next to the primary. */
  replicas: replicas(),
  storage,
  resources: resources(),
  database: k8sName(),
  appUser: k8sName(),
  tuning: z.strictObject({
    maxConnections: positiveInt('connections'),
    superuserReservedConnections: z.number().int().min(1, 'must be at least 1 so an admin can always connect'),
    sharedBuffers: quantity(),
    effectiveCacheSize: quantity(),
    workMem: quantity(),
    maintenanceWorkMem: quantity(),
    walBuffers: quantity(),
    /** WAL kept for a lagging or dead replica before its slot is invalidated. */
    maxSlotWalKeepSize: quantity(),
  }),
});

const pgbouncer = z.strictObject({
  replicas: replicas(),
  resources: resources(),
  maxClientConn: positiveInt('client connections'),
  defaultPoolSize: positiveInt('server connections'),
  minPoolSize: z.number().int().min(0),
  reservePoolSize: z.number().int().min(0),
  reservePoolTimeoutSeconds: positiveInt('seconds'),
  serverLifetimeSeconds: positiveInt('seconds'),
  serverIdleTimeoutSeconds: positiveInt('seconds'),
});

const redis = z.strictObject({
  storage,
  resources: resources(),
  /** `maxmemory`; the memory limit must leave REDIS_MEMORY_HEADROOM on top (fork for AOF rewrite, fragmentation). */
  maxmemory: quantity(),
  maxmemoryPolicy: z.enum(['allkeys-lru', 'allkeys-lfu', 'volatile-lru', 'volatile-lfu', 'allkeys-random', 'volatile-ttl', 'noeviction']),
  appendfsync: z.enum(['always', 'everysec', 'no']),
  /** RDB snapshots: `save <seconds> <changes>` lines. */
  save: z.array(z.strictObject({ seconds: positiveInt('seconds'), changes: positiveInt('changes') })),
  exporter: z.strictObject({ resources: resources() }),
});

const minioBucket = z.strictObject({
  name: s3BucketName(),
  /** `public-download`: anyone may GET objects (no listing); `private`: access keys only. */
  access: z.enum(['public-download', 'private']),
  /** Turned on by provisioning; turning it off again is a manual decision (old versions stay). */
  versioning: z.boolean().default(false),
});

const minio = z.strictObject({
  storage,
  resources: resources(),
  /** The web console (MINIO_BROWSER_REDIRECT_URL), served by the edge. */
  consoleHost: dnsName(),
  /** The public S3 API host, for links to public-download objects. */
  apiHost: dnsName(),
  buckets: z.array(minioBucket),
  /** One access key per app, limited by a policy to the buckets listed here. */
  appAccess: z
    .record(
      k8sName(),
      z.strictObject({
        buckets: z.array(z.string()).min(1, 'lists no bucket; fix: name at least one bucket or remove the app'),
        /** Buckets whose objects the app links to publicly; each must be public-download. */
        publicLinks: z.array(z.string()).default([]),
      }),
    )
    .default({}),
  provisioning: z.strictObject({ resources: resources() }),
});

const app = z.strictObject({
  image: image(),
  /** `web` serves HTTP through the edge; `worker` does not. */
  kind: z.enum(['web', 'worker']),
  port: z.number().int().min(1).max(65535),
  hosts: z.array(dnsName()).default([]),
  paths: z.array(httpPath()).default(['/']),
  healthPath: httpPath(),
  /** Exec probe instead of HTTP on healthPath (for workers without an HTTP server). */
  healthCommand: z.array(z.string()).min(1).optional(),
  /** Egress to the internet: none, HTTPS only, or any port. Cluster-internal targets are never opened by this. */
  internetEgress: z.enum(['none', 'https', 'all']).default('https'),
  replicas: z.strictObject({ min: replicas(), max: replicas() }),
  resources: resources(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).default({}),
  metricsPort: z.number().int().min(1).max(65535).optional(),
  /** Run before every sync (Argo CD PreSync) against the primary. */
  migration: z.strictObject({ command: z.array(z.string()).min(1) }).optional(),
});

const backupSchedule = z.strictObject({
  name: k8sName(),
  cron: cron(),
  retentionDays: positiveInt('days'),
});

/** The off-site bucket (Backblaze B2 through its S3 API, or any S3 server). */
const backupTarget = z
  .strictObject({
    /** The regional S3 endpoint, https://s3.<region>.backblazeb2.com for B2 (bucket in the path). */
    endpoint: z.string().regex(/^https?:\/\/[a-z0-9.-]+(:\d+)?$/, 'is not an endpoint URL; fix: write it like https://s3.eu-central-003.backblazeb2.com (scheme and host, no path)'),
    /** Signing region. @default the <region> of a B2 endpoint, else us-east-1 */
    region: z.string().regex(/^[a-z0-9-]+$/, 'is not a region name; fix: write it like eu-central-003').optional(),
    bucket: s3BucketName(),
    /** Key prefix inside the bucket; objects go under <prefix>/<environment>/. */
    prefix: z.string().regex(/^[a-z0-9]([a-z0-9._/-]*[a-z0-9])?$/, 'is not a key prefix; fix: use lower-case letters, digits, ".", "-", "_" and "/" inside, like backups'),
    /** Marks a local S3 server (a lab or dev MinIO): only then is plain http allowed. */
    local: z.boolean().default(false),
  })
  .superRefine((target, ctx) => {
    if (!target.local && !target.endpoint.startsWith('https://')) {
      ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'is not https, so backups would cross the internet in clear text; fix: use https://s3.<region>.backblazeb2.com, or set backup.b2.local: true for a local S3 server' });
    }
  });

/** A Secret data key. */
const secretKey = () => z.string().regex(/^[-._a-zA-Z0-9]+$/, 'is not a Secret key; fix: use letters, digits, "-", "_" and "."');

const backup = z.strictObject({
  /** IANA time zone of every backup schedule (CronJob timeZone). */
  timeZone: z.string().refine(isTimeZone, 'is not an IANA time zone; fix: write it like Etc/UTC or Europe/Berlin'),
  /** pg_dump schedules; each keeps its dumps retentionDays days. */
  schedules: z.array(backupSchedule).min(1, 'needs at least one schedule; fix: add one like { name: daily, cron: "0 3 * * *", retentionDays: 30 }'),
  /** Image of pg_dump/pg_restore. @default the Postgres server image (same major by construction) */
  clientImage: image().optional(),
  b2: backupTarget,
  /** Secret in the backup namespace with the B2 application key. */
  credentials: z.strictObject({ secretName: k8sName(), keyIdKey: secretKey(), applicationKeyKey: secretKey() }),
  /** MinIO → B2 mirror; deleted or overwritten objects stay retentionDays days under history/. */
  minioMirror: z.strictObject({
    cron: cron(),
    retentionDays: positiveInt('days'),
    /** @default every bucket in minio.buckets */
    buckets: z.array(z.string()).optional(),
  }),
  /** Weekly restore of the newest dump into a scratch server, then these checks. */
  drill: z.strictObject({
    cron: cron(),
    checks: z
      .array(z.strictObject({
        table: z.string().regex(/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/, 'is not a schema-qualified table; fix: write it like public.users (lower case)'),
        minRows: z.number().int().min(0, 'must not be negative; fix: use 0 to check only that the table exists'),
      }))
      .min(1, 'is empty, so a drill could pass on an empty dump; fix: list at least one table that must exist'),
  }),
  /** emptyDir limit for a dump (and, in the drill, its restored copy). */
  scratchSize: quantity(),
  resources: z.strictObject({ postgres: resources(), rclone: resources() }),
});

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return value.length > 0;
  } catch {
    return false;
  }
}

/** The ClusterIssuers the edge chart creates; `edge.issuer` picks the one certificates use. */
export const ISSUERS = ['letsencrypt-staging', 'letsencrypt-prod', 'selfsigned'] as const;
export type IssuerName = (typeof ISSUERS)[number];

const REFERRER_POLICIES = [
  'no-referrer', 'no-referrer-when-downgrade', 'origin', 'origin-when-cross-origin',
  'same-origin', 'strict-origin', 'strict-origin-when-cross-origin', 'unsafe-url',
] as const;

const edge = z.strictObject({
  /**
   * How routes are declared: Ingresses, or a Gateway with HTTPRoutes (Gateway API; the cluster
   * needs the Gateway API CRDs, which the Traefik chart installs).
   */
  api: z.enum(['ingress', 'gateway'], { error: 'must be "ingress" or "gateway"; fix: use ingress (or gateway for the Gateway API)' }),
  /** Let's Encrypt account e-mail: expiry and incident notices go here. */
  acmeEmail: z.email('is not an e-mail address; fix: write it like ops@example.com'),
  issuer: z.enum(ISSUERS, { error: `is not a known issuer; fix: use one of ${ISSUERS.join(', ')}` }),
  /** Per client IP: `average` requests per second, bursts up to `burst`. */
  rateLimit: z.strictObject({ average: positiveInt('requests per second'), burst: positiveInt('requests') }),
  /** Largest request body Traefik buffers and forwards (uploads); bigger requests get 413. */
  maxBodySize: quantity().refine((q) => parseQuantity(q) >= 1, 'must be at least 1 byte; fix: use a size like 10Mi'),
  contentSecurityPolicy: z.string().min(1, 'must not be empty; fix: start from "default-src \'self\'"'),
  permissionsPolicy: z.string().min(1, 'must not be empty; fix: deny what the apps do not use, like "camera=(), microphone=()"'),
  referrerPolicy: z.enum(REFERRER_POLICIES, { error: `is not a Referrer-Policy value; fix: use one of ${REFERRER_POLICIES.join(', ')}` }),
  /** Client networks allowed to reach admin UIs (Grafana, MinIO console, ...). */
  adminAllowCidrs: z.array(cidr()).min(1, 'is empty, which would lock every admin UI; fix: list your office or VPN networks'),
  /** Proxies in front of Traefik whose X-Forwarded-* headers are trusted (Cloudflare by default). */
  trustedProxyCidrs: z.array(cidr()),
  resources: z.strictObject({ traefik: resources(), certManager: resources() }),
});


// --- GitOps: where Argo CD pulls dist/ from, and every credential the platform uses ---

const gitops = z.strictObject({
  /** This repository, as Argo CD clones it; the AppProject allows no other git source. */
  repoUrl: gitUrl(),
  /** Branch, tag or commit Argo CD follows. */
  targetRevision: gitRevision(),
  /** Folder of the synthesized output in the repository: chart Applications sync `<pathPrefix>/<env>/<chart>`. */
  pathPrefix: repoPath(),
  resources: z.strictObject({
    /** Argo CD components (the platform manages Argo CD through its Helm chart). */
    argoCd: z.strictObject({ controller: resources(), repoServer: resources(), server: resources(), redis: resources(), applicationSet: resources() }),
    sealedSecrets: resources(),
  }),
});

/** The namespace roles (keys of `namespaces`); Secrets are declared per role. */
export const NAMESPACE_ROLES = ['app', 'data', 'edge', 'monitoring', 'backup'] as const;
export type NamespaceRole = (typeof NAMESPACE_ROLES)[number];

/**
 * One Secret in one namespace. `existing`: created out of band (kubectl, an external operator);
 * `sealed`: `encryptedData` holds kubeseal output per key for this environment's cluster and the
 * platform renders a SealedSecret. Values never appear in plain text anywhere.
 */
const secretDeclaration = z.strictObject({
  /** Keys the Secret holds; every key a pod reads must be listed. */
  keys: z.array(z.string().regex(/^[-._a-zA-Z0-9]+$/, 'is not a Secret key; fix: use letters, digits, "-", "_" and "."')).min(1, 'is empty; fix: list the keys the Secret holds'),
  mode: z.enum(['sealed', 'existing'], { error: 'must be "sealed" or "existing"; fix: use sealed (kubeseal output committed here) or existing (created out of band)' }),
  /** kubeseal output per key (`kubeseal --raw`), required for every key in sealed mode. */
  encryptedData: z.record(z.string(), sealedValue()).optional(),
});
export type SecretDeclaration = z.infer<typeof secretDeclaration>;

const secrets = z.strictObject(
  Object.fromEntries(NAMESPACE_ROLES.map((role) => [role, z.record(k8sName(), secretDeclaration).default({})])) as Record<
    NamespaceRole,
    z.ZodDefault<z.ZodRecord<ReturnType<typeof k8sName>, typeof secretDeclaration>>
  >,
);

const imageOverrides = z
  .strictObject(Object.fromEntries(Object.keys(IMAGES).map((k) => [k, image().optional()])) as Record<ImageName, z.ZodOptional<ReturnType<typeof image>>>);

export const platformConfigSchema = z
  .strictObject({
    /** Environment name; set from the file name. */
    name: k8sName(),
    /** Public domain; every host must sit under it or be listed in `extraHosts`. */
    domain: dnsName(),
    extraHosts: z.array(dnsName()).default([]),
    /**
     * The nodes this environment runs on: their size picks the sizing defaults (lib/config/sizing.ts),
     * spreading, and the footprint budget checked at synth time.
     */
    node: nodeSchema,
    storageClass: k8sName(),
    namespaces: z.strictObject({
      app: k8sName(),
      data: k8sName(),
      edge: k8sName(),
      monitoring: k8sName(),
      backup: k8sName(),
    }),
    /** Defaults the API server applies to containers that set no resources of their own. */
    limitRange: z.strictObject({
      defaultRequest: z.strictObject({ cpu: quantity(), memory: quantity() }),
      defaultLimit: z.strictObject({ memory: quantity() }),
    }),
    images: imageOverrides.default({}),
    postgres,
    pgbouncer,
    edge,
    redis,
    minio,
    /** Apps keyed by name, so that an environment file can change one field of one app. */
    apps: z
      .record(k8sName(), app)
      .transform((apps) => Object.entries(apps).map(([name, value]) => ({ name, ...value }))),
    backup,
    /** Alert thresholds (warning/critical) of the PrometheusRules; see lib/config/alerts.ts. */
    alerts: alertsSchema,
    /** Prometheus, Alertmanager, Grafana, Loki, Alloy, probes and the status page (lib/config/monitoring.ts). */
    monitoring: monitoringSchema,
    /** Argo CD source of this environment (see README, "GitOps"). */
    gitops,
    /** Every Secret the platform's pods read, declared once per namespace role: `secrets.<role>.<name>`. */
    secrets,
  });

export type PlatformConfigInput = z.input<typeof platformConfigSchema>;
export type PlatformConfig = z.output<typeof platformConfigSchema>;
export type AppConfig = PlatformConfig['apps'][number];

export interface CrossCheckIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** Rules that span several keys, run once every key is valid on its own. Paths point at the key to change. */
export function crossCheck(config: PlatformConfig): CrossCheckIssue[] {
  const issues: CrossCheckIssue[] = [];
  const issue = (path: (string | number)[], message: string) => issues.push({ path, message });

  const namespaceNames = Object.values(config.namespaces);
  Object.entries(config.namespaces).forEach(([key, ns]) => {
    if (namespaceNames.indexOf(ns) !== namespaceNames.lastIndexOf(ns)) {
      issue(['namespaces', key], `is used by more than one role; fix: give each namespace role its own name`);
    }
  });

  const hostOwner = new Map<string, string>();
  config.apps.forEach((app) => {
    const at = ['apps', app.name];
    if (app.replicas.min > app.replicas.max) {
      issue([...at, 'replicas', 'min'], `is greater than apps.${app.name}.replicas.max (${app.replicas.max}); fix: make min ≤ max`);
    }
    if (app.kind === 'worker' && app.hosts.length > 0) {
      issue([...at, 'hosts'], `is set on a worker; fix: remove the hosts or make the app kind "web"`);
    }
    if (app.kind === 'web' && app.hosts.length === 0) {
      issue([...at, 'hosts'], `is empty on a web app; fix: list at least one host or make the app kind "worker"`);
    }
    app.hosts.forEach((host, h) => {
      const owner = hostOwner.get(host);
      if (owner !== undefined) {
        issue([...at, 'hosts', h], `is already served by ${owner}; fix: give each host to exactly one app`);
      } else {
        hostOwner.set(host, `app "${app.name}"`);
      }
      if (!host.endsWith(`.${config.domain}`) && host !== config.domain && !config.extraHosts.includes(host)) {
        issue([...at, 'hosts', h], `is outside the domain ${config.domain}; fix: use a host under ${config.domain} or list it in extraHosts`);
      }
    });
  });

  const postgresImage = config.images.postgres ?? IMAGES.postgres;
  const tagMajor = /:(\d+)/.exec(postgresImage.slice(postgresImage.lastIndexOf('/') + 1))?.[1];
  if (tagMajor !== undefined && Number(tagMajor) !== config.postgres.major) {
    issue(
      config.images.postgres ? ['images', 'postgres'] : ['postgres', 'major'],
      `carries PostgreSQL ${tagMajor} but postgres.major is ${config.postgres.major}; fix: make the image tag and postgres.major name the same major`,
    );
  }

  const pool = config.pgbouncer;
  const perPod = pool.defaultPoolSize + pool.reservePoolSize;
  const total = perPod * Math.max(1, pool.replicas);
  const available = config.postgres.tuning.maxConnections - config.postgres.tuning.superuserReservedConnections - RESERVED_FOR_TOOLS;
  if (total > available) {
    issue(
      ['pgbouncer', 'defaultPoolSize'],
      `lets ${Math.max(1, pool.replicas)} PgBouncer pod(s) × (${pool.defaultPoolSize} + ${pool.reservePoolSize} reserve) = ${total} server connections, ` +
        `more than postgres.tuning.maxConnections (${config.postgres.tuning.maxConnections}) minus ${config.postgres.tuning.superuserReservedConnections} superuser-reserved ` +
        `and ${RESERVED_FOR_TOOLS} for exporters, backups and migrations (= ${available}); fix: lower the pool sizes or raise maxConnections`,
    );
  }
  if (config.edge.rateLimit.burst < config.edge.rateLimit.average) {
    issue(['edge', 'rateLimit', 'burst'], `is below edge.rateLimit.average (${config.edge.rateLimit.average}); fix: make burst ≥ average`);
  }
  if (pool.minPoolSize > pool.defaultPoolSize) {
    issue(['pgbouncer', 'minPoolSize'], `is greater than pgbouncer.defaultPoolSize (${pool.defaultPoolSize}); fix: make it ≤ defaultPoolSize`);
  }

  const redisLimit = parseQuantity(config.redis.resources.limits.memory);
  const redisNeeds = parseQuantity(config.redis.maxmemory) * REDIS_MEMORY_HEADROOM;
  if (redisNeeds > redisLimit) {
    issue(
      ['redis', 'maxmemory'],
      `needs a memory limit of at least ${REDIS_MEMORY_HEADROOM} × maxmemory (${Math.ceil(redisNeeds / 2 ** 20)}Mi) for the AOF-rewrite fork and fragmentation, ` +
        `but redis.resources.limits.memory is ${config.redis.resources.limits.memory}; fix: lower maxmemory or raise the memory limit`,
    );
  }

  const buckets = new Map<string, PlatformConfig['minio']['buckets'][number]>();
  config.minio.buckets.forEach((bucket, b) => {
    if (buckets.has(bucket.name)) {
      issue(['minio', 'buckets', b, 'name'], `is listed twice; fix: give each bucket one entry with a unique name`);
    }
    buckets.set(bucket.name, bucket);
  });
  const appNames = new Set(config.apps.map((a) => a.name));
  Object.entries(config.minio.appAccess).forEach(([app, access]) => {
    const at = ['minio', 'appAccess', app];
    if (!appNames.has(app)) issue(at, `names no app; fix: use one of ${[...appNames].join(', ')}`);
    access.buckets.forEach((name, i) => {
      if (!buckets.has(name)) issue([...at, 'buckets', i], `is not in minio.buckets; fix: add the bucket or correct the name`);
    });
    access.publicLinks.forEach((name, i) => {
      const bucket = buckets.get(name);
      if (bucket === undefined || !access.buckets.includes(name)) {
        issue([...at, 'publicLinks', i], `is not one of this app's buckets; fix: list it in minio.appAccess.${app}.buckets first`);
      } else if (bucket.access !== 'public-download') {
        issue(
          [...at, 'publicLinks', i],
          `asks for public links to bucket "${name}", which minio.buckets marks ${bucket.access}; fix: make the bucket public-download or remove it from publicLinks`,
        );
      }
    });
  });
  (['consoleHost', 'apiHost'] as const).forEach((key) => {
    const host = config.minio[key];
    const owner = hostOwner.get(host);
    if (owner !== undefined) issue(['minio', key], `is already served by ${owner}; fix: give MinIO its own host`);
    hostOwner.set(host, `minio.${key}`);
    if (!host.endsWith(`.${config.domain}`) && !config.extraHosts.includes(host)) {
      issue(['minio', key], `is outside the domain ${config.domain}; fix: use a host under ${config.domain} or list it in extraHosts`);
    }
  });

  // Monitoring: receivers, retention against volumes, Loki's bucket, Grafana and status hosts.
  issues.push(...monitoringIssues(config, hostOwner));
  issues.push(...backupCrossCheck(config));
  issues.push(...crossCheckSecrets(config));
  return issues;
}

/** The major in an image tag such as postgres:16.10-bookworm, or undefined for a digest or another tag. */
export function postgresImageMajor(image: string): number | undefined {
  const tag = /:(\d+)/.exec(image.slice(image.lastIndexOf('/') + 1))?.[1];
  return tag === undefined ? undefined : Number(tag);
}

function backupCrossCheck(config: PlatformConfig): CrossCheckIssue[] {
  const issues: CrossCheckIssue[] = [];
  const b = config.backup;
  if (b.clientImage !== undefined) {
    const major = postgresImageMajor(b.clientImage);
    if (major !== config.postgres.major) {
      issues.push({
        path: ['backup', 'clientImage'],
        message: `carries PostgreSQL ${major ?? '(no major in the tag)'} but the server is ${config.postgres.major}; pg_dump refuses a newer server and a newer dump is not restorable; fix: remove backup.clientImage (it defaults to the server image) or use a tag of major ${config.postgres.major}`,
      });
    }
  }
  const names = b.schedules.map((s) => s.name);
  names.forEach((name, i) => {
    if (names.indexOf(name) !== i) issues.push({ path: ['backup', 'schedules', i, 'name'], message: 'is used by two schedules; fix: give each schedule its own name' });
  });
  const buckets = config.minio.buckets.map((x) => x.name);
  (b.minioMirror.buckets ?? []).forEach((name, i) => {
    if (!buckets.includes(name)) issues.push({ path: ['backup', 'minioMirror', 'buckets', i], message: `is not in minio.buckets; fix: use one of ${buckets.join(', ')}` });
  });
  return issues;
}

/** Sealed declarations carry exactly their keys' ciphertext; existing ones carry none; no key twice. */
function crossCheckSecrets(config: PlatformConfig): CrossCheckIssue[] {
  const issues: CrossCheckIssue[] = [];
  for (const role of NAMESPACE_ROLES) {
    for (const [name, declaration] of Object.entries(config.secrets[role])) {
      const at = ['secrets', role, name];
      declaration.keys.forEach((key, k) => {
        if (declaration.keys.indexOf(key) !== k) issues.push({ path: [...at, 'keys', k], message: `declares key "${key}" twice; fix: list each key once` });
      });
      const sealedKeys = Object.keys(declaration.encryptedData ?? {});
      if (declaration.mode === 'existing' && sealedKeys.length > 0) {
        issues.push({ path: [...at, 'encryptedData'], message: 'is set but mode is "existing", so it would be ignored; fix: set mode: sealed or remove encryptedData' });
      }
      if (declaration.mode === 'sealed') {
        declaration.keys.filter((key) => !sealedKeys.includes(key)).forEach((key) => issues.push({
          path: [...at, 'encryptedData', key],
          message: `is missing in sealed mode; fix: run \`kubectl create secret generic ${name} -n ${config.namespaces[role]} --dry-run=client --from-literal=${key}=... -o yaml | kubeseal -o yaml\` and copy spec.encryptedData.${key} here, or use mode: existing`,
        }));
        sealedKeys.filter((key) => !declaration.keys.includes(key)).forEach((key) => issues.push({
          path: [...at, 'encryptedData', key],
          message: `is not one of the declared keys (${declaration.keys.join(', ')}); fix: add it to keys or remove it`,
        }));
      }
    }
  }
  return issues;
}

/** Redis may use maxmemory for data; the memory limit must be this factor above it. */
export const REDIS_MEMORY_HEADROOM = 1.25;

/** Server connections kept free for the exporter, backup jobs and migrations. */
export const RESERVED_FOR_TOOLS = 10;
