/**
 * The metric names the rules and dashboards may query, by the exporter that exposes them (the
 * pinned exporter versions in lib/config/versions.ts and kube-prometheus-stack). Tests parse every
 * rule and panel query and fail on a name that is not listed here, so a typo cannot ship a rule
 * that never fires or a panel that stays empty.
 */
export const EXPORTER_METRICS = {
  'node-exporter': [
    'node_cpu_seconds_total',
    'node_memory_MemAvailable_bytes',
    'node_memory_MemTotal_bytes',
    'node_filesystem_avail_bytes',
    'node_filesystem_size_bytes',
  ],
  'kube-state-metrics': [
    'kube_pod_container_status_restarts_total',
    'kube_cronjob_status_last_successful_time',
    'kube_cronjob_created',
    'kube_job_owner',
    'kube_job_created',
    'kube_job_failed',
  ],
  /** Patroni's REST API /metrics (api.py of Patroni 3.0.2; the same names in 4.x). */
  patroni: ['patroni_postgres_timeline', 'patroni_is_paused', 'patroni_primary', 'patroni_sync_standby'],
  postgres_exporter: [
    'pg_stat_activity_count', 'pg_settings_max_connections', 'pg_replication_lag_seconds', 'pg_database_size_bytes',
    // PITR: the stat_archiver, replication and stat_database collectors (enabled by default).
    'pg_stat_archiver_archived_count', 'pg_stat_archiver_failed_count', 'pg_stat_archiver_last_archive_age', 'pg_replication_is_replica',
    'pg_stat_database_tup_inserted', 'pg_stat_database_tup_updated', 'pg_stat_database_tup_deleted',
  ],
  pgbouncer_exporter: [
    'pgbouncer_pools_client_waiting_connections',
    'pgbouncer_pools_client_active_connections',
    'pgbouncer_pools_server_active_connections',
  ],
  redis_exporter: ['redis_memory_used_bytes', 'redis_memory_max_bytes', 'redis_connected_clients', 'redis_commands_processed_total', 'redis_evicted_keys_total'],
  minio: ['minio_cluster_capacity_usable_free_bytes', 'minio_cluster_capacity_usable_total_bytes', 'minio_s3_requests_total', 'minio_s3_requests_errors_total'],
  'blackbox-exporter': ['probe_success', 'probe_ssl_earliest_cert_expiry'],
  traefik: ['traefik_service_requests_total', 'traefik_service_request_duration_seconds_bucket'],
  /** The contract every app with a `metricsPort` follows (README, "App metric contract"). */
  app: ['http_requests_total', 'http_request_duration_seconds_bucket'],
} as const;

export const KNOWN_METRICS: ReadonlySet<string> = new Set(Object.values(EXPORTER_METRICS).flat());

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/**
 * Metric names a PromQL expression selects: identifiers outside strings, label matchers, ranges
 * and grouping clauses that are not function calls or keywords. Enough for our own queries.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = stripped.slice(match.index! + match[0].length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(match[0].toLowerCase())) continue;
    if (/^\d/.test(stripped.slice(match.index! - 1, match.index!))) continue; // the unit of a number like 1e3
    names.add(match[0]);
  }
  return [...names].sort();
}
