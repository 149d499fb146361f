import { Construct } from 'constructs';
import { BACKUP_JOBS } from '../../backup-names';
import { parseDuration } from '../../config/duration';
import { KubeJob, PodSpec } from '../../k8s';
import { componentLabels } from '../../labels';
import { SecretKeyRef } from '../data-service';
import { BACKUP_PATHS } from './scripts';
import { IMPORT_JOBS } from './imports';
import { BackupKit, BackupSettings, POSTGRES_CLIENT_LABEL, rcloneRemote } from './backup-kit';

export { b2Region, POSTGRES_CLIENT_LABEL } from './backup-kit';
export type { BackupSettings } from './backup-kit';

export interface BackupsProps {
  /** The `backup` section. */
  readonly backup: BackupSettings;
  /** The environment's name: its objects live below `<bucket>/<prefix>/<environment>` in B2. */
  readonly environment: string;
  readonly namespace: string;
  /** pg_dump / pg_restore image: same major as the server (checked at config load). */
  readonly clientImage: string;
  readonly rcloneImage: string;
  readonly postgres: {
    /** Read-write Service host: dumps read the primary (a standby may cancel long queries). */
    readonly host: string;
    readonly port: number;
    readonly database: string;
    /** Owner of a restored database. */
    readonly appUser: string;
    /** The read-only role of the dumps and its password Secret. */
    readonly backupUser: string;
    readonly backupSecret: SecretKeyRef;
    /** The restore creates databases and restores ownership: the superuser, for the suspended pg-restore only. */
    readonly superuser: string;
    readonly superuserSecret: SecretKeyRef;
    /**
     * Databases of platform services (GlitchTip): each is dumped daily (the first schedule's cron and
     * retention) below `<root>/<database>/`, apart from the apps' dumps that restore and drill read.
     * @default none
     */
    readonly serviceDatabases?: readonly string[];
  };
  readonly minio: {
    readonly endpoint: string;
    /** Secret with access-key / secret-key of the read-only key. */
    readonly secretName: string;
    /** Secret with root-user / root-password: only the suspended minio-restore writes to MinIO. */
    readonly rootSecretName: string;
    readonly buckets: readonly string[];
  };
}

const DEADLINES = { dump: 50 * 60, mirror: 3 * 3600, restore: 4 * 3600, drill: 3 * 3600 };

/**
 * Postgres dumps to Backblaze B2 (one CronJob per schedule), the MinIO → B2 mirror, a
 * suspended restore and a weekly restore drill. Names come from BACKUP_JOBS (alerts use them).
 */
export class Backups extends Construct {
  /** `<bucket>/<prefix>/<env>`: every object of this environment lives below it. */
  public readonly b2Root: string;
  /** Secret keys the pods read in the backup namespace. */
  public readonly secrets: readonly SecretKeyRef[];
  /** The dump pod of the app database (pg_dump, then upload to B2) for one schedule name. */
  private readonly appDumpPod: (schedule: string, retentionDays: number, jobName: string) => PodSpec;
  private readonly namespace: string;
  private readonly dailyRetentionDays: number;

  constructor(scope: Construct, id: string, props: BackupsProps) {
    super(scope, id);
    const { backup: b, namespace, postgres: pg } = props;
    this.namespace = namespace;
    this.b2Root = `${b.b2.bucket}/${b.b2.prefix}/${props.environment}`;
    const kit = new BackupKit(this, props);
    this.secrets = [pg.backupSecret, pg.superuserSecret, ...kit.secrets];
    this.dailyRetentionDays = b.schedules[0].retentionDays;
    this.appDumpPod = (schedule, retentionDays, jobName) => dumpPod(kit, props, pg.database, `${this.b2Root}/postgres`, { schedule, retentionDays, jobName });
    // Each kind of backup Job, in this order.
    this.dumps(kit, props);
    this.minioJobs(kit, props);
    this.restore(kit, props);
    this.imports(kit, props);
    this.drill(kit, props);
  }

  /** A dump CronJob per schedule of the app database, and a daily one per platform service's database. */
  private dumps(kit: BackupKit, props: BackupsProps): void {
    const { backup: b, postgres: pg } = props;
    for (const schedule of b.schedules) {
      const jobName = BACKUP_JOBS.dump(schedule.name);
      kit.cronJob(jobName, 'backup', schedule.cron, DEADLINES.dump, this.appDumpPod(schedule.name, schedule.retentionDays, jobName), { postgres: true });
    }
    const daily = b.schedules[0];
    for (const database of pg.serviceDatabases ?? []) {
      const jobName = BACKUP_JOBS.serviceDump(database);
      const spec = dumpPod(kit, props, database, `${this.b2Root}/${database}`, { schedule: daily.name, retentionDays: daily.retentionDays, jobName });
      kit.cronJob(jobName, 'backup', daily.cron, DEADLINES.dump, spec, { postgres: true });
    }
  }

  /** The MinIO → B2 mirror, and its reverse (never scheduled: run after the provisioning Job recreated the buckets, README). */
  private minioJobs(kit: BackupKit, props: BackupsProps): void {
    const b = props.backup;
    const minioPath = `${this.b2Root}/minio`;
    kit.cronJob(BACKUP_JOBS.minioMirror, 'mirror', b.minioMirror.cron, DEADLINES.mirror, kit.pod([
      kit.container('mirror', 'rclone', 'mirror.sh', [
        ...kit.rcloneCommon, ...kit.b2Env, ...kit.minioEnv,
        { name: 'BUCKETS', value: props.minio.buckets.join(' ') },
        { name: 'B2_PATH', value: minioPath },
        { name: 'RETENTION_DAYS', value: String(b.minioMirror.retentionDays) },
      ]),
    ]));
    // MIRROR_REMOTE names the rclone remote the mirror is read from.
    kit.cronJob(BACKUP_JOBS.minioRestore, 'restore', '0 0 1 1 *', DEADLINES.restore, kit.pod([
      kit.container('restore', 'rclone', 'minio-restore.sh', [
        ...kit.rcloneCommon, ...kit.b2Env,
        ...rcloneRemote('MINIO', { provider: 'Minio', endpoint: props.minio.endpoint, region: 'us-east-1' }, kit.minioRoot.user, kit.minioRoot.password),
        { name: 'BUCKETS', value: props.minio.buckets.join(' ') },
        { name: 'B2_PATH', value: minioPath },
        { name: 'MIRROR_REMOTE', value: 'b2' },
      ]),
    ]), { suspend: true });
  }

  /** The suspended restore (`kubectl create job --from=cronjob/pg-restore`, README "Backups"). */
  private restore(kit: BackupKit, props: BackupsProps): void {
    const pg = props.postgres;
    kit.cronJob(BACKUP_JOBS.restore, 'restore', '0 0 1 1 *', DEADLINES.restore, kit.pod(
      [kit.container('restore', 'postgres', 'pg-restore.sh', [
        ...kit.libpq(pg.superuser, pg.superuserSecret, 'postgres'),
        { name: 'TARGET_DATABASE', value: `${pg.database}_restore` },
        { name: 'TARGET_OWNER', value: pg.appUser },
        { name: 'REPLACE_TARGET', value: 'no' },
        { name: 'RESTORE_JOBS', value: '2' },
        { name: 'PGAPPNAME', value: BACKUP_JOBS.restore },
      ])],
      [this.fetch(kit, 'latest')],
    ), { suspend: true, postgres: true });
  }

  /** Never scheduled: a compose stack's dump and files, uploaded under imports/ (imports.ts, README "Moving from docker-compose"). */
  private imports(kit: BackupKit, props: BackupsProps): void {
    const pg = props.postgres;
    const importPath = `${this.b2Root}/imports`;
    kit.cronJob(IMPORT_JOBS.postgres, 'import', '0 0 1 1 *', DEADLINES.restore, kit.pod(
      [kit.container('import', 'postgres', 'import-postgres.sh', [
        ...kit.libpq(pg.superuser, pg.superuserSecret, pg.database),
        { name: 'TARGET_OWNER', value: pg.appUser },
        { name: 'REPLACE_TARGET', value: 'no' },
        { name: 'PGAPPNAME', value: IMPORT_JOBS.postgres },
      ])],
      [kit.container('fetch', 'rclone', 'import-fetch.sh', [...kit.rcloneCommon, ...kit.b2RawEnv, { name: 'IMPORT_PATH', value: importPath }, { name: 'DUMP', value: 'latest' }])],
    ), { suspend: true, postgres: true });
    kit.cronJob(IMPORT_JOBS.files, 'import', '0 0 1 1 *', DEADLINES.restore, kit.pod([
      kit.container('import', 'rclone', 'import-files.sh', [
        ...kit.rcloneCommon, ...kit.b2RawEnv,
        ...rcloneRemote('MINIO', { provider: 'Minio', endpoint: props.minio.endpoint, region: 'us-east-1' }, kit.minioRoot.user, kit.minioRoot.password),
        { name: 'BUCKETS', value: props.minio.buckets.join(' ') },
        { name: 'IMPORT_PATH', value: importPath },
      ]),
    ]), { suspend: true });
  }

  /** The weekly drill: restores the latest dump into a scratch server and checks it. */
  private drill(kit: BackupKit, props: BackupsProps): void {
    const { backup: b, postgres: pg } = props;
    kit.cronJob(BACKUP_JOBS.drill, 'drill', b.drill.cron, DEADLINES.drill, kit.pod(
      [kit.container('drill', 'postgres', 'drill.sh', [
        { name: 'HOME', value: BACKUP_PATHS.tmp },
        { name: 'SCRATCH_DIR', value: BACKUP_PATHS.scratch },
        { name: 'SCRIPTS_DIR', value: BACKUP_PATHS.scripts },
        { name: 'CHECKS_FILE', value: `${BACKUP_PATHS.scripts}/drill-checks.txt` },
        { name: 'EXPECTED_DATABASE', value: pg.database },
        { name: 'ROW_TOLERANCE_PERCENT', value: String(b.drill.rowTolerancePercent) },
        { name: 'MAX_DATA_AGE_SECONDS', value: String(parseDuration(b.drill.maxDataAge)) },
        { name: 'RESTORE_JOBS', value: '2' },
      ])],
      [this.fetch(kit, 'latest')],
    ));
  }

  /** The init container that fetches (and decrypts) a dump of the app database from B2. */
  private fetch(kit: BackupKit, dump: string) {
    return kit.container('fetch', 'rclone', 'fetch.sh', [...kit.rcloneCommon, ...kit.b2Env, { name: 'B2_PATH', value: `${this.b2Root}/postgres` }, { name: 'DUMP', value: dump }]);
  }

  /**
   * A dump of the app database to B2 (schedule `pre-migration-<app>`, kept as long as the first
   * schedule's dumps), as a Job in the backup namespace built in `scope` (the app chart), where
   * an Argo CD PreSync hook runs it before the app's migration.
   */
  public preMigrationDump(scope: Construct, id: string, props: { readonly app: string; readonly annotations: Record<string, string> }): KubeJob {
    const name = `${props.app}-pre-migration-dump`;
    const labels = { ...componentLabels(name, 'backup') };
    return new KubeJob(scope, id, {
      metadata: { name, namespace: this.namespace, labels, annotations: props.annotations },
      spec: {
        backoffLimit: 1,
        activeDeadlineSeconds: DEADLINES.dump,
        template: { metadata: { labels: { ...labels, ...POSTGRES_CLIENT_LABEL } }, spec: this.appDumpPod(`pre-migration-${props.app}`, this.dailyRetentionDays, name) },
      },
    });
  }
}

/** A dump pod: pg_dump of `database` (init container), then the upload to `b2Path` with its retention. */
function dumpPod(kit: BackupKit, props: BackupsProps, database: string, b2Path: string, job: { schedule: string; retentionDays: number; jobName: string }): PodSpec {
  const pg = props.postgres;
  const jobEnv = [{ name: 'SCHEDULE', value: job.schedule }];
  return kit.pod(
    [kit.container('upload', 'rclone', 'upload.sh', [
      ...kit.rcloneCommon, ...kit.b2Env, ...jobEnv,
      { name: 'B2_PATH', value: b2Path },
      { name: 'RETENTION_DAYS', value: String(job.retentionDays) },
    ])],
    [kit.container('dump', 'postgres', 'pg-dump.sh', [...kit.libpq(pg.backupUser, pg.backupSecret, database), ...jobEnv, { name: 'PGAPPNAME', value: job.jobName }])],
  );
}
