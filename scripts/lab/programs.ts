/** Runs real programs (postgres, pgbouncer, ...) on loopback, for tests and benchmarks. */
import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

/** The newest Debian PostgreSQL bin directory, or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const majors = fs.readdirSync(root).filter((d) => fs.existsSync(path.join(root, d, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a));
  return majors.length ? path.join(root, majors[0], 'bin') : undefined;
}

/** Absolute path of a program on PATH (or in extra dirs), or undefined. */
export function findProgram(name: string, extraDirs: string[] = []): string | undefined {
  const dirs = [...extraDirs, ...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin'];
  return dirs.map((d) => path.join(d, name)).find((p) => fs.existsSync(p));
}

/** PostgreSQL and PgBouncer refuse to run as root: drop to the `postgres` user when we are root. */
const asServiceUser = (cmd: string, args: string[]): [string, string[]] =>
  process.getuid?.() === 0 ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', cmd, ...args]] : [cmd, args];

/**
 * Where a lab program runs: the command line that runs `cmd args`, as the service user when `asService`.
 * `onHost` runs the host's programs; scripts/lab/trixie.ts's `trixieRunner` runs those of the trixie root.
 */
export type Runner = (cmd: string, args: string[], asService: boolean) => [string, string[]];
export const onHost: Runner = (cmd, args, asService) => (asService ? asServiceUser(cmd, args) : [cmd, args]);

/** A scratch directory the service user can write to. */
export function serviceTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o777);
  return dir;
}

export function ownForService(...paths: string[]): void {
  if (process.getuid?.() !== 0) return;
  for (const p of paths) spawnSync('chown', ['-R', 'postgres:postgres', p]);
}

export function runAsService(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; timeoutMs?: number; runner?: Runner } = {}): SpawnSyncReturns<string> {
  const [c, a] = (options.runner ?? onHost)(cmd, args, true);
  return spawnSync(c, a, { env: { ...process.env, ...options.env }, input: options.input, cwd: options.cwd ?? os.tmpdir(), encoding: 'utf8', timeout: options.timeoutMs ?? 120_000 });
}

export function startAsService(cmd: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = {}, runner: Runner = onHost): ChildProcess {
  const [c, a] = runner(cmd, args, true);
  const log = fs.openSync(logFile, 'a');
  return spawn(c, a, { env: { ...process.env, ...env }, stdio: ['ignore', log, log], cwd: os.tmpdir() });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export async function waitFor(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGINT');
  });
}

/** The env of one container spec: literal values kept, secretKeyRefs from `secrets` (`name/key` → value), then `overrides`. */
export function containerEnv(container: any, secrets: Record<string, string>, overrides: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) {
      const ref = `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`;
      const value = secrets[ref];
      if (value === undefined) throw new Error(`no test value for Secret ${ref}`);
      env[e.name] = value;
    }
  }
  return { ...env, ...overrides };
}
