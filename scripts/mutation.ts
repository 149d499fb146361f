/**
 * `npm run bench -- mutation [case-id ...] [--readme] [--table-only]`: do the real-program tests catch the defects they exist for?
 * Each case seeds one realistic defect in the code that writes a config or script (never in a test),
 * runs the one test file that should notice it under CI=true, records caught or missed, and puts the
 * code back. Not part of `npm test` or CI: it takes minutes per case. The README's "Seeded defects"
 * table is its last result (`--readme` rewrites it).
 *
 * The patch is applied in place, and always reverted: in a `finally`, on SIGINT/SIGTERM/SIGHUP (then the
 * signal is re-raised), and, should the process be killed outright, from the journal
 * (build/mutation-journal.json) at the next start.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findProjectRoot } from '../lib/project';
import { MUTATION_CASES } from './mutation-cases';

/** One search/replace in one file, relative to the project root. */
export interface MutationPatch {
  readonly source: string;
  /** Must occur exactly once in the source. */
  readonly search: string;
  readonly replace: string;
}

export interface MutationCase {
  /** Short, unique; names the case on the command line and in the table. */
  readonly id: string;
  /** The one test file that must notice the defect. */
  readonly test: string;
  /** What the defect is, in the words of someone who might write it. */
  readonly description: string;
  /** One defect may take more than one edit (a scope change is a label and an annotation). */
  readonly patches: readonly MutationPatch[];
}

export interface MutationResult {
  readonly id: string;
  readonly test: string;
  readonly description: string;
  readonly verdict: 'caught' | 'MISSED' | 'error';
  /** The failing tests (caught), or why the run proves nothing (error). */
  readonly detail: string[];
  readonly seconds: number;
  /** When and at which commit it ran (`2026-12-08 01:10 a1b2c3d`). */
  readonly run?: string;
}

const JOURNAL = path.join('build', 'mutation-journal.json');
/** The latest result of every case run so far (a run of some cases keeps the others' rows). */
const RESULTS = path.join('build', 'mutation-results.json');

/** `text` with `search` replaced, or an error naming the case, file and count when it does not occur exactly once. */
export function patchText(text: string, patch: MutationPatch, caseId: string): string {
  const count = patch.search === '' ? 0 : text.split(patch.search).length - 1;
  if (count !== 1) {
    throw new Error(`mutation case ${caseId}: ${patch.source} holds the search text ${count} times, expected exactly once; fix: update the case in scripts/mutation-cases.ts to the code as it is now (search: ${JSON.stringify(patch.search.slice(0, 120))})`);
  }
  if (patch.replace === patch.search) throw new Error(`mutation case ${caseId}: the patch of ${patch.source} changes nothing; fix: make replace differ from search`);
  return text.replace(patch.search, () => patch.replace);
}

/** Restores files a killed run left patched (its journal), then removes the journal. Returns the restored paths. */
export function recoverFromJournal(root: string): string[] {
  const journal = path.join(root, JOURNAL);
  if (!fs.existsSync(journal)) return [];
  const saved = JSON.parse(fs.readFileSync(journal, 'utf8')) as { source: string; original: string }[];
  for (const s of saved) fs.writeFileSync(path.join(root, s.source), s.original);
  fs.rmSync(journal, { force: true });
  return saved.map((s) => s.source);
}

/**
 * Applies every patch of `c` under `root`, runs `run`, and restores the sources byte for byte, whatever
 * happens: `run` throwing, a signal, or (through the journal) the process dying.
 */
export async function withPatches<T>(root: string, c: MutationCase, run: () => Promise<T>): Promise<T> {
  recoverFromJournal(root);
  // Every patch is checked before any file is touched.
  const originals = c.patches.map((p) => ({ source: p.source, original: fs.readFileSync(path.join(root, p.source), 'utf8') }));
  const byFile = new Map<string, string>();
  for (const p of c.patches) byFile.set(p.source, patchText(byFile.get(p.source) ?? originals.find((o) => o.source === p.source)!.original, p, c.id));
  const saved = originals.filter((o, i) => originals.findIndex((x) => x.source === o.source) === i);
  const journal = path.join(root, JOURNAL);
  fs.mkdirSync(path.dirname(journal), { recursive: true });
  fs.writeFileSync(journal, JSON.stringify(saved));
  const restore = () => {
    for (const s of saved) fs.writeFileSync(path.join(root, s.source), s.original);
    fs.rmSync(journal, { force: true });
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const onSignal = (signal: NodeJS.Signals) => {
    restore();
    for (const s of signals) process.removeListener(s, onSignal);
    process.kill(process.pid, signal);
  };
  for (const s of signals) process.on(s, onSignal);
  try {
    for (const [source, text] of byFile) fs.writeFileSync(path.join(root, source), text);
    return await run();
  } finally {
    restore();
    for (const s of signals) process.removeListener(s, onSignal);
  }
}

/** Runs one jest file under CI=true; the failing tests' names, or why the run says nothing. */
function runTestFile(root: string, test: string, timeoutMs: number): Promise<{ failed: string[]; problem?: string; output: string }> {
  const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mutation-')), 'jest.json');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'node_modules', 'jest', 'bin', 'jest.js'), test, '--ci', '--json', `--outputFile=${report}`], {
      cwd: root, env: { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      if (!fs.existsSync(report)) {
        resolve({ failed: [], problem: `jest wrote no report (exit ${status}${status === null ? `, killed after ${timeoutMs / 60000} min` : ''})`, output });
        return;
      }
      const json = JSON.parse(fs.readFileSync(report, 'utf8'));
      fs.rmSync(path.dirname(report), { recursive: true, force: true });
      const tests = (json.testResults ?? []).flatMap((f: any) => f.assertionResults ?? []);
      const failed = tests.filter((t: any) => t.status === 'failed').map((t: any) => t.title as string);
      const suiteErrors = (json.testResults ?? []).filter((f: any) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).map((f: any) => (f.message as string).split('\n').find((l) => l.trim()) ?? 'suite failed');
      // A missing program fails under CI=true as "requires X": that is not the defect being caught.
      const missing = failed.find((t: string) => /^requires /.test(t));
      const problem = tests.length === 0 ? `no test ran: ${suiteErrors.join('; ') || `exit ${status}`}` : missing ? `programs missing (${missing})` : undefined;
      resolve({ failed: [...failed, ...suiteErrors], problem, output });
    });
  });
}

/** Tests that spawn the compiled scripts (build/) need the patched source compiled. */
function usesBuild(root: string, test: string): boolean {
  return /['"`/]build['"`/]/.test(fs.readFileSync(path.join(root, test), 'utf8'));
}

function tsc(root: string): void {
  const run = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: root, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`tsc: ${run.stdout}${run.stderr}`);
}

export async function runCase(root: string, c: MutationCase, timeoutMs = 40 * 60_000): Promise<MutationResult> {
  const started = Date.now();
  const build = usesBuild(root, c.test);
  const result = (verdict: MutationResult['verdict'], detail: string[]): MutationResult => ({ id: c.id, test: c.test, description: c.description, verdict, detail, seconds: Math.round((Date.now() - started) / 1000) });
  try {
    const outcome = await withPatches(root, c, async () => {
      // A patch that does not compile is a defect no one could ship: an error of the case, not a catch.
      if (build) tsc(root);
      return runTestFile(root, c.test, timeoutMs);
    });
    if (outcome.problem) return result('error', [outcome.problem, outcome.output.slice(-2000)]);
    return result(outcome.failed.length > 0 ? 'caught' : 'MISSED', outcome.failed);
  } catch (err) {
    return result('error', [(err as Error).message.slice(0, 2000)]);
  } finally {
    if (build) tsc(root); // the compiled scripts as the sources are again
  }
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function resultTable(results: readonly MutationResult[], stamp: string): string {
  const rows = results.map((r) => `| ${r.id} | \`${r.test.replace(/^test\//, '')}\` | ${cell(r.description)} | **${r.verdict}** | ${cell(r.verdict === 'caught' ? r.detail[0] + (r.detail.length > 1 ? ` (+${r.detail.length - 1})` : '') : r.detail[0] ?? '')} | ${r.seconds} s | ${r.run ?? ''} |`);
  return [stamp, '', '| case | test file | seeded defect | result | first failing test | time | run (UTC, commit) |', '|---|---|---|---|---|---|---|', ...rows].join('\n');
}

const BEGIN = '<!-- mutation-results:begin -->';
const END = '<!-- mutation-results:end -->';

/** The README with the text between the markers replaced by `table`. */
export function withReadmeTable(readme: string, table: string): string {
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/testing.md has no ${BEGIN} ... ${END} block; fix: put both markers in its "Seeded defects" section`);
  return `${readme.slice(0, a + BEGIN.length)}\n${table}\n${readme.slice(b)}`;
}

/** `npm run bench -- mutation [--readme] [--table-only] [case-id ...]` */
export async function benchMutation(args: string[] = process.argv.slice(3)): Promise<void> {
  const root = findProjectRoot(__dirname);
  const restored = recoverFromJournal(root);
  if (restored.length) console.log(`restored from an interrupted run: ${restored.join(', ')}`);
  const ids = args.filter((a) => !a.startsWith('--'));
  const unknown = ids.filter((id) => !MUTATION_CASES.some((c) => c.id === id));
  if (unknown.length) throw new Error(`unknown mutation case ${unknown.join(', ')}; fix: one of ${MUTATION_CASES.map((c) => c.id).join(', ')}`);
  // `--table-only`: no run, just the table of the saved results (with --readme: into the README).
  const cases = args.includes('--table-only') ? [] : ids.length ? MUTATION_CASES.filter((c) => ids.includes(c.id)) : MUTATION_CASES;
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
  const saved = path.join(root, RESULTS);
  const latest = new Map<string, MutationResult>(fs.existsSync(saved) ? Object.entries(JSON.parse(fs.readFileSync(saved, 'utf8'))) : []);
  console.log(`## mutation: ${cases.length} seeded defects, one test file each, one at a time (CI=true)`);
  let ran = 0;
  for (const c of cases) {
    console.log(`- ${c.id} (${c.test}): ${c.description} ...`);
    const r = { ...(await runCase(root, c)), run: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} ${commit}` };
    latest.set(c.id, r);
    ran++;
    fs.mkdirSync(path.dirname(saved), { recursive: true });
    fs.writeFileSync(saved, JSON.stringify(Object.fromEntries(latest), null, 1));
    console.log(`  ${r.verdict} in ${r.seconds} s${r.detail.length ? `: ${r.detail.slice(0, 3).join(' | ').slice(0, 600)}` : ''}`);
  }
  // Every case in the order of the list, each with its latest result (cases never run are listed as such).
  const rows: MutationResult[] = MUTATION_CASES.map((c) => latest.get(c.id) ?? { id: c.id, test: c.test, description: c.description, verdict: 'error', detail: ['not run yet'], seconds: 0 });
  const table = resultTable(rows, `${rows.filter((r) => r.verdict === 'caught').length} of ${rows.length} seeded defects caught (this run: ${ran}; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores; earlier rows keep their run).`);
  console.log(`\n${table}`);
  if (args.includes('--readme')) {
    // The testing page the README links (docs/testing.md, "Seeded defects").
    const readme = path.join(root, 'docs', 'testing.md');
    fs.writeFileSync(readme, withReadmeTable(fs.readFileSync(readme, 'utf8'), table));
    console.log('docs/testing.md: table updated');
  }
  if (rows.some((r) => r.verdict !== 'caught')) process.exitCode = 1;
}
