/**
 * Builds `promtool test rules` cases for the platform alerts FROM THE CONFIG THRESHOLDS: for each
 * threshold alert, input series that put its expression just below and just above the warning and
 * the critical level (1 % away, or 1 for whole-number counts), and a check that nothing fires
 * before the `for` duration has passed. Changing a threshold moves the generated values with it.
 */
import { AlertThresholds } from '../../lib/config/alerts';
import { parseDuration } from '../../lib/config/duration';
import { parseQuantity } from '../../lib/config/quantity';
import { PlatformConfig } from '../../lib/config/schema';
import { BACKUP_JOBS } from '../../lib/backup-names';
import { PITR_JOBS, pitrCheckWindowSeconds } from '../../lib/services/postgres/pitr';

type Labels = Record<string, string>;
type Severity = 'warning' | 'critical';
export interface InputSeries { series: string; values: string }
export interface AlertTest { eval_time: string; alertname: string; exp_alerts: { exp_labels: Labels }[] }
export interface TestGroup { name: string; interval: string; input_series: InputSeries[]; alert_rule_test: AlertTest[] }

const MINUTE = 60;
/** A routed app as Traefik's Kubernetes provider names it (`<namespace>-<service>-<port>@kubernetes`). */
const EDGE_SERVICE = 'app-web-3001@kubernetes';

interface LevelScenario {
  readonly key: keyof AlertThresholds;
  /** `above`: fires when the expression exceeds the level; `below`: when it drops under it. */
  readonly direction: 'above' | 'below';
  /** `count`: whole numbers, so "just above" is +1 and "just below" is the level itself. */
  readonly step?: 'count';
  /** The rate()/increase() range: the expression is steady after it. */
  readonly warmupSeconds: number;
  /** Input series that make the expression equal `value` (its unit: %, seconds, count) at `at` seconds. */
  series(value: number, at: number, config: PlatformConfig): InputSeries[];
  /** The labels the alert carries besides alertname and severity. */
  labels(config: PlatformConfig): Labels;
}

/** promtool series notation: `start+step x samples` (one sample a minute). */
const counter = (perMinute: number, samples: number) => `0+${num(perMinute)}x${samples}`;
const gauge = (value: number, samples: number) => `${num(value)}x${samples}`;
const num = (n: number) => String(Number(n.toPrecision(12)));
const sel = (name: string, labels: Labels) => `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(', ')}}`;
const samplesUntil = (at: number) => Math.ceil(at / MINUTE) + 5;

export const LEVEL_SCENARIOS: Record<string, LevelScenario> = {
  NodeCpuHigh: {
    key: 'cpu', direction: 'above', warmupSeconds: 5 * MINUTE,
    series: (busy, at) => ['idle', 'user'].map((mode) => ({
      series: sel('node_cpu_seconds_total', { instance: 'node-1', cpu: '0', mode }),
      values: counter(MINUTE * (mode === 'idle' ? 1 - busy / 100 : busy / 100), samplesUntil(at)),
    })),
    labels: () => ({ instance: 'node-1' }),
  },
  NodeMemoryHigh: {
    key: 'memory', direction: 'above', warmupSeconds: 0,
    series: (used, at) => [
      { series: sel('node_memory_MemTotal_bytes', { instance: 'node-1', job: 'node-exporter' }), values: gauge(16e9, samplesUntil(at)) },
      { series: sel('node_memory_MemAvailable_bytes', { instance: 'node-1', job: 'node-exporter' }), values: gauge(16e9 * (1 - used / 100), samplesUntil(at)) },
    ],
    labels: () => ({ instance: 'node-1' }),
  },
  NodeDiskFull: {
    key: 'disk', direction: 'above', warmupSeconds: 0,
    // A full tmpfs next to the disk: the fstype filter must ignore it.
    series: (used, at) => [
      { series: sel('node_filesystem_size_bytes', { instance: 'node-1', mountpoint: '/', fstype: 'ext4', device: '/dev/sda1' }), values: gauge(100e9, samplesUntil(at)) },
      { series: sel('node_filesystem_avail_bytes', { instance: 'node-1', mountpoint: '/', fstype: 'ext4', device: '/dev/sda1' }), values: gauge(100e9 * (1 - used / 100), samplesUntil(at)) },
      { series: sel('node_filesystem_size_bytes', { instance: 'node-1', mountpoint: '/run', fstype: 'tmpfs', device: 'tmpfs' }), values: gauge(1e9, samplesUntil(at)) },
      { series: sel('node_filesystem_avail_bytes', { instance: 'node-1', mountpoint: '/run', fstype: 'tmpfs', device: 'tmpfs' }), values: gauge(0, samplesUntil(at)) },
    ],
    labels: () => ({ instance: 'node-1', mountpoint: '/' }),
  },
  PodRestartingOften: {
    key: 'podRestarts', direction: 'above', warmupSeconds: 60 * MINUTE,
    series: (restarts, at, c) => [{
      series: sel('kube_pod_container_status_restarts_total', { namespace: c.namespaces.app, pod: 'crm-7d9f-abcde', container: 'crm', job: 'kube-state-metrics' }),
      values: counter(restarts / 60, samplesUntil(at)),
    }],
    labels: (c) => ({ namespace: c.namespaces.app, pod: 'crm-7d9f-abcde', container: 'crm' }),
  },
  AppResponseTimeHigh: {
    key: 'responseTimeP95', direction: 'above', warmupSeconds: 5 * MINUTE,
    // Every request in the bucket (0, p95/0.95]: histogram_quantile interpolates p95 = 0.95 × upper bound.
    series: (p95, at, c) => [String(p95 / 0.95), '+Inf'].map((le) => ({
      series: sel('http_request_duration_seconds_bucket', { namespace: c.namespaces.app, job: 'crm', pod: 'crm-1', le }),
      values: counter(60, samplesUntil(at)),
    })),
    labels: (c) => ({ namespace: c.namespaces.app, job: 'crm' }),
  },
  AppErrorRateHigh: {
    key: 'errorRate', direction: 'above', warmupSeconds: 5 * MINUTE,
    series: (percent, at, c) => [['200', 100 - percent], ['503', percent]].map(([status, share]) => ({
      series: sel('http_requests_total', { namespace: c.namespaces.app, job: 'crm', pod: 'crm-1', status: String(status) }),
      values: counter(6 * Number(share), samplesUntil(at)),
    })),
    labels: (c) => ({ namespace: c.namespaces.app, job: 'crm' }),
  },
  EdgeResponseTimeHigh: {
    key: 'responseTimeP95', direction: 'above', warmupSeconds: 5 * MINUTE,
    // As AppResponseTimeHigh, on Traefik's histogram of a routed app that has no /metrics of its own.
    series: (p95, at) => [String(p95 / 0.95), '+Inf'].map((le) => ({
      series: sel('traefik_service_request_duration_seconds_bucket', { service: EDGE_SERVICE, code: '200', method: 'GET', protocol: 'http', le }),
      values: counter(60, samplesUntil(at)),
    })),
    labels: () => ({ service: EDGE_SERVICE }),
  },
  EdgeErrorRateHigh: {
    key: 'errorRate', direction: 'above', warmupSeconds: 5 * MINUTE,
    series: (percent, at) => [
      ...[['200', 100 - percent], ['503', percent]].map(([code, share]) => ({
        series: sel('traefik_service_requests_total', { service: EDGE_SERVICE, code: String(code), method: 'GET', protocol: 'http' }),
        values: counter(6 * Number(share), samplesUntil(at)),
      })),
      // Traefik's own internal services (dashboard, ping) are not apps: all 5xx, never alerting.
      { series: sel('traefik_service_requests_total', { service: 'ping@internal', code: '503', method: 'GET', protocol: 'http' }), values: counter(600, samplesUntil(at)) },
    ],
    labels: () => ({ service: EDGE_SERVICE }),
  },
  PostgresConnectionsHigh: {
    key: 'dbConnections', direction: 'above', warmupSeconds: 0,
    series: (percent, at, c) => {
      const max = c.postgres.tuning.maxConnections;
      const pod = { namespace: c.namespaces.data, pod: 'postgres-0' };
      return [
        { series: sel('pg_settings_max_connections', pod), values: gauge(max, samplesUntil(at)) },
        ...['active', 'idle'].map((state) => ({
          series: sel('pg_stat_activity_count', { ...pod, datname: 'app', state }), values: gauge((percent / 100) * max / 2, samplesUntil(at)),
        })),
      ];
    },
    labels: (c) => ({ namespace: c.namespaces.data, pod: 'postgres-0' }),
  },
  PostgresReplicationLag: {
    key: 'replicationLag', direction: 'above', warmupSeconds: 0,
    series: (lag, at, c) => [
      { series: sel('pg_replication_lag_seconds', { namespace: c.namespaces.data, pod: 'postgres-1' }), values: gauge(lag, samplesUntil(at)) },
      { series: sel('pg_replication_lag_seconds', { namespace: c.namespaces.data, pod: 'postgres-0' }), values: gauge(0, samplesUntil(at)) },
    ],
    labels: (c) => ({ namespace: c.namespaces.data, pod: 'postgres-1' }),
  },
  PgBouncerClientsWaiting: {
    key: 'pgbouncerClientsWaiting', direction: 'above', step: 'count', warmupSeconds: 0,
    series: (waiting, at, c) => [Math.floor(waiting / 2), waiting - Math.floor(waiting / 2)].map((n, i) => ({
      series: sel('pgbouncer_pools_client_waiting_connections', { namespace: c.namespaces.data, pod: 'pgbouncer-0', database: `db${i}`, user: 'app' }),
      values: gauge(n, samplesUntil(at)),
    })),
    labels: (c) => ({ namespace: c.namespaces.data, pod: 'pgbouncer-0' }),
  },
  RedisMemoryNearLimit: {
    key: 'redisMemory', direction: 'above', warmupSeconds: 0,
    series: (percent, at, c) => {
      const max = parseQuantity(c.redis.maxmemory);
      const pod = { namespace: c.namespaces.data, pod: 'redis-0' };
      return [
        { series: sel('redis_memory_max_bytes', pod), values: gauge(max, samplesUntil(at)) },
        { series: sel('redis_memory_used_bytes', pod), values: gauge((percent / 100) * max, samplesUntil(at)) },
      ];
    },
    labels: (c) => ({ namespace: c.namespaces.data, pod: 'redis-0' }),
  },
  BackupTooOld: {
    key: 'backupAge', direction: 'above', warmupSeconds: 0,
    // The newest dump counts (an older schedule does not), and the restore drill is no dump.
    series: (age, at, c) => {
      const jobs = c.backup.schedules.map((s) => BACKUP_JOBS.dump(s.name));
      return [
        ...jobs.map((cronjob, i) => ({
          series: sel('kube_cronjob_status_last_successful_time', { namespace: c.namespaces.backup, cronjob }), values: gauge(at - age * (i + 1), samplesUntil(at)),
        })),
        { series: sel('kube_cronjob_status_last_successful_time', { namespace: c.namespaces.backup, cronjob: BACKUP_JOBS.drill }), values: gauge(at, samplesUntil(at)) },
        ...[...jobs, BACKUP_JOBS.drill].map((cronjob) => ({
          series: sel('kube_cronjob_created', { namespace: c.namespaces.backup, cronjob }), values: gauge(at - 100 * age, samplesUntil(at)),
        })),
      ];
    },
    labels: (c) => ({ namespace: c.namespaces.backup }),
  },
  PostgresWalArchiveLagging: {
    key: 'walArchiveAge', direction: 'above', warmupSeconds: 0,
    // The primary took writes and archived nothing for `age`; a replica (which never archives) and an idle primary stay silent.
    series: (age, at, c) => {
      const primary = { namespace: c.namespaces.data, pod: 'postgres-primary-0' };
      const replica = { namespace: c.namespaces.data, pod: 'postgres-replica-0' };
      return [
        { series: sel('pg_stat_archiver_last_archive_age', primary), values: gauge(age, samplesUntil(at)) },
        { series: sel('pg_stat_archiver_last_archive_age', replica), values: gauge(age * 10, samplesUntil(at)) },
        { series: sel('pg_replication_is_replica', primary), values: gauge(0, samplesUntil(at)) },
        { series: sel('pg_replication_is_replica', replica), values: gauge(1, samplesUntil(at)) },
        ...['tup_inserted', 'tup_updated', 'tup_deleted'].flatMap((m) => [primary, replica].map((pod) => ({
          series: sel(`pg_stat_database_${m}`, { ...pod, datname: 'app' }), values: counter(m === 'tup_inserted' ? 5 : 0, samplesUntil(at)),
        }))),
      ];
    },
    labels: (c) => ({ namespace: c.namespaces.data, pod: 'postgres-primary-0' }),
  },
  CertificateExpiresSoon: {
    key: 'certificateExpiry', direction: 'below', warmupSeconds: 0,
    series: (left, at) => [{ series: sel('probe_ssl_earliest_cert_expiry', { job: 'probe/monitoring/tls', instance: 'https://crm.example.com' }), values: gauge(at + left, samplesUntil(at)) }],
    labels: () => ({ job: 'probe/monitoring/tls', instance: 'https://crm.example.com' }),
  },
};

/** Alerts tested by a hand-written scenario below (no level pair, or levels in time). */
export const CUSTOM_SCENARIOS = ['ProbeFailing', 'RestoreDrillFailed', 'PostgresWalArchivingFailing', 'PitrBaseBackupTooOld', 'PatroniLeaderChanged', 'PatroniPaused', 'PatroniNoSynchronousStandby'] as const;

const levelValue = (v: number | string) => (typeof v === 'number' ? v : parseDuration(v)!);
const at = (seconds: number) => `${seconds}s`;

/** Every generated test group for one configuration. */
export function generateTests(config: PlatformConfig): TestGroup[] {
  return [
    ...Object.entries(LEVEL_SCENARIOS).flatMap(([alertname, s]) => levelTests(alertname, s, config)),
    ...probeTests(config),
    backupNeverSucceeded(config),
    ...drillTests(config),
    ...walArchivingTests(config),
    ...pitrCheckTests(config),
    ...patroniTests(config),
  ];
}

/** Patroni's failover alerts: a timeline change, a long pause, a leader without a synchronous standby (synchronous mode only). */
export function patroniTests(config: PlatformConfig): TestGroup[] {
  const namespace = config.namespaces.data;
  const series = (name: string, pod: string, values: string) => ({ series: sel(name, { namespace, pod }), values });
  const check = (alertname: string, severity: Severity, name: string, input: InputSeries[], evals: [number, boolean][]): TestGroup => ({
    name: `${alertname}: ${name}`,
    interval: '1m',
    input_series: input,
    alert_rule_test: evals.map(([t, fires]) => ({ eval_time: at(t * MINUTE), alertname, exp_alerts: fires ? [{ exp_labels: { namespace, severity } }] : [] })),
  });
  const groups = [
    // Timeline 1 for 10 minutes, then 2 (promotion): fires for the 10 minutes after the change.
    check('PatroniLeaderChanged', 'warning', 'the timeline moves on: fires for 10 minutes', [
      series('patroni_postgres_timeline', 'postgres-0', '1x10 2x30'), series('patroni_postgres_timeline', 'postgres-1', '1x10 2x30'),
    ], [[9, false], [15, true], [25, false]]),
    // Paused from minute 5: silent until it has lasted 30 minutes.
    check('PatroniPaused', 'warning', 'paused: fires after 30 minutes', [series('patroni_is_paused', 'postgres-0', '0x4 1x60')], [[20, false], [40, true]]),
  ];
  if (config.postgres.replication === 'synchronous' || (config.postgres.replication === undefined && config.postgres.replicas >= 2)) {
    groups.push(check('PatroniNoSynchronousStandby', 'critical', 'the standby stops confirming at minute 6: fires after 2 minutes', [
      series('patroni_primary', 'postgres-0', '1x30'), series('patroni_primary', 'postgres-1', '0x30'),
      series('patroni_sync_standby', 'postgres-0', '0x30'), series('patroni_sync_standby', 'postgres-1', '1x5 0x25'),
    ], [[5, false], [7, false], [10, true]]));
  }
  return groups;
}

function levelTests(alertname: string, s: LevelScenario, config: PlatformConfig): TestGroup[] {
  const levels = config.alerts[s.key] as { warning: number | string; critical: number | string; for?: string };
  const w = levelValue(levels.warning);
  const c = levelValue(levels.critical);
  const holdFor = parseDuration(levels.for ?? '0')!;
  const steady = s.warmupSeconds + holdFor + 2 * MINUTE;
  // Just past a level on the bad side, and just short of it on the good side.
  const worse = (level: number) =>
    s.step === 'count' ? (s.direction === 'above' ? level + 1 : level - 1) : level * (s.direction === 'above' ? 1.01 : 0.99);
  const better = (level: number) =>
    s.step === 'count' || level === 0 ? level : level * (s.direction === 'above' ? 0.99 : 1.01);
  const expect = (...severities: Severity[]) => severities.map((severity) => ({ exp_labels: { ...s.labels(config), severity } }));
  const group = (name: string, value: number, checks: [number, { exp_labels: Labels }[]][]): TestGroup => ({
    name: `${alertname}: ${name} (${num(value)})`,
    interval: '1m',
    input_series: s.series(value, Math.max(...checks.map(([t]) => t)), config),
    alert_rule_test: checks.map(([t, exp]) => ({ eval_time: at(t), alertname, exp_alerts: exp })),
  });
  const separated = s.direction === 'above' ? worse(w) < better(c) : worse(w) > better(c);
  if (!separated) {
    throw new Error(`${alertname}: alerts.${s.key} warning and critical are within 1 % of each other; the generated cases would overlap`);
  }
  const groups = [
    group('just short of warning: silent', better(w), [[steady, expect()]]),
    group('just past warning: warning only', worse(w), [[steady, expect('warning')]]),
    group('just short of critical: warning only', better(c), [[steady, expect('warning')]]),
    group('just past critical: both', worse(c), [[steady, expect('warning', 'critical')]]),
  ];
  if (holdFor >= 2 * MINUTE) {
    // Past both levels from the start, but not yet for the `for` duration: nothing fires.
    groups.push(group(`past critical for less than ${levels.for}: silent`, worse(c), [[holdFor - MINUTE, expect()], [steady, expect('warning', 'critical')]]));
  }
  return groups;
}

/** ProbeFailing: levels in time — how long the probe has been failing. */
function probeTests(config: PlatformConfig): TestGroup[] {
  const w = parseDuration(config.alerts.probeFailure.warning)!;
  const c = parseDuration(config.alerts.probeFailure.critical)!;
  const labels = { job: 'probe/monitoring/crm-health', instance: 'https://crm.example.com/api/health' };
  const expect = (...severities: Severity[]) => severities.map((severity) => ({ exp_labels: { ...labels, severity } }));
  const samples = samplesUntil(c + MINUTE);
  const checks: [number, ReturnType<typeof expect>][] = [
    [Math.max(0, w - MINUTE), expect()],
    [w, expect('warning')],
    [c - MINUTE, c - MINUTE >= w ? expect('warning') : expect()],
    [c, expect('warning', 'critical')],
  ];
  return [
    {
      name: 'ProbeFailing: failing since 0s, one minute short of and at each level',
      interval: '1m',
      input_series: [
        { series: sel('probe_success', labels), values: gauge(0, samples) },
        { series: sel('probe_success', { ...labels, instance: 'https://www.example.com/api/health' }), values: gauge(1, samples) },
      ],
      alert_rule_test: checks.map(([t, exp]) => ({ eval_time: at(t), alertname: 'ProbeFailing', exp_alerts: exp })),
    },
  ];
}

/** BackupTooOld before the first dump: the age counts from the CronJob's creation. */
function backupNeverSucceeded(config: PlatformConfig): TestGroup {
  const warning = parseDuration(config.alerts.backupAge.warning)!;
  const cronjob = BACKUP_JOBS.dump(config.backup.schedules[0].name);
  return {
    name: 'BackupTooOld: no dump ever succeeded, the CronJob exists just past the warning age',
    interval: '1m',
    input_series: [{ series: sel('kube_cronjob_created', { namespace: config.namespaces.backup, cronjob }), values: gauge(MINUTE - warning * 1.01, 3) }],
    alert_rule_test: [{
      eval_time: at(MINUTE), alertname: 'BackupTooOld',
      exp_alerts: [{ exp_labels: { namespace: config.namespaces.backup, severity: 'warning' } }],
    }],
  };
}

/** RestoreDrillFailed: only the newest Job of the drill CronJob counts. */
function drillTests(config: PlatformConfig): TestGroup[] {
  const ns = config.namespaces.backup;
  const dump = BACKUP_JOBS.dump(config.backup.schedules[0].name);
  const job = (owner: string, name: string, created: number, failed: boolean): InputSeries[] => [
    { series: sel('kube_job_owner', { namespace: ns, job_name: name, owner_kind: 'CronJob', owner_name: owner, owner_is_controller: 'true' }), values: gauge(1, 10) },
    { series: sel('kube_job_created', { namespace: ns, job_name: name }), values: gauge(created, 10) },
    ...['true', 'false'].map((condition) => ({
      series: sel('kube_job_failed', { namespace: ns, job_name: name, condition }), values: gauge(Number(failed === (condition === 'true')), 10),
    })),
  ];
  const drill = (n: number) => `${BACKUP_JOBS.drill}-${n}`;
  const test = (name: string, series: InputSeries[], firing: string[]): TestGroup => ({
    name: `RestoreDrillFailed: ${name}`,
    interval: '1m',
    input_series: series,
    alert_rule_test: [{
      eval_time: '5m', alertname: 'RestoreDrillFailed',
      exp_alerts: firing.map((jobName) => ({ exp_labels: { namespace: ns, job_name: jobName, severity: 'warning' } })),
    }],
  });
  return [
    test('the newest drill failed after an older success: fires', [...job(BACKUP_JOBS.drill, drill(1), 100, false), ...job(BACKUP_JOBS.drill, drill(2), 200, true)], [drill(2)]),
    test('an older drill failed, the newest succeeded: silent', [...job(BACKUP_JOBS.drill, drill(1), 100, true), ...job(BACKUP_JOBS.drill, drill(2), 200, false)], []),
    test('a dump Job failed, the drill succeeded: silent', [...job(BACKUP_JOBS.drill, drill(1), 100, false), ...job(dump, `${dump}-3`, 300, true)], []),
  ];
}

/** PostgresWalArchivingFailing: failures and no success on the primary for 10 minutes, held 5 more. */
function walArchivingTests(config: PlatformConfig): TestGroup[] {
  const primary = { namespace: config.namespaces.data, pod: 'postgres-primary-0' };
  const series = (failedPerMinute: number, archivedPerMinute: number): InputSeries[] => [
    { series: sel('pg_stat_archiver_failed_count', primary), values: counter(failedPerMinute, 40) },
    { series: sel('pg_stat_archiver_archived_count', primary), values: counter(archivedPerMinute, 40) },
    { series: sel('pg_replication_is_replica', primary), values: gauge(0, 40) },
  ];
  const test = (name: string, input: InputSeries[], checks: [number, boolean][]): TestGroup => ({
    name: `PostgresWalArchivingFailing: ${name}`,
    interval: '1m',
    input_series: input,
    alert_rule_test: checks.map(([minute, firing]) => ({
      eval_time: at(minute * MINUTE), alertname: 'PostgresWalArchivingFailing',
      exp_alerts: firing ? [{ exp_labels: { ...primary, severity: 'critical' } }] : [],
    })),
  });
  return [
    test('every attempt fails: fires once held 5 minutes', series(1, 0), [[3, false], [20, true]]),
    test('some attempts fail but segments still reach B2: silent', series(1, 1), [[20, false]]),
  ];
}

/** PitrBaseBackupTooOld: pitr-check's last success just inside and just past its window. */
function pitrCheckTests(config: PlatformConfig): TestGroup[] {
  const ns = config.namespaces.data;
  const window = pitrCheckWindowSeconds(config);
  const test = (name: string, age: number, firing: boolean): TestGroup => ({
    name: `PitrBaseBackupTooOld: ${name}`,
    interval: '1m',
    input_series: [
      { series: sel('kube_cronjob_status_last_successful_time', { namespace: ns, cronjob: PITR_JOBS.check }), values: gauge(MINUTE - age, 3) },
      { series: sel('kube_cronjob_created', { namespace: ns, cronjob: PITR_JOBS.check }), values: gauge(MINUTE - 100 * window, 3) },
    ],
    alert_rule_test: [{ eval_time: at(MINUTE), alertname: 'PitrBaseBackupTooOld', exp_alerts: firing ? [{ exp_labels: { namespace: ns, severity: 'critical' } }] : [] }],
  });
  return [
    test('the check last succeeded just inside the window: silent', window * 0.99, false),
    test('the check last succeeded just past the window: fires', window * 1.01, true),
  ];
}
