/**
 * pgAdmin's read-only role and its pgpass file, on a real PostgreSQL: the synthesized init script of
 * an environment with `pgadmin.enabled`, and the synthesized pgpass writer, run with only the lab's
 * rewrites (container paths → a temp dir, the Service host and port → the loopback server).
 * (pgAdmin itself is not run here: no container registry is reachable and it ships no Debian package.)
 */
import * as fs from 'fs';
import * as path from 'path';
import { configMapsOf, PASSWORDS, PostgresLab } from '../scripts/lab/postgres-lab';
import { findProgram, postgresBinDir, runAsService, serviceTempDir } from '../scripts/lab/programs';
import { PGADMIN_ROLE } from '../lib/services/pgadmin';
import { pgpassScript } from '../lib/services/pgadmin/pgadmin';
import { configFor, one, synth } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const bin = postgresBinDir();
/** With the characters a pgpass file must escape. */
const PGADMIN_PASSWORD = 'pg:ad\\min-pw';

describeWithPrograms('GIVEN prod with pgadmin enabled, its Postgres files on a real server', { postgres: bin, setpriv: findProgram('setpriv') }, () => {
  const s = synth(configFor('prod', { pgadmin: { enabled: true } }));
  const lab = new PostgresLab(configMapsOf(s.objects.map((o) => o.object)));
  const db = s.config.postgres.database;
  const as = (user: string, password: string, sql: string, database = db) => lab.psql(`host=127.0.0.1 port=${lab.primaryPort} dbname=${database} user=${user}`, sql, password);
  const pgadmin = (sql: string, database = db) => as(PGADMIN_ROLE, PGADMIN_PASSWORD, sql, database);

  beforeAll(async () => {
    await lab.startPrimary();
    // The synthesized 10-init.sh, with the passwords the pod's env gives it (Secrets).
    const init = runAsService('/bin/sh', [`${lab.dir}/scripts/10-init.sh`], {
      env: {
        PATH: `${lab.bin}:/usr/sbin:/usr/bin:/bin`, PGHOST: '127.0.0.1', PGPORT: String(lab.primaryPort), PGPASSWORD: PASSWORDS.superuser, POSTGRES_USER: 'postgres',
        APP_PASSWORD: PASSWORDS.app, REPLICATION_PASSWORD: PASSWORDS.replication, PGBOUNCER_AUTH_PASSWORD: PASSWORDS.pgbouncerAuth, METRICS_PASSWORD: PASSWORDS.metrics,
        BACKUP_PASSWORD: PASSWORDS.backup, GLITCHTIP_DB_PASSWORD: PASSWORDS.glitchtip, PGADMIN_LOGIN_PASSWORD: PGADMIN_PASSWORD,
      },
    });
    if (init.status !== 0) throw new Error(`10-init.sh failed: ${init.stderr}`);
    const table = as(s.config.postgres.appUser, PASSWORDS.app, 'CREATE TABLE customers (id int PRIMARY KEY, name text); INSERT INTO customers VALUES (1, \'Ada\'), (2, \'Grace\')');
    if (table.status !== 0) throw new Error(table.stderr);
  }, 120_000);
  afterAll(() => lab.stopAll(), 60_000);

  test('WHEN pgAdmin\'s role reads the apps\' tables THEN it sees their rows', () => {
    const r = pgadmin('SELECT count(*) FROM customers');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('2');
  });

  test('WHEN it writes THEN Postgres refuses: a read-only transaction, and without it no privilege', () => {
    expect(pgadmin("INSERT INTO customers VALUES (3, 'Eve')").stderr).toMatch(/read-only transaction/);
    expect(pgadmin("BEGIN READ WRITE; INSERT INTO customers VALUES (3, 'Eve')").stderr).toMatch(/permission denied for table customers/);
    expect(pgadmin('BEGIN READ WRITE; CREATE TABLE mine (id int)').stderr).toMatch(/permission denied for schema public/);
    expect(pgadmin('BEGIN READ WRITE; DROP TABLE customers').stderr).toMatch(/must be owner/);
    expect(as(s.config.postgres.appUser, PASSWORDS.app, 'SELECT count(*) FROM customers').stdout.trim()).toBe('2');
  });

  test('WHEN it connects to another database THEN it is refused (CONNECT on the apps\' database only)', () => {
    const r = pgadmin('SELECT 1', s.config.glitchtip.database);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/permission denied for database|not have CONNECT privilege/);
  });

  test('WHEN the synthesized pgpass writer runs THEN psql logs in with the file it wrote (":" and "\\" escaped)', () => {
    const dir = serviceTempDir('pgadmin-');
    const server = { host: '127.0.0.1', port: lab.primaryPort, database: db, user: PGADMIN_ROLE, secret: { name: 'postgres-pgadmin', key: 'password' }, connectTo: [] };
    // The init container's script as synthesized (its data dir moved to the temp dir) for the lab's server.
    const synthesized = one(s, 'StatefulSet', 'pgadmin').spec.template.spec.initContainers[0].command[2];
    expect(synthesized).toBe(pgpassScript({ ...server, host: 'postgres-rw.data.svc.cluster.local', port: 5432 }));
    const script = pgpassScript(server).split('/var/lib/pgadmin').join(dir);
    const email = `admin@${s.config.domain}`;
    const w = runAsService('/bin/sh', ['-c', script], { env: { PGADMIN_DEFAULT_EMAIL: email, SERVER_PASSWORD: PGADMIN_PASSWORD } });
    expect(w.stderr).toBe('');
    const file = path.join(dir, 'storage', email.replace('@', '_'), 'pgpass');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const r = runAsService(`${lab.bin}/psql`, [`host=127.0.0.1 port=${lab.primaryPort} dbname=${db} user=${PGADMIN_ROLE}`, '-w', '--no-psqlrc', '-qAt', '-c', 'SELECT current_user'], {
      env: { PGPASSFILE: file, PGPASSWORD: '', PGCONNECT_TIMEOUT: '5' },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(PGADMIN_ROLE);
  });
});
