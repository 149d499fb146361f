/**
 * Issue 31, the data of a docker-compose stack brought across with real programs: the synthesized
 * import-postgres and import-files CronJobs (prod) run the way their pods run (scripts and env from the
 * YAML, init container first; only hosts, ports, endpoints, paths and Secret values rewritten).
 * - Postgres: a source server of Debian's PostgreSQL (a plain initdb, as in a compose `db` service) whose
 *   data belongs to the compose-era role `smartmoney`, dumped the way the users dump it
 *   (`pg_dump -U smartmoney smartmoney | gzip`) and as `pg_dump -Fc`, uploaded with the README's command
 *   (aws s3 cp) to the backup bucket's imports/ prefix (an S3 server standing in for B2), loaded into the
 *   platform's Postgres (the synthesized config and init SQL) owned by the app role `app`.
 * - Files: an uploads/ folder (nested, unicode names, an empty file, a 20 MB file) synced with the README's
 *   command to imports/files/<bucket>/, copied by the Job into the real MinIO, twice.
 */
import { ChildProcess, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { IMPORT_JOBS } from '../lib/constructs/backup/imports';
import { BackupLab, CRYPT, rcloneS3, S3Endpoint, S3Server } from '../scripts/lab/backup-lab';
import { MC_BIN, MINIO_BIN, MinioServer, runProvisionJob, startMinio } from '../scripts/lab/minio-lab';
import { configMapsOf, PASSWORDS, PostgresLab } from '../scripts/lab/postgres-lab';
import { findProgram, freePort, ownForService, postgresBinDir, runAsService, serviceTempDir, startAsService, stop, waitFor } from '../scripts/lab/programs';
import { one, synthEnv } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

jest.setTimeout(600_000);

const bin = postgresBinDir();
const s = synthEnv('prod');
const objects = s.objects.map((o) => o.object);
const b2 = s.config.backup.b2;
const IMPORTS = `${b2.prefix}/${s.config.name}/imports`;
const cron = (name: string) => one(s, 'CronJob', name);

/** The compose-era schema and data, created by the role smartmoney (owner of everything). */
const SOURCE_DATA = `
CREATE TABLE users (id bigserial PRIMARY KEY, email text UNIQUE NOT NULL, name text, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO users (email, name, created_at)
  SELECT 'u' || i || '@example.com', CASE WHEN i % 7 = 0 THEN NULL ELSE 'Nutzer ' || i || ' ü€ "q" ' || E'\\nline\\ttab' END, '2024-01-01'::timestamptz + i * interval '1 hour'
  FROM generate_series(1, 3000) i;
CREATE TABLE transactions (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users, amount numeric(12,2), meta jsonb, receipt bytea);
INSERT INTO transactions (user_id, amount, meta, receipt)
  SELECT 1 + i % 3000, i * 0.37, jsonb_build_object('n', i, 'tags', jsonb_build_array('a', i % 3)), decode(md5(i::text), 'hex') FROM generate_series(1, 8000) i;
CREATE INDEX transactions_user ON transactions (user_id);
CREATE VIEW big_transactions AS SELECT * FROM transactions WHERE amount > 2000;
-- Data that looks like the statements the import drops must survive inside COPY.
CREATE TABLE notes (id int PRIMARY KEY, body text);
INSERT INTO notes VALUES (1, 'ALTER TABLE public.users OWNER TO smartmoney;'), (2, 'GRANT ALL ON TABLE x TO y;');
CREATE TABLE empty_table (id int);
CREATE SCHEMA reports;
CREATE TABLE reports.monthly (month date PRIMARY KEY, total numeric);
INSERT INTO reports.monthly SELECT d, 1 FROM generate_series('2024-01-01'::date, '2024-12-01', interval '1 month') d;
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
INSERT INTO alembic_version VALUES ('4f2e1a9c');
GRANT SELECT ON users TO reporting;
`;

/** A compose stack's Postgres: Debian's server, a plain initdb, the app's role owning its database. */
class SourceServer {
  readonly dir = serviceTempDir('compose-pg-');
  port = 0;
  private child?: ChildProcess;

  async start(): Promise<void> {
    const pw = path.join(this.dir, 'pw');
    fs.writeFileSync(pw, 'source-super\n');
    ownForService(this.dir);
    const init = runAsService(`${bin}/initdb`, ['-D', `${this.dir}/data`, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pw}`, '-E', 'UTF8']);
    if (init.status !== 0) throw new Error(init.stderr);
    this.port = await freePort();
    this.child = startAsService(`${bin}/postgres`, ['-D', `${this.dir}/data`, '-p', String(this.port), '-k', this.dir, '-c', 'listen_addresses=127.0.0.1'], `${this.dir}/log`);
    await waitFor('source postgres', () => runAsService(`${bin}/pg_isready`, ['-q', '-h', '127.0.0.1', '-p', String(this.port)]).status === 0 || this.child!.exitCode !== null);
  }

  psql(sql: string, user = 'postgres', password = 'source-super', db = 'postgres') {
    const run = runAsService(`${bin}/psql`, [`host=127.0.0.1 port=${this.port} dbname=${db} user=${user}`, '-v', 'ON_ERROR_STOP=1', '--no-psqlrc', '-qAt', '-c', sql], { env: { PGPASSWORD: password } });
    if (run.status !== 0) throw new Error(run.stderr);
    return run.stdout.trim();
  }

  /** A shell command with the compose user's libpq env, run in `cwd`. */
  sh(command: string, cwd: string) {
    return runAsService('/bin/sh', ['-c', command], { cwd, env: { PATH: `${bin}:/usr/bin:/bin`, PGHOST: '127.0.0.1', PGPORT: String(this.port), PGPASSWORD: 'smartmoney-pw' } });
  }

  async stop(): Promise<void> {
    await stop(this.child);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The app's relations in the target: tables, views, sequences and indexes, not the platform's (extension members, the pgbouncer schema). */
const APP_RELATIONS = `FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','v','S','i') AND n.nspname IN ('public', 'reports')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;

/** Row count of every table of a database (schema-qualified name → count). */
function rowCounts(query: (sql: string) => string): Record<string, number> {
  const tables = query("SELECT string_agg(format('%I.%I', schemaname, tablename), ' ' ORDER BY 1) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')").split(' ');
  return Object.fromEntries(tables.map((t) => [t, Number(query(`SELECT count(*) FROM ${t}`))]));
}

/** The README's upload: aws s3 with the B2 key (here the stand-in's), to the bucket's imports/ prefix. */
function awsS3(server: S3Endpoint, args: string[], cwd: string) {
  // cp and sync are idempotent: on a loaded machine the CLI's multipart upload of the 20 MB file once
  // failed with "upload failed: ... 'ETag'", so an attempt is repeated, at most three times.
  const errors: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const run = spawnSync('aws', ['--endpoint-url', server.endpoint, 's3', ...args], {
      cwd, encoding: 'utf8', timeout: 300_000,
      env: { PATH: process.env.PATH, HOME: cwd, AWS_ACCESS_KEY_ID: server.accessKey, AWS_SECRET_ACCESS_KEY: server.secretKey, AWS_DEFAULT_REGION: 'us-east-1', AWS_CA_BUNDLE: '' },
    });
    if (run.status === 0) return run;
    errors.push(run.stderr);
  }
  throw new Error(`aws s3 ${args.join(' ')} failed 3 times: ${errors.join(' | ')}`);
}

describeWithPrograms('GIVEN a compose stack\'s Postgres dump uploaded to imports/ WHEN import-postgres runs', {
  postgres: bin, pg_dump: bin ? findProgram('pg_dump', [bin]) : undefined, rclone: findProgram('rclone'), aws: findProgram('aws'), setpriv: findProgram('setpriv'),
}, () => {
  const source = new SourceServer();
  const target = new PostgresLab(configMapsOf(objects));
  const b2Server = new S3Server();
  const work = serviceTempDir('import-pg-');
  const secrets: Record<string, string> = { 'postgres-superuser/password': PASSWORDS.superuser, ...CRYPT.secrets };
  const lab = new BackupLab({ scripts: one(s, 'ConfigMap', 'backup-scripts').data, pgBin: bin ?? '', secrets });
  let counts: Record<string, number> = {};
  const app = (sql: string) => {
    const run = target.psql(`host=127.0.0.1 port=${target.primaryPort} dbname=${s.config.postgres.database} user=${s.config.postgres.appUser}`, sql, PASSWORDS.app);
    if (run.status !== 0) throw new Error(run.stderr);
    return run.stdout.trim();
  };
  const runImport = (extra: Record<string, string> = {}) => lab.runPod(cron(IMPORT_JOBS.postgres), {
    rewrite: { PGHOST: '127.0.0.1', PGPORT: String(target.primaryPort), RCLONE_CONFIG_B2RAW_ENDPOINT: b2Server.endpoint, ...extra },
    timeoutMs: 300_000,
  });

  beforeAll(async () => {
    await Promise.all([source.start(), target.startPrimary(), b2Server.start([b2.bucket])]);
    Object.assign(secrets, { [`${s.config.backup.credentials.secretName}/${s.config.backup.credentials.keyIdKey}`]: b2Server.accessKey, [`${s.config.backup.credentials.secretName}/${s.config.backup.credentials.applicationKeyKey}`]: b2Server.secretKey });
    const init = target.applyInit();
    if (init.status !== 0) throw new Error(init.stderr);
    source.psql("CREATE ROLE smartmoney LOGIN PASSWORD 'smartmoney-pw'; CREATE ROLE reporting;");
    source.psql('CREATE DATABASE smartmoney OWNER smartmoney');
    source.psql(SOURCE_DATA, 'smartmoney', 'smartmoney-pw', 'smartmoney');
    counts = rowCounts((sql) => source.psql(sql, 'smartmoney', 'smartmoney-pw', 'smartmoney'));
    fs.chmodSync(work, 0o777);
    // Exactly the users' backup command (docker-compose exec db pg_dump -U smartmoney smartmoney | gzip), and -Fc.
    for (const cmd of ['pg_dump -U smartmoney smartmoney | gzip > backup_20250101.sql.gz', 'pg_dump -Fc -U smartmoney smartmoney > smartmoney.dump']) {
      const dump = source.sh(cmd, work);
      if (dump.status !== 0) throw new Error(dump.stderr);
    }
  }, 300_000);
  afterAll(async () => {
    await Promise.all([source.stop(), target.stopAll(), b2Server.stop()]);
  }, 60_000);

  test('WHEN the plain SQL dump (owned by smartmoney, with a grant to a role the platform lacks) is imported THEN it loads with 0 errors, every table has its source row count and the app role owns every object', () => {
    awsS3(b2Server, ['cp', 'backup_20250101.sql.gz', `s3://${b2.bucket}/${IMPORTS}/postgres/`], work);
    const run = runImport();
    expect(run.output).toMatch(/import-postgres: import\/backup_20250101\.sql\.gz \(plain\) loaded into app as app: 6 tables, row counts equal to the dump, 0 errors/);
    expect(run.ok).toBe(true);
    expect(rowCounts(app)).toEqual(counts);
    expect(Object.keys(counts)).toHaveLength(6);
    expect(app(`SELECT string_agg(DISTINCT pg_get_userbyid(c.relowner), ',') ${APP_RELATIONS}`)).toBe('app');
    expect(app("SELECT body FROM notes WHERE id = 1")).toBe('ALTER TABLE public.users OWNER TO smartmoney;');
    expect(app("SELECT name FROM users WHERE id = 1")).toBe('Nutzer 1 ü€ "q" \nline\ttab');
    // The app role can write to what it owns (a sequence too).
    expect(app("INSERT INTO users (email) VALUES ('new@example.com') RETURNING id")).toBe('3001');
  });

  test('WHEN it runs again on the filled database THEN it refuses, naming REPLACE_TARGET, and changes nothing', () => {
    const before = rowCounts(app);
    const run = runImport();
    expect(run.ok).toBe(false);
    expect(run.output).toMatch(/app already holds \d+ tables, views or sequences; fix: import into an empty database .* REPLACE_TARGET=yes/);
    expect(rowCounts(app)).toEqual(before);
  });

  test('WHEN the pg_dump -Fc dump is imported with REPLACE_TARGET=yes THEN the database holds exactly the source again, owned by the app role', () => {
    awsS3(b2Server, ['cp', 'smartmoney.dump', `s3://${b2.bucket}/${IMPORTS}/postgres/`], work);
    const run = runImport({ REPLACE_TARGET: 'yes', DUMP: 'smartmoney.dump' });
    expect(run.output).toMatch(/\(custom\) loaded into app as app: 6 tables, row counts equal to the dump, 0 errors/);
    expect(run.ok).toBe(true);
    expect(rowCounts(app)).toEqual(counts);
    expect(app(`SELECT string_agg(DISTINCT pg_get_userbyid(c.relowner), ',') ${APP_RELATIONS}`)).toBe('app');
  });

  test('WHEN the dump is broken halfway THEN nothing is kept (one transaction) and the error is shown', () => {
    const broken = path.join(work, 'broken.sql');
    const text = spawnSync('sh', ['-c', 'gunzip -c backup_20250101.sql.gz'], { cwd: work, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 }).stdout;
    fs.writeFileSync(broken, text.replace('CREATE VIEW public.big_transactions', 'CREATE VIEW public.big_transactions_broken AS SELECT nope FROM nowhere;\nCREATE VIEW public.big_transactions'));
    awsS3(b2Server, ['cp', 'broken.sql', `s3://${b2.bucket}/${IMPORTS}/postgres/`], work);
    const before = rowCounts(app);
    const run = runImport({ REPLACE_TARGET: 'yes', DUMP: 'broken.sql' });
    expect(run.ok).toBe(false);
    expect(run.output).toMatch(/ERROR: .*relation "nowhere" does not exist/);
    expect(run.output).toMatch(/did not load \(nothing was kept: one transaction\)/);
    // REPLACE_TARGET's drop ran in the same transaction: the database is as it was.
    expect(rowCounts(app)).toEqual(before);
  });
});

describeWithPrograms('GIVEN a local uploads/ folder synced to imports/files/<bucket>/ WHEN import-files runs twice', {
  rclone: findProgram('rclone'), aws: findProgram('aws'), setpriv: findProgram('setpriv'), minio: MINIO_BIN, mc: MC_BIN,
}, () => {
  const servers = {} as { s3: MinioServer; minio: MinioServer };
  const secrets: Record<string, string> = { ...CRYPT.secrets, 'minio-backup/access-key': 'backup-reader-x', 'minio-backup/secret-key': crypto.randomBytes(16).toString('hex') };
  const lab = new BackupLab({ scripts: one(s, 'ConfigMap', 'backup-scripts').data, pgBin: '/usr/bin', secrets });
  const uploads = path.join(serviceTempDir('uploads-'), 'uploads');
  const bucket = 'documents';
  const files: Record<string, string> = {};
  const sha = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex');
  const write = (rel: string, data: Buffer) => {
    fs.mkdirSync(path.dirname(path.join(uploads, rel)), { recursive: true });
    fs.writeFileSync(path.join(uploads, rel), data);
    files[rel] = sha(data);
  };
  const runImport = () => lab.runPod(cron(IMPORT_JOBS.files), {
    rewrite: { RCLONE_CONFIG_B2RAW_ENDPOINT: servers.s3.endpoint, RCLONE_CONFIG_MINIO_ENDPOINT: servers.minio.endpoint },
    timeoutMs: 300_000,
  });
  /** Every object of the MinIO bucket, downloaded: key → sha256. */
  const inMinio = (): Record<string, string> => {
    const dir = serviceTempDir('from-minio-');
    const run = rcloneS3({ minio: servers.minio }, ['copy', `minio:${bucket}`, dir]);
    if (run.status !== 0) throw new Error(run.stderr);
    const out: Record<string, string> = {};
    const walk = (rel: string) => {
      for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
        const child = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(child);
        else out[child] = sha(fs.readFileSync(path.join(dir, child)));
      }
    };
    walk('');
    return out;
  };
  const modTimes = () => rcloneS3({ minio: servers.minio }, ['lsf', '-R', '--files-only', '--format', 'tp', `minio:${bucket}`]).stdout;

  beforeAll(async () => {
    const [s3, minio] = await Promise.all([startMinio(), startMinio()]);
    Object.assign(servers, { s3, minio });
    const credentials = s.config.backup.credentials;
    Object.assign(secrets, {
      [`${credentials.secretName}/${credentials.keyIdKey}`]: s3.accessKey, [`${credentials.secretName}/${credentials.applicationKeyKey}`]: s3.secretKey,
      'minio-root/root-user': minio.accessKey, 'minio-root/root-password': minio.secretKey,
    });
    const mb = s3.mc(['mb', `root/${b2.bucket}`]);
    if (mb.status !== 0) throw new Error(mb.stderr);
    const appKeys = Object.fromEntries(Object.keys(s.config.minio.appAccess).flatMap((a) => ['access-key', 'secret-key'].map((k) => [`minio-app-${a}/${k}`, `${a}-${k}-x`])));
    const provision = runProvisionJob(objects, minio, { ...secrets, ...appKeys }, serviceTempDir('provision-'));
    if (provision.status !== 0) throw new Error(provision.stderr + provision.stdout);
    write('avatars/2024/alice.png', crypto.randomBytes(4096));
    write('Rechnungen/März €/Rechnung Nr. 1 (Kopie).pdf', crypto.randomBytes(1500));
    write('日本語/ファイル.txt', Buffer.from('こんにちは\n'));
    write('empty.txt', Buffer.alloc(0));
    write('big/scan-20mb.bin', crypto.randomBytes(20 * 2 ** 20));
    write('a/b/c/d/deep.json', Buffer.from('{"deep": true}\n'));
    // The README's upload command.
    awsS3(s3, ['sync', './uploads', `s3://${b2.bucket}/${IMPORTS}/files/${bucket}/`], path.dirname(uploads));
  }, 300_000);
  afterAll(async () => {
    await Promise.all([servers.s3?.stop(), servers.minio?.stop()]);
  }, 60_000);

  test('THEN the bucket holds every file with its sha256, the empty one and the 20 MB one included', () => {
    const run = runImport();
    expect(run.output).toMatch(new RegExp(`import-files: ${bucket}: ${Object.keys(files).length} files from .*, checked`));
    expect(run.ok).toBe(true);
    expect(inMinio()).toEqual(files);
  });

  test('THEN a second run copies nothing, checks again and leaves every object as it was', () => {
    const before = modTimes();
    const run = runImport();
    expect(run.ok).toBe(true);
    expect(modTimes()).toBe(before);
    expect(inMinio()).toEqual(files);
  });

  test('WHEN a folder names no bucket of minio.buckets THEN it fails naming the fix', () => {
    const dir = serviceTempDir('stray-');
    fs.writeFileSync(path.join(dir, 'x.txt'), 'x');
    awsS3(servers.s3, ['cp', 'x.txt', `s3://${b2.bucket}/${IMPORTS}/files/not-a-bucket/x.txt`], dir);
    const run = runImport();
    expect(run.ok).toBe(false);
    expect(run.output).toMatch(/imports\/files\/not-a-bucket\/ names no bucket of minio.buckets .*fix:/);
  });
});
