/**
 * The backup chart's scripts, taken FROM THE SYNTHESIZED prod CronJobs and ConfigMap, run the way
 * their pods run them (init containers first, the env of each container spec) with the real
 * pg_dump/pg_restore/initdb (Debian's PostgreSQL), the real rclone, and s3rver standing in for
 * Backblaze B2 and MinIO. Rewritten for the test, and nothing else: PGHOST/PGPORT → the loopback
 * primary, the S3 endpoints → s3rver, container paths → temp dirs, Secrets → test values.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { BACKUP_JOBS } from '../lib/backup-names';
import { BackupLab, rcloneS3, S3_KEY, S3Server } from '../scripts/lab/backup-lab';
import { configMapsOf, PASSWORDS, PostgresLab } from '../scripts/lab/postgres-lab';
import { findProgram, freePort, postgresBinDir, serviceTempDir } from '../scripts/lab/programs';
import { one, synthEnv } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const bin = postgresBinDir();
const s = synthEnv('prod');
const objects = s.objects.map((o) => o.object);
const cron = (name: string) => one(s, 'CronJob', name);
const b2 = s.config.backup.b2;
const ROOT = `${b2.prefix}/${s.config.name}`; // key prefix inside the bucket
const daily = cron(BACKUP_JOBS.dump('daily'));

/** Tables of several shapes (FKs, jsonb, bytea, NULLs, unicode, newlines) and Prisma's migration table. */
const FIXTURE = `
CREATE TABLE customers (id bigserial PRIMARY KEY, email text UNIQUE NOT NULL, name text, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO customers (email, name, created_at)
  SELECT 'c' || i || '@example.com', CASE WHEN i % 7 = 0 THEN NULL ELSE 'Kunde ' || i || ' ü€ "quoted" ' || E'\\nline' END, '2024-01-01'::timestamptz + i * interval '1 hour'
  FROM generate_series(1, 2000) i;
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers, total numeric(12,2), meta jsonb);
INSERT INTO orders (customer_id, total, meta) SELECT 1 + i % 2000, i * 1.25, jsonb_build_object('n', i, 'tags', jsonb_build_array('a', i % 3)) FROM generate_series(1, 5000) i;
CREATE TABLE attachments (id int PRIMARY KEY, order_id bigint REFERENCES orders, body bytea);
INSERT INTO attachments SELECT i, i, decode(md5(i::text) || md5((i * 7)::text), 'hex') FROM generate_series(1, 1500) i;
CREATE INDEX orders_customer ON orders (customer_id);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 1000;
CREATE TABLE "_prisma_migrations" (id varchar(36) PRIMARY KEY, migration_name varchar(255) NOT NULL, finished_at timestamptz);
INSERT INTO "_prisma_migrations" VALUES ('1', '20240101_init', now()), ('2', '20240201_orders', now()), ('3', '20240301_attachments', now());
`;

const pgAvailable = bin ? findProgram('pg_dump', [bin]) : undefined;

describeWithPrograms('GIVEN the synthesized prod backup CronJobs WHEN their scripts run against a real Postgres and an S3 server', {
  postgres: bin, pg_dump: pgAvailable, rclone: findProgram('rclone'), setpriv: findProgram('setpriv'),
}, () => {
  const pg = new PostgresLab(configMapsOf(objects));
  const s3 = new S3Server();
  const lab = new BackupLab({
    scripts: one(s, 'ConfigMap', 'backup-scripts').data,
    pgBin: bin!,
    secrets: {
      'postgres-backup/password': PASSWORDS.backup,
      'postgres-superuser/password': PASSWORDS.superuser,
      [`${s.config.backup.credentials.secretName}/${s.config.backup.credentials.keyIdKey}`]: S3_KEY,
      [`${s.config.backup.credentials.secretName}/${s.config.backup.credentials.applicationKeyKey}`]: S3_KEY,
      'minio-backup/access-key': S3_KEY,
      'minio-backup/secret-key': S3_KEY,
    },
  });
  /** Host names and endpoints, the only rewrites. */
  const rewrite = (extra: Record<string, string> = {}) => ({
    PGHOST: '127.0.0.1', PGPORT: String(pg.primaryPort), RCLONE_CONFIG_B2_ENDPOINT: s3.endpoint, RCLONE_CONFIG_MINIO_ENDPOINT: s3.endpoint, ...extra,
  });
  const rclone = (...args: string[]) => rcloneS3(s3.endpoint, args);
  const keys = (under: string): string[] => {
    const run = rclone('lsf', '-R', '--files-only', `s3:${b2.bucket}/${under}`);
    if (run.status !== 0) throw new Error(run.stderr);
    return run.stdout.split('\n').filter(Boolean).sort();
  };
  const download = (key: string): Buffer => {
    const dir = serviceTempDir('download-');
    const run = rclone('copyto', `s3:${b2.bucket}/${key}`, path.join(dir, 'object'));
    if (run.status !== 0) throw new Error(run.stderr);
    return fs.readFileSync(path.join(dir, 'object'));
  };
  const put = (key: string, body: Buffer | string) => {
    const dir = serviceTempDir('upload-');
    fs.writeFileSync(path.join(dir, 'object'), body);
    const run = rclone('copyto', path.join(dir, 'object'), `s3:${b2.bucket}/${key}`);
    if (run.status !== 0) throw new Error(run.stderr);
  };
  const sha256 = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex');
  /** Per table: row count and an md5 over all rows in a stable order. */
  const fingerprint = (port: number, db: string) => {
    const tables = pg.superuser(port, "SELECT string_agg(format('%I.%I', schemaname, tablename), ' ' ORDER BY 1) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')", db).stdout.trim().split(' ');
    return Object.fromEntries(tables.map((t) => [t, pg.superuser(port, `SELECT count(*) || ' ' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '-') FROM ${t} x`, db).stdout.trim()]));
  };
  const completeDumps = () => keys(`${ROOT}/postgres`).filter((k) => k.endsWith('.dump.sha256')).map((k) => k.slice(0, -'.sha256'.length));

  beforeAll(async () => {
    await s3.start([b2.bucket, ...s.config.minio.buckets.map((x) => x.name)]);
    await pg.startPrimary();
    const init = pg.applyInit();
    if (init.status !== 0) throw new Error(init.stderr);
    const fill = pg.psql(`host=127.0.0.1 port=${pg.primaryPort} dbname=app user=app`, FIXTURE, PASSWORDS.app);
    if (fill.status !== 0) throw new Error(fill.stderr);
  }, 180_000);
  afterAll(async () => {
    await pg.stopAll();
    await s3.stop();
  }, 60_000);

  test('GIVEN the synthesized init SQL THEN the backup role reads every table but may not write or create', () => {
    const backup = (sql: string) => pg.psql(`host=127.0.0.1 port=${pg.primaryPort} dbname=app user=backup`, sql, PASSWORDS.backup);
    expect(backup('SELECT count(*) FROM orders').stdout.trim()).toBe('5000');
    expect(backup("INSERT INTO customers (email) VALUES ('x@example.com')").stderr).toMatch(/permission denied/);
    expect(backup('CREATE TABLE nope (id int)').stderr).toMatch(/permission denied/);
  });

  describe('WHEN pg-backup-daily runs (dump init container, then upload)', () => {
    let run: ReturnType<BackupLab['runPod']>;
    let scratch: string;
    let before: string;
    let after: string;
    const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

    beforeAll(() => {
      scratch = lab.scratch();
      before = stamp();
      run = lab.runPod(daily, { scratch, rewrite: rewrite() });
      after = stamp();
    });

    test('THEN both containers succeed, the dump as the read-only backup role', () => {
      expect(run.output).toMatch(/pg-dump: app-daily-\d{8}T\d{6}Z\.dump, \d+ bytes, server 15, client 15/);
      expect(run.ok).toBe(true);
      expect(daily.spec.jobTemplate.spec.template.spec.initContainers[0].env).toContainEqual({ name: 'PGUSER', value: 'backup' });
    });

    test('THEN the object lands under <prefix>/<env>/postgres/daily/ with an ISO timestamp, with its sha256 next to it', () => {
      const dumps = completeDumps();
      expect(dumps).toHaveLength(1);
      const match = /^daily\/app-daily-(\d{8}T\d{6}Z)\.dump$/.exec(dumps[0]);
      expect(match).not.toBeNull();
      expect(match![1] >= before && match![1] <= after).toBe(true);
      expect(keys(`${ROOT}/postgres/.incoming`)).toEqual([]);
    });

    test('THEN the object has the checksum of the local dump, and the .sha256 object says so', () => {
      const key = `${ROOT}/postgres/${completeDumps()[0]}`;
      const object = download(key);
      const local = fs.readFileSync(path.join(scratch, path.basename(key)));
      expect(sha256(object)).toBe(sha256(local));
      expect(download(`${key}.sha256`).toString()).toBe(`${sha256(local)}  ${path.basename(key)}\n`);
      expect(object.subarray(0, 5).toString()).toBe('PGDMP'); // pg_dump's custom format
    });

    describe('AND pg-restore runs (fetch init container, then restore into app_restore as the superuser)', () => {
      let restore: ReturnType<BackupLab['runPod']>;
      beforeAll(() => {
        restore = lab.runPod(cron(BACKUP_JOBS.restore), { rewrite: rewrite() });
      });

      test('THEN it restores the newest dump', () => {
        expect(restore.output).toContain(`fetch: b2:${b2.bucket}/${ROOT}/postgres/${completeDumps()[0]}`);
        expect(restore.ok).toBe(true);
      });

      test('THEN every table has the same row count and content checksum as the source: nothing lost', () => {
        const source = fingerprint(pg.primaryPort, 'app');
        expect(Object.keys(source)).toEqual(expect.arrayContaining(['public.customers', 'public.orders', 'public.attachments', 'public._prisma_migrations']));
        expect(source['public.orders']).toMatch(/^5000 /);
        expect(fingerprint(pg.primaryPort, 'app_restore')).toEqual(source);
      });

      test('THEN the restored database and its tables belong to the app role, and the view and sequences work', () => {
        expect(pg.superuser(pg.primaryPort, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app_restore'").stdout.trim()).toBe('app');
        expect(pg.superuser(pg.primaryPort, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'", 'app_restore').stdout.trim()).toBe('app');
        expect(pg.superuser(pg.primaryPort, 'SELECT count(*) FROM big_orders', 'app_restore').stdout.trim()).toBe(pg.superuser(pg.primaryPort, 'SELECT count(*) FROM big_orders', 'app').stdout.trim());
        expect(pg.superuser(pg.primaryPort, "SELECT nextval('orders_id_seq')", 'app_restore').stdout.trim()).toBe('5001');
      });

      test('THEN a second restore into the same target is refused unless REPLACE_TARGET=yes', () => {
        const again = lab.runPod(cron(BACKUP_JOBS.restore), { rewrite: rewrite() });
        expect(again.ok).toBe(false);
        expect(again.output).toContain('database app_restore exists; fix:');
        const replace = lab.runPod(cron(BACKUP_JOBS.restore), { rewrite: rewrite({ REPLACE_TARGET: 'yes' }) });
        expect(replace.output).toContain('restored into app_restore');
        expect(replace.ok).toBe(true);
      });
    });

    test('AND pg-restore-drill runs (fetch, then a throwaway server) THEN it passes on the good dump', () => {
      const drill = lab.runPod(cron(BACKUP_JOBS.drill), { rewrite: rewrite() });
      expect(drill.output).toContain('drill: public._prisma_migrations has 3 rows (at least 1)');
      expect(drill.output).toContain('drill: passed, 1 checks');
      expect(drill.ok).toBe(true);
    });
  });

  describe('retention', () => {
    test('GIVEN dumps older and newer than 30 days WHEN pg-backup-daily runs THEN the old ones are deleted, newer ones and other schedules kept', () => {
      const day = 86_400_000;
      const key = (schedule: string, ageDays: number) => {
        const ts = new Date(Date.now() - ageDays * day).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
        return `${schedule}/app-${schedule}-${ts}.dump`;
      };
      const old = [key('daily', 31), key('daily', 400)];
      const kept = [key('daily', 29), key('daily', 1)];
      const otherSchedule = key('business-hours', 60); // 7-day retention, but only its own job applies it
      for (const k of [...old, ...kept, otherSchedule]) {
        put(`${ROOT}/postgres/${k}`, 'dump');
        put(`${ROOT}/postgres/${k}.sha256`, 'sum');
      }
      const run = lab.runPod(daily, { rewrite: rewrite() });
      expect(run.ok).toBe(true);
      expect(run.output).toContain('retention 30 days removed 4 objects');
      const all = keys(`${ROOT}/postgres`);
      for (const k of old) {
        expect(all).not.toContain(k);
        expect(all).not.toContain(`${k}.sha256`);
      }
      for (const k of [...kept, otherSchedule]) expect(all).toEqual(expect.arrayContaining([k, `${k}.sha256`]));
      // Clean up the fake objects so that "latest" is a real dump again.
      for (const k of [...kept, otherSchedule]) for (const suffix of ['', '.sha256']) rclone('deletefile', `s3:${b2.bucket}/${ROOT}/postgres/${k}${suffix}`);
    });
  });

  describe('failures leave no object that looks like a good backup', () => {
    let good: string[];
    beforeEach(() => {
      good = keys(`${ROOT}/postgres`);
    });
    const expectNothingNew = () => {
      expect(keys(`${ROOT}/postgres`)).toEqual(good);
    };

    test('GIVEN a wrong B2 application key THEN the job fails and nothing is added', () => {
      const run = lab.runPod(daily, { rewrite: rewrite({ RCLONE_CONFIG_B2_ACCESS_KEY_ID: 'wrong-key-id', RCLONE_CONFIG_B2_SECRET_ACCESS_KEY: 'wrong-key' }) });
      expect(run.ok).toBe(false);
      expect(run.steps.map((st) => st.container)).toEqual(['dump', 'upload']);
      expect(run.output).toMatch(/SignatureDoesNotMatch|InvalidAccessKeyId|403/);
      expectNothingNew();
    });

    test('GIVEN an unreachable endpoint THEN the job fails and nothing is added', async () => {
      const closed = await freePort();
      const run = lab.runPod(daily, { rewrite: rewrite({ RCLONE_CONFIG_B2_ENDPOINT: `http://127.0.0.1:${closed}` }) });
      expect(run.ok).toBe(false);
      expect(run.output).toMatch(/connection refused/);
      expectNothingNew();
    });

    test('GIVEN the scratch volume fills up mid-dump THEN pg_dump fails, no .dump is left, and the upload step refuses', () => {
      const scratch = lab.scratch();
      // 64 KiB file-size limit: pg_dump is killed (SIGXFSZ) part-way through writing the archive.
      const dump = lab.runPod(daily, { scratch, rewrite: rewrite(), only: ['dump'], wrap: { dump: 'ulimit -f 64;' } });
      expect(dump.ok).toBe(false);
      expect(fs.readdirSync(scratch).filter((f) => f.endsWith('.dump'))).toEqual([]);
      expect(fs.readdirSync(scratch).some((f) => f.endsWith('.partial'))).toBe(true);
      // A pod would not start the upload container; run it anyway to show it sends nothing.
      const upload = lab.runPod(daily, { scratch, rewrite: rewrite(), only: ['upload'] });
      expect(upload.ok).toBe(false);
      expect(upload.output).toContain('the dump step did not complete');
      expectNothingNew();
    });

    test('GIVEN a wrong database password THEN the dump fails before writing anything', () => {
      const run = lab.runPod(daily, { rewrite: rewrite({ PGPASSWORD: 'wrong' }) });
      expect(run.ok).toBe(false);
      expect(run.steps).toHaveLength(1);
      expect(run.output).toMatch(/password authentication failed for user "backup"/);
      expectNothingNew();
    });

    test('GIVEN a pg_dump of another major than the server THEN the dump refuses with the fix', () => {
      const shim = serviceTempDir('pg-dump-14-');
      fs.writeFileSync(path.join(shim, 'pg_dump'), `#!/bin/sh\nif [ "$1" = --version ]; then echo 'pg_dump (PostgreSQL) 14.11'; exit 0; fi\nexec ${bin}/pg_dump "$@"\n`, { mode: 0o755 });
      const run = lab.runPod(daily, { rewrite: rewrite(), pathPrefix: shim });
      expect(run.ok).toBe(false);
      expect(run.output).toContain('pg_dump is PostgreSQL 14 but the server runs 15; fix:');
      expectNothingNew();
    });
  });

  describe('the drill fails loudly on a bad newest dump', () => {
    const future = 'daily/app-daily-20991231T000000Z.dump';
    afterEach(() => {
      for (const suffix of ['', '.sha256']) rclone('deletefile', `s3:${b2.bucket}/${ROOT}/postgres/${future}${suffix}`);
    });
    const goodDump = () => download(`${ROOT}/postgres/${completeDumps().filter((k) => k !== future).pop()!}`);

    test('GIVEN a dump whose bytes no longer match its sha256 THEN DRILL FAILED', () => {
      const bytes = Buffer.from(goodDump());
      put(`${ROOT}/postgres/${future}.sha256`, `${sha256(bytes)}  ${path.basename(future)}\n`);
      bytes[bytes.length >> 1] ^= 0xff;
      put(`${ROOT}/postgres/${future}`, bytes);
      const drill = lab.runPod(cron(BACKUP_JOBS.drill), { rewrite: rewrite() });
      expect(drill.ok).toBe(false);
      expect(drill.output).toContain('does not match its sha256');
      expect(drill.output).toContain('DRILL FAILED');
    });

    test('GIVEN a truncated dump with a matching sha256 THEN pg_restore fails and DRILL FAILED', () => {
      const bytes = goodDump();
      const truncated = bytes.subarray(0, Math.floor(bytes.length * 0.6));
      put(`${ROOT}/postgres/${future}`, truncated);
      put(`${ROOT}/postgres/${future}.sha256`, `${sha256(truncated)}  ${path.basename(future)}\n`);
      const drill = lab.runPod(cron(BACKUP_JOBS.drill), { rewrite: rewrite() });
      expect(drill.ok).toBe(false);
      expect(drill.output).toContain('DRILL FAILED');
    });

    test('GIVEN a dump in which a checked table is empty THEN the check fails and DRILL FAILED', () => {
      pg.superuser(pg.primaryPort, 'CREATE DATABASE emptied');
      pg.superuser(pg.primaryPort, 'CREATE TABLE public._prisma_migrations (id text)', 'emptied');
      const scratch = lab.scratch();
      const dump = lab.runPod(daily, { scratch, rewrite: rewrite({ PGUSER: 'postgres', PGPASSWORD: PASSWORDS.superuser, PGDATABASE: 'emptied' }), only: ['dump'] });
      expect(dump.ok).toBe(true);
      const file = fs.readdirSync(scratch).find((f) => f.endsWith('.dump'))!;
      const bytes = fs.readFileSync(path.join(scratch, file));
      put(`${ROOT}/postgres/${future}`, bytes);
      put(`${ROOT}/postgres/${future}.sha256`, `${sha256(bytes)}  ${path.basename(future)}\n`);
      const drill = lab.runPod(cron(BACKUP_JOBS.drill), { rewrite: rewrite() });
      expect(drill.ok).toBe(false);
      expect(drill.output).toContain('drill: public._prisma_migrations has 0 rows, expected at least 1');
      expect(drill.output).toContain('DRILL FAILED: 1 of 1 checks failed');
    });
  });

  describe('WHEN minio-mirror runs twice, with an object deleted and one replaced in between', () => {
    const minio = (bucket: string, key: string, body: string) => {
      const dir = serviceTempDir('minio-');
      fs.writeFileSync(path.join(dir, 'o'), body);
      return rclone('copyto', path.join(dir, 'o'), `s3:${bucket}/${key}`);
    };
    const mirror = cron(BACKUP_JOBS.minioMirror);
    let first: ReturnType<BackupLab['runPod']>;
    let second: ReturnType<BackupLab['runPod']>;
    const oldRun = '20200101T040000Z';

    beforeAll(async () => {
      minio('documents', 'contracts/a.pdf', 'contract A');
      minio('documents', 'contracts/b.pdf', 'contract B');
      minio('tour-images', 'alps.jpg', 'jpeg bytes');
      put(`${ROOT}/minio/history/${oldRun}/documents/gone.pdf`, 'deleted long ago');
      first = lab.runPod(mirror, { rewrite: rewrite() });
      rclone('deletefile', 's3:documents/contracts/a.pdf');
      minio('tour-images', 'alps.jpg', 'new jpeg bytes, longer');
      await new Promise((r) => setTimeout(r, 1100)); // a new run timestamp
      second = lab.runPod(mirror, { rewrite: rewrite() });
    });

    test('THEN both runs succeed', () => {
      expect(first.ok).toBe(true);
      expect(second.ok).toBe(true);
    });

    test('THEN current/ mirrors every bucket as it is now', () => {
      expect(keys(`${ROOT}/minio/current`)).toEqual(['documents/contracts/b.pdf', 'tour-images/alps.jpg']);
      expect(download(`${ROOT}/minio/current/tour-images/alps.jpg`).toString()).toBe('new jpeg bytes, longer');
    });

    test('THEN the deleted and the replaced object are kept under history/<run>/', () => {
      const history = keys(`${ROOT}/minio/history`);
      expect(history.filter((k) => k.endsWith('contracts/a.pdf'))).toHaveLength(1);
      const replaced = history.find((k) => k.endsWith('tour-images/alps.jpg'))!;
      expect(download(`${ROOT}/minio/history/${replaced}`).toString()).toBe('jpeg bytes');
    });

    test('THEN history runs older than the 30-day retention are purged', () => {
      expect(keys(`${ROOT}/minio/history`).filter((k) => k.startsWith(oldRun))).toEqual([]);
      expect(first.output).toContain('retention 30 days purged 1 history runs');
    });
  });
});
