/**
 * A loopback Git server for lab tests: Debian's `git daemon` serving the bare repositories of one folder
 * over git:// on 127.0.0.1 (read-only, no credentials), and helpers that make such a repository from a
 * folder of files, one commit per call. Argo CD's repo-server clones from it as it would from a forge.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { findProgram, freePort, stop } from './programs';

/** git without the machine's global or system config, and a fixed identity for the lab's commits. */
const GIT_ENV = {
  ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'lab', GIT_AUTHOR_EMAIL: 'lab@localhost', GIT_COMMITTER_NAME: 'lab', GIT_COMMITTER_EMAIL: 'lab@localhost',
};

function git(args: string[], cwd?: string): string {
  const run = spawnSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`git ${args.join(' ')}: ${(run.stderr || run.error?.message || '').trim()}`);
  return run.stdout.trim();
}

/** Whether Debian's git (with its daemon, /usr/lib/git-core/git-daemon) is installed. */
export function gitDaemonAvailable(): boolean {
  if (!findProgram('git')) return false;
  const execPath = spawnSync('git', ['--exec-path'], { encoding: 'utf8' }).stdout?.trim();
  return Boolean(execPath) && fs.existsSync(path.join(execPath, 'git-daemon'));
}

/**
 * Commits the whole content of `folder` (added, changed and removed files alike) to `branch` of the bare
 * repository `bareRepo`, as the next commit. Returns the commit's SHA.
 */
export function commitFolder(bareRepo: string, folder: string, options: { branch?: string; message?: string } = {}): string {
  const branch = options.branch ?? 'main';
  const on = ['--git-dir', bareRepo, '--work-tree', path.resolve(folder)];
  git([...on, 'symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
  git([...on, 'add', '--all', '.'], folder);
  git([...on, 'commit', '--allow-empty', '--quiet', '-m', options.message ?? `lab: ${path.basename(folder)}`], folder);
  return git(['--git-dir', bareRepo, 'rev-parse', 'HEAD']);
}

/**
 * A new bare repository `<baseDir>/<name>` (served as url(name)) whose one commit on `branch` holds the
 * files of `folder`. Returns its path and the commit's SHA.
 */
export function bareRepoFromFolder(baseDir: string, name: string, folder: string, options: { branch?: string; message?: string } = {}): { path: string; revision: string } {
  if (!fs.statSync(folder).isDirectory()) throw new Error(`bareRepoFromFolder: ${folder} is not a folder`);
  const repo = path.join(baseDir, name);
  if (fs.existsSync(repo)) throw new Error(`bareRepoFromFolder: ${repo} exists already; fix: choose another name or use commitFolder`);
  fs.mkdirSync(repo, { recursive: true });
  git(['init', '--quiet', '--bare', `--initial-branch=${options.branch ?? 'main'}`, repo]);
  return { path: repo, revision: commitFolder(repo, folder, options) };
}

export interface GitServer {
  readonly port: number;
  /** The folder whose bare repositories are served. */
  readonly dir: string;
  /** git://127.0.0.1:<port>/<repo>: the clone URL of the bare repository `<dir>/<repo>`. */
  url(repo: string): string;
  /** The daemon's log (--verbose): one line per request. */
  log(): string;
  stop(): Promise<void>;
}

const canConnect = (port: number): Promise<boolean> => new Promise((resolve) => {
  const socket = net.connect(port, '127.0.0.1');
  socket.once('connect', () => { socket.destroy(); resolve(true); });
  socket.once('error', () => resolve(false));
});

export interface GitServerOptions {
  /** Accept `git push` (git daemon's receive-pack service), as a hosted repository does for its owner. @default false (read-only) */
  readonly push?: boolean;
}

/** Starts `git daemon` on 127.0.0.1 serving every repository under `dir`; resolves when it accepts connections. */
export async function startGitServer(dir: string, options: GitServerOptions = {}): Promise<GitServer> {
  if (!gitDaemonAvailable()) throw new Error('git daemon is not installed; fix: apt-get install git');
  const base = path.resolve(dir);
  const port = await freePort();
  const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'git-daemon-')), 'git-daemon.log');
  const logFd = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn('git', [
    'daemon', `--base-path=${base}`, '--export-all', '--reuseaddr', '--listen=127.0.0.1', `--port=${port}`,
    '--verbose', '--informative-errors', ...(options.push ? ['--enable=receive-pack'] : []), base,
  ], { env: GIT_ENV, stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  child.on('error', () => undefined);
  const log = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop(child);
      throw new Error(`git daemon did not listen on 127.0.0.1:${port}: ${log().trim().split('\n').slice(-5).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port, dir: base, log,
    url: (repo) => `git://127.0.0.1:${port}/${repo}`,
    stop: async () => {
      await stop(child);
      fs.rmSync(path.dirname(logFile), { recursive: true, force: true });
    },
  };
}
