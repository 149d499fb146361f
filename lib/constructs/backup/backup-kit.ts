/**
 * What every backup Job is made of (lib/constructs/backup/backups.ts): the Secrets they read, the
 * rclone remotes (B2 through rclone crypt, MinIO) and libpq connections as env, the scripts
 * ConfigMap, and the pod and CronJob shapes. Each backup kind (dumps, mirror, restores, drill) is
 * built from these in backups.ts.
 */
import { Construct } from 'constructs';
import { Resources } from '../../config/fields';
import { Container, EnvVar, KubeConfigMap, KubeCronJob, PodSpec, Quantity, Volume, VolumeMount } from '../../k8s';
import { componentLabels } from '../../labels';
import { secretEnv, SecretKeyRef } from '../data-service';
import { restrictedContainerSecurity, restrictedPodSecurity } from '../pod-security';
import { containerResources } from '../resources';
import { minioRestoreScript } from './minio-restore';
import { importFetchScript, importFilesScript, importPostgresScript } from './imports';
import { drillVerifyScript, dumpStatsScript, newestSql, tableRowsSql } from './drill-stats';
import { BACKUP_PATHS, drillChecks, drillScript, fetchScript, mirrorScript, pgDumpScript, pgRestoreScript, uploadScript } from './scripts';

/** The `backup` section as the backup Jobs read it. */
export interface BackupSettings {
  readonly timeZone: string;
  readonly schedules: readonly { readonly name: string; readonly cron: string; readonly retentionDays: number }[];
  readonly b2: { readonly endpoint: string; readonly region?: string; readonly bucket: string; readonly prefix: string };
  readonly credentials: { readonly secretName: string; readonly keyIdKey: string; readonly applicationKeyKey: string };
  readonly encryption: { readonly secretName: string; readonly rclonePasswordKey: string; readonly rcloneSaltKey: string };
  readonly minioMirror: { readonly cron: string; readonly retentionDays: number };
  readonly drill: { readonly cron: string; readonly checks: Parameters<typeof drillChecks>[0]; readonly rowTolerancePercent: number; readonly maxDataAge: string };
  readonly scratchSize: string;
  readonly resources: { readonly postgres: Resources; readonly rclone: Resources };
}

/** What the kit needs besides the settings. */
export interface BackupKitProps {
  readonly backup: BackupSettings;
  readonly namespace: string;
  readonly clientImage: string;
  readonly rcloneImage: string;
  /** Where dumps connect (the primary's Service). */
  readonly postgres: { readonly host: string; readonly port: number };
  readonly minio: { readonly endpoint: string; readonly secretName: string; readonly rootSecretName: string };
}

/** Pods with this label (dumps, restore) may reach Postgres; the chart's NetworkPolicy selects it. */
export const POSTGRES_CLIENT_LABEL = { 'platform.io/postgres-client': 'true' };

const UID = 999; // the postgres user of the official image; rclone runs as any user
const SCRIPTS_CONFIGMAP = 'backup-scripts';
/** Runs that miss their start by more than this are skipped rather than piled up. */
const STARTING_DEADLINE_SECONDS = 900;

/** The <region> of https://s3.<region>.backblazeb2.com. */
export function b2Region(endpoint: string): string | undefined {
  return /^https:\/\/s3\.([a-z0-9-]+)\.backblazeb2\.com$/.exec(endpoint)?.[1];
}

/** rclone remotes from environment variables: no config file, nothing written but scratch. */
export const rcloneRemote = (name: string, settings: Record<string, string>, key: SecretKeyRef, secret: SecretKeyRef): EnvVar[] => [
  ...Object.entries({ type: 's3', force_path_style: 'true', no_check_bucket: 'true', ...settings }).map(([k, value]) => ({
    name: `RCLONE_CONFIG_${name}_${k.toUpperCase()}`, value,
  })),
  secretEnv(`RCLONE_CONFIG_${name}_ACCESS_KEY_ID`, key),
  secretEnv(`RCLONE_CONFIG_${name}_SECRET_ACCESS_KEY`, secret),
];

const RCLONE_COMMON: EnvVar[] = [
  { name: 'HOME', value: BACKUP_PATHS.tmp },
  { name: 'RCLONE_CONFIG', value: '/dev/null' }, // remotes come from RCLONE_CONFIG_<REMOTE>_*, no file
  { name: 'RCLONE_RETRIES', value: '3' },
  { name: 'RCLONE_LOW_LEVEL_RETRIES', value: '5' },
  { name: 'RCLONE_CONTIMEOUT', value: '15s' },
  { name: 'RCLONE_STATS_ONE_LINE', value: 'true' },
  { name: 'SCRATCH_DIR', value: BACKUP_PATHS.scratch },
];

export class BackupKit {
  /** Secret keys the pods read in the backup namespace (besides the Postgres roles'). */
  public readonly secrets: readonly SecretKeyRef[];
  /** rclone's settings common to every rclone container. */
  public readonly rcloneCommon = RCLONE_COMMON;
  /** The `b2` remote: rclone crypt over the bucket. */
  public readonly b2Env: EnvVar[];
  /** The `b2raw` remote: the bucket itself (the compose imports read the plain objects a team uploads under imports/). */
  public readonly b2RawEnv: EnvVar[];
  /** The `minio` remote with the read-only key. */
  public readonly minioEnv: EnvVar[];
  /** MinIO's root user and password (only the suspended minio-restore writes to MinIO). */
  public readonly minioRoot: { readonly user: SecretKeyRef; readonly password: SecretKeyRef };
  private readonly volumes: Volume[];
  private readonly mounts: VolumeMount[];

  constructor(private readonly scope: Construct, private readonly props: BackupKitProps) {
    const b = props.backup;
    const b2Key = { name: b.credentials.secretName, key: b.credentials.keyIdKey };
    const b2Secret = { name: b.credentials.secretName, key: b.credentials.applicationKeyKey };
    const minioKey = { name: props.minio.secretName, key: 'access-key' };
    const minioSecret = { name: props.minio.secretName, key: 'secret-key' };
    this.minioRoot = { user: { name: props.minio.rootSecretName, key: 'root-user' }, password: { name: props.minio.rootSecretName, key: 'root-password' } };
    const cryptPassword = { name: b.encryption.secretName, key: b.encryption.rclonePasswordKey };
    const cryptSalt = { name: b.encryption.secretName, key: b.encryption.rcloneSaltKey };
    this.secrets = [b2Key, b2Secret, minioKey, minioSecret, this.minioRoot.user, this.minioRoot.password, cryptPassword, cryptSalt];
    // "b2" is an rclone crypt remote over the bucket ("b2raw"): the scripts write through it, so B2
    // holds only ciphertext (NaCl secretbox) under the key of backup.encryption, kept outside the
    // cluster. Names stay readable (no filename encryption, ".bin" appended): retention and the
    // runbooks list keys by their timestamps. A restore without the key fails to decrypt.
    this.b2RawEnv = rcloneRemote('B2RAW', { provider: 'Other', endpoint: b.b2.endpoint, region: b.b2.region ?? b2Region(b.b2.endpoint) ?? 'us-east-1' }, b2Key, b2Secret);
    this.b2Env = [
      ...this.b2RawEnv,
      ...Object.entries({ type: 'crypt', remote: 'b2raw:', filename_encryption: 'off', directory_name_encryption: 'false' }).map(([k, value]) => ({
        name: `RCLONE_CONFIG_B2_${k.toUpperCase()}`, value,
      })),
      // rclone wants them obscured (`rclone obscure`), which is how the Secret holds them (README, "Backup encryption").
      secretEnv('RCLONE_CONFIG_B2_PASSWORD', cryptPassword),
      secretEnv('RCLONE_CONFIG_B2_PASSWORD2', cryptSalt),
    ];
    this.minioEnv = rcloneRemote('MINIO', { provider: 'Minio', endpoint: props.minio.endpoint, region: 'us-east-1' }, minioKey, minioSecret);

    const scripts = new KubeConfigMap(scope, 'Scripts', {
      metadata: { name: SCRIPTS_CONFIGMAP, namespace: props.namespace, labels: componentLabels('backup', 'scripts') },
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
        'import-fetch.sh': importFetchScript(),
        'import-postgres.sh': importPostgresScript(),
        'import-files.sh': importFilesScript(),
      },
    });
    this.mounts = [
      { name: 'scripts', mountPath: BACKUP_PATHS.scripts, readOnly: true },
      { name: 'scratch', mountPath: BACKUP_PATHS.scratch },
      { name: 'tmp', mountPath: BACKUP_PATHS.tmp },
    ];
    this.volumes = [
      { name: 'scripts', configMap: { name: scripts.name, defaultMode: 0o555 } },
      { name: 'scratch', emptyDir: { sizeLimit: Quantity.fromString(b.scratchSize) } },
      { name: 'tmp', emptyDir: { sizeLimit: Quantity.fromString('64Mi') } },
    ];
  }

  /** libpq's env for `user` on `database` (password from `secret`), and the scripts' dirs. */
  public libpq(user: string, secret: SecretKeyRef, database: string): EnvVar[] {
    return [
      { name: 'PGHOST', value: this.props.postgres.host },
      { name: 'PGPORT', value: String(this.props.postgres.port) },
      { name: 'PGDATABASE', value: database },
      { name: 'PGUSER', value: user },
      secretEnv('PGPASSWORD', secret),
      { name: 'PGCONNECT_TIMEOUT', value: '15' },
      { name: 'HOME', value: BACKUP_PATHS.tmp },
      { name: 'SCRATCH_DIR', value: BACKUP_PATHS.scratch },
      { name: 'SCRIPTS_DIR', value: BACKUP_PATHS.scripts },
    ];
  }

  /** A container running one of the scripts, with the postgres client or the rclone image. */
  public container(name: string, kind: 'postgres' | 'rclone', script: string, env: EnvVar[]): Container {
    return {
      name,
      image: kind === 'postgres' ? this.props.clientImage : this.props.rcloneImage,
      command: ['/bin/sh', `${BACKUP_PATHS.scripts}/${script}`],
      env,
      resources: containerResources(this.props.backup.resources[kind]),
      securityContext: restrictedContainerSecurity(),
      volumeMounts: this.mounts,
    };
  }

  /** Init containers run one after the other and stop the pod at the first failure. */
  public pod(containers: Container[], initContainers: Container[] = []): PodSpec {
    return {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: restrictedPodSecurity(UID),
      initContainers: initContainers.length ? initContainers : undefined,
      containers,
      volumes: this.volumes,
    };
  }

  public cronJob(name: string, component: string, schedule: string, deadline: number, spec: PodSpec, options: { suspend?: boolean; postgres?: boolean } = {}): void {
    const labels = componentLabels(name, component);
    const podLabels = { ...labels, ...(options.postgres ? POSTGRES_CLIENT_LABEL : {}) };
    new KubeCronJob(this.scope, name, {
      metadata: { name, namespace: this.props.namespace, labels },
      spec: {
        schedule,
        timeZone: this.props.backup.timeZone,
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
  }
}
