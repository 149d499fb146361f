/**
 * The backup chart's objects: CronJob names the alerts rely on, schedules, safety settings, Pod
 * Security, images derived from the Postgres image, Secrets by reference only. What the scripts
 * do is proven with the real programs in backup.real.test.ts.
 */
import { IMPORT_JOBS } from '../lib/constructs/backup/imports';
import { BACKUP_JOBS } from '../lib/backup-names';
import { IMAGES } from '../lib/config/versions';
import { b2Region } from '../lib/constructs/backup/backups';
import { configFor, ENVIRONMENTS, find, one, synth, synthEnv } from './helpers/platform';

const s = synthEnv('prod');
// The backup chart's CronJobs (point-in-time recovery's pitr-* belong to the postgres chart: test/pitr.test.ts).
const cronJobs = find(s, 'CronJob').filter((cj) => cj.metadata.namespace === s.config.namespaces.backup);
const podSpec = (cj: any) => cj.spec.jobTemplate.spec.template.spec;
const allContainers = (cj: any) => [...(podSpec(cj).initContainers ?? []), ...podSpec(cj).containers];
const envOf = (container: any) => Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

describe('GIVEN the prod backup chart', () => {
  test('THEN it writes exactly the CronJobs named in BACKUP_JOBS, in the backup namespace, into dist/prod/backup', () => {
    expect(cronJobs.map((c) => c.metadata.name).sort()).toEqual(
      [BACKUP_JOBS.dump('daily'), BACKUP_JOBS.dump('business-hours'), BACKUP_JOBS.serviceDump('glitchtip'), BACKUP_JOBS.minioMirror, BACKUP_JOBS.minioRestore, BACKUP_JOBS.restore, BACKUP_JOBS.drill, IMPORT_JOBS.postgres, IMPORT_JOBS.files].sort(),
    );
    for (const cj of cronJobs) expect(cj.metadata.namespace).toBe(s.config.namespaces.backup);
    expect(s.objects.filter((o) => o.object.kind === 'CronJob' && o.object.metadata.namespace === s.config.namespaces.backup).every((o) => o.chart === 'backup')).toBe(true);
    expect(BACKUP_JOBS.dump('daily')).toMatch(new RegExp(`^${BACKUP_JOBS.dumpPattern}$`));
  });

  test('THEN each dump runs on its configured schedule and time zone, and keeps its own retention', () => {
    for (const schedule of s.config.backup.schedules) {
      const cj = one(s, 'CronJob', BACKUP_JOBS.dump(schedule.name));
      expect(cj.spec.schedule).toBe(schedule.cron);
      expect(cj.spec.timeZone).toBe(s.config.backup.timeZone);
      const upload = envOf(podSpec(cj).containers[0]);
      expect(upload).toMatchObject({ SCHEDULE: schedule.name, RETENTION_DAYS: String(schedule.retentionDays) });
    }
    expect(one(s, 'CronJob', BACKUP_JOBS.minioMirror).spec.schedule).toBe('0 4 * * *');
    expect(one(s, 'CronJob', BACKUP_JOBS.drill).spec.schedule).toBe(s.config.backup.drill.cron);
  });

  test('THEN no two runs overlap, failures retry once, every Job has a deadline and bounded history', () => {
    for (const cj of cronJobs) {
      expect(cj.spec).toMatchObject({ concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3, startingDeadlineSeconds: 900 });
      expect(cj.spec.jobTemplate.spec.backoffLimit).toBe(1);
      expect(cj.spec.jobTemplate.spec.activeDeadlineSeconds).toBeGreaterThan(0);
      expect(podSpec(cj).restartPolicy).toBe('Never');
    }
    // Hourly dumps must end before the next one starts.
    expect(one(s, 'CronJob', BACKUP_JOBS.dump('business-hours')).spec.jobTemplate.spec.activeDeadlineSeconds).toBeLessThan(3600);
  });

  test('THEN only the restores (pg-restore, minio-restore) and the compose imports are suspended (a person starts them with kubectl create job --from)', () => {
    expect(cronJobs.filter((c) => c.spec.suspend).map((c) => c.metadata.name).sort()).toEqual([BACKUP_JOBS.minioRestore, BACKUP_JOBS.restore, IMPORT_JOBS.postgres, IMPORT_JOBS.files].sort());
  });

  test('THEN minio-restore reads the mirror\'s path through the remote named by MIRROR_REMOTE and writes into MinIO with the root key only', () => {
    const mirror = envOf(podSpec(one(s, 'CronJob', BACKUP_JOBS.minioMirror)).containers[0]);
    const restore = envOf(podSpec(one(s, 'CronJob', BACKUP_JOBS.minioRestore)).containers[0]);
    expect(restore.MIRROR_REMOTE).toBe('b2');
    expect([restore.B2_PATH, restore.BUCKETS, restore.RCLONE_CONFIG_MINIO_ENDPOINT]).toEqual([mirror.B2_PATH, mirror.BUCKETS, mirror.RCLONE_CONFIG_MINIO_ENDPOINT]);
    expect(restore.RCLONE_CONFIG_MINIO_ACCESS_KEY_ID).toEqual({ secretKeyRef: { name: 'minio-root', key: 'root-user' } });
    expect(restore.RCLONE_CONFIG_MINIO_SECRET_ACCESS_KEY).toEqual({ secretKeyRef: { name: 'minio-root', key: 'root-password' } });
    const rootUsers = cronJobs.filter((cj) => allContainers(cj).some((c: any) => c.env.some((e: any) => e.valueFrom?.secretKeyRef?.name === 'minio-root')));
    // Writing into MinIO: the restore and the compose file import only.
    expect(rootUsers.map((cj) => cj.metadata.name).sort()).toEqual([BACKUP_JOBS.minioRestore, IMPORT_JOBS.files].sort());
  });

  test('THEN pg_dump and pg_restore run the Postgres server image itself (same major), the uploads the pinned rclone', () => {
    for (const cj of cronJobs) {
      for (const c of allContainers(cj)) {
        const usesPostgres = c.command[1].match(/pg-dump|pg-restore|drill|import-postgres/);
        expect(c.image).toBe(usesPostgres ? IMAGES.postgresClient : IMAGES.rclone);
      }
    }
  });

  test('GIVEN images.postgresClient is overridden THEN the backup client follows it without a second setting', () => {
    const other = synth(configFor('prod', { images: { postgresClient: 'postgres:16.4-bookworm' } }));
    const dump = podSpec(one(other, 'CronJob', BACKUP_JOBS.dump('daily'))).initContainers[0];
    expect(dump.image).toBe('postgres:16.4-bookworm');
  });

  test('THEN every pod is Pod Security restricted, with a read-only root, scratch on emptyDirs, requests and a memory limit', () => {
    for (const cj of cronJobs) {
      const spec = podSpec(cj);
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(spec.volumes.find((v: any) => v.name === 'scratch').emptyDir.sizeLimit).toBe(s.config.backup.scratchSize);
      for (const c of allContainers(cj)) {
        expect(c.securityContext).toEqual({
          allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(c.resources.requests.cpu).toBeDefined();
        expect(c.resources.requests.memory).toBeDefined();
        expect(c.resources.limits.memory).toBeDefined();
      }
    }
  });

  test('THEN credentials come only from Secrets: the read-only backup role, the B2 key, the MinIO read-only key', () => {
    const dump = envOf(podSpec(one(s, 'CronJob', BACKUP_JOBS.dump('daily'))).initContainers[0]);
    expect(dump.PGUSER).toBe('backup');
    expect(dump.PGPASSWORD).toEqual({ secretKeyRef: { name: 'postgres-backup', key: 'password' } });
    const mirror = envOf(podSpec(one(s, 'CronJob', BACKUP_JOBS.minioMirror)).containers[0]);
    expect(mirror.RCLONE_CONFIG_B2RAW_ACCESS_KEY_ID).toEqual({ secretKeyRef: { name: 'b2-backup', key: 'key-id' } });
    expect(mirror.RCLONE_CONFIG_B2RAW_SECRET_ACCESS_KEY).toEqual({ secretKeyRef: { name: 'b2-backup', key: 'application-key' } });
    expect(mirror.RCLONE_CONFIG_B2_PASSWORD).toEqual({ secretKeyRef: { name: 'backup-encryption', key: 'rclone-password' } });
    expect(mirror.RCLONE_CONFIG_B2_PASSWORD2).toEqual({ secretKeyRef: { name: 'backup-encryption', key: 'rclone-salt' } });
    expect(mirror.RCLONE_CONFIG_MINIO_ACCESS_KEY_ID).toEqual({ secretKeyRef: { name: 'minio-backup', key: 'access-key' } });
    for (const cj of cronJobs) {
      for (const c of allContainers(cj)) {
        for (const e of c.env) if (/PASSWORD|SECRET|ACCESS_KEY/.test(e.name)) expect(e.valueFrom?.secretKeyRef).toBeDefined();
      }
    }
  });

  test('THEN every Secret the backup pods read is declared for the backup namespace', () => {
    const declared = s.platform.declaredSecrets.filter((d) => d.namespace === s.config.namespaces.backup).map((d) => `${d.name}/${d.key}`);
    const used = cronJobs.flatMap((cj) => allContainers(cj).flatMap((c: any) => c.env.filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`)));
    expect([...new Set(used)].sort()).toEqual([...new Set(declared)].sort());
    const data = s.platform.declaredSecrets.filter((d) => d.namespace === s.config.namespaces.data).map((d) => `${d.name}/${d.key}`);
    expect(data).toEqual(expect.arrayContaining(['postgres-backup/password', 'minio-backup/access-key', 'minio-backup/secret-key']));
  });

  test('THEN uploads go to the regional B2 endpoint (bucket in the path) below <prefix>/<environment>/', () => {
    const upload = envOf(podSpec(one(s, 'CronJob', BACKUP_JOBS.dump('daily'))).containers[0]);
    expect(upload).toMatchObject({
      RCLONE_CONFIG_B2RAW_TYPE: 's3',
      RCLONE_CONFIG_B2RAW_ENDPOINT: 'https://s3.eu-central-003.backblazeb2.com',
      RCLONE_CONFIG_B2RAW_REGION: 'eu-central-003',
      RCLONE_CONFIG_B2RAW_FORCE_PATH_STYLE: 'true',
      // The scripts write through "b2", a crypt remote over the bucket.
      RCLONE_CONFIG_B2_TYPE: 'crypt',
      RCLONE_CONFIG_B2_REMOTE: 'b2raw:',
      B2_PATH: 'example-platform-backups/backups/prod/postgres',
    });
    expect(b2Region('https://s3.us-west-004.backblazeb2.com')).toBe('us-west-004');
    expect(b2Region('https://minio.example.com')).toBeUndefined();
  });

  test('THEN the environments back up to separate prefixes, so no retention or restore mixes them', () => {
    const paths = ENVIRONMENTS.map((env) => envOf(podSpec(one(synthEnv(env), 'CronJob', BACKUP_JOBS.dump('daily'))).containers[0]).B2_PATH);
    expect(new Set(paths).size).toBe(ENVIRONMENTS.length);
  });

  test('THEN the drill checks come from config and the mirror copies every MinIO bucket by default', () => {
    expect(one(s, 'ConfigMap', 'backup-scripts').data['drill-checks.txt']).toContain('public._prisma_migrations 1\n');
    expect(envOf(podSpec(one(s, 'CronJob', BACKUP_JOBS.minioMirror)).containers[0]).BUCKETS).toBe('tour-images documents');
  });

  test('GIVEN a local S3 server marked local THEN plain http is accepted (and only then)', () => {
    const local = configFor('dev', { backup: { b2: { endpoint: 'http://minio.data.svc.cluster.local:9000', bucket: 'backups', prefix: 'lab', local: true }, pitr: { enabled: false } } });
    const mirror = envOf(podSpec(one(synth(local), 'CronJob', BACKUP_JOBS.minioMirror)).containers[0]);
    expect(mirror.RCLONE_CONFIG_B2RAW_ENDPOINT).toBe('http://minio.data.svc.cluster.local:9000');
    expect(mirror.RCLONE_CONFIG_B2RAW_REGION).toBe('us-east-1');
    expect(() => configFor('dev', { backup: { b2: { endpoint: 'http://minio.data.svc.cluster.local:9000', bucket: 'backups', prefix: 'lab' } } })).toThrow(/backup\.b2\.endpoint .* is not https/);
    // pgBackRest has no plain-http mode: PITR on a local endpoint is refused, naming both keys.
    expect(() => configFor('prod', { backup: { b2: { endpoint: 'http://minio.data.svc.cluster.local:9000', bucket: 'backups', prefix: 'lab', local: true } } })).toThrow(/backup\.pitr\.enabled = true: is true but backup\.b2\.endpoint http:\/\/minio\S+ is not https.*fix:/);
  });
});
