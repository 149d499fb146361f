/**
 * npm run bench: figures, not assertions. Each section prints its own table.
 *   feedback  one table of the feedback loops (issue #33): the cold and warm CI phases and the full suite
 *             from the last `.ci/run` logs (not re-run), `npm run test:unit` (run), the edit-synth loop
 *             and the synth ratio
 *   synth     full synth of every environment vs a bare start of the compiled app
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

interface SynthFigures {
  readonly runs: number;
  readonly bareMs: number;
  readonly synthMs: number;
  readonly ratio: number;
  readonly cpuRatio?: number;
}

/** Full synth of every environment vs a bare start of the compiled app, interleaved, medians. */
function measureSynth(runs: number): SynthFigures {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-dist-'));
  const bare: { wallMs: number; cpuMs?: number }[] = [];
  const synth: { wallMs: number; cpuMs?: number }[] = [];
  for (let i = 0; i < runs; i++) {
    bare.push(measureRun(process.execPath, [path.join(ROOT, 'build/scripts/bench/bare-start.js')]));
    synth.push(measureRun(process.execPath, [path.join(ROOT, 'build/main.js'), '--out', path.join(out, 'dist')]));
  }
  fs.rmSync(out, { recursive: true, force: true });
  const wall = (r: { wallMs: number }[]) => median(r.map((x) => x.wallMs));
  const haveCpu = [...bare, ...synth].every((r) => r.cpuMs !== undefined);
  const cpu = (r: { cpuMs?: number }[]) => median(r.map((x) => x.cpuMs!));
  return { runs, bareMs: wall(bare), synthMs: wall(synth), ratio: wall(synth) / wall(bare), cpuRatio: haveCpu ? cpu(synth) / cpu(bare) : undefined };
}

/** Phase times of one `.ci/run` log: `ci: <phase> <s> s` and `build-programs: <name> <s> s` lines. */
function ciPhases(file: string): { phases: [string, number][]; header?: string } | undefined {
  if (!fs.existsSync(file)) return undefined;
  const phases: [string, number][] = [];
  let header: string | undefined;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const started = /^ci: started (.*)$/.exec(line);
    if (started) header = started[1];
    const m = /^(ci|build-programs): (.+?) (\d+) s\b/.exec(line);
    if (m && !started) phases.push([m[1] === 'ci' ? m[2] : m[2] === 'all in' ? 'Go builds, all' : `Go build: ${m[2]}`, Number(m[3])]);
  }
  return { phases, header };
}

/**
 * The edit-synth loop: after an environment file is saved (its mtime bumped, content unchanged),
 * `npm run synth -- prod` into a copy of dist/, as a person runs it; tsc is skipped (no TypeScript changed).
 */
function measureEditSynth(runs: number): { wallMs: number; cpuMs?: number } {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-edit-')), 'dist');
  fs.cpSync(path.join(ROOT, 'dist'), out, { recursive: true });
  const envFile = path.join(ROOT, 'lib', 'config', 'environments', 'prod.yaml');
  const results: { wallMs: number; cpuMs?: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const now = new Date();
    fs.utimesSync(envFile, now, now);
    results.push(measureRun('npm', ['run', '-s', 'synth', '--', 'prod', '--out', out]));
  }
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  const cpus = results.map((r) => r.cpuMs);
  return { wallMs: median(results.map((r) => r.wallMs)), cpuMs: cpus.every((c) => c !== undefined) ? median(cpus as number[]) : undefined };
}

function benchFeedback(): void {
  const row = (what: string, figure: string, note = '') => console.log(`  ${what.padEnd(44)} ${figure.padStart(10)}   ${note}`);
  const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const cpuNote = (cpuMs?: number) => (cpuMs === undefined ? '' : `CPU ${secs(cpuMs)}`);
  console.log(`## feedback (${os.cpus().length} cores, load average at start ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  for (const kind of ['cold', 'warm'] as const) {
    const file = path.join(ROOT, `.ci-last-${kind}-run.log`);
    const ci = ciPhases(file);
    if (!ci) {
      row(`CI ${kind}`, 'n/a', `no ${path.basename(file)}: run .ci/run`);
      continue;
    }
    console.log(`  CI ${kind}, last run: ${ci.header ?? '(no header)'}`);
    for (const [phase, s] of ci.phases) row(`  ${phase}`, `${s} s`, phase === 'total' && kind === 'cold' ? `(target ≤ ${45 * 60} s)` : phase === 'total' ? `(target ≤ ${15 * 60} s)` : '');
  }
  const last = ciPhases(path.join(ROOT, '.ci-last-run.log'));
  const full = last?.phases.find(([phase]) => phase === 'npm test');
  row('full suite (npm test, last .ci/run)', full ? `${full[1]} s` : 'n/a', full ? '(not re-run)' : 'no .ci-last-run.log: run .ci/run');
  const loadBefore = os.loadavg()[0];
  const unit = measureRun('npm', ['run', '-s', 'test:unit', '--', '--silent']);
  row('unit suite (npm run test:unit)', secs(unit.wallMs), `${cpuNote(unit.cpuMs)}  (target ≤ 60 s idle: ${unit.wallMs <= 60_000 ? 'met' : 'NOT met'}; load ${loadBefore.toFixed(1)} → ${os.loadavg()[0].toFixed(1)})`);
  const edit = measureEditSynth(5);
  row('edit-synth loop (npm run synth -- prod)', secs(edit.wallMs), `${cpuNote(edit.cpuMs)}  (median of 5; target ≤ 2 s idle: ${edit.wallMs <= 2000 ? 'met' : 'NOT met'})`);
  const synth = measureSynth(5);
  row('synth ratio (full synth / bare start)', synth.ratio.toFixed(2), `${secs(synth.synthMs)} / ${secs(synth.bareMs)}${synth.cpuRatio === undefined ? '' : `, CPU ratio ${synth.cpuRatio.toFixed(2)}`}  (median of 5; target ≤ 1.50: ${synth.ratio <= 1.5 ? 'met' : 'NOT met'})`);
  console.log(`  load average at end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (other work on the machine skews wall times; CPU times less so)`);
}

function benchSynth(): void {
  const runs = 9;
  const figures = measureSynth(runs);
  const nodeOnly = median(Array.from({ length: runs }, () => timeRun(process.execPath, ['-e', '0'])));
  console.log('## synth (median of %d runs)', runs);
  console.log(`  node -e 0 (reference)                   ${nodeOnly.toFixed(0).padStart(6)} ms`);
  console.log(`  bare start of the compiled app          ${figures.bareMs.toFixed(0).padStart(6)} ms`);
  console.log(`  full synth, all environments            ${figures.synthMs.toFixed(0).padStart(6)} ms`);
  console.log(`  ratio synth / bare start                ${figures.ratio.toFixed(2).padStart(6)}   (target ≤ 1.50: ${figures.ratio <= 1.5 ? 'met' : 'NOT met'})`);
  if (figures.cpuRatio !== undefined) console.log(`  CPU time ratio (user + system)          ${figures.cpuRatio.toFixed(2).padStart(6)}`);
  console.log(`  load average ${os.loadavg()[0].toFixed(1)} (other work on the machine skews wall times)`);
}

async function main(): Promise<void> {
  const only = process.argv[2];
  const sections: Record<string, () => void | Promise<void>> = { feedback: benchFeedback, synth: benchSynth, ...extraSections };
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
