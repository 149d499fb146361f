/**
 * The backup chart's scripts from the synthesized prod YAML, run against a real Postgres and an S3
 * server (test/helpers/backup-lab.ts): retention, failures that must leave no good-looking backup,
 * and the MinIO mirror.
 */
import * as fs from 'fs';
import * as path from 'path';
import { BACKUP_JOBS } from '../lib/backup-names';
import { BackupLab } from '../scripts/lab/backup-lab';
import { freePort, serviceTempDir } from '../scripts/lab/programs';
import { b2, bin, cron, daily, describeBackupLab, ROOT } from './helpers/backup-lab';

describeBackupLab('GIVEN the synthesized prod backup CronJobs WHEN retention, failures and the MinIO mirror run against a real Postgres and an S3 server', ({ lab, rewrite, rclone, keys, download, put }) => {
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
      for (const k of [...kept, otherSchedule]) for (const suffix of ['', '.sha256']) rclone('deletefile', `enc:${b2.bucket}/${ROOT}/postgres/${k}${suffix}`);
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
      const run = lab.runPod(daily, { rewrite: rewrite({ RCLONE_CONFIG_B2RAW_ACCESS_KEY_ID: 'wrong-key-id', RCLONE_CONFIG_B2RAW_SECRET_ACCESS_KEY: 'wrong-key' }) });
      expect(run.ok).toBe(false);
      expect(run.steps.map((st) => st.container)).toEqual(['dump', 'upload']);
      expect(run.output).toMatch(/SignatureDoesNotMatch|InvalidAccessKeyId|403/);
      expectNothingNew();
    });

    test('GIVEN an unreachable endpoint THEN the job fails and nothing is added', async () => {
      const closed = await freePort();
      const run = lab.runPod(daily, { rewrite: rewrite({ RCLONE_CONFIG_B2RAW_ENDPOINT: `http://127.0.0.1:${closed}` }) });
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


  describe('WHEN minio-mirror runs twice, with an object deleted and one replaced in between', () => {
    const minio = (bucket: string, key: string, body: string) => {
      const dir = serviceTempDir('minio-');
      fs.writeFileSync(path.join(dir, 'o'), body);
      return rclone('copyto', path.join(dir, 'o'), `minio:${bucket}/${key}`);
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
      rclone('deletefile', 'minio:documents/contracts/a.pdf');
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
