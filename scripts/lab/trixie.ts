/**
 * Runs programs of the Debian trixie root (.tools/trixie, built by scripts/trixie/build.sh): Patroni 4.0.x,
 * pgBackRest 2.55, PgBouncer 1.24.1 and PostgreSQL 17, the versions the platform's images carry and bookworm
 * lacks. A program runs in its own mount namespace (`unshare --mount`, so the binds vanish with it and nothing
 * is left mounted on the host), chrooted into the root, with these binds at the same paths:
 *   /proc, /dev, /sys   what any process expects (Patroni reads /proc, PostgreSQL uses /dev/shm)
 *   /tmp                the labs' directories (data, configs, sockets, kubeconfig, logs) live there
 *   /etc/passwd, group  the host's users, so `postgres` has the same uid inside as the files the lab chowns
 *   extra directories   e.g. the PostgreSQL 16 binaries of the npm package (scripts/lab/pg16.ts)
 * Needs root (chroot and mount); as `postgres` via chroot --userspec, since PostgreSQL refuses root.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { findProjectRoot } from '../../lib/project';
import type { Runner } from './programs';

/** The root, symlinks resolved (mount needs real paths; .tools may be a link). */
const TOOLS_TRIXIE = path.join(findProjectRoot(__dirname), '.tools', 'trixie');
export const TRIXIE_ROOT = fs.existsSync(TOOLS_TRIXIE) ? fs.realpathSync(TOOLS_TRIXIE) : TOOLS_TRIXIE;
/** PostgreSQL 17's programs in the root (postgresql-17, postgresql-client-17). */
export const TRIXIE_PG_BIN = '/usr/lib/postgresql/17/bin';

const BINDS = ['/proc', '/dev', '/sys', '/tmp', '/etc/passwd', '/etc/group'];

/** Whether trixie programs can run here: the root is built and we are root. */
export function trixieReady(): boolean {
  return process.getuid?.() === 0 && fs.existsSync(path.join(TRIXIE_ROOT, 'usr/bin/patroni'));
}

/**
 * A trixie program's path for describeWithPrograms: the program as the root holds it (an absolute path
 * inside the root, or a name looked up in its /usr/bin, /usr/sbin and the PostgreSQL 17 bin dir), or
 * undefined when the root is missing or we are not root.
 */
export function trixieProgram(name: string): string | undefined {
  if (!trixieReady()) return undefined;
  const candidates = name.startsWith('/') ? [name] : ['/usr/bin', '/usr/sbin', TRIXIE_PG_BIN].map((d) => path.join(d, name));
  return candidates.find((p) => fs.existsSync(path.join(TRIXIE_ROOT, p)));
}

export interface TrixieOptions {
  /** Run as this host user (by name; same uid inside, /etc/passwd is the host's). @default root */
  readonly user?: string;
  /** Host directories bound at the same path inside (created in the root when missing). @default none */
  readonly binds?: string[];
}

/** The command line that runs `cmd args` (paths inside the root) in the trixie root: for spawn/spawnSync. */
export function inTrixie(cmd: string, args: string[], options: TrixieOptions = {}): [string, string[]] {
  const binds = [...BINDS, ...(options.binds ?? [])];
  for (const b of options.binds ?? []) fs.mkdirSync(path.join(TRIXIE_ROOT, b), { recursive: true });
  const user = options.user ? [`--userspec=${options.user}:${options.user}`] : [];
  // $0 = the root; then bind count, binds; then the command. `exec` keeps the pid: a kill of the child kills the program.
  const script = 'r=$0; n=$1; shift; i=0; while [ "$i" -lt "$n" ]; do mount --rbind "$1" "$r$1" || exit 125; shift; i=$((i+1)); done; exec chroot "$@"';
  return ['unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, TRIXIE_ROOT, String(binds.length), ...binds, ...user, TRIXIE_ROOT, cmd, ...args]];
}

/** The first line a trixie program prints for `args` (e.g. its version), for the versions test. */
export function trixieOutput(cmd: string, args: string[]): string {
  const [c, a] = inTrixie(cmd, args);
  const r = spawnSync(c, a, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} in the trixie root: exit ${r.status}: ${r.stderr}`);
  return `${r.stdout}${r.stderr}`.trim();
}

/** A Runner (scripts/lab/programs.ts) for trixie programs: as `postgres` for a service, with `binds` added. */
export function trixieRunner(binds: string[] = []): Runner {
  return (cmd, args, asService) => inTrixie(cmd, args, { user: asService ? 'postgres' : undefined, binds });
}
