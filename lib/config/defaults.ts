/**
 * Defaults every environment starts from. The size-dependent keys (requests and limits,
 * Postgres and Redis memory, retention, caches, replicas) come from `node` through
 * lib/config/sizing.ts; `DEFAULTS` is the default node, one 4 vCPU / 16 GiB VPS. An environment
 * file overrides only what differs. `{domain}` in a host is replaced by the environment's domain.
 */
import { CLOUDFLARE_CIDRS } from './cloudflare';
import { SUPPORTED_KUBERNETES } from './helm';
import { deepMerge } from './merge';
import { SERVICE_DEFAULTS } from '../services/registry';
import type { PlatformConfigInput } from './schema';
import { NodeShape, sizedDefaults } from './sizing';

export type DefaultsInput = Omit<PlatformConfigInput, 'name'>;

/** One k3s node of 4 vCPU / 16 GiB (the "large" size). */
export const DEFAULT_NODE: NodeShape = { cpu: '4', memory: '16Gi', count: 1 };

import { MINIO_KEY_PAIR } from './derived-secrets';

const BASE = {
  domain: 'example.com',
  extraHosts: [],
  node: DEFAULT_NODE,
  storageClass: 'local-path',
  namespaces: { app: 'app', data: 'data', edge: 'edge', monitoring: 'monitoring', backup: 'backup' },
  limitRange: {
    defaultRequest: { cpu: '50m', memory: '64Mi' },
    defaultLimit: { memory: '256Mi' },
  },
  images: {},
  postgres: {
    major: 16,
    storage: { size: '20Gi' },
    // replicas, resources and the memory settings come from the node (sizing.ts); no CPU limit,
    // so Postgres still bursts into idle cores.
    database: 'app',
    appUser: 'app',
    tuning: {
      superuserReservedConnections: 3,
      maxSlotWalKeepSize: '4Gi',
    },
  },
  pgbouncer: {
    maxClientConn: 100,
    defaultPoolSize: 20,
    minPoolSize: 5,
    reservePoolSize: 5,
    reservePoolTimeoutSeconds: 3,
    serverLifetimeSeconds: 3600,
    serverIdleTimeoutSeconds: 600,
  },
  edge: {
    api: 'ingress',
    acmeEmail: 'ops@{domain}',
    issuer: 'letsencrypt-prod',
    rateLimit: { average: 10, burst: 20 },
    maxBodySize: '10Mi',
    contentSecurityPolicy: "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'",
    permissionsPolicy: 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
    referrerPolicy: 'strict-origin-when-cross-origin',
    // Admin UIs ask for the credential the platform generates (secrets.monitoring.edge-admin-auth): it works from
    // anywhere on day one, Cloudflare or not. allowList (or both) adds adminAllowCidrs: then list your admins' networks.
    adminAccess: 'basicAuth',
    // Private networks (office LAN, WireGuard/Tailscale) reaching the node directly: replace with your own.
    adminAllowCidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
    // Behind Cloudflare by default; a node that clients reach directly sets clientIp: direct and trustedProxyCidrs: [].
    clientIp: 'cloudflare',
    cloudflareOnly: false,
    trustedProxyCidrs: CLOUDFLARE_CIDRS,
  },
  redis: {
    storage: { size: '2Gi' },
    maxmemoryPolicy: 'allkeys-lru',
    appendfsync: 'everysec',
    save: [{ seconds: 900, changes: 1 }],
  },
  minio: {
    storage: { size: '50Gi' },
    // The apps link public objects as https://files.{domain}/<bucket>/<key>; the console is admin-only.
    consoleHost: 'minio.{domain}',
    apiHost: 's3.{domain}',
    publicHost: 'files.{domain}',
    buckets: [
      { name: 'tour-images', access: 'public-download', versioning: false },
      { name: 'documents', access: 'private', versioning: true },
    ],
    appAccess: {
      crm: { buckets: ['tour-images', 'documents'] },
      web: { buckets: ['tour-images'], publicLinks: ['tour-images'] },
    },
    provisioning: { resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } } },
  },
  apps: {
    crm: {
      image: 'ghcr.io/example/crm:1.4.2',
      kind: 'web',
      port: 3000,
      hosts: ['crm.{domain}'],
      healthPath: '/api/health',
      metricsPort: 3000,
      migration: { command: ['npx', 'prisma', 'migrate', 'deploy'] },
      sentry: true,
    },
    web: {
      image: 'ghcr.io/example/web:2.0.1',
      kind: 'web',
      port: 3001,
      hosts: ['{domain}', 'www.{domain}'],
      healthPath: '/api/health',
      sentry: true,
    },
    worker: {
      image: 'ghcr.io/example/worker:1.4.2',
      kind: 'worker',
      port: 3002,
      healthPath: '/api/health',
    },
  },
  backup: {
    timeZone: 'Etc/UTC',
    schedules: [
      { name: 'daily', cron: '0 3 * * *', retentionDays: 30 },
      { name: 'business-hours', cron: '0 9-18 * * 1-5', retentionDays: 7 },
    ],
    // Placeholders: set your bucket's region endpoint and name per environment.
    b2: { endpoint: 'https://s3.eu-central-003.backblazeb2.com', bucket: 'example-platform-backups', prefix: 'backups' },
    credentials: { secretName: 'b2-backup', keyIdKey: 'key-id', applicationKeyKey: 'application-key' },
    minioMirror: { cron: '0 4 * * *', retentionDays: 30 },
    // rowTolerancePercent: the counts are taken just after the dump; maxDataAge: a weekend without writes passes.
    drill: { cron: '0 5 * * 0', checks: [{ table: 'public._prisma_migrations', minRows: 1 }], rowTolerancePercent: 1, maxDataAge: '72h' },
    scratchSize: '10Gi',
    resources: {
      postgres: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } },
      rclone: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
    },
    // RPO: a segment with writes reaches B2 within archiveTimeout (README, "Point-in-time recovery").
    pitr: { enabled: true, archiveTimeout: '5m', baseBackup: { every: '24h', fullEvery: '7d' }, checkCron: '30 * * * *' },
    encryption: { secretName: 'backup-encryption', pgbackrestKey: 'pgbackrest-cipher-pass', rclonePasswordKey: 'rclone-password', rcloneSaltKey: 'rclone-salt' },
  },
  // The users' threshold table; `for` is how long a condition must hold before it fires.
  alerts: {
    cpu: { warning: 70, critical: 90, for: '5m' },
    memory: { warning: 80, critical: 90, for: '5m' },
    disk: { warning: 70, critical: 85, for: '5m' },
    dbConnections: { warning: 80, critical: 95, for: '5m' },
    responseTimeP95: { warning: '500ms', critical: '2s', for: '5m' },
    errorRate: { warning: 1, critical: 5, for: '5m' },
    pgbouncerClientsWaiting: { warning: 0, critical: 10, for: '2m' },
    replicationLag: { warning: '30s', critical: '5m', for: '5m' },
    redisMemory: { warning: 80, critical: 95, for: '5m' },
    podRestarts: { warning: 3, critical: 10 },
    backupAge: { warning: '26h', critical: '50h' },
    walArchiveAge: { warning: '15m', critical: '1h' },
    certificateExpiry: { warning: '14d', critical: '7d' },
    probeFailure: { warning: '2m', critical: '5m' },
  },
  monitoring: {
    // retention, retentionSize, storage and the Loki caches: per size (sizing.ts).
    prometheus: { scrapeInterval: '30s' },
    alertmanager: {
      storage: { size: '1Gi' },
      receivers: [
        {
          name: 'ops-email', type: 'email', to: 'ops@{domain}', from: 'alertmanager@{domain}', smarthost: 'smtp.{domain}:587',
          authUsername: 'alertmanager@{domain}', secret: { name: 'alertmanager-smtp', key: 'password' },
        },
      ],
      // The dead man's switch: the Watchdog pings this outside URL every minute (README, "Dead man's switch").
      heartbeat: { secret: { name: 'alertmanager-heartbeat', key: 'url' }, interval: '1m' },
    },
    grafana: { host: 'grafana.{domain}', adminSecret: 'grafana-admin' },
    blackbox: { interval: '60s' },
    statusPage: { host: 'status.{domain}', title: 'Service status', storage: { size: '1Gi' } },
  },
  // The sections of the built-in services that own theirs (GlitchTip: error tracking for the apps that use Sentry, crm and web).
  ...SERVICE_DEFAULTS,
  // --- GitOps ---
  gitops: {
    // Replace with your fork: Argo CD pulls <pathPrefix>/<env>/ from here.
    repoUrl: 'https://github.com/example/platform.git',
    targetRevision: 'main',
    pathPrefix: 'dist',
  },
  // --- Helm add-ons: Argo CD renders them (application); inline renders them into dist/ from the chart cache ---
  helm: { render: 'application', addOns: {}, chartCache: '.cache/charts', kubeVersion: SUPPORTED_KUBERNETES.minimum },
  // --- Secrets: every credential, declared once per namespace role (README, "Secrets") ---
  // Internal credentials are `generated` in the cluster (External Secrets Operator), once, never typed;
  // a Secret another namespace also reads is a `copyOf` its source. Outside secrets (third-party keys)
  // stay `existing` until an environment seals its own values: ciphertext is bound to one cluster's
  // sealing key, so it cannot live in the defaults.
  secrets: {
    data: {
      'postgres-superuser': { keys: ['password'], mode: 'generated' },
      'postgres-app': { keys: ['password'], mode: 'generated' },
      'postgres-replication': { keys: ['password'], mode: 'generated' },
      'pgbouncer-auth': { keys: ['password'], mode: 'generated' },
      'postgres-metrics': { keys: ['password'], mode: 'generated' },
      'redis-auth': { keys: ['app-password', 'exporter-password', 'admin-password'], mode: 'generated' },
      // MinIO: a user name of 3..20 characters (S3 access keys are 20), a secret key of 8..40.
      'minio-root': { keys: ['root-user', 'root-password'], mode: 'generated', generate: { 'root-user': { length: 20 }, 'root-password': { length: 40 } } },
      // minio-app-<app>: one key pair per app of minio.appAccess, declared by lib/config/derived-secrets.ts.
      // The backup role's password (init SQL) and the read-only MinIO key the provisioning Job creates.
      'postgres-backup': { keys: ['password'], mode: 'generated' },
      'minio-backup': { keys: ['access-key', 'secret-key'], mode: 'generated', generate: MINIO_KEY_PAIR },
      // GlitchTip's role (init SQL).
      'postgres-glitchtip': { keys: ['password'], mode: 'generated' },
      // The admin UIs' credential, beside the MinIO console.
      'edge-admin-auth': { keys: ['username', 'password'], mode: 'generated', copyOf: 'monitoring' },
      // pgBackRest in the Postgres pods: WAL and base backups to B2, encrypted (backup.pitr).
      'b2-backup': { keys: ['key-id', 'application-key'], mode: 'existing' },
      'backup-encryption': { keys: ['pgbackrest-cipher-pass'], mode: 'existing' },
    },
    app: {
      'postgres-app': { keys: ['password'], mode: 'generated', copyOf: 'data' },
      'redis-auth': { keys: ['app-password'], mode: 'generated', copyOf: 'data' },
      // minio-app-<app> (copies) and glitchtip-dsn (while GlitchTip runs and an app sets sentry): lib/config/derived-secrets.ts.
    },
    backup: {
      'postgres-backup': { keys: ['password'], mode: 'generated', copyOf: 'data' },
      // Only pg-restore uses it: restoring recreates objects owned by the app role.
      'postgres-superuser': { keys: ['password'], mode: 'generated', copyOf: 'data' },
      // Outside: the B2 application key.
      'b2-backup': { keys: ['key-id', 'application-key'], mode: 'existing' },
      'minio-backup': { keys: ['access-key', 'secret-key'], mode: 'generated', copyOf: 'data' },
      // Only minio-restore uses it: it writes the mirror back into MinIO.
      'minio-root': { keys: ['root-user', 'root-password'], mode: 'generated', copyOf: 'data' },
      // rclone crypt of the dumps and the MinIO mirror (backup.encryption).
      'backup-encryption': { keys: ['rclone-password', 'rclone-salt'], mode: 'existing' },
    },
    monitoring: {
      'grafana-admin': { keys: ['admin-user', 'admin-password'], mode: 'generated', generate: { 'admin-user': { fixed: 'admin' } } },
      // Outside: the SMTP password and the dead man's switch URL.
      'alertmanager-smtp': { keys: ['password'], mode: 'existing' },
      'alertmanager-heartbeat': { keys: ['url'], mode: 'existing' },
      // GlitchTip: Django's SECRET_KEY, its database password, the Redis password of user app.
      glitchtip: { keys: ['secret-key'], mode: 'generated', generate: { 'secret-key': { length: 50 } } },
      'postgres-glitchtip': { keys: ['password'], mode: 'generated', copyOf: 'data' },
      'redis-auth': { keys: ['app-password'], mode: 'generated', copyOf: 'data' },
      // The admin UIs' credential at the edge (edge.adminAccess basicAuth or both): Traefik reads it beside
      // Grafana and GlitchTip, and its copy in data beside the MinIO console.
      'edge-admin-auth': { keys: ['username', 'password'], mode: 'generated', type: 'kubernetes.io/basic-auth', generate: { username: { fixed: 'admin' } } },
    },
    argocd: {
      // Outside: Argo CD notifications, one key per alert receiver (its SMTP password, webhook URL or bot token).
      'argocd-notifications-secret': { keys: ['ops-email'], mode: 'existing' },
    },
  },
};

/** The defaults for a node shape: the base above with the size-dependent keys of sizing.ts. */
export function defaultsFor(node: NodeShape): DefaultsInput {
  return deepMerge(deepMerge(BASE, { node }), sizedDefaults(node));
}

export const DEFAULTS: DefaultsInput = defaultsFor(DEFAULT_NODE);
