/**
 * The `monitoring` section: kube-prometheus-stack, Loki, Alloy, the blackbox exporter and the
 * status page. Kept beside schema.ts so that the shared file only gains one key and one call.
 */
import { z } from './zod';
import { count, dnsName, k8sName, quantity, resources, s3BucketName } from './fields';
import { parseQuantity } from './quantity';
import { CrossCheckIssue } from './errors';

/** Memcached sizes count against the node like any request. */
const CACHE_MB = { max: 8192, why: 'a cache larger than 8 GiB outgrows the nodes this platform is sized for' };

/** Prometheus/Loki duration: units y w d h m s ms, largest first, e.g. 15d, 2h30m. */
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const DURATION_MS = [365 * 86400e3, 7 * 86400e3, 86400e3, 3600e3, 60e3, 1e3, 1];

/** Milliseconds of a Prometheus duration, or undefined when it does not parse (or is zero). */
export function parseDuration(value: string): number | undefined {
  const match = DURATION.exec(value);
  if (!match || value === '') return undefined;
  const ms = match.slice(1).reduce((sum, n, i) => sum + (n ? Number(n) * DURATION_MS[i] : 0), 0);
  return ms > 0 ? ms : undefined;
}

const duration = () =>
  z.string().refine((v) => parseDuration(v) !== undefined, 'is not a duration; fix: write it like 15d, 720h or 2h30m (units y, w, d, h, m, s, ms; largest first)');

/** Prometheus' --storage.tsdb.retention.size units (powers of 1024). */
const SIZE = /^(\d+)(B|KB|MB|GB|TB|PB)$/;
const SIZE_UNITS: Record<string, number> = { B: 1, KB: 2 ** 10, MB: 2 ** 20, GB: 2 ** 30, TB: 2 ** 40, PB: 2 ** 50 };
export function parsePrometheusSize(value: string): number | undefined {
  const m = SIZE.exec(value);
  return m ? Number(m[1]) * SIZE_UNITS[m[2]] : undefined;
}

/** A key of a Secret created out of band (or sealed); never its value. */
const secretRef = (holds: string) =>
  z.strictObject(
    {
      name: k8sName(),
      key: z.string().regex(/^[-._a-zA-Z0-9]+$/, 'is not a Secret key; fix: use letters, digits, "-", "_" and "."'),
    },
    { error: (issue) => (issue.input === undefined ? `is missing: the receiver needs the Secret that holds ${holds}; fix: add secret: { name: <secret>, key: <key> } and create that Secret in the monitoring namespace` : undefined) },
  );

const SEVERITIES = ['critical', 'warning', 'info'] as const;
const receiverBase = {
  /** Receiver name in Alertmanager; unique. */
  name: k8sName(),
  /** Alert severities this receiver gets. */
  severities: z.array(z.enum(SEVERITIES)).min(1).default(['critical', 'warning']),
};

const receiver = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      ...receiverBase,
      type: z.literal('email'),
      to: z.email('is not an e-mail address; fix: write it like ops@example.com'),
      from: z.email('is not an e-mail address; fix: write it like alertmanager@example.com'),
      /** SMTP server, host:port (587 with STARTTLS is the usual choice). */
      smarthost: z.string().regex(/^[a-z0-9.-]+:\d{1,5}$/, 'is not host:port; fix: write it like smtp.example.com:587'),
      authUsername: z.string().min(1),
      /** The SMTP password. */
      secret: secretRef('the SMTP password'),
    }),
    z.strictObject({ ...receiverBase, type: z.literal('slack'), channel: z.string().min(1).optional(), /** The incoming-webhook URL. */ secret: secretRef('the Slack webhook URL') }),
    z.strictObject({ ...receiverBase, type: z.literal('discord'), /** The webhook URL. */ secret: secretRef('the Discord webhook URL') }),
    z.strictObject({
      ...receiverBase,
      type: z.literal('telegram'),
      /** The chat (or group, negative id) the bot writes to. */
      chatId: z.number().int('is not a Telegram chat id; fix: use the numeric id, e.g. -1001234567890'),
      /** The bot token from @BotFather. */
      secret: secretRef('the Telegram bot token'),
    }),
  ],
  { error: 'has no known receiver type; fix: set type to email, slack, discord or telegram' },
);
export type ReceiverConfig = z.output<typeof receiver>;

/**
 * The dead man's switch: Alertmanager sends the always-firing Watchdog to a URL outside the
 * cluster (healthchecks.io, Better Stack, ...) every `interval`; that service alerts when the pings stop.
 */
const heartbeat = z.strictObject({
  /** The Secret key holding the ping URL (an outside secret: whoever has it can fake the heartbeat). */
  secret: secretRef('the heartbeat ping URL'),
  /** How often the Watchdog is re-sent (Alertmanager's group_interval and repeat_interval on its route). */
  interval: duration().default('1m'),
});
export type HeartbeatConfig = z.output<typeof heartbeat>;

const lokiStorage = z.discriminatedUnion(
  'type',
  [
    /** Chunks and index on the Loki PVC. */
    z.strictObject({ type: z.literal('filesystem'), size: quantity(), storageClass: k8sName().optional() }),
    /**
     * Chunks and index in a bucket of the platform's S3 (MinIO); the PVC then holds the WAL and
     * the compactor's work only. Secret `secret` (access-key, secret-key) in the monitoring namespace.
     */
    z.strictObject({ type: z.literal('s3'), bucket: s3BucketName(), secret: k8sName(), size: quantity(), storageClass: k8sName().optional() }),
  ],
  { error: 'has no known storage type; fix: set type to filesystem or s3' },
);

const storage = z.strictObject({ size: quantity(), storageClass: k8sName().optional() });

export const monitoringSchema = z.strictObject({
  prometheus: z.strictObject({
    /** How long samples are kept. */
    retention: duration(),
    /** Size cap (Prometheus units B, KB, MB, GB, TB); oldest blocks go first. Must fit the PVC. */
    retentionSize: z.string().refine((v) => parsePrometheusSize(v) !== undefined, 'is not a Prometheus size; fix: write it like 8GB or 500MB (units B, KB, MB, GB, TB)'),
    scrapeInterval: duration(),
    storage,
  }),
  alertmanager: z.strictObject({
    storage,
    /** Where alerts go. Every receiver reads its URL or password from a Secret. */
    receivers: z.array(receiver).default([]),
    /** The dead man's switch (null: none; the synth refuses that in prod and warns elsewhere). */
    heartbeat: heartbeat.nullable().default(null),
  }),
  grafana: z.strictObject({
    /** Public host of Grafana (admin allow-list applies). */
    host: dnsName(),
    /** Secret in the monitoring namespace with keys admin-user and admin-password. */
    adminSecret: k8sName(),
  }),
  loki: z.strictObject({
    /** How long logs are kept; the compactor deletes older chunks. A multiple of 24h. */
    retention: duration(),
    storage: lokiStorage,
    /** Memcached for chunks and query results, in MB; 0 disables the cache. */
    chunksCacheMB: count('MB', CACHE_MB),
    resultsCacheMB: count('MB', CACHE_MB),
  }),
  blackbox: z.strictObject({
    /** How often each probe target is checked. */
    interval: duration(),
  }),
  statusPage: z.strictObject({
    /** Public status page (Gatus); lists service names and their health only. */
    host: dnsName(),
    title: z.string().min(1),
    /** The volume of its history (SQLite), so results survive restarts. */
    storage,
  }),
  /** Requests and limits of every monitoring workload (the footprint check sums them). */
  resources: z.strictObject({
    prometheus: resources(),
    alertmanager: resources(),
    operator: resources(),
    /** prometheus-config-reloader, beside Prometheus and Alertmanager. */
    configReloader: resources(),
    grafana: resources(),
    /** Each Grafana sidecar (dashboards, datasources). */
    grafanaSidecar: resources(),
    kubeStateMetrics: resources(),
    nodeExporter: resources(),
    loki: resources(),
    /** memcached-exporter beside each Loki cache. */
    cacheExporter: resources(),
    alloy: resources(),
    blackbox: resources(),
    statusPage: resources(),
  }),
});

export type MonitoringConfig = z.output<typeof monitoringSchema>;

/** Loki's index period: retention must be a whole number of these. */
const LOKI_INDEX_PERIOD_MS = 24 * 3600e3;

/** The keys the monitoring section's rules and warnings read. */
export interface MonitoringCheckConfig {
  readonly name: string;
  readonly domain: string;
  readonly extraHosts: readonly string[];
  readonly monitoring: MonitoringConfig;
  readonly minio: { readonly buckets: readonly { readonly name: string; readonly access: string }[] };
}

/** Cross-key rules of the monitoring section. */
export function monitoringIssues(config: MonitoringCheckConfig, publicHosts: ReadonlyMap<string, string>): CrossCheckIssue[] {
  const issues: CrossCheckIssue[] = [];
  const issue = (path: (string | number)[], message: string) => issues.push({ path, message });
  const m = config.monitoring;

  const names = new Set<string>();
  m.alertmanager.receivers.forEach((r, i) => {
    if (names.has(r.name) || r.name === 'null') issue(['monitoring', 'alertmanager', 'receivers', i, 'name'], `is used twice (or is the reserved "null"); fix: give each receiver its own name`);
    names.add(r.name);
  });

  const cap = parsePrometheusSize(m.prometheus.retentionSize);
  const pvc = parseQuantity(m.prometheus.storage.size);
  if (cap !== undefined && cap > pvc * 0.9) {
    issue(
      ['monitoring', 'prometheus', 'retentionSize'],
      `does not fit monitoring.prometheus.storage.size (${m.prometheus.storage.size}) with 10 % left for the WAL and compaction; fix: lower retentionSize to at most ${Math.floor((pvc * 0.9) / 2 ** 30)}GB or grow the volume`,
    );
  }

  const lokiRetention = parseDuration(m.loki.retention);
  if (lokiRetention !== undefined && lokiRetention % LOKI_INDEX_PERIOD_MS !== 0) {
    issue(['monitoring', 'loki', 'retention'], `is not a whole number of days (Loki's index period is 24h); fix: use a value like 30d or 720h`);
  }
  if (m.loki.storage.type === 's3') {
    const bucket = config.minio.buckets.find((b) => b.name === (m.loki.storage as { bucket: string }).bucket);
    if (!bucket) issue(['monitoring', 'loki', 'storage', 'bucket'], `is not in minio.buckets; fix: add it to minio.buckets as a private bucket`);
    else if (bucket.access !== 'private') issue(['monitoring', 'loki', 'storage', 'bucket'], `is marked ${bucket.access} in minio.buckets, which would publish the logs; fix: make it private`);
  }

  if (m.alertmanager.heartbeat === null && HEARTBEAT_REQUIRED.includes(config.name)) {
    issue(['monitoring', 'alertmanager', 'heartbeat'], `is not set: if the node dies, its alerting dies with it and nobody is told; fix: ${HEARTBEAT_FIX}`);
  }

  (['grafana', 'statusPage'] as const).forEach((key) => {
    const host = m[key].host;
    const owner = publicHosts.get(host);
    if (owner !== undefined) issue(['monitoring', key, 'host'], `is already served by ${owner}; fix: give it its own host`);
    if (!host.endsWith(`.${config.domain}`) && !config.extraHosts.includes(host)) {
      issue(['monitoring', key, 'host'], `is outside the domain ${config.domain}; fix: use a host under ${config.domain} or list it in extraHosts`);
    }
  });
  if (m.grafana.host === m.statusPage.host) issue(['monitoring', 'statusPage', 'host'], `is also monitoring.grafana.host; fix: give the status page its own host`);
  return issues;
}

/** Environments that must have a dead man's switch: the synth refuses them without one. */
export const HEARTBEAT_REQUIRED: readonly string[] = ['prod'];
const HEARTBEAT_FIX =
  "set monitoring.alertmanager.heartbeat: { secret: { name: alertmanager-heartbeat, key: url } } and put the ping URL of a healthchecks.io / Better Stack check into that Secret (docs/monitoring.md, \"Dead man's switch\")";

/** Loud warnings that do not stop the synth (main.ts prints them). */
export function monitoringWarnings(config: Pick<MonitoringCheckConfig, 'name' | 'monitoring'>): string[] {
  if (config.monitoring.alertmanager.heartbeat !== null) return [];
  return [
    `${config.name}: NO DEAD MAN'S SWITCH. monitoring.alertmanager.heartbeat is not set, so a dead node (or a dead Alertmanager) alerts nobody; fix: ${HEARTBEAT_FIX}`,
  ];
}
