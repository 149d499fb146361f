/**
 * Executable documentation (issue 36): the README and docs/*.md cannot drift from the code.
 * - every YAML block is marked: `<!-- config: environment -->` (a whole environment file, loaded over
 *   the defaults), `<!-- config: over <env> -->` (a fragment deep-merged over that shipped environment's
 *   file), or `<!-- not config: <why> -->`; every config block goes through the real loader;
 * - every command names a script, flag, bench section, file or path that exists;
 * - every config key the docs or an alert's annotations name exists in the schema, every `Type.member`
 *   exists on that exported type, and every section a text points to ("see "X"", README "X") exists;
 * - every benchmark figure says where it comes from and when; the footprint tables equal a fresh computation;
 * - the statements issue 36 found false are checked against the code that makes them true or false.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ADD_ONS } from '../lib/addons/registry';
import { ConfigError } from '../lib/config/errors';
import { listEnvironments, loadConfig, deepMerge, ENVIRONMENTS_DIR } from '../lib/config/load';
import { IMAGES } from '../lib/config/versions';
import { SUPPORTED_KUBERNETES } from '../lib/config/helm';
import { footprintOfManifests, formatFootprint } from '../lib/footprint';
import { renderPlatform } from '../lib/synth';
import { Platform } from '../charts/platform';
import { extraSections } from '../scripts/bench/sections';
import { at, commandLines, docFiles, fences, headings, paragraphs, ROOT, spans, DocFile } from './helpers/docs';
import { schemaHasPath, topLevelKeys } from './helpers/schema-paths';

const DOCS = docFiles();
const ENVS = listEnvironments();
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const FILES: string[] = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);

// ---------------------------------------------------------------------------------------------
// Config blocks through the loader

/** Loads a README config block as the loader loads an environment file; returns the problems (empty: it loads). */
export function loadBlock(body: string, marker: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-config-'));
  try {
    for (const env of ENVS) fs.copyFileSync(path.join(ENVIRONMENTS_DIR, `${env}.yaml`), path.join(dir, `${env}.yaml`));
    const fragment = (yaml.load(body) ?? {}) as Record<string, unknown>;
    const over = /^config: over (\S+)$/.exec(marker);
    let env: string;
    let doc: Record<string, unknown>;
    if (over) {
      env = over[1];
      if (!ENVS.includes(env)) return [`the marker names ${env}, which is not a shipped environment (${ENVS.join(', ')})`];
      doc = deepMerge(yaml.load(fs.readFileSync(path.join(dir, `${env}.yaml`), 'utf8')), fragment);
    } else if (marker === 'config: environment') {
      env = 'readme-example';
      // The sample values of a documentation example only warn (stage: sample), unless it says otherwise.
      doc = { stage: 'sample', ...fragment };
    } else {
      return [`unknown marker "${marker}"; use config: environment, config: over <env> or not config: <why>`];
    }
    fs.writeFileSync(path.join(dir, `${env}.yaml`), yaml.dump(doc));
    loadConfig(env, { environmentsDir: dir });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.key} = ${JSON.stringify(p.value)}: ${p.message}`);
    return [(err as Error).message];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('GIVEN the YAML blocks of the README and docs/', () => {
  const yamlBlocks = fences(DOCS).filter((f) => f.lang === 'yaml' || f.lang === 'yml');

  test('THEN each one is marked as a config (whole environment or fragment over a named environment) or as not a config, with the reason', () => {
    const unmarked = yamlBlocks.filter((f) => !f.marker || !/^(config: environment|config: over \S+|not config: .{8,})$/.test(f.marker));
    expect(unmarked.map((f) => `${at(f)} (${f.section}): ${f.marker ?? 'no marker'}`)).toEqual([]);
  });

  test('WHEN each config block goes through the real loader THEN it loads', () => {
    const configs = yamlBlocks.filter((f) => f.marker?.startsWith('config:'));
    expect(configs.length).toBeGreaterThan(0);
    const failures = configs.flatMap((f) => loadBlock(f.body, f.marker!).map((p) => `${at(f)} (${f.section}): ${p}`));
    expect(failures).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Commands: scripts, flags, files, paths

/** The source files of an npm script (what `node build/<x>.js` runs, as TypeScript), and what they import locally. */
function scriptSources(script: string): string[] {
  const line: string = PACKAGE.scripts[script];
  // `node build/x.js` in the script line, or in the bash script it runs (npm run import -> scripts/import.sh).
  const shells = [...line.matchAll(/bash (scripts\/\S+\.sh)/g)].map((m) => fs.readFileSync(path.join(ROOT, m[1]), 'utf8'));
  const direct = [line, ...shells].flatMap((text) => [...text.matchAll(/node (?:"?\$?\{?\w*\}?\/?)?build\/([\w/.-]+)\.js/g)].map((m) => `${m[1]}.ts`));
  const out = new Set<string>();
  const add = (file: string, depth: number) => {
    // Flags are parsed in scripts/ (and main.ts), never in lib/.
    if (out.has(file) || !fs.existsSync(path.join(ROOT, file)) || !/^(scripts\/|main\.ts$)/.test(file)) return;
    out.add(file);
    if (depth === 0) return;
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) add(path.join(path.dirname(file), `${m[1]}.ts`), depth - 1);
  };
  for (const f of direct) add(f, 2);
  return [...out];
}

const BENCH_SECTIONS = ['synth', 'test', ...Object.keys(extraSections)];

/** What is wrong with one command (empty: nothing). */
export function commandProblems(command: string): string[] {
  const problems: string[] = [];
  // One shell command at a time: `a && b`, `a | b`, `a; b`, `$(a)`.
  for (const part of command.split(/&&|\|\||\||;|\$\(|\)/)) {
    const words = part.trim().split(/\s+/).filter(Boolean);
    const npm = words.indexOf('npm');
    if (npm >= 0 && words[npm + 1] === 'run' && words[npm + 2]) {
      const script = words[npm + 2];
      if (!(script in PACKAGE.scripts)) { problems.push(`npm run ${script}: no such script in package.json`); continue; }
      const dash = words.indexOf('--', npm);
      const args = dash >= 0 ? words.slice(dash + 1) : [];
      const sources = scriptSources(script).map((f) => fs.readFileSync(path.join(ROOT, f), 'utf8')).join('\n');
      for (const flag of args.filter((a) => /^--[a-z]/.test(a)).map((a) => a.replace(/[=\]].*$/, ''))) {
        if (flag === '--') continue;
        if (!new RegExp(`['"\`]${flag}['"\`=]`).test(sources)) problems.push(`npm run ${script} -- ${flag}: ${scriptSources(script).join(', ') || PACKAGE.scripts[script]} has no such flag`);
      }
      if (script === 'bench' && args[0] && !args[0].startsWith('-') && !/^[[<]/.test(args[0]) && !BENCH_SECTIONS.includes(args[0])) {
        problems.push(`npm run bench -- ${args[0]}: no such section (${BENCH_SECTIONS.join(', ')})`);
      }
    }
    if (npm >= 0 && words[npm + 1] === 'test' && words[npm + 2] === '--' && words[npm + 3] && !words[npm + 3].startsWith('-')) {
      const pattern = words[npm + 3];
      if (!FILES.some((f) => f.startsWith('test/') && f.includes(pattern))) problems.push(`npm test -- ${pattern}: no test file matches`);
    }
    const node = words.indexOf('node');
    if (node >= 0 && /^build\/.+\.js$/.test(words[node + 1] ?? '')) {
      const source = words[node + 1].replace(/^build\//, '').replace(/\.js$/, '.ts');
      if (!FILES.includes(source)) problems.push(`node ${words[node + 1]}: no ${source} compiles to it`);
    }
  }
  return problems;
}

/** Repository paths named in the docs: lib/..., scripts/..., dist/<env>/..., with <placeholders> and * globs. */
// Not imports/: the generated CRD classes are named as a folder, and imports/ is also an S3 prefix the import docs name.
const PATH_RE = /(?<![\w./-])((?:lib|scripts|test|charts|examples|docs|dist|__snapshots__|\.ci)\/(?:<[^>\n]+>|[\w./*{}@+-])*)/g;

export function pathExists(named: string): boolean {
  const clean = named.replace(/[.,:;]+$/, '');
  const segments = clean.split('/').filter(Boolean);
  // dist/<an environment of yours>/...: the layout is the one every shipped environment has.
  if (segments[0] === 'dist' && segments[1] && !ENVS.includes(segments[1])) segments[1] = '<env>';
  const pattern = segments
    .map((s) => s.split(/(<[^>]+>|\*|\{[^}]+\})/).map((p) => (/^<.+>$/.test(p) ? '[^/]+' : p === '*' ? '[^/]*' : /^\{.+\}$/.test(p) ? '[^/]+' : p.replace(/[.+?^$()|[\]\\]/g, '\\$&'))).join(''))
    .join('/');
  const re = new RegExp(`^${pattern}(/.*)?$`);
  return FILES.some((f) => re.test(f));
}

describe('GIVEN the commands and paths of the README and docs/', () => {
  const commands = commandLines(DOCS);

  test('THEN every npm script, flag, bench section, test pattern and compiled script they name exists', () => {
    const problems = commands.flatMap((c) => commandProblems(c.code).map((p) => `${at(c)}: ${p}`));
    expect([...new Set(problems)]).toEqual([]);
  });

  test('THEN every repository path they name exists (kubectl -f dist/..., lib/..., scripts/..., test/...)', () => {
    const named = [...commands, ...paragraphs(DOCS).map((p) => ({ ...p, code: p.text }))].flatMap((c) => [...c.code.matchAll(PATH_RE)].map((m) => ({ where: at(c), path: m[1] })));
    expect(named.length).toBeGreaterThan(50);
    const missing = named.filter((n) => !pathExists(n.path)).map((n) => `${n.where}: ${n.path}`);
    expect([...new Set(missing)]).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Config keys, TypeScript members, section references

const TOP = new Set(topLevelKeys());
const NOT_A_KEY_SUFFIX = /\.(real|ts|js|ya?ml|md|json|conf|ini|sh|sql|io|com|org|net|svc|local|lua|pem|key|env|dump|sha256|partial|bin|txt|tgz)$/;
/** Dotted config keys in a text: `postgres.replicas`, `apps.<app>.replicas.max`, `monitoring.alertmanager.receivers.0.to`. */
export function configKeysIn(text: string): string[] {
  return [...text.matchAll(/(?<![\w.$/-])([a-z][A-Za-z]*(?:\.(?:<[^>\n]+>|[A-Za-z0-9_-]+))+)/g)]
    .map((m) => m[1].replace(/\.$/, ''))
    // Config keys are camelCase: a segment with an underscore is SQL or a file (pgbouncer.get_auth).
    .filter((k) => TOP.has(k.split('.')[0]) && !NOT_A_KEY_SUFFIX.test(k) && k.split('.').length > 1 && !k.includes('_'));
}

/** The alerts' annotations as Prometheus gets them (summary, description, action) in every shipped environment. */
function alertAnnotations(): { where: string; text: string }[] {
  return ENVS.flatMap((env) => {
    const dir = path.join(ROOT, 'dist', env, 'monitoring');
    return fs.readdirSync(dir).filter((f) => f.startsWith('PrometheusRule.')).flatMap((f) => {
      const rule = yaml.load(fs.readFileSync(path.join(dir, f), 'utf8')) as any;
      return rule.spec.groups.flatMap((g: any) => g.rules.filter((r: any) => r.alert).map((r: any) => ({
        where: `dist/${env}/monitoring/${f} ${r.alert}`,
        text: [r.annotations?.summary, r.annotations?.description, r.annotations?.action].join('\n'),
      })));
    });
  });
}

/** `Type.member` spans where Type is an exported interface or class of lib/ or charts/: the member it names. */
function typeMembers(): { where: string; type: string; member: string; ok: boolean }[] {
  const sources = FILES.filter((f) => /^(lib|charts)\/.*\.ts$/.test(f)).map((f) => fs.readFileSync(path.join(ROOT, f), 'utf8'));
  const bodyOf = (type: string): string | undefined => {
    for (const text of sources) {
      const m = new RegExp(`export (?:abstract )?(?:interface|class) ${type}\\b[^{]*\\{`).exec(text);
      if (!m) continue;
      let depth = 1;
      let i = m.index + m[0].length;
      for (; i < text.length && depth > 0; i++) depth += text[i] === '{' ? 1 : text[i] === '}' ? -1 : 0;
      return text.slice(m.index, i);
    }
    return undefined;
  };
  return spans(DOCS).flatMap((s) => {
    const m = /^([A-Z][A-Za-z0-9]+)\.([a-z][A-Za-z0-9]*)(\(.*\))?$/.exec(s.code);
    if (!m) return [];
    const body = bodyOf(m[1]);
    if (body === undefined) return [];
    return [{ where: at(s), type: m[1], member: m[2], ok: new RegExp(`(readonly |public |static |get |private |protected |\\s)${m[2]}\\??\\s*[:(<=]`).test(body) }];
  });
}

/** Section references: `see "X"` and `README "X"` in the docs, `README "X"` / `README, "X"` in the code. */
function sectionReferences(): { where: string; title: string; page?: string }[] {
  const refs: { where: string; title: string; page?: string }[] = [];
  for (const p of paragraphs(DOCS)) {
    for (const m of p.text.matchAll(/\b(?:see|README,?)\s+"([^"\n]+)"/gi)) refs.push({ where: at(p), title: m[1] });
  }
  for (const file of FILES.filter((f) => /^(lib|charts|scripts)\/.*\.ts$/.test(f) || f === 'main.ts')) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    text.split('\n').forEach((line, i) => {
      for (const m of line.matchAll(/README,?\s+\\?"([^"\\\n]+)\\?"/g)) refs.push({ where: `${file}:${i + 1}`, title: m[1] });
      // A message naming its page: the section must be on that page.
      for (const m of line.matchAll(/(docs\/[\w-]+\.md),?\s+\\?"([^"\\\n]+)\\?"/g)) refs.push({ where: `${file}:${i + 1}`, title: m[2], page: m[1] });
    });
  }
  return refs;
}

export function sectionExists(title: string, titles: readonly string[]): boolean {
  // "1. Pick the size of your node" answers to "Pick the size of your node".
  const norm = (s: string) => s.toLowerCase().replace(/[`*]/g, '').trim().replace(/^\d+\.\s+/, '');
  const known = titles.map(norm);
  const parts = [norm(title), ...norm(title).split(/:\s+/)];
  return parts.some((p) => known.some((k) => k.startsWith(p)));
}

describe('GIVEN the config keys, types and sections the README, docs/ and the alerts name', () => {
  test('THEN every config key in the docs exists in the schema (lib/config/schema.ts)', () => {
    const named = spans(DOCS).flatMap((s) => configKeysIn(s.code).map((key) => ({ where: `${at(s)} (${s.section})`, key })));
    expect(named.length).toBeGreaterThan(100);
    expect(named.filter((n) => !schemaHasPath(n.key)).map((n) => `${n.where}: ${n.key}`)).toEqual([]);
  });

  test('THEN every config key an alert\'s annotations name exists in the schema', () => {
    const named = alertAnnotations().flatMap((a) => configKeysIn(a.text).map((key) => ({ where: a.where, key })));
    expect(named.length).toBeGreaterThan(0);
    expect([...new Set(named.filter((n) => !schemaHasPath(n.key)).map((n) => `${n.where}: ${n.key}`))]).toEqual([]);
  });

  test('THEN every Type.member they name exists on that exported type', () => {
    const members = typeMembers();
    expect(members.length).toBeGreaterThan(3);
    expect(members.filter((m) => !m.ok).map((m) => `${m.where}: ${m.type}.${m.member}`)).toEqual([]);
  });

  test('THEN every section a text points to (see "X", README "X") is a heading of the README or a docs/ page', () => {
    // Headings, and the bold lead-ins that open a paragraph or a list item (**Faithful mode** ...).
    const leads = paragraphs(DOCS).flatMap((p) => [...p.text.matchAll(/^\s*(?:- )?\*\*([^*\n]+)\*\*/gm)].map((m) => m[1].replace(/[.:]$/, '')));
    const titles = [...headings(DOCS).map((h) => h.title), ...leads];
    const refs = sectionReferences();
    expect(refs.length).toBeGreaterThan(10);
    const onPage = (page: string) => headings(DOCS.filter((d) => d.file === page)).map((h) => h.title);
    expect(refs.filter((r) => !sectionExists(r.title, r.page ? onPage(r.page) : titles)).map((r) => `${r.where}: ${r.page ?? ''} "${r.title}"`)).toEqual([]);
  });

  test('THEN no two sections share a title, and no table lists a row twice', () => {
    const seen = new Map<string, string>();
    const dupes: string[] = [];
    for (const h of headings(DOCS)) {
      const key = h.title.toLowerCase();
      if (seen.has(key)) dupes.push(`${at(h)}: "${h.title}" also at ${seen.get(key)}`);
      else seen.set(key, at(h));
    }
    let previous: { file: string; line: number } | undefined;
    let rows = new Set<string>();
    for (const p of paragraphs(DOCS)) {
      if (!p.text.trimStart().startsWith('|')) { previous = undefined; continue; }
      if (!previous || previous.file !== p.file || p.line !== previous.line + 1) rows = new Set();
      previous = p;
      const cells = p.text.split('|').slice(1, -1).map((c) => c.trim());
      if (/^:?-+:?$/.test(cells[0] ?? '')) continue;
      const row = cells.join('|');
      if (rows.has(row) || (cells[0] && cells[0] !== '–' && [...rows].some((r) => r.split('|')[0] === cells[0] && r.split('|')[1] === cells[1]))) dupes.push(`${at(p)}: table row "${cells[0]}" listed twice`);
      rows.add(row);
    }
    expect(dupes).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Figures

const FIGURE = /\d+(\.\d+)?\s?(s|ms|min|MiB|GiB|MB|GB)\b/;

describe('GIVEN the figures the README and docs/ quote', () => {
  test('THEN every paragraph quoting a benchmark figure names its section (npm run bench -- <section>) and the date it was measured', () => {
    const quoting = paragraphs(DOCS).filter((p) => /npm run bench/.test(p.text) && FIGURE.test(p.text) && !/target/.test(p.text));
    expect(quoting.length).toBeGreaterThan(0);
    const bad = quoting.filter((p) => !/npm run bench -- [\w-]+/.test(p.text) || !/\bmeasured (on )?20\d\d-\d\d-\d\d\b/.test(p.text));
    expect(bad.map((p) => `${at(p)}: ${p.text.slice(0, 100)}...`)).toEqual([]);
  });

  /** The row of a footprint table for `name` (an environment or an example file), normalized (no bold). */
  const rowFor = (needle: string): string | undefined => paragraphs(DOCS).map((p) => p.text.replace(/\*\*/g, '')).find((t) => t.startsWith('|') && t.includes(needle) && /of \d+m|\d+m \(/.test(t));

  test('THEN the per-size footprint table equals what npm run bench -- footprint computes now, for every shipped environment', () => {
    const wrong: string[] = [];
    for (const env of ENVS) {
      const config = loadConfig(env);
      const text = formatFootprint(env, footprintOfManifests(renderPlatform(new Platform(config)), config, ADD_ONS));
      const total = /steady-state total\s+(\d+m)\s+(\d+Mi)/.exec(text)!;
      const of = /of (\d+m) CPU \/ (\d+Mi) allocatable .*CPU ([\d.]+) %, memory ([\d.]+) %/.exec(text)!;
      const expected = `CPU ${total[1]} of ${of[1]} (${of[3]} %), memory ${total[2]} of ${of[2]} (${of[4]} %`;
      const row = rowFor(`(\`${env}\`)`);
      if (!row) wrong.push(`${env}: no row in the footprint table`);
      else if (!row.includes(expected)) wrong.push(`${env}: the table says "${/CPU [^|]*/.exec(row)?.[0].slice(0, 90)}", the computation "${expected}"`);
    }
    expect(wrong).toEqual([]);
  });

  test('THEN the examples table equals the examples as they synthesize now (config lines, objects, requests)', () => {
    const dir = path.join(ROOT, 'examples');
    const wrong: string[] = [];
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      const name = file.replace(/\.yaml$/, '');
      const config = loadConfig(name, { environmentsDir: dir });
      const files = renderPlatform(new Platform(config));
      const f = footprintOfManifests(files, config, ADD_ONS);
      const text = formatFootprint(name, f);
      const total = /steady-state total\s+(\d+m)\s+(\d+Mi)/.exec(text)!;
      const of = /CPU ([\d.]+) %, memory ([\d.]+) %/.exec(text)!;
      const lines = fs.readFileSync(path.join(dir, file), 'utf8').trimEnd().split('\n').length;
      const expected = `| ${lines} | ${files.size} | ${total[1]} (${of[1]} %) / ${total[2]} (${of[2]} %) |`;
      const row = rowFor(`\`${file}\``);
      if (!row) wrong.push(`${file}: no row in the examples table`);
      else if (!row.includes(expected)) wrong.push(`${file}: the table says "${row.split('|').slice(3, 6).join('|')}", now "${expected}"`);
    }
    expect(wrong).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The statements issue 36 found false, each checked against the code that decides it

const section = (docs: readonly DocFile[], title: RegExp): string => {
  const all = headings(docs);
  return docs.map((doc) => {
    const hs = all.filter((h) => h.file === doc.file);
    const lines = doc.text.split('\n');
    return hs.flatMap((h, i) => {
      if (!title.test(h.title)) return [];
      const end = hs.slice(i + 1).find((n) => n.level <= h.level)?.line ?? lines.length + 1;
      return [lines.slice(h.line, end - 1).join('\n')];
    }).join('\n');
  }).join('\n');
};
const list = (names: string[]): string => names.map((n) => `\`${n}\``).join(names.length === 2 ? ' and ' : ', ').replace(/, ([^,]+)$/, names.length > 2 ? ', and $1' : ', $1');

describe('GIVEN the statements that drifted from the code (issue 36)', () => {
  test('THEN "Error tracking" names exactly the shipped environments that run GlitchTip, and those that do not', () => {
    const on = ENVS.filter((e) => loadConfig(e).glitchtip.enabled);
    const off = ENVS.filter((e) => !on.includes(e));
    const text = section(DOCS, /^Error tracking/);
    expect(text).toContain(`on in ${list(on)}`);
    if (off.length > 0) expect(text).toContain(`off in ${list(off)}`);
    expect(text).not.toMatch(/on in every shipped environment/);
  });

  test('THEN "Backups" names the image key the dump Jobs really run (not the server image)', () => {
    const cronJob = yaml.load(fs.readFileSync(path.join(ROOT, 'dist', 'prod', 'backup', 'CronJob.backup.pg-backup-daily.yaml'), 'utf8')) as any;
    const pod = cronJob.spec.jobTemplate.spec.template.spec;
    const dump = [...(pod.initContainers ?? []), ...pod.containers].find((c: any) => /pg-dump/.test(JSON.stringify(c.command)));
    const key = Object.entries(IMAGES).find(([, image]) => image === dump.image)?.[0];
    expect(key).toBeDefined();
    const text = section(DOCS, /^Backups/);
    expect(text).toContain(`\`images.${key}\``);
    if (key !== 'postgres') expect(text).not.toMatch(/run in the Postgres server image/);
  });

  test('THEN the README\'s size table says what each shipped example really turns off (replicas, PgBouncer pods, GlitchTip, PITR)', () => {
    const rows = paragraphs(DOCS.filter((d) => d.file === 'README.md')).filter((p) => /^\| `(small|medium|large)`/.test(p.text));
    expect(rows.length).toBeGreaterThanOrEqual(3);
    const wrong: string[] = [];
    for (const row of rows) {
      const env = /`([a-z0-9-]+)`/.exec(row.text.split('|')[3])![1];
      const c = loadConfig(env);
      const says = (re: RegExp) => re.test(row.text.split('|')[4]);
      const facts: [string, boolean, boolean][] = [
        ['no Postgres replica', c.postgres.replicas === 0, says(/no Postgres replica/)],
        ['one PgBouncer', c.pgbouncer.replicas === 1, says(/one PgBouncer/)],
        ['no GlitchTip', !c.glitchtip.enabled, says(/no GlitchTip/)],
        ['no point-in-time recovery', !c.backup.pitr.enabled, says(/no point-in-time recovery/)],
      ];
      for (const [what, truth, said] of facts) if (truth !== said) wrong.push(`${at(row)} (${env}): ${said ? 'says' : 'does not say'} "${what}", but it is ${truth}`);
      const n = /(\d+) Postgres replicas, (\d+) PgBouncer/.exec(row.text);
      if (n && (Number(n[1]) !== c.postgres.replicas || Number(n[2]) !== c.pgbouncer.replicas)) wrong.push(`${at(row)} (${env}): says ${n[0]}`);
    }
    expect(wrong).toEqual([]);
  });

  test('THEN the README names the oldest supported k3s the platform derives (SUPPORTED_KUBERNETES)', () => {
    const minor = SUPPORTED_KUBERNETES.minimum.replace(/\.0$/, '');
    expect(DOCS.find((d) => d.file === 'README.md')!.text).toContain(`k3s v${minor} or newer`);
  });

  test('THEN no text says two environments cannot share a cluster while cluster.sharedWith exists', () => {
    expect(schemaHasPath('cluster.sharedWith')).toBe(true);
    const claims = paragraphs(DOCS).filter((p) => /cannot share (one|a) cluster/i.test(p.text));
    expect(claims.map((p) => at(p))).toEqual([]);
  });

  test('THEN what the docs say minio.apiHost serves matches the variables apps really get', () => {
    const apiHost = loadConfig('prod').minio.apiHost;
    const dir = path.join(ROOT, 'dist', 'prod', 'app');
    const vars = fs.readdirSync(dir).filter((f) => f.startsWith('Deployment.')).flatMap((f) => {
      const d = yaml.load(fs.readFileSync(path.join(dir, f), 'utf8')) as any;
      return d.spec.template.spec.containers.flatMap((c: any) => (c.env ?? []).filter((e: any) => typeof e.value === 'string' && e.value.includes(apiHost)).map((e: any) => e.name));
    });
    const mentions = paragraphs(DOCS).filter((p) => p.text.includes('`minio.apiHost`'));
    expect(mentions.length).toBeGreaterThan(0);
    for (const p of mentions) {
      if (vars.length === 0) {
        expect(`${at(p)}: ${p.text}`).toMatch(/no app variable names it/);
        expect(p.text).not.toMatch(/carries presigned uploads/);
      } else {
        for (const v of new Set(vars)) expect(`${at(p)}: ${p.text}`).toContain(`\`${v}\``);
      }
    }
  });
});
