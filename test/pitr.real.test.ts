/**
 * Point-in-time recovery proven with the real programs: Debian's PostgreSQL running the synthesized
 * postgresql.conf (archive_command → pgbackrest archive-push), Debian's pgbackrest with the
 * pgbackrest.conf the construct renders (loopback paths, port and endpoint swapped in by the same
 * pure function), the synthesized base-backup, check and restore scripts, and an S3 server on
 * loopback behind TLS (the real MinIO when built, else s3rver: scripts/lab/s3-tls.ts).
 *
 * Rows written before the time T survive a restore to T and rows after it do not; a restore to
 * "latest" brings back every committed row; the repository holds only ciphertext.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pgbackrestConf, STANZA } from '../lib/constructs/postgres/pitr-scripts';
import { PITR_JOBS } from '../lib/constructs/postgres/pitr';
import { configMapsOf, PASSWORDS, PostgresLab } from '../scripts/lab/postgres-lab';
import { findProgram, ownForService, postgresBinDir, runAsService } from '../scripts/lab/programs';
import { TlsS3Server } from '../scripts/lab/s3-tls';
import { one, synthEnv } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const bin = postgresBinDir();
const s = synthEnv('prod');
const objects = s.objects.map((o) => o.object);
const scripts: Record<string, string> = one(s, 'ConfigMap', 'pgbackrest').data;
const CIPHER_PASS = 'lab cipher pass, kept outside the cluster';
const sidecar = one(s, 'StatefulSet', 'postgres-primary').spec.template.spec.containers.find((c: any) => c.name === 'pgbackrest');
const literal = (container: any, name: string): string => container.env.find((e: any) => e.name === name).value;

describeWithPrograms('GIVEN the synthesized prod Postgres with pgBackRest WHEN it archives to an S3 server over TLS', {
  postgres: bin, pgbackrest: findProgram('pgbackrest'), openssl: findProgram('openssl'), setpriv: findProgram('setpriv'), rclone: findProgram('rclone'),
}, () => {
  const s3 = new TlsS3Server();
  const bucket = s.config.backup.b2.bucket;
  const secrets = (s3Key: string, cipherPass: string) => ({ PGBACKREST_REPO1_S3_KEY: s3Key, PGBACKREST_REPO1_S3_KEY_SECRET: s3.secretKey, PGBACKREST_REPO1_CIPHER_PASS: cipherPass });
  let pg: PostgresLab;
  let confFile: string;
  /** A script of the pgbackrest ConfigMap, run as the postgres user with the container's env and the lab's paths. */
  const run = (script: string, env: Record<string, string>, cipherPass = CIPHER_PASS) =>
    runAsService('/bin/sh', ['-c', `exec sh "$0"`, path.join(pg.dir, 'pgbackrest', script)], {
      env: { PATH: `${bin}:/usr/bin:/bin`, PGBACKREST_CONFIG: confFile, STANZA, ...secrets(s3.accessKey, cipherPass), ...env },
      timeoutMs: 300_000,
    });
  const app = (sql: string) => pg.psql(`host=127.0.0.1 port=${pg.primaryPort} dbname=app user=postgres`, sql, PASSWORDS.superuser);
  const value = (sql: string) => {
    const r = app(sql);
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout.trim();
  };
  const backupEnv = () => ({
    EVERY_SECONDS: literal(sidecar, 'EVERY_SECONDS'), FULL_EVERY_SECONDS: literal(sidecar, 'FULL_EVERY_SECONDS'), ONCE: '1',
    PGHOST: path.join(pg.dir, 'primary', 'run'), PGPORT: String(pg.primaryPort), PGUSER: 'postgres', PGPASSWORD: PASSWORDS.superuser,
  });
  /** Stops the primary, runs the synthesized restore script to `target`, starts the primary and waits until it accepts writes. */
  const restoreTo = async (target: string) => {
    await pg.stopPrimary();
    const restore = run('restore.sh', { PGDATA: path.join(pg.dir, 'primary', 'data'), TARGET: target });
    if (restore.status !== 0) throw new Error(`restore to ${target} failed:\n${restore.stdout}${restore.stderr}`);
    await pg.restartPrimary();
    for (let i = 0; i < 300 && value('SELECT pg_is_in_recovery()') !== 'f'; i++) await new Promise((r) => setTimeout(r, 200));
    return restore;
  };
  /** Waits until the archiver has shipped the segment holding everything written so far. */
  const archiveNow = async () => {
    const segment = value('SELECT pg_walfile_name(pg_switch_wal())');
    for (let i = 0; i < 300; i++) {
      if (value(`SELECT coalesce(last_archived_wal >= '${segment}', false) FROM pg_stat_archiver`) === 't') return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`segment ${segment} was not archived: ${value('SELECT row_to_json(a) FROM pg_stat_archiver a')}`);
  };

  let firstBackup: ReturnType<typeof run>;
  let secondRound: ReturnType<typeof run>;
  let target = '';

  beforeAll(async () => {
    await s3.start([bucket]);
    pg = new PostgresLab(configMapsOf(objects), secrets(s3.accessKey, CIPHER_PASS));
    confFile = path.join(pg.dir, 'pgbackrest', 'pgbackrest.conf');
    // archive_command names the conf; restore_command (written by the restore) finds it by PGBACKREST_CONFIG, as in the pod.
    pg.serverEnv.PGBACKREST_CONFIG = confFile;
    fs.mkdirSync(path.dirname(confFile), { recursive: true });
    fs.mkdirSync(path.join(pg.dir, 'pgbackrest-tmp'), { recursive: true });
    for (const [name, text] of Object.entries(scripts)) if (name.endsWith('.sh')) fs.writeFileSync(path.join(pg.dir, 'pgbackrest', name), text, { mode: 0o555 });
    await pg.startPrimary();
    fs.writeFileSync(confFile, pgbackrestConf(s.config, {
      pgPath: path.join(pg.dir, 'primary', 'data'), pgPort: pg.primaryPort, socketPath: path.join(pg.dir, 'primary', 'run'),
      tmpPath: path.join(pg.dir, 'pgbackrest-tmp'), endpoint: s3.hostPort, verifyTls: false, // the test's self-signed certificate only
    }));
    ownForService(pg.dir);
    const init = pg.applyInit();
    if (init.status !== 0) throw new Error(init.stderr);

    firstBackup = run('base-backup.sh', backupEnv());
    secondRound = run('base-backup.sh', backupEnv());

    value("CREATE TABLE ledger (id int PRIMARY KEY, note text NOT NULL); INSERT INTO ledger SELECT i, 'booking-before-' || i FROM generate_series(1, 100) i");
    await archiveNow();
    await new Promise((r) => setTimeout(r, 1100));
    target = value("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'");
    await new Promise((r) => setTimeout(r, 1100));
    value("INSERT INTO ledger SELECT i, 'booking-after-' || i FROM generate_series(101, 150) i");
    await archiveNow();
  }, 600_000);
  afterAll(async () => {
    await pg?.stopAll();
    await s3.stop();
  }, 60_000);

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
    const dir = path.join(s3.dir, 'raw');
    const copied = s3.rclone(['copy', '--fast-list', `s3:${bucket}`, dir]);
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

  test('GIVEN a TARGET that is neither "latest" nor a time THEN the restore refuses before touching anything', () => {
    const bad = run('restore.sh', { PGDATA: path.join(pg.dir, 'primary', 'data'), TARGET: 'yesterday' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/pitr-restore: TARGET is "yesterday"; fix: set TARGET=latest or a time like/);
    expect(value('SELECT count(*) FROM ledger')).toBe('150');
  });

  test('WHEN the primary is restored to latest THEN every committed row is back', async () => {
    const restore = await restoreTo('latest');
    expect(restore.stdout).toMatch(/pitr-restore: restoring .* to latest/);
    expect(value('SELECT count(*), min(id), max(id) FROM ledger')).toBe('150|1|150');
  }, 300_000);

  test('WHEN the primary is restored to T THEN the rows before T are there and the rows after T are not, and it accepts writes', async () => {
    await restoreTo(target);
    expect(value("SELECT count(*) FILTER (WHERE note LIKE 'booking-before-%') || '|' || count(*) FILTER (WHERE note LIKE 'booking-after-%') FROM ledger")).toBe('100|0');
    value("INSERT INTO ledger VALUES (1000, 'after the restore')");
    expect(value('SELECT count(*) FROM ledger')).toBe('101');
  }, 300_000);
});
