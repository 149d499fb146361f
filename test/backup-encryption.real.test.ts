/**
 * Encryption at rest in B2: the synthesized prod dump, restore and mirror pods write through the
 * rclone crypt remote, so the raw objects on the S3 server hold no pg_dump header and no row, the
 * restore works with the key and fails clearly with another one. (pgBackRest's WAL and base
 * backups: test/pitr.real.test.ts.)
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { BACKUP_JOBS } from '../lib/backup-names';
import { serviceTempDir } from '../scripts/lab/programs';
import { b2, cron, daily, describeBackupLab, ROOT } from './helpers/backup-lab';

describeBackupLab('GIVEN the synthesized prod backup CronJobs WHEN they write to the S3 server through the crypt remote', ({ pg, lab, rewrite, rclone, keys, download }) => {
  /** Every raw object below a key prefix, as the S3 server stores it (no crypt view). */
  const raw = (under: string): Record<string, Buffer> => {
    const listed = rclone('lsf', '-R', '--files-only', `s3:${b2.bucket}/${under}`);
    if (listed.status !== 0) throw new Error(listed.stderr);
    const dir = serviceTempDir('raw-');
    return Object.fromEntries(listed.stdout.split('\n').filter(Boolean).map((key, i) => {
      const file = path.join(dir, String(i));
      const got = rclone('copyto', `s3:${b2.bucket}/${under}/${key}`, file);
      if (got.status !== 0) throw new Error(got.stderr);
      return [key, fs.readFileSync(file)];
    }));
  };
  const plaintextRow = 'c1@example.com'; // a row of the fixture's customers table

  describe('WHEN pg-backup-daily runs', () => {
    let rawDumps: Record<string, Buffer>;
    beforeAll(() => {
      const run = lab.runPod(daily, { rewrite: rewrite() });
      if (!run.ok) throw new Error(run.output);
      rawDumps = raw(`${ROOT}/postgres/daily`);
    });

    test('THEN the stored objects are ciphertext: no PGDMP header, no row of the database, and only the crypt view reads them', () => {
      const dumps = Object.entries(rawDumps).filter(([k]) => k.endsWith('.dump.bin'));
      expect(dumps).toHaveLength(1);
      for (const body of Object.values(rawDumps)) {
        expect(body.subarray(0, 8).toString('latin1')).toBe('RCLONE\0\0'); // rclone crypt's file header
        expect(body.includes('PGDMP')).toBe(false);
        expect(body.includes(plaintextRow)).toBe(false);
      }
      // The same object through the key: a pg_dump archive.
      const key = keys(`${ROOT}/postgres/daily`).find((k) => k.endsWith('.dump'))!;
      expect(download(`${ROOT}/postgres/daily/${key}`).subarray(0, 5).toString()).toBe('PGDMP');
    });

    test('THEN pg-restore with the key restores it', () => {
      const run = lab.runPod(cron(BACKUP_JOBS.restore), { rewrite: rewrite({ TARGET_DATABASE: 'app_encrypted_restore', REPLACE_TARGET: 'yes' }) });
      expect(run.ok).toBe(true);
      expect(pg.superuser(pg.primaryPort, "SELECT count(*) FROM customers WHERE email = 'c1@example.com'", 'app_encrypted_restore').stdout.trim()).toBe('1');
    });

    test('GIVEN another key THEN pg-restore fails in fetch, naming the backup-encryption Secret, and restores nothing', () => {
      const other = (plain: string) => spawnSync('rclone', ['obscure', plain], { encoding: 'utf8' }).stdout.trim();
      const run = lab.runPod(cron(BACKUP_JOBS.restore), {
        rewrite: rewrite({ TARGET_DATABASE: 'app_wrong_key', RCLONE_CONFIG_B2_PASSWORD: other('not the key'), RCLONE_CONFIG_B2_PASSWORD2: other('not the salt') }),
      });
      expect(run.ok).toBe(false);
      expect(run.steps.map((st) => st.container)).toEqual(['fetch']);
      expect(run.output).toMatch(/fetch: could not download and decrypt .*fix: the backup-encryption Secret must hold the rclone-password and rclone-salt/);
      expect(pg.superuser(pg.primaryPort, "SELECT count(*) FROM pg_database WHERE datname = 'app_wrong_key'").stdout.trim()).toBe('0');
    });
  });

  describe('WHEN minio-mirror copies a bucket', () => {
    const secret = 'IBAN DE89 3704 0044 0532 0130 00, invoice of a user';
    beforeAll(() => {
      const dir = serviceTempDir('minio-');
      fs.writeFileSync(path.join(dir, 'o'), secret);
      const put = rclone('copyto', path.join(dir, 'o'), 'minio:documents/invoices/2026-01.txt');
      if (put.status !== 0) throw new Error(put.stderr);
      const run = lab.runPod(cron(BACKUP_JOBS.minioMirror), { rewrite: rewrite() });
      if (!run.ok) throw new Error(run.output);
    });

    test('THEN the mirrored object is ciphertext in B2 and the crypt view gives it back', () => {
      const stored = raw(`${ROOT}/minio/current/documents`);
      expect(Object.keys(stored)).toContain('invoices/2026-01.txt.bin');
      expect(stored['invoices/2026-01.txt.bin'].includes('IBAN')).toBe(false);
      expect(download(`${ROOT}/minio/current/documents/invoices/2026-01.txt`).toString()).toBe(secret);
    });
  });
});
