/**
 * npm run diff [-- --ref REF] [--env prod,ha] [--environments DIR] [--exit-code]
 *
 * Synthesizes the working tree's configuration into a temporary folder and prints, as markdown for
 * a pull-request comment, every object that differs from `dist/` at REF, grouped by environment and
 * kind. REF defaults to origin/main, else the merge base of HEAD with main, else HEAD. Run it inside
 * the git repository; nothing in the working tree is written.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DistFiles, diffDist, formatMarkdown } from '../lib/gitops/dist-diff';
import { listYamlFiles } from '../lib/validation/validate-dist';

const MAIN = path.join(__dirname, '..', 'main.js');

function git(cwd: string, args: string[]): string | undefined {
  const run = spawnSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  return run.status === 0 ? run.stdout.trim() : undefined;
}

/** origin/main, else the merge base of HEAD and main, else HEAD: the commit a PR is compared with. */
export function defaultRef(cwd: string): { ref: string; why: string } {
  if (git(cwd, ['rev-parse', '--verify', '-q', 'origin/main^{commit}'])) return { ref: 'origin/main', why: 'origin/main' };
  const base = git(cwd, ['merge-base', 'HEAD', 'main']);
  if (base) return { ref: base, why: 'the merge base of HEAD and main' };
  return { ref: 'HEAD', why: 'HEAD' };
}

function readTree(dir: string): Map<string, string> {
  return new Map(listYamlFiles(dir).map((f) => [path.relative(dir, f).split(path.sep).join('/'), fs.readFileSync(f, 'utf8')]));
}

/** dist/ as committed at `ref` (empty when the ref has none). */
function distAt(top: string, ref: string, distPath: string, into: string): Map<string, string> {
  const archive = spawnSync('git', ['archive', '--format=tar', ref, '--', distPath], { cwd: top, maxBuffer: 1024 * 2 ** 20 });
  if (archive.status !== 0) {
    const message = archive.stderr.toString();
    if (/did not match any files|pathspec/.test(message)) return new Map();
    throw new Error(`git archive ${ref} failed: ${message.trim()}`);
  }
  fs.mkdirSync(into, { recursive: true });
  execFileSync('tar', ['-x', '-C', into], { input: archive.stdout });
  return readTree(path.join(into, distPath));
}

function main(argv: string[]): number {
  const option = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const top = git(process.cwd(), ['rev-parse', '--show-toplevel']);
  if (!top) throw new Error('not inside a git repository; fix: run npm run diff from the project checkout');
  const prefix = git(process.cwd(), ['rev-parse', '--show-prefix']) ?? '';
  const project = path.join(top, prefix);
  const distPath = path.posix.join(prefix.split(path.sep).join('/'), 'dist');
  const { ref, why } = option('--ref') ? { ref: option('--ref')!, why: option('--ref')! } : defaultRef(top);
  const commit = git(top, ['rev-parse', '--short', `${ref}^{commit}`]);
  if (!commit) throw new Error(`unknown git ref "${ref}"; fix: pass --ref with a branch, tag or commit`);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'platform-diff-'));
  try {
    const envs = option('--env')?.split(',').filter(Boolean) ?? [];
    const environments = option('--environments') ?? path.join(project, 'lib', 'config', 'environments');
    const synth = spawnSync(process.execPath, [MAIN, '--environments', environments, '--out', path.join(work, 'new'), ...envs], { encoding: 'utf8' });
    if (synth.status !== 0) {
      process.stderr.write(synth.stderr);
      return 1;
    }
    const after = readTree(path.join(work, 'new'));
    const all = distAt(top, ref, distPath, path.join(work, 'old'));
    const selected = new Set(envs.length > 0 ? envs : [...new Set([...after.keys(), ...all.keys()].map((f) => f.split('/')[0]))]);
    const before: DistFiles = new Map([...all].filter(([f]) => selected.has(f.split('/')[0])));
    const changes = diffDist(before, after);
    const label = option('--ref') || ref === 'origin/main' ? `\`${ref}\` (${commit})` : `\`${commit}\` (${why})`;
    process.stdout.write(formatMarkdown(changes, { base: label, envs: [...selected].sort() }));
    return argv.includes('--exit-code') && changes.length > 0 ? 1 : 0;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  console.error(`diff: ${(err as Error).message}`);
  process.exitCode = 2;
}
