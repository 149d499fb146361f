/**
 * `alerts`: the users' threshold table. Each entry has a `warning` and a `critical` level; the
 * critical one must be the worse of the two (higher, or lower where less is worse), which is
 * checked here so that a swapped pair fails the synth instead of paging at the wrong level.
 */
import { z } from './zod';
import { duration, parseDuration } from './duration';

const percent = () =>
  z.number().gt(0, 'must be above 0 %; fix: use a percentage like 80').max(100, 'must be at most 100 %; fix: use a percentage like 80');
const count = () =>
  z
    .number()
    .int('must be a whole number; fix: use 0, 1, 2, ...')
    .min(0, 'must not be negative; fix: use 0 or more')
    .max(1000, 'is more than 1000, the most this platform accepts because a threshold no pod ever reaches never alerts; fix: use a count like 3 or 10');

/**
 * warning/critical must be ordered: `critical` above `warning` (or below, when `lowerIsWorse`).
 * Reported on `critical`, naming both keys and the fix.
 */
function ordered<T extends number | string>(key: string, read: (v: T) => number | undefined, lowerIsWorse = false) {
  return (value: { warning: T; critical: T }, ctx: z.RefinementCtx) => {
    const warning = read(value.warning);
    const critical = read(value.critical);
    if (warning === undefined || critical === undefined) return;
    const worse = lowerIsWorse ? critical < warning : critical > warning;
    if (worse) return;
    const at = `alerts.${key}`;
    const show = (v: T) => JSON.stringify(v);
    ctx.addIssue({
      code: 'custom',
      path: ['critical'],
      message: lowerIsWorse
        ? `must be below ${at}.warning (${show(value.warning)}), because less is worse here; fix: lower ${at}.critical below ${show(value.warning)} or raise ${at}.warning`
        : `must be above ${at}.warning (${show(value.warning)}), because critical is the worse level; fix: raise ${at}.critical above ${show(value.warning)} or lower ${at}.warning`,
    });
  };
}

const seconds = (v: string) => parseDuration(v);
/** The number when `schema` accepts it; an invalid level is reported by its own field, not compared. */
const validIn = (schema: z.ZodNumber) => (v: number) => (schema.safeParse(v).success ? v : undefined);

/** A level pair on a number, held for `for` before it fires. */
const levels = (key: string, level: () => z.ZodNumber) =>
  z.strictObject({ warning: level(), critical: level(), for: duration() }).superRefine(ordered<number>(key, validIn(level())));

/** A level pair on a duration. */
const durationLevels = (key: string, lowerIsWorse = false) =>
  z.strictObject({ warning: duration(), critical: duration() }).superRefine(ordered<string>(key, seconds, lowerIsWorse));

export const alertsSchema = z.strictObject({
  /** Node CPU busy, % of all cores. */
  cpu: levels('cpu', percent),
  /** Node memory in use (1 - MemAvailable/MemTotal), %. */
  memory: levels('memory', percent),
  /** Filesystem in use per mount point, %. */
  disk: levels('disk', percent),
  /** Postgres connections, % of max_connections, per server. */
  dbConnections: levels('dbConnections', percent),
  /** 95th percentile HTTP response time per app, as a duration (500ms, 2s). */
  responseTimeP95: z
    .strictObject({ warning: duration(), critical: duration(), for: duration() })
    .superRefine(ordered<string>('responseTimeP95', seconds)),
  /** HTTP 5xx responses, % of all responses, per app. */
  errorRate: levels('errorRate', percent),
  /** PgBouncer clients waiting for a server connection, per PgBouncer pod. */
  pgbouncerClientsWaiting: levels('pgbouncerClientsWaiting', count),
  /** How far a replica's replay is behind the primary. */
  replicationLag: z
    .strictObject({ warning: duration(), critical: duration(), for: duration() })
    .superRefine(ordered<string>('replicationLag', seconds)),
  /** Redis used memory, % of maxmemory. */
  redisMemory: levels('redisMemory', percent),
  /** Container restarts within the last hour. */
  podRestarts: z.strictObject({ warning: count(), critical: count() }).superRefine(ordered<number>('podRestarts', validIn(count()))),
  /** Age of the newest successful database dump. */
  backupAge: durationLevels('backupAge'),
  /** Time since the primary last archived a WAL segment while it took writes (PITR's RPO). */
  walArchiveAge: durationLevels('walArchiveAge'),
  /** Time left before a public TLS certificate expires (less is worse). */
  certificateExpiry: durationLevels('certificateExpiry', true),
  /** How long an uptime probe must keep failing. */
  probeFailure: durationLevels('probeFailure'),
});

export type AlertThresholds = z.output<typeof alertsSchema>;

/**
 * What to do when a threshold is crossed: the action column of the users' threshold table
 * (README, "Alerts and dashboards"). Every rule carries its action and a link to its runbook.
 */
export const ALERT_ACTIONS: Readonly<Record<keyof AlertThresholds, string>> = {
  cpu: 'scale up',
  memory: 'investigate leaks',
  disk: 'clean up or expand',
  dbConnections: 'check for connection leaks',
  responseTimeP95: 'investigate',
  errorRate: 'investigate',
  pgbouncerClientsWaiting: 'check for connection leaks',
  replicationLag: 'investigate',
  redisMemory: 'investigate leaks',
  podRestarts: 'investigate',
  backupAge: 'investigate',
  walArchiveAge: 'investigate',
  certificateExpiry: 'investigate',
  probeFailure: 'investigate',
};
