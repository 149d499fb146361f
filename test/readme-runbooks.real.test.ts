/**
 * Runbooks that run (issue 36). Every command a runbook of the README or docs/ gives (the bash blocks and
 * the inline commands of the runbook sections and of every alert's runbook) is classified by one table:
 * - `run`: executed here, as written, by the real program it names: psql and the SQL on a real
 *   PostgreSQL and PgBouncer from the synthesized prod files (scripts/lab/postgres-lab.ts), through a
 *   `kubectl` stand-in whose `exec` runs the command with the postgres container's synthesized env
 *   (only the pod's mount paths and the socket are moved to the lab's); rclone; redis-cli on the real
 *   redis-server with the synthesized redis.conf;
 * - `elsewhere`: executed as written by another real-program test, named;
 * - `unrunnable`: the reason it cannot run here.
 * A runbook command no row classifies fails the first test, so a new runbook step must say which it is.
 * The list of unrunnable steps is printed (and is the report of issue 36).
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { configMapsOf, PASSWORDS, PostgresLab } from '../scripts/lab/postgres-lab';
import { containerEnv, findProgram, postgresBinDir } from '../scripts/lab/programs';
import { PATHS } from '../lib/services/postgres/config-files';
import { classify, runbookUnits } from './helpers/runbooks';
import { one, synthEnv } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const ALL = runbookUnits();

describe('GIVEN every command of the runbooks in the README and docs/', () => {
  test('THEN each one is classified: run here, run by a named real-program test, or unrunnable with the reason', () => {
    expect(ALL.length).toBeGreaterThan(20);
    expect(ALL.filter((c) => !classify(c.code)).map((c) => `${c.where}: ${c.code}`)).toEqual([]);
    // The report: each unrunnable step once, grouped by its reason.
    const byReason = new Map<string, Set<string>>();
    for (const c of ALL) {
      const how = classify(c.code)!;
      if ('unrunnable' in how) byReason.set(how.unrunnable, (byReason.get(how.unrunnable) ?? new Set()).add(c.code));
    }
    const count = (kind: string) => ALL.filter((c) => kind in classify(c.code)!).length;
    console.log(`runbook commands: ${ALL.length}; run here ${count('run')}; run as written by another real-program test ${count('elsewhere')}; cannot run here ${count('unrunnable')}:\n`
      + [...byReason].map(([why, codes]) => `* ${why}:\n${[...codes].map((c) => `    ${c}`).join('\n')}`).join('\n'));
  });
});

/** A `kubectl` for the runbooks' pod-exec lines: `exec <pod> -c postgres -- CMD` runs CMD here with the container's env and the pod's paths moved to the lab's. */
function kubectlShim(dir: string, envFile: string, moves: Record<string, string>): string {
  const bin = path.join(dir, 'kubectl-shim');
  fs.mkdirSync(bin, { recursive: true });
  const sed = Object.entries(moves).map(([from, to]) => `-e 's#${from}#${to}#g'`).join(' ');
  fs.writeFileSync(path.join(bin, 'kubectl'), `#!/bin/bash
# Test stand-in for kubectl (test/readme-runbooks.real.test.ts): exec in the postgres container only.
if [ "$1 $2 $3" = "-n data exec" ]; then
  shift 3
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    case "$1" in -i|-it) ;; -c) [ "$2" = postgres ] || { echo "kubectl shim: container $2, not postgres" >&2; exit 2; }; shift ;; postgres-0|pod/postgres-0) ;; *) echo "kubectl shim: unexpected exec argument $1" >&2; exit 2 ;; esac
    shift
  done
  shift
  args=()
  for a in "$@"; do args+=("$(printf '%s' "$a" | sed ${sed})"); done
  exec env -i bash -c 'set -a; . "$0"; set +a; exec "$@"' ${JSON.stringify(envFile)} "\${args[@]}"
fi
echo "kubectl shim: not a pod-exec line: kubectl $*" >&2
exit 2
`, { mode: 0o755 });
  return bin;
}

const bin = postgresBinDir();

describeWithPrograms('GIVEN the runnable runbook commands, and the prod Postgres, PgBouncer and Redis files on real servers', {
  postgres: bin, pgbouncer: findProgram('pgbouncer'), setpriv: findProgram('setpriv'), rclone: findProgram('rclone'), 'redis-server': findProgram('redis-server'), 'redis-cli': findProgram('redis-cli'),
}, () => {
  const s = synthEnv('prod');
  const lab = new PostgresLab(configMapsOf(s.objects.map((o) => o.object)));
  const server = one(s, 'StatefulSet', 'postgres').spec.template.spec.containers.find((c: any) => c.name === 'postgres');
  let shim = '';

  beforeAll(async () => {
    await lab.startPrimary();
    const init = lab.applyInit();
    if (init.status !== 0) throw new Error(init.stderr);
    await lab.startPgbouncer();
    // The pod's env: the synthesized one, each Secret key holding the lab's password.
    const secret: Record<string, string> = {
      'postgres-superuser': PASSWORDS.superuser, 'postgres-app': PASSWORDS.app, 'postgres-replication': PASSWORDS.replication, 'pgbouncer-auth': PASSWORDS.pgbouncerAuth,
      'postgres-metrics': PASSWORDS.metrics, 'postgres-backup': PASSWORDS.backup, 'postgres-glitchtip': PASSWORDS.glitchtip,
    };
    const refs: Record<string, string> = {};
    for (const e of server.env) if (e.valueFrom?.secretKeyRef) refs[`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`] = secret[e.valueFrom.secretKeyRef.name] ?? 'not used by the runbooks';
    const env = containerEnv(server, refs, { PATH: `${lab.bin}:/usr/bin:/bin`, PGPORT: String(lab.primaryPort) });
    const envFile = path.join(lab.dir, 'pod.env');
    fs.writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}'`).join('\n') + '\n');
    shim = kubectlShim(lab.dir, envFile, { [PATHS.socketDir]: path.join(lab.dir, 'primary', 'run'), [PATHS.scriptsDir]: path.join(lab.dir, 'scripts') });
  }, 180_000);
  afterAll(() => lab.stopAll(), 60_000);

  const ofKind = (kind: string) => ALL.filter((c) => { const how = classify(c.code); return how && 'run' in how && how.run === kind; });
  const sh = (command: string, input = '') => spawnSync('setsid', ['bash', '-euo', 'pipefail', '-c', command], {
    env: { PATH: `${shim}:/usr/bin:/bin` }, input, encoding: 'utf8', timeout: 60_000,
  });

  test('WHEN the pod-exec lines run as written (the init SQL again; psql into the restored database, then the swap) THEN each exits 0 with the pod\'s credentials', () => {
    // In the restore runbook's order: psql into the restored database and swap (steps 3, 4), then the init SQL again (step 4: it re-applies the grants).
    const lines = ofKind('pod-exec').sort((a, b) => Number(!/app_restore'$/.test(a.code)) - Number(!/app_restore'$/.test(b.code)));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lab.superuser(lab.primaryPort, 'CREATE DATABASE app_restore').status).toBe(0);
    // PgBouncer is scaled to 0 in step 1 of the restore runbook: nothing holds the app database open.
    lab.pgbouncerProcess?.kill('SIGTERM');
    const results = lines.map((c) => {
      const command = c.code.replace(/<leader>/g, 'postgres-0');
      // The restore runbook's step 4 is typed into that psql: `\c postgres`, then the two renames.
      const swap = ofKind('sql').map((q) => q.code).filter((q) => /^ALTER DATABASE/.test(q)).join('\n');
      const input = /app_restore'$/.test(command) ? `SELECT count(*) FROM pg_class;\n\\c postgres\n${swap}\n` : '';
      const r = sh(command, input);
      return { command, status: r.status, stderr: r.stderr.split('\n').filter((l) => l && !/^NOTICE|already exists, skipping/.test(l)).join('\n') };
    });
    expect(results.filter((r) => r.status !== 0)).toEqual([]);
    const dbs = lab.superuser(lab.primaryPort, "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'app%'").stdout.trim();
    expect(dbs).toBe('app,app_before_restore');
  });

  test('WHEN the runbooks\' SQL runs as the superuser, as they say THEN every statement succeeds on the real server', () => {
    const queries = ofKind('sql').map((c) => c.code).filter((q) => !/^ALTER DATABASE/.test(q));
    expect(queries.length).toBeGreaterThanOrEqual(3);
    const failed = queries.map((q) => ({ q, r: lab.superuser(lab.primaryPort, q) })).filter(({ r }) => r.status !== 0).map(({ q, r }) => `${q}: ${r.stderr}`);
    expect(failed).toEqual([]);
  });

  test('WHEN SHOW POOLS; runs on PgBouncer\'s admin console as the auth user (from inside its pod: the socket) THEN it lists the pools', async () => {
    const port = await lab.startPgbouncer('pgbouncer-admin');
    // An app client first, so its pool exists.
    const client = lab.psql(`host=127.0.0.1 port=${port} dbname=app user=app`, 'SELECT 1', PASSWORDS.app);
    expect({ status: client.status, stderr: client.stderr }).toEqual({ status: 0, stderr: '' });
    for (const c of ofKind('bouncer-sql')) {
      const r = spawnSync(`${lab.bin}/psql`, [`host=${path.join(lab.dir, 'pgbouncer-admin', 'run')} port=${port} dbname=pgbouncer user=pgbouncer_auth`, '--no-psqlrc', '-qAt', '-c', c.code], {
        env: { PATH: '/usr/bin:/bin', PGPASSWORD: PASSWORDS.pgbouncerAuth }, encoding: 'utf8', timeout: 30_000,
      });
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
      expect(r.stdout).toMatch(/^app\|app\|/m);
    }
  });

  test('WHEN the rclone obscure of the backup-encryption Secret runs as written THEN rclone takes the obscured value back to the password', () => {
    const lines = ofKind('rclone');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const c of lines) {
      const expr = /"\$\((rclone obscure "\$PASSWORD")\)"/.exec(c.code)?.[1] ?? c.code;
      const r = spawnSync('bash', ['-euo', 'pipefail', '-c', expr], { env: { PATH: '/usr/bin:/bin', PASSWORD: 'a backup pass-phrase', HOME: lab.dir }, encoding: 'utf8' });
      expect(r.status).toBe(0);
      const revealed = spawnSync('rclone', ['reveal', r.stdout.trim()], { env: { PATH: '/usr/bin:/bin', HOME: lab.dir }, encoding: 'utf8' });
      expect(revealed.stdout.trim()).toBe('a backup pass-phrase');
    }
  });

  test('WHEN redis-cli --user admin --bigkeys and INFO memory run on the real redis-server with the synthesized redis.conf and ACL THEN both answer', () => {
    const lines = ofKind('redis');
    expect(lines.map((c) => c.code).sort()).toEqual(['INFO memory', 'redis-cli --user admin --bigkeys']);
    const data = (yaml.load(fs.readFileSync(path.join(__dirname, '..', 'dist', 'prod', 'redis', 'ConfigMap.data.redis-config.yaml'), 'utf8')) as any).data;
    const dir = path.join(lab.dir, 'redis');
    fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
    const port = 20000 + Math.floor(Math.random() * 20000);
    // Only paths, bind and port are rewritten; the start script writes the ACL from the redis-auth values.
    fs.writeFileSync(path.join(dir, 'redis.conf'), (data['redis.conf'] as string)
      .replace(/^dir .*$/m, `dir ${path.join(dir, 'data')}`).replace(/^aclfile .*$/m, `aclfile ${path.join(dir, 'users.acl')}`)
      .replace(/^bind .*$/m, 'bind 127.0.0.1').replace(/^port .*$/m, `port ${port}`));
    fs.writeFileSync(path.join(dir, 'start.sh'), data['start.sh']);
    const child = spawn('sh', [path.join(dir, 'start.sh')], {
      cwd: dir, stdio: 'ignore',
      env: { PATH: '/usr/bin:/bin', REDIS_APP_PASSWORD: 'app-pw', REDIS_EXPORTER_PASSWORD: 'exporter-pw', REDIS_ADMIN_PASSWORD: 'admin-pw', REDIS_CONF: path.join(dir, 'redis.conf'), REDIS_ACL_FILE: path.join(dir, 'users.acl') },
    });
    try {
      const cli = (...args: string[]) => spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', ...args], { env: { PATH: '/usr/bin:/bin', REDISCLI_AUTH: 'admin-pw' }, encoding: 'utf8', timeout: 30_000 });
      let ping = cli('--user', 'admin', 'ping');
      for (let i = 0; i < 100 && ping.stdout.trim() !== 'PONG'; i++) { spawnSync('sleep', ['0.1']); ping = cli('--user', 'admin', 'ping'); }
      expect(cli('--user', 'admin', 'set', 'session:1', 'x').stdout.trim()).toBe('OK');
      // The runbook's lines, as written (redis-cli's own arguments; the connection is the pod's).
      const [bigkeys, info] = ['redis-cli --user admin --bigkeys', 'INFO memory'].map((line) => lines.find((c) => c.code === line)!.code);
      const asWritten = cli(...bigkeys.split(/\s+/).slice(1));
      expect(asWritten.status).toBe(0);
      expect(asWritten.stdout).toMatch(/Biggest string found/);
      expect(cli('--user', 'admin', ...info.split(/\s+/)).stdout).toMatch(/used_memory:\d+/);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
