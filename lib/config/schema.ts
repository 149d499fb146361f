/**
 * The typed configuration of one environment. Environment files under ./environments are
 * deep-merged over ./defaults.ts and parsed with this schema; unknown keys are errors.
 */
import { STAGES } from './stages';
import { CrossCheckIssue } from './errors';
import { z } from './zod';
import { backupEncryptionSchema, pitrSchema } from './pitr';
import { duration } from './duration';
import { BOUNDS, cidr, cron, dnsName, gitRevision, gitUrl, httpPath, image, isPrivateCidr, k8sName, positiveInt, quantity, replicas, repoPath, Resources, resources, s3BucketName, sealedValue } from './fields';
import { isQuantity, parseQuantity } from './quantity';
import { IMAGES, ImageName } from './versions';
import { isSealFingerprint, sealCommand, sealingCertHint } from '../sealing';
import { alertsSchema } from './alerts';
import { monitoringIssues, monitoringSchema } from './monitoring';
import { helmSchema } from './helm';
import { SERVICE_SECTIONS, SERVICES } from '../services/registry';
import { pgbouncerSchema as pgbouncer, postgresSchema as postgres } from '../services/postgres/config';
import { redisSchema as redis } from '../services/redis/config';
import { minioSchema as minio } from '../services/minio/config';

export type { CrossCheckIssue };
import { poolPerPod, pooledServerConnections } from './connection-budget';

const APP_REPLICAS = { max: 50, why: 'every replica reserves its resource requests on the nodes, and 50 pods of one app is beyond a small team\'s cluster' };

/** `node: { cpu, memory, count }`: `count` nodes of `cpu` cores (2 or "2") and `memory` (4Gi). */
export const nodeSchema = z.strictObject({
  cpu: z.union([z.number().positive(), quantity()], { error: 'is not a CPU count; fix: write the vCPUs like 2 or 4' }).transform(String),
  memory: quantity().refine((q) => !isQuantity(q) || parseQuantity(q) >= 2 ** 31, 'is less than 2Gi, too small for k3s and the platform; fix: use at least 4Gi'),
  count: positiveInt('nodes', { max: 50, why: 'the platform runs one Postgres primary, one Redis and one MinIO, a design for one to a few dozen nodes' }),
});

/** A Secret data key. */
const secretKey = () => z.string().regex(/^[-._a-zA-Z0-9]+$/, 'is not a Secret key; fix: use letters, digits, "-", "_" and "."');

/** An env var name (C identifier, as shells and `$(VAR)` expansion read them). */
const envName = () => z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'is not an env var name; fix: use letters, digits and "_", not starting with a digit');

/** Plain env names that look like credentials; public build-time values (NEXT_PUBLIC_*, VITE_*) are exempt. */
const CREDENTIAL_NAME = /(SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|PRIVATE_KEY|ENCRYPTION_KEY|SIGNING_KEY|EVENT_KEY|_DSN$|^DSN$)/;
const PUBLIC_PREFIX = /^(NEXT_PUBLIC_|VITE_)/;
export const looksLikeCredential = (name: string): boolean => !PUBLIC_PREFIX.test(name) && CREDENTIAL_NAME.test(name);

const app = z.strictObject({
  image: image(),
  /** `web` serves HTTP through the edge; `worker` does not. */
  kind: z.enum(['web', 'worker']),
  port: z.number().int().min(1).max(65535),
  hosts: z.array(dnsName()).default([]),
  /** Path prefixes this app serves on its hosts; several apps may share a host with different prefixes (`/` and `/api`). */
  paths: z.array(httpPath()).default(['/']),
  /** Remove the matched prefix before the request reaches the app (`/api/users` → `/users`). */
  stripPrefix: z.boolean().default(false),
  /**
   * Basic auth on the app's routes, from a Secret of the app namespace whose key `users` holds
   * bcrypt htpasswd lines (`htpasswd -nbB user pass`); declared under `secrets.app`. It covers the
   * whole host: every app sharing the host must name the same Secret. Webhook paths skip it.
   */
  basicAuth: z.strictObject({ secret: k8sName() }).optional(),
  /** Paths called by other services in bursts (Stripe, Clerk, Inngest): served without the rate limit (and basic auth); the app verifies their signatures. */
  webhookPaths: z.array(httpPath()).default([]),
  /**
   * Path prefixes (under one of `paths`) that stream: server-sent events, streamed renders, long downloads. Traefik's
   * body limit (its buffering middleware) holds back the whole response, so these get a route of their own without
   * it (and without compression): no edge body limit there; the app limits the bodies it reads on these paths.
   */
  streamingPaths: z.array(httpPath()).default([]),
  /** Security headers of this app's routes, over the edge defaults (edge.contentSecurityPolicy, ...). */
  headers: z.strictObject({
    contentSecurityPolicy: z.string().min(1, 'must not be empty; fix: start from "default-src \'self\'"').optional(),
    permissionsPolicy: z.string().min(1, 'must not be empty; fix: deny what the app does not use, like "camera=(), microphone=()"').optional(),
    /** `DENY` (default) or `SAMEORIGIN` (the app frames its own pages). */
    frameOptions: z.enum(['DENY', 'SAMEORIGIN']).optional(),
  }).optional(),
  /** A route that must answer 401 without credentials; the PostSync smoke test checks it on every host. @default none */
  protectedPath: httpPath().optional(),
  /** Largest request body for this app's routes. @default edge.maxBodySize */
  maxBodySize: quantity().optional(),
  healthPath: httpPath(),
  /** Exec probe instead of HTTP on healthPath (for workers without an HTTP server). */
  healthCommand: z.array(z.string()).min(1).optional(),
  /** Egress to the internet: none, HTTPS only, or any port. Cluster-internal targets are never opened by this. */
  internetEgress: z.enum(['none', 'https', 'all']).default('https'),
  replicas: z.strictObject({ min: replicas(APP_REPLICAS), max: replicas(APP_REPLICAS) }),
  resources: resources(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  /** Plain env: configuration and public values (NEXT_PUBLIC_*, VITE_*) only; credentials come from `secretEnv`. */
  env: z.record(envName(), z.string()).default({}),
  /**
   * Env vars read from one key of a Secret in the app namespace, declared under `secrets.app`
   * (sealed or existing): `STRIPE_SECRET_KEY: { secret: crm-secrets, key: stripe-secret-key }`.
   */
  secretEnv: z.record(envName(), z.strictObject({ secret: k8sName(), key: secretKey() })).default({}),
  /** Whole Secrets of the app namespace as env (`envFrom`), each declared under `secrets.app`. */
  envFromSecrets: z.array(k8sName()).default([]),
  /**
   * Liveness checks the process only, never a dependency: an HTTP path that answers while the
   * database is down, or a command. @default a TCP check of `port` (or healthCommand for apps without HTTP)
   */
  liveness: z.strictObject({ path: httpPath().optional(), command: z.array(z.string()).min(1).optional() }).default({}),
  /** Probe timing; readiness (healthPath, may check dependencies) and liveness share timeout and period. */
  probes: z.strictObject({
    timeoutSeconds: positiveInt('seconds', { max: 60, why: 'a probe that needs longer than a minute holds a kubelet worker' }).default(5),
    periodSeconds: positiveInt('seconds', { max: 300, why: 'a failure must be noticed within minutes' }).default(30),
    /** Consecutive liveness failures before a restart. */
    failureThreshold: positiveInt('failures', { max: 20, why: 'more failures than that keep a hung pod for too long' }).default(3),
    /** How long a boot may take before liveness starts (startup probe, every 5 s). */
    startupSeconds: positiveInt('seconds', { max: 1800, why: 'a boot longer than 30 minutes is a hung pod' }).default(300),
  }).default({ timeoutSeconds: 5, periodSeconds: 30, failureThreshold: 3, startupSeconds: 300 }),
  /** Time from SIGTERM to SIGKILL after the pre-stop pause: a worker's queue drain must fit. @default 30 */
  shutdownSeconds: positiveInt('seconds', { max: 3600, why: 'a drain longer than an hour blocks every rollout' }).default(30),
  metricsPort: z.number().int().min(1).max(65535).optional(),
  /** Run before every sync (Argo CD PreSync) against the primary. */
  migration: z.strictObject({
    command: z.array(z.string()).min(1),
    /** Dump the database to the backup bucket before the migration runs (a PreSync hook before it). */
    dumpFirst: z.boolean().default(true),
  }).optional(),
  /** Report errors to the platform's GlitchTip: the app gets SENTRY_DSN (README, "Error tracking"). */
  sentry: z.boolean().default(false),
});

const backupSchedule = z.strictObject({
  name: k8sName(),
  cron: cron(),
  retentionDays: positiveInt('days', BOUNDS.retentionDays),
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


const backup = z.strictObject({
  /** IANA time zone of every backup schedule (CronJob timeZone). */
  timeZone: z.string().refine(isTimeZone, 'is not an IANA time zone; fix: write it like Etc/UTC or Europe/Berlin'),
  /** pg_dump schedules; each keeps its dumps retentionDays days. */
  schedules: z.array(backupSchedule).min(1, 'needs at least one schedule; fix: add one like { name: daily, cron: "0 3 * * *", retentionDays: 30 }'),
  /** Image of pg_dump/pg_restore and the restore drill. @default images.postgresClient (the official postgres image of the server's major) */
  clientImage: image().optional(),
  b2: backupTarget,
  /** Secret in the backup namespace with the B2 application key. */
  credentials: z.strictObject({ secretName: k8sName(), keyIdKey: secretKey(), applicationKeyKey: secretKey() }),
  /** MinIO → B2 mirror; deleted or overwritten objects stay retentionDays days under history/. */
  minioMirror: z.strictObject({
    cron: cron(),
    retentionDays: positiveInt('days', BOUNDS.retentionDays),
    /** @default every bucket in minio.buckets */
    buckets: z.array(z.string()).optional(),
  }),
  /** Weekly restore of the newest dump into a scratch server, then these checks. */
  drill: z.strictObject({
    cron: cron(),
    checks: z
      .array(z.strictObject({
        table: z.string().regex(/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/, 'is not a schema-qualified table; fix: write it like public.users (lower case)'),
        minRows: z.number().int().min(0, 'must not be negative; fix: use 0 to check only that the table exists').max(1_000_000_000, 'is more than 1000000000 rows, the most this platform accepts because the drill restores into a scratch volume of backup.scratchSize; fix: use the row count a healthy dump has at least'),
      }))
      .min(1, 'is empty, so a drill could pass on an empty dump; fix: list at least one table that must exist'),
    /** How far a restored table's row count may be from the count written next to the dump (taken just after it), %. */
    rowTolerancePercent: z.number().int('must be a whole number of percent; fix: use 0 (exact) to 10').min(0, 'must not be negative; fix: use 0 (exact) to 10').max(10, 'is more than 10 %, which would pass a dump missing a tenth of a table; fix: use 0 to 10'),
    /** The restore's newest timestamp value may be at most this much older than the dump (an app idle longer fails the drill). */
    maxDataAge: duration(),
  }),
  /** emptyDir limit for a dump (and, in the drill, its restored copy). */
  scratchSize: quantity(),
  resources: z.strictObject({ postgres: resources(), rclone: resources() }),
  /** WAL archiving and base backups (pgBackRest): restore to any second of retention (lib/config/pitr.ts). */
  pitr: pitrSchema,
  /** The client-side key of every object written to B2 (lib/config/pitr.ts). */
  encryption: backupEncryptionSchema,
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

/** How admin UIs are protected (edge.adminAccess). */
export const ADMIN_ACCESS_MODES = ['basicAuth', 'allowList', 'both'] as const;
export type AdminAccessMode = (typeof ADMIN_ACCESS_MODES)[number];
/** The Secret type of a `kubernetes.io/basic-auth` Secret (keys `username` and `password`), which Traefik's basicAuth reads. */
export const BASIC_AUTH_SECRET_TYPE = 'kubernetes.io/basic-auth';
const SECRET_TYPES = ['Opaque', BASIC_AUTH_SECRET_TYPE] as const;

/** How the edge learns a client's address (edge.clientIp). */
export const CLIENT_IP_MODES = ['direct', 'cloudflare'] as const;
export type ClientIpMode = (typeof CLIENT_IP_MODES)[number];

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
  rateLimit: z.strictObject({
    average: positiveInt('requests per second', { max: 10000, why: 'the limit is per client IP, and a limit no client reaches protects nothing' }),
    burst: positiveInt('requests', { max: 100000, why: 'the burst is per client IP, and a burst no client reaches protects nothing' }),
  }),
  /** Largest request body Traefik buffers and forwards (uploads); bigger requests get 413. */
  maxBodySize: quantity().refine((q) => !isQuantity(q) || parseQuantity(q) >= 1, 'must be at least 1 byte; fix: use a size like 10Mi'),
  contentSecurityPolicy: z.string().min(1, 'must not be empty; fix: start from "default-src \'self\'"'),
  permissionsPolicy: z.string().min(1, 'must not be empty; fix: deny what the apps do not use, like "camera=(), microphone=()"'),
  referrerPolicy: z.enum(REFERRER_POLICIES, { error: `is not a Referrer-Policy value; fix: use one of ${REFERRER_POLICIES.join(', ')}` }),
  /**
   * How admin UIs (Grafana, the MinIO console, GlitchTip) are protected at the edge. `basicAuth` (default): Traefik
   * asks for the credential the platform generates in the cluster (`secrets.monitoring.edge-admin-auth`, user
   * `admin`), from any address. `allowList`: only clients in `adminAllowCidrs`. `both`: the allow-list, then the credential.
   */
  adminAccess: z.enum(ADMIN_ACCESS_MODES, { error: `is not an admin access mode; fix: use basicAuth (the generated credential), allowList (edge.adminAllowCidrs only) or both` }),
  /** Client networks allowed to reach admin UIs when `adminAccess` is `allowList` or `both`. */
  adminAllowCidrs: z.array(cidr()).min(1, 'is empty, which would lock every admin UI; fix: list your office or VPN networks'),
  /**
   * Where the client address comes from. `direct`: clients connect to the node; Traefik's Service keeps
   * the peer address (externalTrafficPolicy: Local) and the rate limit and admin allow-list use it, while
   * every X-Forwarded-For is ignored. `cloudflare`: clients reach Traefik through Cloudflare; the address is
   * the last X-Forwarded-For entry outside `trustedProxyCidrs` (Cloudflare's ranges), and Traefik drops the
   * header from any other peer, so it cannot be forged.
   */
  clientIp: z.enum(CLIENT_IP_MODES, { error: `is not a client-IP mode; fix: use direct (clients connect to the node) or cloudflare (the site is proxied by Cloudflare)` }),
  /** `cloudflare` mode only: refuse (403) every request whose peer is not in `trustedProxyCidrs`. */
  cloudflareOnly: z.boolean(),
  /** `cloudflare` mode: the proxies whose X-Forwarded-* headers are trusted (Cloudflare's ranges). Empty in `direct` mode. */
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
    argoCd: z.strictObject({
      controller: resources(), repoServer: resources(), server: resources(), redis: resources(), applicationSet: resources(),
      /** The notifications controller (runs when monitoring.alertmanager.receivers is not empty). */
      notifications: resources(),
    }),
    sealedSecrets: resources(),
    /** The External Secrets Operator's controller (generated secrets). */
    externalSecrets: resources(),
  }),
});

/** The namespace roles (keys of `namespaces`); Secrets are declared per role. */
export const NAMESPACE_ROLES = ['app', 'data', 'edge', 'monitoring', 'backup'] as const;
export type NamespaceRole = (typeof NAMESPACE_ROLES)[number];

/** Argo CD's namespace (not a platform role: created when Argo CD is installed, see README "Bootstrap runbook"). */
export const ARGOCD_NAMESPACE = 'argocd';
/** Where Secrets are declared: the namespace roles, plus `argocd` (the notifications controller's Secret). */
export const SECRET_SCOPES = [...NAMESPACE_ROLES, 'argocd'] as const;
export type SecretScope = (typeof SECRET_SCOPES)[number];
/** The namespace of a secret scope. */
export const secretScopeNamespace = (config: { readonly namespaces: Readonly<Record<NamespaceRole, string>> }, scope: SecretScope): string =>
  scope === 'argocd' ? ARGOCD_NAMESPACE : config.namespaces[scope];

/**
 * A generated value: `length` letters and digits (no symbols, so it is safe in URLs, Redis ACL lines
 * and connection strings), or `fixed`, a value that is no secret (a user name) written beside the generated ones.
 */
const generatedValue = z.union([
  z.strictObject({ length: z.number().int().min(8, 'is shorter than 8; fix: use 32 (MinIO access keys: 20, their secret keys: 40)').max(128, 'is longer than 128; fix: use 32') }),
  z.strictObject({ fixed: z.string().regex(/^[a-z][-a-z0-9_.]{0,31}$/, 'is not a plain user name; fix: use lower-case letters, digits, "-", "_" or "." (a secret value is generated, never written here)') }),
]);
export type GeneratedValue = z.infer<typeof generatedValue>;

/**
 * One Secret in one namespace. `existing`: created out of band (kubectl, an external operator);
 * `sealed`: `encryptedData` holds kubeseal output per key for this environment's cluster and the
 * platform renders a SealedSecret; `generated`: an internal credential the External Secrets Operator
 * generates in the cluster once (or copies from `copyOf`). Values never appear in plain text anywhere.
 */
const secretDeclaration = z.strictObject({
  /** Keys the Secret holds; every key a pod reads must be listed. */
  keys: z.array(z.string().regex(/^[-._a-zA-Z0-9]+$/, 'is not a Secret key; fix: use letters, digits, "-", "_" and "."')).min(1, 'is empty; fix: list the keys the Secret holds'),
  mode: z.enum(['sealed', 'existing', 'generated'], {
    error: 'must be "sealed", "existing" or "generated"; fix: use generated (an internal credential made in the cluster), sealed (kubeseal output committed here) or existing (created out of band)',
  }),
  /** kubeseal output per key (`kubeseal --raw`), required for every key in sealed mode. */
  encryptedData: z.record(z.string(), sealedValue()).optional(),
  /**
   * Generated mode: the shape of a key's value when a consumer needs one (README "Secrets"); ignored in other modes.
   * @default every key 32 letters and digits
   */
  generate: z.record(secretKey(), generatedValue).optional(),
  /**
   * Generated mode: a copy of the Secret of the same name in this role's namespace (same keys, same
   * values, kept equal by the secret controller) instead of values of its own; ignored in other modes.
   * @default - values of its own
   */
  copyOf: z.enum(NAMESPACE_ROLES).optional(),
  /**
   * The Secret's type: `kubernetes.io/basic-auth` (keys `username` and `password`) for a credential Traefik's basicAuth
   * reads. A copy (`copyOf`) takes its source's type. @default Opaque
   */
  type: z.enum(SECRET_TYPES, { error: `is not a Secret type the platform renders; fix: use ${SECRET_TYPES.join(' or ')}` }).optional(),
  /** Per key, what `npm run seal` needs to tell an unchanged value from a new one (a salted scrypt hash, never the value). */
  fingerprints: z.record(z.string(), z.string().refine(isSealFingerprint, 'is not a fingerprint `npm run seal` wrote; fix: delete it and run npm run seal again')).optional(),
});
export type SecretDeclaration = z.infer<typeof secretDeclaration>;

const secrets = z.strictObject(
  Object.fromEntries(SECRET_SCOPES.map((role) => [role, z.record(k8sName(), secretDeclaration).default({})])) as Record<
    SecretScope,
    z.ZodDefault<z.ZodRecord<ReturnType<typeof k8sName>, typeof secretDeclaration>>
  >,
);

const imageOverrides = z
  .strictObject(Object.fromEntries(Object.keys(IMAGES).map((k) => [k, image().optional()])) as Record<ImageName, z.ZodOptional<ReturnType<typeof image>>>);

export const platformConfigSchema = z
  .strictObject({
    /** Environment name; set from the file name. */
    name: k8sName(),
    /**
     * production: sample values left in the file (lib/config/placeholders.ts) fail the synth;
     * development and sample (the bundled examples): they only warn.
     */
    stage: z.enum(STAGES).default('production'),
    /**
     * `sharedWith: <env>`: this environment runs on the cluster of <env> (lib/config/shared-cluster.ts).
     * @default its own cluster
     */
    cluster: z.strictObject({
      sharedWith: k8sName().optional(),
      /**
       * Where the cluster's Traefik and Prometheus run (a secondary's policies admit them from there).
       * @default namespaces.edge and namespaces.monitoring; for a secondary, its primary's (set by the loader)
       */
      edgeNamespace: k8sName().optional(),
      monitoringNamespace: k8sName().optional(),
    }).default({}),
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
    /** Apps keyed by name, so that an environment file can change one field of one app; `<name>: null` removes a default app. */
    apps: z
      .record(k8sName(), app.nullable())
      .transform((apps) => Object.entries(apps).flatMap(([name, value]) => (value === null ? [] : [{ name, ...value }]))),
    backup,
    /** Alert thresholds (warning/critical) of the PrometheusRules; see lib/config/alerts.ts. */
    alerts: alertsSchema,
    /** Prometheus, Alertmanager, Grafana, Loki, Alloy, probes and the status page (lib/config/monitoring.ts). */
    monitoring: monitoringSchema,
    /** The sections of the built-in services that own theirs (lib/services/registry.ts): glitchtip, ... */
    ...SERVICE_SECTIONS,
    /** Argo CD source of this environment (see README, "GitOps"). */
    gitops,
    /** Every Secret the platform's pods read, declared once per namespace role: `secrets.<role>.<name>`. */
    secrets,
    /** How the Helm add-ons reach dist/: Argo CD Applications or inline-rendered objects (lib/config/helm.ts). */
    helm: helmSchema,
  });

export type PlatformConfigInput = z.input<typeof platformConfigSchema>;
export type PlatformConfig = z.output<typeof platformConfigSchema>;
export type AppConfig = PlatformConfig['apps'][number];

/** Rules that span several keys, run once every key is valid on its own. Paths point at the key to change. */
export function crossCheck(config: PlatformConfig): CrossCheckIssue[] {
  const issues: CrossCheckIssue[] = [];
  const issue = (path: (string | number)[], message: string, related?: (string | number)[][]) => issues.push({ path, message, related });

  const namespaceNames = Object.values(config.namespaces);
  Object.entries(config.namespaces).forEach(([key, ns]) => {
    if (namespaceNames.indexOf(ns) !== namespaceNames.lastIndexOf(ns)) {
      issue(['namespaces', key], `is used by more than one role; fix: give each namespace role its own name`);
    }
  });

  const hostOwner = new Map<string, string>();
  const routeOwners = new Map<string, string>();
  const hostAuth = new Map<string, { app: string; secret?: string }>();
  config.apps.forEach((app) => {
    const at = ['apps', app.name];
    if (app.replicas.min < 1) {
      // The app's HorizontalPodAutoscaler keeps at least one pod: 0 would silently run 1.
      issue([...at, 'replicas', 'min'], `is 0, but the app's autoscaler always keeps at least one pod, so 0 would silently become 1; fix: use 1, or remove the app (apps.${app.name}: null)`);
    }
    if (app.replicas.min > app.replicas.max) {
      issue([...at, 'replicas', 'min'], `is greater than apps.${app.name}.replicas.max (${app.replicas.max}); fix: make min ≤ max`, [[...at, 'replicas', 'max']]);
    }
    if (app.kind === 'worker' && app.hosts.length > 0) {
      issue([...at, 'hosts'], `is set on a worker; fix: remove the hosts or make the app kind "web"`);
    }
    if (app.kind === 'web' && app.hosts.length === 0) {
      issue([...at, 'hosts'], `is empty on a web app; fix: list at least one host or make the app kind "worker"`);
    }
    for (const name of Object.keys(app.env)) {
      if (looksLikeCredential(name)) {
        issue([...at, 'env', name], `looks like a credential, and plain env lands in git; fix: move it to apps.${app.name}.secretEnv.${name}: { secret: ${app.name}-secrets, key: ${name.toLowerCase().replace(/_/g, '-')} } and declare that Secret under secrets.app`);
      }
      if (app.secretEnv[name] !== undefined) issue([...at, 'env', name], `is also in apps.${app.name}.secretEnv; fix: keep one of them`);
    }
    if (app.kind === 'web' && app.paths.length === 0 && app.webhookPaths.length === 0) {
      issue([...at, 'paths'], `is empty and apps.${app.name}.webhookPaths too, so the web app serves nothing; fix: list a path like / (or make the app a worker)`);
    }
    app.streamingPaths.forEach((path, i) => {
      if (!app.paths.some((p) => underPrefix(path, p))) {
        issue([...at, 'streamingPaths', i], `${JSON.stringify(path)} is not under any of apps.${app.name}.paths (${app.paths.join(', ') || 'none'}); fix: list a prefix the app serves, like ${app.paths[0] ?? '/'}${app.paths[0]?.endsWith('/') ? '' : '/'}stream`);
      } else if (app.webhookPaths.some((w) => underPrefix(path, w) || underPrefix(w, path))) {
        issue([...at, 'streamingPaths', i], `${JSON.stringify(path)} overlaps apps.${app.name}.webhookPaths; fix: list a path in one of them only`);
      } else if (app.paths.includes(path)) {
        issue([...at, 'streamingPaths', i], `${JSON.stringify(path)} is a whole entry of apps.${app.name}.paths, which would lose its body limit entirely; fix: list the streaming sub-path only (like ${path.replace(/\/$/, '')}/stream)`);
      }
      if (app.streamingPaths.indexOf(path) !== i) issue([...at, 'streamingPaths', i], `${JSON.stringify(path)} is listed twice; fix: list it once`);
    });
    if (app.stripPrefix && app.paths.includes('/')) {
      issue([...at, 'stripPrefix'], `is set, but apps.${app.name}.paths includes "/", which has no prefix to strip; fix: serve a prefix like /api or remove stripPrefix`, [[...at, 'paths']]);
    }
    app.hosts.forEach((host, h) => {
      const owner = hostOwner.get(host);
      if (owner !== undefined && !owner.startsWith('app "')) {
        issue([...at, 'hosts', h], `is already served by ${owner}; fix: give each host to exactly one app`);
      } else if (owner === undefined) {
        hostOwner.set(host, `app "${app.name}"`);
      }
      // Apps may share a host by path; a host+path pair belongs to one app.
      for (const path of [...app.paths, ...app.webhookPaths]) {
        const routeOwner = routeOwners.get(`${host}${path}`);
        if (routeOwner !== undefined && routeOwner !== app.name) {
          issue([...at, 'hosts', h], `with path ${path} is already served by app "${routeOwner}"; fix: give each host and path to exactly one app (another prefix, like /api)`);
        }
        routeOwners.set(`${host}${path}`, app.name);
      }
      const auth = hostAuth.get(host);
      if (auth !== undefined && auth.secret !== app.basicAuth?.secret) {
        issue([...at, 'basicAuth'], `differs from app "${auth.app}" on the shared host ${host} (${auth.secret ?? 'no basic auth'}); basic auth covers the whole host; fix: give both apps the same basicAuth (or none)`);
      }
      if (auth === undefined) hostAuth.set(host, { app: app.name, secret: app.basicAuth?.secret });
      if (!host.endsWith(`.${config.domain}`) && host !== config.domain && !config.extraHosts.includes(host)) {
        issue([...at, 'hosts', h], `is outside the domain ${config.domain}; fix: use a host under ${config.domain} or list it in extraHosts`);
      }
    });
  });

  const postgresImage = config.images.postgres ?? IMAGES.postgres;
  const tagMajor = postgresImageMajor(postgresImage);
  if (tagMajor !== undefined && tagMajor !== config.postgres.major) {
    issue(
      config.images.postgres ? ['images', 'postgres'] : ['postgres', 'major'],
      `carries PostgreSQL ${tagMajor} but postgres.major is ${config.postgres.major}; fix: make the image tag and postgres.major name the same major`,
    );
  }

  if (config.postgres.replication === 'synchronous' && config.postgres.replicas < 1) {
    issue(['postgres', 'replication'], `is synchronous but postgres.replicas is ${config.postgres.replicas}: no replica could confirm a commit; fix: set postgres.replicas to 1 or more, or postgres.replication to asynchronous`, [['postgres', 'replicas']]);
  }

  const pool = config.pgbouncer;
  const perPod = poolPerPod(config);
  const total = pooledServerConnections(config);
  const available = config.postgres.tuning.maxConnections - config.postgres.tuning.superuserReservedConnections - RESERVED_FOR_TOOLS;
  if (total > available) {
    issue(
      ['pgbouncer', 'defaultPoolSize'],
      `lets ${Math.max(1, pool.replicas)} PgBouncer pod(s) × (${perPod.defaultPoolSize} + ${perPod.reservePoolSize} reserve, their share of ${pool.defaultPoolSize} + ${pool.reservePoolSize}) = ${total} server connections, ` +
        `more than postgres.tuning.maxConnections (${config.postgres.tuning.maxConnections}) minus ${config.postgres.tuning.superuserReservedConnections} superuser-reserved ` +
        `and ${RESERVED_FOR_TOOLS} for Patroni, exporters, backups and migrations (= ${available}); fix: lower the pool sizes or raise maxConnections`,
      [['pgbouncer', 'reservePoolSize'], ['pgbouncer', 'replicas'], ['postgres', 'tuning', 'maxConnections'], ['postgres', 'tuning', 'superuserReservedConnections']],
    );
  }
  const { clientIp, trustedProxyCidrs, cloudflareOnly } = config.edge;
  if (clientIp === 'direct' && trustedProxyCidrs.length > 0) {
    issue(['edge', 'trustedProxyCidrs'], `trusts X-Forwarded-For from ${trustedProxyCidrs.length} range(s) while edge.clientIp is direct, where no proxy sits in front; ` +
      `fix: set it to [] (clients connect to the node) or set edge.clientIp to cloudflare`, [['edge', 'clientIp']]);
  }
  if (clientIp === 'cloudflare' && trustedProxyCidrs.length === 0) {
    issue(['edge', 'trustedProxyCidrs'], `is empty while edge.clientIp is cloudflare, so no client address could be trusted; ` +
      `fix: list Cloudflare's ranges (the default) or set edge.clientIp to direct`, [['edge', 'clientIp']]);
  }
  if (clientIp === 'direct' && cloudflareOnly) {
    issue(['edge', 'cloudflareOnly'], `is true while edge.clientIp is direct, which would refuse every client; fix: set it to false or set edge.clientIp to cloudflare`, [['edge', 'clientIp']]);
  }
  if (config.edge.adminAccess !== 'basicAuth' && clientIp === 'cloudflare' && config.edge.adminAllowCidrs.every(isPrivateCidr)) {
    issue(['edge', 'adminAllowCidrs'], `lists only private networks while edge.clientIp is cloudflare and edge.adminAccess is ${config.edge.adminAccess}: ` +
      `behind Cloudflare every client address is public, so no admin could reach an admin UI; fix: list your admins' public networks (office, VPN exit), ` +
      `or set edge.adminAccess to basicAuth (the generated credential)`, [['edge', 'adminAccess'], ['edge', 'clientIp']]);
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
      [['redis', 'resources', 'limits', 'memory']],
    );
  }
  issues.push(...postgresMemoryCrossCheck(config), ...requestsAgainstNode(config));
  if (parseQuantity(config.limitRange.defaultLimit.memory) < parseQuantity(config.limitRange.defaultRequest.memory)) {
    issue(
      ['limitRange', 'defaultLimit', 'memory'],
      `is below limitRange.defaultRequest.memory (${config.limitRange.defaultRequest.memory}), so the API server would refuse every container that sets no resources; fix: make the default limit at least the default request`,
      [['limitRange', 'defaultRequest', 'memory']],
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
  (['consoleHost', 'apiHost', 'publicHost'] as const).forEach((key) => {
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
  for (const service of SERVICES) issues.push(...(service.section?.crossChecks?.(config) ?? []));
  issues.push(...backupCrossCheck(config));
  issues.push(...crossCheckSecrets(config));
  return issues;
}

/**
 * Postgres allocates shared_buffers and wal_buffers at start and maintenance_work_mem per VACUUM or
 * CREATE INDEX, all inside the container's memory limit; above it the kernel kills the server.
 * One query may use work_mem per sort, so work_mem alone must fit the limit too.
 */
function postgresMemoryCrossCheck(config: PlatformConfig): CrossCheckIssue[] {
  const tuning = config.postgres.tuning;
  const limit = config.postgres.resources.limits.memory;
  const limitBytes = parseQuantity(limit);
  const issues: CrossCheckIssue[] = [];
  const limitKey = ['postgres', 'resources', 'limits', 'memory'];
  const fixed = parseQuantity(tuning.sharedBuffers) + parseQuantity(tuning.walBuffers) + parseQuantity(tuning.maintenanceWorkMem);
  if (fixed >= limitBytes) {
    issues.push({
      path: ['postgres', 'tuning', 'sharedBuffers'],
      message:
        `plus walBuffers (${tuning.walBuffers}) and maintenanceWorkMem (${tuning.maintenanceWorkMem}) is ${mebibytes(fixed)}, ` +
        `not below postgres.resources.limits.memory (${limit}), so Postgres would be OOM-killed under load; ` +
        `fix: lower sharedBuffers (a quarter of the limit is usual) or raise postgres.resources.limits.memory`,
      related: [limitKey, ['postgres', 'tuning', 'walBuffers'], ['postgres', 'tuning', 'maintenanceWorkMem']],
    });
  }
  if (parseQuantity(tuning.workMem) >= limitBytes) {
    issues.push({
      path: ['postgres', 'tuning', 'workMem'],
      message: `is not below postgres.resources.limits.memory (${limit}), and one query may use it per sort; fix: lower workMem (a few MiB to tens of MiB) or raise the limit`,
      related: [limitKey],
    });
  }
  return issues;
}

/**
 * No container may request more than one node has: the scheduler could never place its pod.
 * (What all pods together request is the footprint check's business.)
 */
function requestsAgainstNode(config: PlatformConfig): CrossCheckIssue[] {
  const node = { cpu: config.node.cpu, memory: config.node.memory };
  const issues: CrossCheckIssue[] = [];
  for (const { path, resources } of resourceBlocks(config)) {
    for (const kind of ['cpu', 'memory'] as const) {
      const requested = resources.requests[kind];
      if (parseQuantity(requested) > parseQuantity(node[kind])) {
        issues.push({
          path: [...path, 'requests', kind],
          message:
            `is more than one node has (node.${kind} = ${node[kind]}), so the pod could never be scheduled; ` +
            `fix: lower ${[...path, 'requests', kind].join('.')} or raise node.${kind} to the size of your nodes`,
          related: [['node', kind]],
        });
      }
    }
  }
  return issues;
}

/** Every `resources` block of the config (requests and limits of one container), with its key path. */
function resourceBlocks(config: PlatformConfig): { path: (string | number)[]; resources: Resources }[] {
  const found: { path: (string | number)[]; resources: Resources }[] = [];
  const walk = (value: unknown, path: (string | number)[]): void => {
    if (Array.isArray(value)) {
      // Apps are keyed by name in the files; the schema turns them into a list.
      value.forEach((item, i) => walk(item, path[0] === 'apps' && path.length === 1 ? [...path, item.name] : [...path, i]));
    } else if (typeof value === 'object' && value !== null) {
      const v = value as Record<string, any>;
      if (typeof v.requests?.cpu === 'string' && typeof v.requests?.memory === 'string' && typeof v.limits?.memory === 'string') {
        found.push({ path, resources: v as Resources });
        return;
      }
      for (const [key, child] of Object.entries(v)) walk(child, [...path, key]);
    }
  };
  walk(config, []);
  return found;
}

function mebibytes(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)}Mi`;
}

/** The major in an image tag such as postgres:16.10-bookworm or timescaledb-ha:pg16.6-ts2.17.2, or undefined for a digest or another tag. */
export function postgresImageMajor(image: string): number | undefined {
  const tag = /:(?:pg)?(\d+)/.exec(image.slice(image.lastIndexOf('/') + 1))?.[1];
  return tag === undefined ? undefined : Number(tag);
}

function backupCrossCheck(config: PlatformConfig): CrossCheckIssue[] {
  const issues: CrossCheckIssue[] = [];
  const b = config.backup;
  if (b.pitr.enabled && !b.b2.endpoint.startsWith('https://')) {
    issues.push({ path: ['backup', 'pitr', 'enabled'], message: `is true but backup.b2.endpoint ${b.b2.endpoint} is not https, and pgBackRest speaks only TLS to S3; fix: use an https endpoint, or set backup.pitr.enabled: false` });
  }
  const client = b.clientImage ?? config.images.postgresClient ?? IMAGES.postgresClient;
  const major = postgresImageMajor(client);
  if (major !== config.postgres.major) {
    issues.push({
      path: b.clientImage !== undefined ? ['backup', 'clientImage'] : config.images.postgresClient !== undefined ? ['images', 'postgresClient'] : ['postgres', 'major'],
      message: `carries PostgreSQL ${major ?? '(no major in the tag)'} but the server is ${config.postgres.major}; pg_dump refuses a newer server and a newer dump is not restorable; fix: remove backup.clientImage (it defaults to images.postgresClient) or use a tag of major ${config.postgres.major}`,
    });
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
  for (const role of SECRET_SCOPES) {
    for (const [name, declaration] of Object.entries(config.secrets[role])) {
      const at = ['secrets', role, name];
      declaration.keys.forEach((key, k) => {
        if (declaration.keys.indexOf(key) !== k) issues.push({ path: [...at, 'keys', k], message: `declares key "${key}" twice; fix: list each key once` });
      });
      const sealedKeys = Object.keys(declaration.encryptedData ?? {});
      if (declaration.mode === 'existing' && sealedKeys.length > 0) {
        issues.push({ path: [...at, 'encryptedData'], message: 'is set but mode is "existing", so it would be ignored; fix: set mode: sealed or remove encryptedData' });
      }
      issues.push(...crossCheckGenerated(config, role, name, declaration));
      if (declaration.type === BASIC_AUTH_SECRET_TYPE) {
        for (const key of ['username', 'password'].filter((k) => !declaration.keys.includes(k))) {
          issues.push({ path: [...at, 'keys'], message: `lacks "${key}", which a ${BASIC_AUTH_SECRET_TYPE} Secret holds (Traefik reads username and password); fix: list username and password` });
        }
      }
      if (declaration.mode === 'sealed') {
        declaration.keys.filter((key) => !sealedKeys.includes(key)).forEach((key) => issues.push({
          path: [...at, 'encryptedData', key],
          message: `is missing in sealed mode (${secretScopeNamespace(config, role)}/${name} is supplied by a person); fix: run \`${sealCommand(config.name)}\` with ${role}.${name}.${key} in the values file (or at the prompt; ${sealingCertHint(config.name)}), or use mode: existing`,
        }));
        Object.keys(declaration.fingerprints ?? {}).filter((key) => !sealedKeys.includes(key)).forEach((key) => issues.push({
          path: [...at, 'fingerprints', key], message: 'has no encryptedData beside it; fix: remove it, or run npm run seal again',
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

/** Generated declarations: shapes only for their own keys, a copy only of a declared Secret holding its keys. */
function crossCheckGenerated(config: PlatformConfig, role: SecretScope, name: string, declaration: SecretDeclaration): CrossCheckIssue[] {
  const at = ['secrets', role, name];
  const issues: CrossCheckIssue[] = [];
  // generate and copyOf only apply in generated mode: an environment that switches a default to sealed or
  // existing inherits them through the deep merge, and they are ignored.
  if (declaration.mode !== 'generated') return issues;
  if (declaration.encryptedData !== undefined) issues.push({ path: [...at, 'encryptedData'], message: 'is set but mode is "generated", so it would be ignored; fix: set mode: sealed or remove encryptedData' });
  for (const key of Object.keys(declaration.generate ?? {}).filter((k) => !declaration.keys.includes(k))) {
    issues.push({ path: [...at, 'generate', key], message: `is not one of the declared keys (${declaration.keys.join(', ')}); fix: add it to keys or remove it` });
  }
  if (declaration.copyOf === undefined) return issues;
  if (declaration.type !== undefined) issues.push({ path: [...at, 'type'], message: 'is set on a copy, which takes its source\'s type; fix: remove type (set it on the source)' });
  const source = config.secrets[declaration.copyOf][name];
  if (declaration.copyOf === role) {
    issues.push({ path: [...at, 'copyOf'], message: 'names the Secret\'s own namespace role; fix: name the role whose Secret this copies, or remove copyOf' });
  } else if (source === undefined) {
    issues.push({ path: [...at, 'copyOf'], message: `names secrets.${declaration.copyOf}.${name}, which is not declared; fix: declare it there (mode: generated) or remove copyOf` });
  } else if (source.copyOf !== undefined) {
    issues.push({ path: [...at, 'copyOf'], message: `names secrets.${declaration.copyOf}.${name}, itself a copy of ${source.copyOf}; fix: copy from ${source.copyOf} directly` });
  } else {
    for (const key of declaration.keys.filter((k) => !source.keys.includes(k))) {
      issues.push({ path: [...at, 'keys'], message: `lists "${key}", which secrets.${declaration.copyOf}.${name} (the source of the copy) lacks; fix: add "${key}" there or remove it here` });
    }
  }
  if (declaration.generate !== undefined) issues.push({ path: [...at, 'generate'], message: 'is set on a copy, whose values come from its source; fix: remove generate (shape the source instead)' });
  return issues;
}

/** Redis may use maxmemory for data; the memory limit must be this factor above it. */
export const REDIS_MEMORY_HEADROOM = 1.25;

/** Server connections kept free for Patroni, the exporter, backup jobs and migrations. */
export const RESERVED_FOR_TOOLS = 10;

/** Whether `path` lies under the prefix `prefix` (Traefik PathPrefix: a plain string prefix). */
function underPrefix(path: string, prefix: string): boolean {
  return path.startsWith(prefix);
}
