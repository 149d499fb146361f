/**
 * npm run bench: figures, not assertions. Each section prints its own table.
 *   synth   full synth of every environment vs a bare start of the compiled app
 *   test    wall time of one `npm test` (build, then the whole jest suite, real-daemon suites included)
 * Further sections (pgbench, backups) register in scripts/bench/sections.ts.
 * `npm run bench -- NAME` runs one section; `mutation` (seeded defects against the tests, scripts/mutation.ts) runs only so.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findProjectRoot } from '../lib/project';
import { extraSections } from './bench/sections';

const ROOT = findProjectRoot(__dirname);

function timeRun(command: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): number {
  return measureRun(command, args, options).wallMs;
}

/** GNU time, when installed, also reports the child's CPU time (user + system). */
const GNU_TIME = ['/usr/bin/time'].find((p) => fs.existsSync(p));

/** Wall time and, where GNU time is installed, CPU time of one run; CPU time suffers less when the machine is shared. */
function measureRun(command: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): { wallMs: number; cpuMs?: number } {
  const report = GNU_TIME ? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-time-')), 'time.txt') : undefined;
  const [cmd, argv] = report ? [GNU_TIME!, ['-f', '%U %S', '-o', report, command, ...args]] : [command, args];
  const start = process.hrtime.bigint();
  const run = spawnSync(cmd, argv, { cwd: ROOT, stdio: 'ignore', env: { ...process.env, ...options.env } });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${run.status}`);
  if (!report) return { wallMs };
  const [user, system] = fs.readFileSync(report, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  fs.rmSync(path.dirname(report), { recursive: true, force: true });
  return { wallMs, cpuMs: (user + system) * 1000 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function benchSynth(): void {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-dist-'));
  const runs = 9;
  const bare: { wallMs: number; cpuMs?: number }[] = [];
  const synth: { wallMs: number; cpuMs?: number }[] = [];
  for (let i = 0; i < runs; i++) {
    // Interleaved so that machine noise hits both alike.
    bare.push(measureRun(process.execPath, [path.join(ROOT, 'build/scripts/bench/bare-start.js')]));
    synth.push(measureRun(process.execPath, [path.join(ROOT, 'build/main.js'), '--out', path.join(out, 'dist')]));
  }
  const nodeOnly = median(Array.from({ length: runs }, () => timeRun(process.execPath, ['-e', '0'])));
  const wall = (runs: { wallMs: number }[]) => median(runs.map((r) => r.wallMs));
  const ratio = wall(synth) / wall(bare);
  console.log('## synth (median of %d runs)', runs);
  console.log(`  node -e 0 (reference)                   ${nodeOnly.toFixed(0).padStart(6)} ms`);
  console.log(`  bare start of the compiled app          ${wall(bare).toFixed(0).padStart(6)} ms`);
  console.log(`  full synth, all environments            ${wall(synth).toFixed(0).padStart(6)} ms`);
  console.log(`  ratio synth / bare start                ${ratio.toFixed(2).padStart(6)}   (target ≤ 1.50: ${ratio <= 1.5 ? 'met' : 'NOT met'})`);
  if (synth.every((r) => r.cpuMs !== undefined) && bare.every((r) => r.cpuMs !== undefined)) {
    const cpu = (runs: { cpuMs?: number }[]) => median(runs.map((r) => r.cpuMs!));
    console.log(`  CPU time (user + system): bare ${cpu(bare).toFixed(0)} ms, synth ${cpu(synth).toFixed(0)} ms, ratio ${(cpu(synth) / cpu(bare)).toFixed(2)}`);
  }
  console.log(`  load average ${os.loadavg()[0].toFixed(1)} (other work on the machine skews wall times)`);
}

function benchTests(): void {
  const before = os.loadavg()[0];
  const ms = timeRun('npm', ['test', '--silent', '--', '--silent']);
  const after = os.loadavg()[0];
  console.log('## npm test');
  console.log(`  npm test (build + jest, ${os.cpus().length} cores)        ${(ms / 1000).toFixed(1).padStart(6)} s   (target ≤ 60 s on an idle machine: ${ms <= 60_000 ? 'met' : 'NOT met'})`);
  console.log(`  load average before / after             ${before.toFixed(1)} / ${after.toFixed(1)}   (other work on the machine slows the figure)`);
}

async function main(): Promise<void> {
  const only = process.argv[2];
  const sections: Record<string, () => void | Promise<void>> = { synth: benchSynth, test: benchTests, ...extraSections };
  // Sections that take far longer than the rest run only when named (`npm run bench -- mutation`).
  const onlyWhenNamed = new Set(['mutation']);
  if (only && !(only in sections)) throw new Error(`unknown bench section ${only}; fix: one of ${Object.keys(sections).join(', ')}`);
  for (const [name, run] of Object.entries(sections)) {
    if (only ? only === name : !onlyWhenNamed.has(name)) await run();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
