/**
 * The backup lab shared by the backup suites: the backup chart's scripts, taken FROM THE SYNTHESIZED
 * prod CronJobs and ConfigMap, run the way their pods run them (init containers first, the env of
 * each container spec) with the real pg_dump/pg_restore/initdb (Debian's PostgreSQL), the real
 * rclone, and two real MinIO servers (scripts/lab/minio-lab.ts): one standing in for Backblaze B2,
 * one the platform's MinIO, provisioned by the synthesized provisioning Job (buckets, the backup
 * reader's read-only key the mirror uses). Rewritten for the test, and nothing else: PGHOST/PGPORT →
 * the loopback primary, the S3 endpoints → the loopback servers, container paths → temp dirs,
 * Secrets → test values. Each suite file gets its own primary and S3 servers, so the files run in
 * parallel jest workers.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { BACKUP_JOBS } from '../../lib/backup-names';
import { BackupLab, CRYPT, rcloneS3 } from '../../scripts/lab/backup-lab';
import { MC_BIN, MINIO_BIN, MinioServer, runProvisionJob, startMinio } from '../../scripts/lab/minio-lab';
import { configMapsOf, PASSWORDS, PostgresLab } from '../../scripts/lab/postgres-lab';
import { findProgram, postgresBinDir, serviceTempDir } from '../../scripts/lab/programs';
import { one, synthEnv } from './platform';
import { describeWithPrograms } from './real-programs';


export const bin = postgresBinDir();
export const s = synthEnv('prod');
const objects = s.objects.map((o) => o.object);
export const cron = (name: string) => one(s, 'CronJob', name);
export const b2 = s.config.backup.b2;
export const ROOT = `${b2.prefix}/${s.config.name}`; // key prefix inside the bucket
export const daily = cron(BACKUP_JOBS.dump('daily'));

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

export type BackupLabContext = ReturnType<typeof backupLab>;

/**
 * A suite over a fresh Postgres primary (initialized by the synthesized init SQL, filled with
 * FIXTURE) and a fresh S3 server, started concurrently in beforeAll and stopped in afterAll.
 */
export function describeBackupLab(title: string, body: (ctx: BackupLabContext) => void): void {
  describeWithPrograms(title, {
    postgres: bin, pg_dump: pgAvailable, rclone: findProgram('rclone'), setpriv: findProgram('setpriv'), minio: MINIO_BIN, mc: MC_BIN,
  }, () => body(backupLab()));
}

function backupLab() {
  const pg = new PostgresLab(configMapsOf(objects));
  /** The servers, once started: `s3` stands in for B2, `minio` is the platform's MinIO. */
  const servers = {} as { s3: MinioServer; minio: MinioServer };
  // Filled with the servers' keys when they start (beforeAll).
  const secrets: Record<string, string> = {
    'postgres-backup/password': PASSWORDS.backup,
    'postgres-superuser/password': PASSWORDS.superuser,
    'minio-backup/access-key': `backup-reader-${crypto.randomBytes(4).toString('hex')}`,
    'minio-backup/secret-key': crypto.randomBytes(16).toString('hex'),
    ...CRYPT.secrets,
  };
  const lab = new BackupLab({ scripts: one(s, 'ConfigMap', 'backup-scripts').data, pgBin: bin!, secrets });
  /** Host names and endpoints, the only rewrites. */
  const rewrite = (extra: Record<string, string> = {}) => ({
    PGHOST: '127.0.0.1', PGPORT: String(pg.primaryPort), RCLONE_CONFIG_B2RAW_ENDPOINT: servers.s3.endpoint, RCLONE_CONFIG_MINIO_ENDPOINT: servers.minio.endpoint, ...extra,
  });
  /** rclone with the remotes "s3" (the B2 stand-in) and "minio". */
  const rclone = (...args: string[]) => rcloneS3(servers, args);
  const keys = (under: string): string[] => {
    const run = rclone('lsf', '-R', '--files-only', `enc:${b2.bucket}/${under}`);
    if (run.status !== 0) throw new Error(run.stderr);
    return run.stdout.split('\n').filter(Boolean).sort();
  };
  const download = (key: string): Buffer => {
    const dir = serviceTempDir('download-');
    const run = rclone('copyto', `enc:${b2.bucket}/${key}`, path.join(dir, 'object'));
    if (run.status !== 0) throw new Error(run.stderr);
    return fs.readFileSync(path.join(dir, 'object'));
  };
  const put = (key: string, body: Buffer | string) => {
    const dir = serviceTempDir('upload-');
    fs.writeFileSync(path.join(dir, 'object'), body);
    const run = rclone('copyto', path.join(dir, 'object'), `enc:${b2.bucket}/${key}`);
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
    // Independent: start both at once.
    const [s3, minio] = await Promise.all([startMinio(), startMinio(), pg.startPrimary()]);
    Object.assign(servers, { s3, minio });
    const credentials = s.config.backup.credentials;
    Object.assign(secrets, {
      [`${credentials.secretName}/${credentials.keyIdKey}`]: s3.accessKey,
      [`${credentials.secretName}/${credentials.applicationKeyKey}`]: s3.secretKey,
      'minio-root/root-user': minio.accessKey,
      'minio-root/root-password': minio.secretKey,
    });
    const bucket = s3.mc(['mb', `root/${b2.bucket}`]);
    if (bucket.status !== 0) throw new Error(bucket.stderr);
    // The platform's MinIO as the cluster has it: buckets, users and policies from the synthesized Job.
    const appKeys = Object.fromEntries(Object.keys(s.config.minio.appAccess).flatMap((app) => ['access-key', 'secret-key'].map((k) => [`minio-app-${app}/${k}`, `${app}-${k}-x`])));
    const provision = runProvisionJob(objects, minio, { ...secrets, ...appKeys }, serviceTempDir('provision-'));
    if (provision.status !== 0) throw new Error(provision.stderr + provision.stdout);
    const init = pg.applyInit();
    if (init.status !== 0) throw new Error(init.stderr);
    const fill = pg.psql(`host=127.0.0.1 port=${pg.primaryPort} dbname=app user=app`, FIXTURE, PASSWORDS.app);
    if (fill.status !== 0) throw new Error(fill.stderr);
  }, 180_000);
  afterAll(async () => {
    await pg.stopAll();
    await Promise.all([servers.s3?.stop(), servers.minio?.stop()]);
  }, 60_000);

  return { pg, servers, secrets, lab, rewrite, rclone, keys, download, put, sha256, fingerprint, completeDumps };
}
