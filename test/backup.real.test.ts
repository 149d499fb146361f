/**
 * The backup chart's scripts from the synthesized prod YAML, run against a real Postgres and an S3
 * server (test/helpers/backup-lab.ts): dump, upload, restore and the restore drill.
 */
import * as fs from 'fs';
import * as path from 'path';
import { BACKUP_JOBS } from '../lib/backup-names';
import { BackupLab } from '../scripts/lab/backup-lab';
import { PASSWORDS } from '../scripts/lab/postgres-lab';
import { b2, cron, daily, describeBackupLab, ROOT } from './helpers/backup-lab';

describeBackupLab('GIVEN the synthesized prod backup CronJobs WHEN their scripts run against a real Postgres and an S3 server', ({ pg, lab, rewrite, rclone, keys, download, put, sha256, fingerprint, completeDumps }) => {
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


  describe('the drill fails loudly on a bad newest dump', () => {
    const future = 'daily/app-daily-20991231T000000Z.dump';
    afterEach(() => {
      for (const suffix of ['', '.sha256']) rclone('deletefile', `enc:${b2.bucket}/${ROOT}/postgres/${future}${suffix}`);
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

});
