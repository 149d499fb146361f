/**
 * Point-in-time recovery proven with the real programs at the shipped versions: PostgreSQL 16.6 (npm) running the
 * synthesized postgresql.conf (archive_command → pgbackrest archive-push) in the trixie root, trixie's pgBackRest
 * 2.55.1 (the image carries 2.54.x; no 2.54 build can be had here) with the
 * pgbackrest.conf the construct renders (loopback paths, port and endpoint swapped in by the same
 * pure function), the synthesized base-backup, check and restore scripts, and an S3 server on
 * loopback: the real MinIO behind TLS (scripts/lab/minio-lab.ts).
 *
 * Rows written before the time T survive a restore to T and rows after it do not; a restore to
 * "latest" brings back every committed row; the repository holds only ciphertext.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pgbackrestConf } from '../lib/services/postgres/pitr-scripts';
import { PITR_JOBS } from '../lib/services/postgres/pitr';
import { PitrLab } from '../scripts/lab/pitr-lab';
import { MC_BIN, MINIO_BIN } from '../scripts/lab/minio-lab';
import { findProgram } from '../scripts/lab/programs';
import { shippedPostgres } from '../scripts/lab/postgres-lab';
import { one, synthEnv } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const s = synthEnv('prod');
const scripts: Record<string, string> = one(s, 'ConfigMap', 'pgbackrest').data;

describeWithPrograms(`GIVEN the synthesized prod Postgres with pgBackRest WHEN it archives to an S3 server over TLS (MinIO)`, {
  minio: MINIO_BIN, mc: MC_BIN, ...shippedPostgres().required, openssl: findProgram('openssl'), rclone: findProgram('rclone'),
}, () => {
  const lab = new PitrLab(s.config, s.objects.map((o) => o.object));
  const bucket = s.config.backup.b2.bucket;
  const value = (sql: string) => lab.value(sql);
  const run = (script: string, env: Record<string, string>, cipherPass?: string) => lab.run(script, env, cipherPass);
  let firstBackup: ReturnType<PitrLab['run']>;
  let secondRound: ReturnType<PitrLab['run']>;
  let target = '';

  beforeAll(async () => {
    await lab.start();
    firstBackup = lab.baseBackupRound();
    secondRound = lab.baseBackupRound();
    value("CREATE TABLE ledger (id int PRIMARY KEY, note text NOT NULL); INSERT INTO ledger SELECT i, 'booking-before-' || i FROM generate_series(1, 100) i");
    await lab.archiveNow();
    await new Promise((r) => setTimeout(r, 1100));
    target = value("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'");
    await new Promise((r) => setTimeout(r, 1100));
    value("INSERT INTO ledger SELECT i, 'booking-after-' || i FROM generate_series(101, 150) i");
    await lab.archiveNow();
  }, 600_000);
  afterAll(() => lab.stop(), 60_000);

  test("THEN it runs PostgreSQL 16.6 (the image's) with pgBackRest 2.55.1 (one minor above the image's 2.54)", () => {
    expect(value('SHOW server_version')).toMatch(/^16\.6\b/);
    const version = lab.pg.run('pgbackrest', ['version']);
    expect(version.stdout.trim()).toBe('pgBackRest 2.55.1');
  });

  test('THEN the pgbackrest.conf that ships is the pure function of the config, and archive_command runs it', () => {
    expect(scripts['pgbackrest.conf']).toBe(pgbackrestConf(s.config));
    expect(scripts['pgbackrest.conf']).toMatch(/^repo1-cipher-type=aes-256-cbc$/m);
    expect(scripts['pgbackrest.conf']).toMatch(new RegExp(`^repo1-retention-full=${s.config.backup.schedules[0].retentionDays}$`, 'm'));
    expect(one(s, 'ConfigMap', 'postgres-config').data['postgresql.conf']).toMatch(/^archive_command = 'pgbackrest --config=\/etc\/pgbackrest\/pgbackrest.conf --stanza=postgres archive-push %p'$/m);
    expect(value('SHOW archive_timeout')).toBe('5min');
  });

  test('THEN the sidecar script creates the stanza and takes a full backup on the primary, and nothing while the newest is fresh', () => {
    expect(firstBackup.stdout).toMatch(/taking a full backup/);
    expect(firstBackup.stdout).toMatch(/full backup done/);
    expect(firstBackup.status).toBe(0);
    expect(secondRound.status).toBe(0);
    expect(secondRound.stdout).not.toMatch(/taking/);
  });

  test('THEN pitr-check passes on a fresh repository and fails, naming the age, when the newest backup is older than allowed', () => {
    expect(one(s, 'CronJob', PITR_JOBS.check).spec.schedule).toBe(s.config.backup.pitr.checkCron);
    const ok = run('check.sh', { MAX_AGE_SECONDS: '3600' });
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/pitr-check: 1 base backups, newest \d+ s old, WAL up to [0-9A-F]{24}/);
    const old = run('check.sh', { MAX_AGE_SECONDS: '0' });
    expect(old.status).not.toBe(0);
    expect(old.stderr).toMatch(/pitr-check: FAILED: the newest base backup is \d+ s old, more than 0 s; fix:/);
  });

  test('THEN every object in the bucket is ciphertext (OpenSSL-style salted AES, not a zstd frame), with no row text', () => {
    const dir = path.join(lab.pg.dir, 'raw');
    const copied = lab.s3.mc(['mirror', '--quiet', `root/${bucket}`, dir]);
    expect({ status: copied.status, stderr: copied.stderr }).toEqual({ status: 0, stderr: '' });
    const keys = (fs.readdirSync(dir, { recursive: true }) as string[]).filter((k) => fs.statSync(path.join(dir, k)).isFile());
    expect(keys.some((k) => /\/archive\/postgres\/.*\.zst$/.test(k))).toBe(true);
    expect(keys.some((k) => /\/backup\/postgres\/.*F\//.test(k))).toBe(true);
    for (const key of keys) {
      const body = fs.readFileSync(path.join(dir, key));
      // pgBackRest's aes-256-cbc files start like OpenSSL's: "Salted__" and the salt.
      expect({ key, head: body.subarray(0, 8).toString('latin1') }).toEqual({ key, head: 'Salted__' });
      expect(body.includes('booking-')).toBe(false);
    }
  });

  test('GIVEN another cipher pass THEN pgbackrest cannot read the repository', () => {
    const wrong = run('check.sh', { MAX_AGE_SECONDS: '3600' }, 'not the pass');
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toBe("pitr-check: FAILED: the repository's info files do not decrypt; fix: backup-encryption's pgbackrest-cipher-pass must be the pass the repository was created with\n");
  });

  test("THEN the restore Job writes where the server reads: its PGDATA and pg1-path, mapped through its mount of member 0's volume, are the server's data directory", () => {
    expect(lab.layout).toEqual({ server: lab.pgdata, restorePgdata: lab.pgdata, restorePg1Path: lab.pgdata });
  });

  test('GIVEN a TARGET that is neither "latest" nor a time THEN the restore refuses before touching anything', () => {
    const bad = run('restore.sh', { PGDATA: lab.layout.restorePgdata, TARGET: 'yesterday' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/pitr-restore: TARGET is "yesterday"; fix: set TARGET=latest or a time like/);
    expect(value('SELECT count(*) FROM ledger')).toBe('150');
  });

  test('WHEN the primary is restored to latest THEN every committed row is back', async () => {
    const { result: restore, marks } = await lab.restoreTo('latest');
    expect(restore.stdout).toMatch(/pitr-restore: restoring .* to latest/);
    // The restored cluster (and its recovery.signal) is in the directory the server starts on.
    expect(marks).toEqual(['PG_VERSION', 'recovery.signal']);
    expect(value('SELECT count(*), min(id), max(id) FROM ledger')).toBe('150|1|150');
  }, 300_000);

  test('WHEN the primary is restored to T THEN the rows before T are there and the rows after T are not, and it accepts writes', async () => {
    await lab.restoreTo(target);
    expect(value("SELECT count(*) FILTER (WHERE note LIKE 'booking-before-%') || '|' || count(*) FILTER (WHERE note LIKE 'booking-after-%') FROM ledger")).toBe('100|0');
    value("INSERT INTO ledger VALUES (1000, 'after the restore')");
    expect(value('SELECT count(*) FROM ledger')).toBe('101');
  }, 300_000);
});
