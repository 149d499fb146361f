import { Construct } from 'constructs';
import { ALERT_ACTIONS, AlertThresholds } from '../../config/alerts';
import { parseDuration } from '../../config/duration';
import { Resources } from '../../config/fields';
import { PostgresSettings } from './config';
import { Container, EnvVar, KubeConfigMap, KubeCronJob, PodSpec, Quantity, Volume, VolumeMount } from '../../k8s';
import { componentLabels } from '../../labels';
import { AlertGroup, configKey, pair } from '../../constructs/monitoring/alert-rules';
import { AllowFlows, anywhere, tcp } from '../../constructs/network-policy';
import { restrictedContainerSecurity, restrictedPodSecurity } from '../../constructs/pod-security';
import { containerResources } from '../../constructs/resources';
import { PATHS, ROLES } from './config-files';
import { archiveSettings, baseBackupScript, checkScript, pgbackrestConf, PITR_PATHS, restoreScript, s3Endpoint, STANZA } from './pitr-scripts';
import { IPostgresExtension, POSTGRES_UID, PostgresPodAdditions, PostgresPodShape } from './extension';
import { SecretKeyRef } from '../../constructs/data-service';

export interface PitrProps {
  readonly config: PostgresSettings;
  readonly namespace: string;
  /** An image carrying pgbackrest and python3 (timescale/timescaledb-ha: PG16 + Patroni + pgBackRest). */
  readonly image: string;
  /** The primary's data volume claim, which the suspended restore rewrites. @default data-postgres-0 (member 0 of the Patroni StatefulSet) */
  readonly primaryClaim?: string;
  /** UID of the data files (the restore writes them). @default POSTGRES_UID, the Postgres pods' user */
  readonly uid?: number;
  /** The sidecar's requests and limits (a backup compresses with 2 processes). @default 10m / 16Mi, limit 512Mi */
  readonly sidecarResources?: Resources;
}

/** Labels of the pitr Jobs (check, restore): their policy opens B2. */
const JOB_LABELS = { 'app.kubernetes.io/name': 'pitr' };
export const PITR_JOBS = { check: 'pitr-check', restore: 'pitr-restore' } as const;
const CONFIG_MAP = 'pgbackrest';
/** A base backup of a few GB takes minutes; the check allows this much on top of `every`. */
const BACKUP_GRACE_SECONDS = 2 * 3600;

/**
 * Point-in-time recovery with pgBackRest: every WAL segment archived to B2 (archive_command,
 * archive_timeout bounds the RPO), base backups, time-based retention, client-side encryption
 * (aes-256-cbc), an hourly repository check and a suspended restore to a time or to the latest WAL.
 *
 * Why pgBackRest (not WAL-G): Debian ships it (tests run the real one) and the maintained
 * timescaledb-ha image carries it, so no hand-rolled image; WAL-G's Go module is not reachable
 * from this project's build machines.
 *
 * Base backups run in a `pgbackrest` sidecar of every Postgres pod that backs up only while its
 * own server is the primary (`NOT pg_is_in_recovery()`), when the repository's newest backup is
 * older than `baseBackup.every`. Chosen over a CronJob talking to a `pgbackrest server` TLS
 * sidecar: no certificate authority and client certificates to run, no second way into the data
 * volume, and it follows the primary through a failover by itself (the schedule's state is the
 * repository). Its health is watched from outside by the pitr-check CronJob and the alerts.
 */
export class Pitr extends Construct implements IPostgresExtension {
  public readonly secrets: readonly SecretKeyRef[];
  private readonly env: EnvVar[];
  private readonly props: PitrProps;
  private bound = false;

  constructor(scope: Construct, id: string, props: PitrProps) {
    super(scope, id);
    this.props = props;
    const { config, namespace } = props;
    const b = config.backup;
    const secret = (name: string, ref: SecretKeyRef): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } });
    const keyId = { name: b.credentials.secretName, key: b.credentials.keyIdKey };
    const appKey = { name: b.credentials.secretName, key: b.credentials.applicationKeyKey };
    const cipher = { name: b.encryption.secretName, key: b.encryption.pgbackrestKey };
    this.secrets = [keyId, appKey, cipher];
    this.env = [
      secret('PGBACKREST_REPO1_S3_KEY', keyId),
      secret('PGBACKREST_REPO1_S3_KEY_SECRET', appKey),
      secret('PGBACKREST_REPO1_CIPHER_PASS', cipher),
    ];

    new KubeConfigMap(this, 'Config', {
      metadata: { name: CONFIG_MAP, namespace, labels: componentLabels('pgbackrest', 'config') },
      data: {
        'pgbackrest.conf': pgbackrestConf(config),
        'base-backup.sh': baseBackupScript(),
        'check.sh': checkScript(),
        'restore.sh': restoreScript(),
      },
    });

    // pgBackRest speaks HTTPS to B2 from the Jobs here and from the Postgres pods (bindPod).
    new AllowFlows(this, 'jobs-to-b2', { name: 'pitr-to-b2', namespace, podLabels: JOB_LABELS, egress: [{ peers: anywhere(), ports: tcp(this.b2Port()) }] });

    const uid = props.uid ?? POSTGRES_UID;
    const tmp: Volume = { name: 'pgbackrest-tmp', emptyDir: { sizeLimit: Quantity.fromString('256Mi') } };
    const configVolume: Volume = { name: 'pgbackrest-config', configMap: { name: CONFIG_MAP, defaultMode: 0o555 } };
    const jobPod = (script: string, env: EnvVar[], extra: { volumes?: Volume[]; mounts?: VolumeMount[] } = {}): PodSpec => ({
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: restrictedPodSecurity(uid),
      volumes: [configVolume, tmp, ...(extra.volumes ?? [])],
      containers: [{
        name: 'pgbackrest',
        image: props.image,
        command: ['/bin/sh', `${PITR_PATHS.configDir}/${script}`],
        env: [...this.env, ...this.commonEnv(), ...env],
        resources: containerResources(props.sidecarResources ?? SIDECAR_RESOURCES),
        securityContext: restrictedContainerSecurity(),
        volumeMounts: [...this.configMounts(), ...(extra.mounts ?? [])],
      }],
    });
    const cronJob = (name: string, schedule: string, spec: PodSpec, deadline: number, suspend?: boolean) => {
      const labels = componentLabels(name, 'pitr');
      new KubeCronJob(this, name, {
        metadata: { name, namespace, labels },
        spec: {
          schedule, timeZone: b.timeZone, suspend, concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 900,
          successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3,
          jobTemplate: { metadata: { labels }, spec: { backoffLimit: 0, activeDeadlineSeconds: deadline, template: { metadata: { labels: { ...labels, ...JOB_LABELS } }, spec } } },
        },
      });
    };
    const maxAge = parseDuration(b.pitr.baseBackup.every)! + BACKUP_GRACE_SECONDS;
    cronJob(PITR_JOBS.check, b.pitr.checkCron, jobPod('check.sh', [{ name: 'MAX_AGE_SECONDS', value: String(maxAge) }]), 600);
    // Never scheduled: the runbook (README, "Point-in-time recovery") stops Postgres, then
    // `kubectl create job --from=cronjob/pitr-restore`, with TARGET edited to a time or "latest".
    cronJob(PITR_JOBS.restore, '0 0 1 1 *', jobPod('restore.sh', [{ name: 'PGDATA', value: PATHS.pgdata }, { name: 'TARGET', value: 'latest' }], {
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: props.primaryClaim ?? 'data-postgres-0' } }],
      // Where the server mounts it, so PGDATA (= pg1-path) lies inside the volume, not on the read-only root.
      mounts: [{ name: 'data', mountPath: PATHS.dataMount }],
    }), 6 * 3600, true);
  }

  /** archive_mode/archive_command/archive_timeout, pgBackRest's secrets and config in the server, and the base-backup sidecar. */
  public bindPod(pod: PostgresPodShape): PostgresPodAdditions {
    const { config } = this.props;
    if (this.bound) throw new Error('Pitr is bound to one Postgres cluster; fix: create one Pitr per cluster');
    this.bound = true;
    new AllowFlows(this, 'postgres-to-b2', { name: 'postgres-to-b2', namespace: this.props.namespace, podLabels: pod.podLabels, egress: [{ peers: anywhere(), ports: tcp(this.b2Port()) }] });
    const shared = pod.mounts.filter((m) => m.name === 'data' || m.name === 'run');
    const seconds = (d: string) => String(parseDuration(d));
    const sidecar: Container = {
      name: 'pgbackrest',
      image: this.props.image,
      command: ['/bin/sh', `${PITR_PATHS.configDir}/base-backup.sh`],
      env: [
        ...this.env,
        ...this.commonEnv(),
        { name: 'EVERY_SECONDS', value: seconds(config.backup.pitr.baseBackup.every) },
        { name: 'FULL_EVERY_SECONDS', value: seconds(config.backup.pitr.baseBackup.fullEvery) },
        { name: 'POLL_SECONDS', value: '300' },
        { name: 'PGHOST', value: PATHS.socketDir },
        { name: 'PGPORT', value: String(pod.port) },
        { name: 'PGUSER', value: ROLES.superuser },
        { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: pod.superuserSecret.name, key: pod.superuserSecret.key } } },
      ],
      resources: containerResources(this.props.sidecarResources ?? SIDECAR_RESOURCES),
      securityContext: restrictedContainerSecurity(),
      // Ready once pgbackrest runs with its config: a failing backup must not take the server out of its Services.
      readinessProbe: { exec: { command: ['pgbackrest', 'version'] }, periodSeconds: 60, timeoutSeconds: 10 },
      volumeMounts: [...shared, ...this.configMounts()],
    };
    return {
      parameters: archiveSettings(config),
      // archive_command names the conf; the restore_command a restore writes finds it by PGBACKREST_CONFIG.
      env: [...this.env, this.commonEnv()[0]],
      volumes: [
        { name: 'pgbackrest-config', configMap: { name: CONFIG_MAP, defaultMode: 0o555 } },
        { name: 'pgbackrest-tmp', emptyDir: { sizeLimit: Quantity.fromString('256Mi') } },
      ],
      mounts: this.configMounts(),
      sidecars: [sidecar],
    };
  }

  /**
   * WAL archiving failing or lagging (pg_stat_archiver on the primary) and the base backups
   * older than their schedule (the pitr-check CronJob not succeeding).
   */
  public alertRules(t: AlertThresholds): AlertGroup[] {
    const { namespace } = this.props;
    const sel = `namespace="${namespace}"`;
    const onPrimary = `and on (namespace, pod) pg_replication_is_replica{${sel}} == 0`;
    const checkSel = `{${sel}, cronjob="${PITR_JOBS.check}"}`;
    const checkWindow = pitrCheckWindowSeconds(this.props.config);
    return [{
      area: 'pitr',
      rules: [
        {
          alert: 'PostgresWalArchivingFailing',
          severity: 'critical',
          expr: `increase(pg_stat_archiver_failed_count{${sel}}[10m]) > 0 and on (namespace, pod) increase(pg_stat_archiver_archived_count{${sel}}[10m]) == 0 ${onPrimary}`,
          for: '5m',
          summary: `{{ $labels.pod }} fails to archive WAL to B2`,
          description: 'archive_command failed for 15 minutes without one success: point-in-time recovery stops at the last archived segment and WAL piles up on the data volume. Read the postgres container log (pgbackrest archive-push) and check the B2 key and backup-encryption Secret.',
          action: 'investigate',
        },
        ...pair('PostgresWalArchiveLagging', (level) => ({
          expr:
            `pg_stat_archiver_last_archive_age{${sel}} > ${seconds(t.walArchiveAge[level])} ${onPrimary} ` +
            `and on (namespace, pod) sum by (namespace, pod) (increase(pg_stat_database_tup_inserted{${sel}}[${t.walArchiveAge[level]}]) + increase(pg_stat_database_tup_updated{${sel}}[${t.walArchiveAge[level]}]) + increase(pg_stat_database_tup_deleted{${sel}}[${t.walArchiveAge[level]}])) > 0`,
          summary: `{{ $labels.pod }} took writes but archived no WAL for ${t.walArchiveAge[level]}`,
          description: `Last WAL segment archived {{ $value | humanizeDuration }} ago while the database was written: the RPO of point-in-time recovery is that long. ${configKey('walArchiveAge')} (warning ${t.walArchiveAge.warning}, critical ${t.walArchiveAge.critical}).`,
          action: ALERT_ACTIONS.walArchiveAge,
        })),
        {
          alert: 'PitrBaseBackupTooOld',
          severity: 'critical',
          expr: `time() - (max by (namespace) (kube_cronjob_status_last_successful_time${checkSel}) or max by (namespace) (kube_cronjob_created${checkSel})) > ${checkWindow}`,
          summary: 'The newest pgBackRest base backup is older than its schedule, or the repository cannot be read',
          description: `${PITR_JOBS.check} has not succeeded for {{ $value | humanizeDuration }}: it fails when the newest base backup is older than backup.pitr.baseBackup.every plus ${BACKUP_GRACE_SECONDS / 3600} h. Read the logs of its last Job and of the pgbackrest container of the primary.`,
          action: 'investigate',
        },
      ],
    }];
  }

  private b2Port(): number {
    return s3Endpoint(this.props.config.backup.b2.endpoint).port ?? 443;
  }

  private commonEnv(): EnvVar[] {
    return [
      { name: 'PGBACKREST_CONFIG', value: `${PITR_PATHS.configDir}/pgbackrest.conf` },
      { name: 'STANZA', value: STANZA },
    ];
  }

  private configMounts(): VolumeMount[] {
    return [
      { name: 'pgbackrest-config', mountPath: PITR_PATHS.configDir, readOnly: true },
      { name: 'pgbackrest-tmp', mountPath: PITR_PATHS.tmp },
    ];
  }
}

// Idle between backups (a shell and sleep); a backup bursts towards the limit for minutes a day.
/** PitrBaseBackupTooOld fires when pitr-check has not succeeded for this long: `every`, the grace, and an hour of checks. */
export const pitrCheckWindowSeconds = (config: PostgresSettings): number => parseDuration(config.backup.pitr.baseBackup.every)! + BACKUP_GRACE_SECONDS + 3600;

const SIDECAR_RESOURCES: Resources = { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '512Mi' } };

const seconds = (d: string): string => String(parseDuration(d));
