/**
 * Rotating the app's database password without downtime (README "Rotating credentials"), on the
 * synthesized Postgres and PgBouncer files run by the real programs on loopback (scripts/lab/postgres-lab.ts).
 * Clients go through PgBouncer in a bounded loop, each query on a new connection (a new login every
 * time, the worst case), while the rotation runs its steps: a new password on the second login, the
 * "pods" roll one by one onto the credentials the synth gives the apps with `postgres.appLogin: next`,
 * then the old login is retired. No query may fail, and afterwards the old password is refused.
 */
import { execFile, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { appLogins, rotationSql } from '../lib/services/postgres/app-logins';
import { configMapsOf, PASSWORDS, PostgresLab } from '../scripts/lab/postgres-lab';
import { containerEnv, findProgram, postgresBinDir } from '../scripts/lab/programs';
import { configFor, find, one, synth, Synthesized, synthEnv } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';
import { docSection } from './helpers/docs';

const bin = postgresBinDir();
const NEW_PASSWORD = 'rotated-pa"ss\\word:Q3';
const NEXT_QUARTER_PASSWORD = "q4-'rotated' pass";
const README_PASSWORD = "readme-'q1' pa\"ss:$HOME";

/** The ```bash blocks of the "Rotating credentials" runbook (docs/runbooks.md), in order, as written (indentation removed). */
function readmeRotationBlocks(): string[] {
  const section = docSection('Rotating credentials').split('\n**A MinIO app key.**')[0];
  return [...section.matchAll(/^( *)```bash\n([\s\S]*?)^ *```$/gm)].map(([, indent, body]) => body.split('\n').map((l) => l.startsWith(indent) ? l.slice(indent.length) : l).join('\n'));
}

/**
 * A `kubectl` for the README's lines against the lab: `get secret` prints the lab Secret (base64, as
 * jsonpath does), `get pods -l role=master -o name` names the one member, and `exec ... -- CMD` runs CMD
 * here with exactly the pod's env (written to `envFile`). Anything else fails loudly.
 */
function kubectlShim(dir: string, envFile: string, secrets: Record<string, string>): string {
  const b64 = (v: string) => Buffer.from(v).toString('base64');
  const bin = path.join(dir, 'kubectl-shim');
  fs.mkdirSync(bin, { recursive: true });
  const cases = Object.entries(secrets).map(([name, value]) => `  "-n app get secret ${name} -o jsonpath={.data.password}") printf '%s' '${b64(value)}'; exit 0 ;;`).join('\n');
  fs.writeFileSync(path.join(bin, 'kubectl'), `#!/bin/bash
# Test stand-in for kubectl (test/rotation.real.test.ts): only what the README's rotation lines call.
case "$*" in
${cases}
  "-n data get pods -l role=master -o name") echo pod/postgres-0; exit 0 ;;
esac
if [ "$1 $2 $3" = "-n data exec" ]; then
  shift 3
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    case "$1" in -i|-it|-c) [ "$1" = -c ] && { [ "$2" = postgres ] || { echo "kubectl shim: container $2, not postgres" >&2; exit 2; }; shift; } ;; pod/postgres-0|postgres-0) ;; *) echo "kubectl shim: unexpected exec argument $1" >&2; exit 2 ;; esac
    shift
  done
  shift
  exec env -i bash -c 'set -a; . "$0"; set +a; exec "$@"' ${JSON.stringify(envFile)} "$@"
fi
echo "kubectl shim: not a command of the rotation runbook: kubectl $*" >&2
exit 2
`, { mode: 0o755 });
  return bin;
}
/** Bounds of the client loop: queries per client and wall time. */
const CLIENTS = 4;
const MAX_QUERIES_PER_CLIENT = 150;
const DEADLINE_MS = 90_000;

interface Credentials { readonly user: string; readonly password: string }

/** The database user and password Secret the synthesized app Deployments use. */
function appCredentialsOf(synthesized: Synthesized): { user: string; secret: string } {
  const containers = find(synthesized, 'Deployment').flatMap((d: any) => d.spec.template.spec.containers);
  const env = containers.flatMap((c: any) => c.env ?? []);
  const url = env.find((e: any) => e.name === 'DATABASE_URL')?.value as string;
  const password = env.find((e: any) => e.name === 'DB_PASSWORD')?.valueFrom?.secretKeyRef;
  return { user: /^postgresql:\/\/([^:]+):/.exec(url)![1], secret: password.name };
}

describeWithPrograms('GIVEN the prod Postgres and PgBouncer files on real servers, and clients querying through PgBouncer', {
  postgres: bin, pgbouncer: findProgram('pgbouncer'), setpriv: findProgram('setpriv'),
}, () => {
  const s = synthEnv('prod');
  const lab = new PostgresLab(configMapsOf(s.objects.map((o) => o.object)));
  const [main, next] = appLogins(s.config);
  const { database } = s.config.postgres;
  const viaBouncer = (user: string) => `host=127.0.0.1 port=${lab.bouncerPort} dbname=${database} user=${user}`;
  const direct = (user: string) => `host=127.0.0.1 port=${lab.primaryPort} dbname=${database} user=${user}`;
  /**
   * Runs one rotation step as the superuser, the new password as a psql variable (as the runbook does).
   * Asynchronous, so the clients' callbacks and timeouts keep running meanwhile.
   */
  const step = (sql: string, password = '') => new Promise<{ status: number; stderr: string }>((resolve) => {
    const child = execFile(`${lab.bin}/psql`, [`host=127.0.0.1 port=${lab.primaryPort} dbname=postgres user=postgres`, '-v', 'ON_ERROR_STOP=1', '-v', `new_password=${password}`, '--no-psqlrc', '-qAt', '-f', '-'], {
      env: { PATH: process.env.PATH, PGPASSWORD: PASSWORDS.superuser }, timeout: 30_000,
    }, (err, _stdout, stderr) => resolve({ status: err ? Number(err.code ?? 1) : 0, stderr }));
    child.stdin!.end(sql);
  });

  beforeAll(async () => {
    await lab.startPrimary();
    const init = lab.applyInit();
    if (init.status !== 0) throw new Error(init.stderr);
    await lab.startPgbouncer();
    const table = lab.psql(direct(main.role), 'CREATE TABLE rotation_probe (id bigserial PRIMARY KEY, client int NOT NULL)', PASSWORDS.app);
    if (table.status !== 0) throw new Error(table.stderr);
  }, 180_000);
  afterAll(() => lab.stopAll(), 60_000);

  test('the init SQL creates the second login without LOGIN: it is refused before a rotation', () => {
    const refused = lab.psql(viaBouncer(next.role), 'SELECT 1', NEW_PASSWORD);
    expect(refused.status).not.toBe(0);
    expect(lab.superuser(lab.primaryPort, `SELECT rolcanlogin, rolpassword IS NULL FROM pg_authid WHERE rolname = '${next.role}'`).stdout.trim()).toBe('f|t');
  });

  test('the synth with postgres.appLogin: next gives the apps the second login and its own Secret', () => {
    expect(appCredentialsOf(s)).toEqual({ user: main.role, secret: main.secret });
    expect(credentialsFor('next')).toEqual({ user: next.role, secret: next.secret });
  });

  /** What the synth gives the apps for one login: user and Secret (the other login declared, as the runbook says). */
  const credentialsFor = (slot: 'main' | 'next') => appCredentialsOf(synth(configFor('prod', {
    postgres: { appLogin: slot }, secrets: { app: { [next.secret]: { keys: ['password'], mode: 'existing' } } },
  })));
  /** The value each Secret holds, as the rotation sets them. */
  const secrets: Record<string, string> = { [main.secret]: PASSWORDS.app };
  let rowsWritten = 0;

  /**
   * Clients query through PgBouncer (bounded: MAX_QUERIES_PER_CLIENT each, DEADLINE_MS) while the
   * rotation onto `to` runs: prepare, roll the pods one at a time, retire.
   */
  async function rotateUnderLoad(from: 'main' | 'next', to: 'main' | 'next', password: string) {
    const before = credentialsFor(from);
    const after = credentialsFor(to);
    const pods: Credentials[] = Array.from({ length: CLIENTS }, () => ({ user: before.user, password: secrets[before.secret] }));
    const failures: string[] = [];
    const sessions = new Map<string, number>();
    let total = 0;
    let stop = false;
    const deadline = Date.now() + DEADLINE_MS;
    const query = (c: Credentials, client: number) => new Promise<void>((resolve) => {
      execFile(`${lab.bin}/psql`, [viaBouncer(c.user), '-v', 'ON_ERROR_STOP=1', '--no-psqlrc', '-qAt', '-c', `INSERT INTO rotation_probe (client) VALUES (${client}) RETURNING session_user || '/' || current_user`], {
        env: { PATH: process.env.PATH, PGPASSWORD: c.password, PGCONNECT_TIMEOUT: '5' }, timeout: 10_000,
      }, (err, stdout, stderr) => {
        total++;
        if (err) failures.push(`client ${client} as ${c.user}: ${stderr.trim() || err.message}`);
        else sessions.set(stdout.trim(), (sessions.get(stdout.trim()) ?? 0) + 1);
        resolve();
      });
    });
    // Each client is one app pod: it keeps the credentials it started with until it is rolled.
    const clients = pods.map(async (_pod, i) => {
      for (let n = 0; n < MAX_QUERIES_PER_CLIENT && !stop && Date.now() < deadline; n++) await query(pods[i], i);
    });
    const until = async (count: number) => {
      while (total < count && Date.now() < deadline && failures.length === 0) await new Promise((r) => setTimeout(r, 20));
    };

    const rotation = rotationSql(s.config, to);
    await until(40);
    const prepared = await step(rotation.prepare, password);
    secrets[after.secret] = password; // the new value is in the target login's Secret before any pod rolls
    await until(total + 40);
    for (let i = 0; i < CLIENTS; i++) { // a rolling update: one pod at a time, the others keep the old login
      pods[i] = { user: after.user, password: secrets[after.secret] };
      await until(total + 15);
    }
    const retired = await step(rotation.retire);
    await until(total + 40);
    stop = true;
    await Promise.all(clients);
    rowsWritten += total - failures.length;
    console.log(`rotation ${from} → ${to}: ${total} queries through PgBouncer by ${CLIENTS} clients, ${failures.length} failed (${[...sessions].map(([k, v]) => `${k}: ${v}`).join(', ')})`);
    return { prepared, retired, failures, sessions, total, before, after };
  }

  test('WHEN the app password is rotated onto the second login while clients query through PgBouncer THEN no query fails, and the old password is refused afterwards', async () => {
    const run = await rotateUnderLoad('main', 'next', NEW_PASSWORD);
    expect(run.prepared).toEqual({ status: 0, stderr: '' });
    expect(run.retired).toEqual({ status: 0, stderr: '' });
    expect(run.failures).toEqual([]);
    expect(run.total).toBeGreaterThanOrEqual(40 + 40 + CLIENTS * 15 + 40);
    // Both logins served queries, and both act as the owner role.
    expect([...run.sessions.keys()].sort()).toEqual([`${main.role}/${main.role}`, `${next.role}/${main.role}`]);
    expect(Number(lab.psql(direct(next.role), 'SELECT count(*) FROM rotation_probe', NEW_PASSWORD).stdout.trim())).toBe(rowsWritten);

    const old = lab.psql(viaBouncer(main.role), 'SELECT 1', PASSWORDS.app);
    expect(old.status).not.toBe(0);
    // auth_query finds no verifier for a login that cannot log in: PgBouncer answers "no such user".
    expect(old.stderr).toMatch(/no such user|SASL authentication failed/);
    const oldDirect = lab.psql(direct(main.role), 'SELECT 1', PASSWORDS.app);
    expect(oldDirect.status).not.toBe(0);
    expect(oldDirect.stderr).toMatch(/password authentication failed|not permitted to log in/);
  }, 150_000);

  test('THEN objects the second login creates belong to the owner role, so the next rotation back loses nothing', () => {
    const made = lab.psql(direct(next.role), 'CREATE TABLE made_by_next (id int); SELECT tableowner FROM pg_tables WHERE tablename = \'made_by_next\'', NEW_PASSWORD);
    expect(made.stderr).toBe('');
    expect(made.stdout.trim()).toBe(main.role);
  });

  test('WHEN the next quarter rotates back onto the main login THEN again no query fails, and the second login\'s password is refused', async () => {
    const run = await rotateUnderLoad('next', 'main', NEXT_QUARTER_PASSWORD);
    expect(run.prepared).toEqual({ status: 0, stderr: '' });
    expect(run.failures).toEqual([]);
    expect([...run.sessions.keys()].sort()).toEqual([`${main.role}/${main.role}`, `${next.role}/${main.role}`]);
    expect(lab.psql(viaBouncer(next.role), 'SELECT 1', NEW_PASSWORD).status).not.toBe(0);
    expect(lab.psql(viaBouncer(main.role), 'SELECT current_user', NEXT_QUARTER_PASSWORD).stdout.trim()).toBe(main.role);
    expect(lab.psql(viaBouncer(main.role), 'SELECT 1', PASSWORDS.app).status).not.toBe(0); // the first password stays dead
  }, 150_000);

  test("WHEN the README's rotation lines run as written (kubectl exec → the command here, with the postgres container's env) THEN the inactive login gets the Secret's password and the old login is retired", () => {
    // The state the runbook starts from: `main` active (after the rotation back), `next` retired.
    const blocks = readmeRotationBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(1);
    const server = one(s, 'StatefulSet', 'postgres').spec.template.spec.containers.find((c: any) => c.name === 'postgres');
    const refs: Record<string, string> = {};
    for (const e of server.env) if (e.valueFrom?.secretKeyRef) refs[`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`] = 'unused by the runbook';
    Object.assign(refs, { 'postgres-superuser/password': PASSWORDS.superuser, 'postgres-app/password': PASSWORDS.app });
    // The pod's env; the socket directory (PATHS.socketDir, also the image's libpq default) and the port are the lab's, like every path.
    const env = containerEnv(server, refs, { PATH: `${lab.bin}:/usr/bin:/bin`, PGHOST: path.join(lab.dir, 'primary', 'run'), PGPORT: String(lab.primaryPort) });
    const envFile = path.join(lab.dir, 'pod.env');
    fs.writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}'`).join('\n') + '\n');
    const bin = kubectlShim(lab.dir, envFile, { [next.secret]: README_PASSWORD });
    // setsid: no terminal to prompt on, so a missing password fails instead of waiting.
    const results = blocks.map((block) => spawnSync('setsid', ['bash', '-euo', 'pipefail', '-c', block], {
      env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'],
    }));
    expect(results.map((r) => ({ status: r.status, stderr: r.stderr }))).toEqual(blocks.map(() => ({ status: 0, stderr: '' })));
    expect(blocks.length).toBe(2); // step 1 (new password) and step 3 (retire)
    expect(lab.psql(direct(next.role), 'SELECT session_user || \'/\' || current_user', README_PASSWORD).stdout.trim()).toBe(`${next.role}/${main.role}`);
    expect(lab.psql(viaBouncer(next.role), 'SELECT 1', README_PASSWORD).status).toBe(0);
    expect(lab.psql(direct(main.role), 'SELECT 1', NEXT_QUARTER_PASSWORD).status).not.toBe(0);
  });
});
