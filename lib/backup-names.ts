/**
 * Names the backup chart gives its CronJobs, shared with the monitoring rules that watch them
 * (kube-state-metrics labels series with these names).
 */
export const BACKUP_JOBS = {
  /** One pg_dump CronJob per configured schedule. */
  dump: (schedule: string) => `pg-backup-${schedule}`,
  /** Regex matching every dump CronJob (for PromQL `cronjob=~`). */
  dumpPattern: 'pg-backup-.+',
  /** The daily dump of a platform service's own database (GlitchTip), under <root>/<database>/ in B2. */
  serviceDump: (database: string) => `db-backup-${database}`,
  /** MinIO → B2 mirror. */
  minioMirror: 'minio-mirror',
  /** Suspended; the mirror in reverse: `kubectl create job --from=cronjob/minio-restore` (README). */
  minioRestore: 'minio-restore',
  /** Suspended; a person runs `kubectl create job --from=cronjob/pg-restore`. */
  restore: 'pg-restore',
  /** Weekly restore drill into a scratch database. */
  drill: 'pg-restore-drill',
} as const;
