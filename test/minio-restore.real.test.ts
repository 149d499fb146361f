/**
 * Restoring a wiped MinIO from the B2 mirror (README, "Restore MinIO from B2"), with the real programs
 * and the synthesized prod objects: the platform's MinIO and a second real MinIO standing in for B2 on
 * loopback, the minio-mirror and minio-restore CronJobs' scripts run as their pods run them
 * (scripts/lab/backup-lab.ts) with the real rclone, the provisioning Job with the real mc
 * (scripts/lab/minio-lab.ts). Rewritten: the S3 endpoints, container paths and Secrets only.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { BACKUP_JOBS } from '../lib/backup-names';
import { BackupLab, CRYPT, PodRun, rcloneS3 } from '../scripts/lab/backup-lab';
import { MC_BIN, MINIO_BIN, MinioServer, runProvisionJob, startMinio } from '../scripts/lab/minio-lab';
import { findProgram, serviceTempDir } from '../scripts/lab/programs';
import { one, synthEnv } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const s = synthEnv('prod');
const objects = s.objects.map((o) => o.object);
const cron = (name: string) => one(s, 'CronJob', name);
const b2 = s.config.backup.b2;
const buckets = s.config.minio.buckets;
const apps = Object.entries(s.config.minio.appAccess).map(([app, a]) => ({ app, buckets: a.buckets }));
const MIRROR_ROOT = `${b2.prefix}/${s.config.name}/minio`;

/** Objects of several shapes per bucket: nested keys, spaces and unicode, empty, 1 MiB, typed by extension. */
function fixture(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const b of buckets) {
    for (let i = 0; i < 20; i++) files.set(`${b.name}/folder-${i % 4}/object ${i} é.txt`, crypto.randomBytes(100 + i * 997));
    files.set(`${b.name}/empty.txt`, Buffer.alloc(0));
    files.set(`${b.name}/big.bin`, crypto.randomBytes(1 << 20));
    files.set(`${b.name}/photos/alps.jpg`, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), crypto.randomBytes(5000)]));
  }
  return files;
}

const sha256 = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex');

describeWithPrograms('GIVEN a provisioned MinIO with objects, mirrored to B2 by the synthesized minio-mirror CronJob', {
  minio: MINIO_BIN, mc: MC_BIN, rclone: findProgram('rclone'), setpriv: findProgram('setpriv'),
}, () => {
  const servers = {} as { minio: MinioServer; b2: MinioServer };
  const appKeys = Object.fromEntries(apps.flatMap((a) => [
    [`minio-app-${a.app}/access-key`, `${a.app}-${crypto.randomBytes(4).toString('hex')}`], [`minio-app-${a.app}/secret-key`, crypto.randomBytes(12).toString('hex')],
  ]));
  const secrets: Record<string, string> = {
    ...appKeys,
    'minio-backup/access-key': `reader-${crypto.randomBytes(4).toString('hex')}`,
    'minio-backup/secret-key': crypto.randomBytes(12).toString('hex'),
    ...CRYPT.secrets,
  };
  const lab = new BackupLab({ scripts: one(s, 'ConfigMap', 'backup-scripts').data, pgBin: '/usr/bin', secrets });
  const files = fixture();
  const rewrite = () => ({ RCLONE_CONFIG_B2RAW_ENDPOINT: servers.b2.endpoint, RCLONE_CONFIG_MINIO_ENDPOINT: servers.minio.endpoint });
  /** A (new) platform MinIO: its root keys become the minio-root Secret, then the provisioning Job runs. */
  const provisionedMinio = async (host?: string) => {
    const minio = await startMinio({ host });
    Object.assign(secrets, { 'minio-root/root-user': minio.accessKey, 'minio-root/root-password': minio.secretKey });
    const run = runProvisionJob(objects, minio, secrets, serviceTempDir('provision-'));
    if (run.status !== 0) throw new Error(run.stderr + run.stdout);
    servers.minio = minio;
    return minio;
  };
  /** key (bucket/path) → sha256, read back from a MinIO with the real rclone (downloads every object). */
  const checksums = (server: MinioServer) => {
    const result = new Map<string, string>();
    for (const b of buckets) {
      const run = rcloneS3({ m: server }, ['hashsum', 'sha256', '--download', `m:${b.name}`]);
      if (run.status !== 0) throw new Error(run.stderr);
      for (const line of run.stdout.split('\n').filter(Boolean)) {
        const [hash, ...name] = line.split('  ');
        result.set(`${b.name}/${name.join('  ')}`, hash);
      }
    }
    return new Map([...result].sort(([a], [b]) => a.localeCompare(b)));
  };
  const contentType = (server: MinioServer, key: string) => JSON.parse(server.mc(['stat', '--json', `root/${key}`]).stdout).metadata?.['Content-Type'];
  const expected = new Map([...files].map(([k, v]) => [k, sha256(v)] as [string, string]).sort(([a], [b]) => a.localeCompare(b)));
  let original: Map<string, string>;
  let mirror: PodRun;

  beforeAll(async () => {
    const [, b2Server] = await Promise.all([provisionedMinio(), startMinio()]);
    servers.b2 = b2Server;
    Object.assign(secrets, {
      [`${s.config.backup.credentials.secretName}/${s.config.backup.credentials.keyIdKey}`]: b2Server.accessKey,
      [`${s.config.backup.credentials.secretName}/${s.config.backup.credentials.applicationKeyKey}`]: b2Server.secretKey,
    });
    expect(b2Server.mc(['mb', `root/${b2.bucket}`]).status).toBe(0);
    const dir = serviceTempDir('fixture-');
    for (const [key, body] of files) {
      const file = path.join(dir, crypto.randomBytes(6).toString('hex') + path.extname(key));
      fs.writeFileSync(file, body);
      const put = servers.minio.mc(['cp', file, `root/${key}`]);
      if (put.status !== 0) throw new Error(put.stderr + put.stdout);
    }
    original = checksums(servers.minio);
    mirror = lab.runPod(cron(BACKUP_JOBS.minioMirror), { rewrite: rewrite() });
  }, 300_000);
  afterAll(async () => {
    await Promise.all([servers.minio?.stop(), servers.b2?.stop()]);
  }, 60_000);

  test('THEN the fixture is in MinIO and the mirror, run with the read-only backup key, succeeds', () => {
    expect(original).toEqual(expected);
    expect(mirror.output).toContain('mirror: synced');
    expect(mirror.ok).toBe(true);
  });

  test('GIVEN MinIO wiped but not re-provisioned WHEN minio-restore runs THEN it fails naming the missing bucket and the fix', async () => {
    const old = servers.minio;
    await old.stop();
    const bare = await startMinio({ host: old.host });
    servers.minio = bare;
    Object.assign(secrets, { 'minio-root/root-user': bare.accessKey, 'minio-root/root-password': bare.secretKey });
    const run = lab.runPod(cron(BACKUP_JOBS.minioRestore), { rewrite: rewrite() });
    expect(run.ok).toBe(false);
    expect(run.output).toContain(`minio-restore: bucket ${buckets[0].name} is missing in MinIO; fix: sync the minio app first`);
    await bare.stop();
  }, 120_000);

  describe('WHEN MinIO is wiped (a new, empty data dir), the provisioning Job runs, then minio-restore runs', () => {
    let restore: PodRun;
    let again: PodRun;
    beforeAll(async () => {
      await servers.minio.stop();
      const fresh = await provisionedMinio(servers.minio.host);
      expect(checksums(fresh).size).toBe(0);
      restore = lab.runPod(cron(BACKUP_JOBS.minioRestore), { rewrite: rewrite() });
      again = lab.runPod(cron(BACKUP_JOBS.minioRestore), { rewrite: rewrite() });
    }, 300_000);

    test('THEN it succeeds and reports each bucket\'s count, checked against the mirror', () => {
      expect(restore.ok).toBe(true);
      for (const b of buckets) {
        const count = [...files.keys()].filter((k) => k.startsWith(`${b.name}/`)).length;
        expect(restore.output).toContain(`minio-restore: ${b.name}: ${count} objects from b2:${b2.bucket}/${MIRROR_ROOT}/current/${b.name}, checked`);
      }
    });

    test(`THEN every object is back: the same ${files.size} keys with the same sha256 as before the wipe`, () => {
      const restored = checksums(servers.minio);
      expect(restored.size).toBe(files.size);
      expect(restored).toEqual(original);
    });

    test('THEN objects keep their Content-Type (browsers get the public images as images)', () => {
      for (const b of buckets) expect(contentType(servers.minio, `${b.name}/photos/alps.jpg`)).toBe('image/jpeg');
    });

    test('THEN the bucket settings are back from the provisioning Job: anonymous download on public buckets only, versioning where configured', async () => {
      for (const b of buckets) {
        const status = await new Promise<number>((resolve, reject) => {
          http.get(`${servers.minio.endpoint}/${b.name}/photos/alps.jpg`, { agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject);
        });
        const versioning = JSON.parse(servers.minio.mc(['version', 'info', '--json', `root/${b.name}`]).stdout).versioning?.status ?? '';
        expect({ bucket: b.name, status, versioning }).toEqual({ bucket: b.name, status: b.access === 'public-download' ? 200 : 403, versioning: b.versioning ? 'Enabled' : '' });
      }
    });

    test('THEN the apps\' unchanged keys work again on their own buckets', () => {
      for (const a of apps) {
        const app = { endpoint: servers.minio.endpoint, accessKey: appKeys[`minio-app-${a.app}/access-key`], secretKey: appKeys[`minio-app-${a.app}/secret-key`] };
        const run = rcloneS3({ app }, ['cat', `app:${a.buckets[0]}/photos/alps.jpg`]);
        expect({ app: a.app, status: run.status }).toEqual({ app: a.app, status: 0 });
      }
    });

    test('THEN a second run succeeds and changes nothing (idempotent)', () => {
      expect(again.ok).toBe(true);
      expect(checksums(servers.minio)).toEqual(original);
    });
  });
});
