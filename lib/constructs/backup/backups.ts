import { Construct } from 'constructs';
import { BACKUP_JOBS } from '../../backup-names';
import { parseDuration } from '../../config/duration';
import { PlatformConfig } from '../../config/schema';
import { Container, EnvVar, KubeConfigMap, KubeCronJob, KubeJob, PodSpec, Quantity, Volume, VolumeMount } from '../../k8s';
import { componentLabels } from '../../labels';
import { restrictedContainerSecurity, restrictedPodSecurity } from '../pod-security';
import { SecretKeyRef } from '../../services/postgres/postgres-cluster';
import { containerResources } from '../resources';
import { minioRestoreScript } from './minio-restore';
import { drillVerifyScript, dumpStatsScript, newestSql, tableRowsSql } from './drill-stats';
import { BACKUP_PATHS, drillChecks, drillScript, fetchScript, mirrorScript, pgDumpScript, pgRestoreScript, uploadScript } from './scripts';

export interface BackupsProps {
  readonly config: PlatformConfig;
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

/** Pods with this label (dumps, restore) may reach Postgres; the chart's NetworkPolicy selects it. */
export const POSTGRES_CLIENT_LABEL = { 'platform.io/postgres-client': 'true' };

const UID = 999; // the postgres user of the official image; rclone runs as any user
const SCRIPTS_CONFIGMAP = 'backup-scripts';
/** Runs that miss their start by more than this are skipped rather than piled up. */
const STARTING_DEADLINE_SECONDS = 900;
const DEADLINES = { dump: 50 * 60, mirror: 3 * 3600, restore: 4 * 3600, drill: 3 * 3600 };

/** The <region> of https://s3.<region>.backblazeb2.com. */
export function b2Region(endpoint: string): string | undefined {
  return /^https:\/\/s3\.([a-z0-9-]+)\.backblazeb2\.com$/.exec(endpoint)?.[1];
}

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
    const { config, namespace } = props;
    const b = config.backup;
    this.b2Root = `${b.b2.bucket}/${b.b2.prefix}/${config.name}`;
    const pgPath = `${this.b2Root}/postgres`;
    const minioPath = `${this.b2Root}/minio`;

    const secretEnv = (name: string, ref: SecretKeyRef): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } });
    const b2Key = { name: b.credentials.secretName, key: b.credentials.keyIdKey };
    const b2Secret = { name: b.credentials.secretName, key: b.credentials.applicationKeyKey };
    const minioKey = { name: props.minio.secretName, key: 'access-key' };
    const minioSecret = { name: props.minio.secretName, key: 'secret-key' };
    const minioRootUser = { name: props.minio.rootSecretName, key: 'root-user' };
    const minioRootPassword = { name: props.minio.rootSecretName, key: 'root-password' };
    const cryptPassword = { name: b.encryption.secretName, key: b.encryption.rclonePasswordKey };
    const cryptSalt = { name: b.encryption.secretName, key: b.encryption.rcloneSaltKey };
    this.secrets = [props.postgres.backupSecret, props.postgres.superuserSecret, b2Key, b2Secret, minioKey, minioSecret, minioRootUser, minioRootPassword, cryptPassword, cryptSalt];

    // rclone remotes from environment variables: no config file, nothing written but scratch.
    const remote = (name: string, settings: Record<string, string>, key: SecretKeyRef, secret: SecretKeyRef): EnvVar[] => [
      ...Object.entries({ type: 's3', force_path_style: 'true', no_check_bucket: 'true', ...settings }).map(([k, value]) => ({
        name: `RCLONE_CONFIG_${name}_${k.toUpperCase()}`, value,
      })),
      secretEnv(`RCLONE_CONFIG_${name}_ACCESS_KEY_ID`, key),
      secretEnv(`RCLONE_CONFIG_${name}_SECRET_ACCESS_KEY`, secret),
    ];
    const rcloneCommon: EnvVar[] = [
      { name: 'HOME', value: BACKUP_PATHS.tmp },
      { name: 'RCLONE_CONFIG', value: '/dev/null' }, // remotes come from RCLONE_CONFIG_<REMOTE>_*, no file
      { name: 'RCLONE_RETRIES', value: '3' },
      { name: 'RCLONE_LOW_LEVEL_RETRIES', value: '5' },
      { name: 'RCLONE_CONTIMEOUT', value: '15s' },
      { name: 'RCLONE_STATS_ONE_LINE', value: 'true' },
      { name: 'SCRATCH_DIR', value: BACKUP_PATHS.scratch },
    ];
    // "b2" is an rclone crypt remote over the bucket ("b2raw"): the scripts write through it, so B2
    // holds only ciphertext (NaCl secretbox) under the key of backup.encryption, kept outside the
    // cluster. Names stay readable (no filename encryption, ".bin" appended): retention and the
    // runbooks list keys by their timestamps. A restore without the key fails to decrypt.
    const b2Env = [
      ...remote('B2RAW', { provider: 'Other', endpoint: b.b2.endpoint, region: b.b2.region ?? b2Region(b.b2.endpoint) ?? 'us-east-1' }, b2Key, b2Secret),
      ...Object.entries({ type: 'crypt', remote: 'b2raw:', filename_encryption: 'off', directory_name_encryption: 'false' }).map(([k, value]) => ({
        name: `RCLONE_CONFIG_B2_${k.toUpperCase()}`, value,
      })),
      // rclone wants them obscured (`rclone obscure`), which is how the Secret holds them (README, "Backup encryption").
      secretEnv('RCLONE_CONFIG_B2_PASSWORD', cryptPassword),
      secretEnv('RCLONE_CONFIG_B2_PASSWORD2', cryptSalt),
    ];
    const minioEnv = remote('MINIO', { provider: 'Minio', endpoint: props.minio.endpoint, region: 'us-east-1' }, minioKey, minioSecret);
    const libpq = (user: string, secret: SecretKeyRef, database: string): EnvVar[] => [
      { name: 'PGHOST', value: props.postgres.host },
      { name: 'PGPORT', value: String(props.postgres.port) },
      { name: 'PGDATABASE', value: database },
      { name: 'PGUSER', value: user },
      secretEnv('PGPASSWORD', secret),
      { name: 'PGCONNECT_TIMEOUT', value: '15' },
      { name: 'HOME', value: BACKUP_PATHS.tmp },
      { name: 'SCRATCH_DIR', value: BACKUP_PATHS.scratch },
      { name: 'SCRIPTS_DIR', value: BACKUP_PATHS.scripts },
    ];

    const scripts = new KubeConfigMap(this, 'Scripts', {
      metadata: { name: SCRIPTS_CONFIGMAP, namespace, labels: componentLabels('backup', 'scripts') },
      data: {
        'pg-dump.sh': pgDumpScript(),
        'upload.sh': uploadScript(),
        'fetch.sh': fetchScript(),
        'pg-restore.sh': pgRestoreScript(),
        'drill.sh': drillScript(),
        'drill-checks.txt': drillChecks(b.drill.checks),
        'dump-stats.sh': dumpStatsScript(),
        'drill-verify.sh': drillVerifyScript(),
        'table-rows.sql': tableRowsSql(),
        'newest.sql': newestSql(),
        'mirror.sh': mirrorScript(),
        'minio-restore.sh': minioRestoreScript(),
      },
    });

    const mounts: VolumeMount[] = [
      { name: 'scripts', mountPath: BACKUP_PATHS.scripts, readOnly: true },
      { name: 'scratch', mountPath: BACKUP_PATHS.scratch },
      { name: 'tmp', mountPath: BACKUP_PATHS.tmp },
    ];
    const volumes: Volume[] = [
      { name: 'scripts', configMap: { name: scripts.name, defaultMode: 0o555 } },
      { name: 'scratch', emptyDir: { sizeLimit: Quantity.fromString(b.scratchSize) } },
      { name: 'tmp', emptyDir: { sizeLimit: Quantity.fromString('64Mi') } },
    ];
    const container = (name: string, kind: 'postgres' | 'rclone', script: string, env: EnvVar[]): Container => ({
      name,
      image: kind === 'postgres' ? props.clientImage : props.rcloneImage,
      command: ['/bin/sh', `${BACKUP_PATHS.scripts}/${script}`],
      env,
      resources: containerResources(b.resources[kind]),
      securityContext: restrictedContainerSecurity(),
      volumeMounts: mounts,
    });
    // Init containers run one after the other and stop the pod at the first failure.
    const pod = (containers: Container[], initContainers: Container[] = []): PodSpec => ({
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: restrictedPodSecurity(UID),
      initContainers: initContainers.length ? initContainers : undefined,
      containers,
      volumes,
    });
    const cronJob = (name: string, component: string, schedule: string, deadline: number, spec: PodSpec, options: { suspend?: boolean; postgres?: boolean } = {}) => {
      const labels = componentLabels(name, component);
      const podLabels = { ...labels, ...(options.postgres ? POSTGRES_CLIENT_LABEL : {}) };
      new KubeCronJob(this, name, {
        metadata: { name, namespace, labels },
        spec: {
          schedule,
          timeZone: b.timeZone,
          suspend: options.suspend || undefined,
          concurrencyPolicy: 'Forbid',
          startingDeadlineSeconds: STARTING_DEADLINE_SECONDS,
          successfulJobsHistoryLimit: 3,
          failedJobsHistoryLimit: 3,
          jobTemplate: {
            metadata: { labels },
            spec: { backoffLimit: 1, activeDeadlineSeconds: deadline, template: { metadata: { labels: podLabels }, spec } },
          },
        },
      });
    };

    const { postgres: pg } = props;
    this.namespace = namespace;
    this.appDumpPod = (scheduleName, retentionDays, jobName) => {
      const jobEnv = [{ name: 'SCHEDULE', value: scheduleName }];
      return pod(
        [container('upload', 'rclone', 'upload.sh', [
          ...rcloneCommon, ...b2Env, ...jobEnv,
          { name: 'B2_PATH', value: pgPath },
          { name: 'RETENTION_DAYS', value: String(retentionDays) },
        ])],
        [container('dump', 'postgres', 'pg-dump.sh', [...libpq(pg.backupUser, pg.backupSecret, pg.database), ...jobEnv, { name: 'PGAPPNAME', value: jobName }])],
      );
    };
    for (const schedule of b.schedules) {
      cronJob(BACKUP_JOBS.dump(schedule.name), 'backup', schedule.cron, DEADLINES.dump, this.appDumpPod(schedule.name, schedule.retentionDays, BACKUP_JOBS.dump(schedule.name)), { postgres: true });
    }
    this.dailyRetentionDays = b.schedules[0].retentionDays;

    const daily = b.schedules[0];
    for (const database of pg.serviceDatabases ?? []) {
      const jobEnv = [{ name: 'SCHEDULE', value: daily.name }];
      cronJob(BACKUP_JOBS.serviceDump(database), 'backup', daily.cron, DEADLINES.dump, pod(
        [container('upload', 'rclone', 'upload.sh', [
          ...rcloneCommon, ...b2Env, ...jobEnv,
          { name: 'B2_PATH', value: `${this.b2Root}/${database}` },
          { name: 'RETENTION_DAYS', value: String(daily.retentionDays) },
        ])],
        [container('dump', 'postgres', 'pg-dump.sh', [...libpq(pg.backupUser, pg.backupSecret, database), ...jobEnv, { name: 'PGAPPNAME', value: BACKUP_JOBS.serviceDump(database) }])],
      ), { postgres: true });
    }

    cronJob(BACKUP_JOBS.minioMirror, 'mirror', b.minioMirror.cron, DEADLINES.mirror, pod([
      container('mirror', 'rclone', 'mirror.sh', [
        ...rcloneCommon, ...b2Env, ...minioEnv,
        { name: 'BUCKETS', value: props.minio.buckets.join(' ') },
        { name: 'B2_PATH', value: minioPath },
        { name: 'RETENTION_DAYS', value: String(b.minioMirror.retentionDays) },
      ]),
    ]));

    // Never scheduled: the mirror in reverse, after the provisioning Job recreated the buckets (README).
    // MIRROR_REMOTE names the rclone remote the mirror is read from.
    cronJob(BACKUP_JOBS.minioRestore, 'restore', '0 0 1 1 *', DEADLINES.restore, pod([
      container('restore', 'rclone', 'minio-restore.sh', [
        ...rcloneCommon, ...b2Env,
        ...remote('MINIO', { provider: 'Minio', endpoint: props.minio.endpoint, region: 'us-east-1' }, minioRootUser, minioRootPassword),
        { name: 'BUCKETS', value: props.minio.buckets.join(' ') },
        { name: 'B2_PATH', value: minioPath },
        { name: 'MIRROR_REMOTE', value: 'b2' },
      ]),
    ]), { suspend: true });

    const fetch = (dump: string) => container('fetch', 'rclone', 'fetch.sh', [...rcloneCommon, ...b2Env, { name: 'B2_PATH', value: pgPath }, { name: 'DUMP', value: dump }]);
    // Never scheduled: `kubectl create job --from=cronjob/pg-restore` (README, "Backups").
    cronJob(BACKUP_JOBS.restore, 'restore', '0 0 1 1 *', DEADLINES.restore, pod(
      [container('restore', 'postgres', 'pg-restore.sh', [
        ...libpq(pg.superuser, pg.superuserSecret, 'postgres'),
        { name: 'TARGET_DATABASE', value: `${pg.database}_restore` },
        { name: 'TARGET_OWNER', value: pg.appUser },
        { name: 'REPLACE_TARGET', value: 'no' },
        { name: 'RESTORE_JOBS', value: '2' },
        { name: 'PGAPPNAME', value: BACKUP_JOBS.restore },
      ])],
      [fetch('latest')],
    ), { suspend: true, postgres: true });

    cronJob(BACKUP_JOBS.drill, 'drill', b.drill.cron, DEADLINES.drill, pod(
      [container('drill', 'postgres', 'drill.sh', [
        { name: 'HOME', value: BACKUP_PATHS.tmp },
        { name: 'SCRATCH_DIR', value: BACKUP_PATHS.scratch },
        { name: 'SCRIPTS_DIR', value: BACKUP_PATHS.scripts },
        { name: 'CHECKS_FILE', value: `${BACKUP_PATHS.scripts}/drill-checks.txt` },
        { name: 'EXPECTED_DATABASE', value: pg.database },
        { name: 'ROW_TOLERANCE_PERCENT', value: String(b.drill.rowTolerancePercent) },
        { name: 'MAX_DATA_AGE_SECONDS', value: String(parseDuration(b.drill.maxDataAge)) },
        { name: 'RESTORE_JOBS', value: '2' },
      ])],
      [fetch('latest')],
    ));
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
