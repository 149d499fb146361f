import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { diffDist, formatMarkdown } from '../lib/gitops/dist-diff';
import { FIXTURE_ENVIRONMENTS_DIR } from './helpers/platform';
import { unifiedDiff } from '../lib/gitops/unified-diff';

const ROOT = path.resolve(__dirname, '..');
const MAIN = path.join(ROOT, 'build', 'main.js');
const DIFF = path.join(ROOT, 'build', 'scripts', 'diff.js');
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' });

describe('the per-object diff', () => {
  const obj = (kind: string, name: string, extra = '') => `apiVersion: v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n  namespace: data\n${extra}`;

  test('GIVEN an added, a removed, a changed and a moved object THEN each is reported once with its chart and a patch', () => {
    const before = new Map([
      ['prod/redis/ConfigMap.data.a.yaml', obj('ConfigMap', 'a', 'data:\n  x: "1"\n')],
      ['prod/redis/ConfigMap.data.gone.yaml', obj('ConfigMap', 'gone')],
      ['prod/base/Service.data.moved.yaml', obj('Service', 'moved')],
    ]);
    const after = new Map([
      ['prod/redis/ConfigMap.data.a.yaml', obj('ConfigMap', 'a', 'data:\n  x: "2"\n')],
      ['prod/minio/Service.data.moved.yaml', obj('Service', 'moved')],
      ['prod/minio/ConfigMap.data.new.yaml', obj('ConfigMap', 'new')],
    ]);
    const changes = diffDist(before, after);
    expect(changes.map((c) => `${c.status} ${c.kind} ${c.id} ${c.fromChart ?? ''}→${c.chart}`)).toEqual([
      'changed ConfigMap data/a →redis',
      'removed ConfigMap data/gone →redis',
      'added ConfigMap data/new →minio',
      'changed Service data/moved base→minio',
    ]);
    expect(changes[0].patch).toBe('@@ -4,4 +4,4 @@\n   name: a\n   namespace: data\n data:\n-  x: "1"\n+  x: "2"');
  });

  test('GIVEN changes THEN the markdown has a count table over every environment and sections by environment and kind', () => {
    const changes = diffDist(new Map(), new Map([['prod/redis/ConfigMap.data.a.yaml', obj('ConfigMap', 'a')]]));
    const md = formatMarkdown(changes, { base: '`main` (abc1234)', envs: ['dev', 'prod'] });
    expect(md).toContain('### Platform diff: `dist/` at `main` (abc1234) → this change');
    expect(md).toContain('| dev | 0 | 0 | 0 |\n| prod | 1 | 0 | 0 |');
    expect(md).toContain('#### prod\n\n**ConfigMap** (1)\n\n<details><summary>+ <code>data/a</code> (added, redis)</summary>\n\n```diff\n@@ -0,0 +1,5 @@\n+apiVersion: v1');
    expect(md).not.toContain('#### dev');
  });

  test('GIVEN a huge change THEN patches and the whole comment are cut to fit a pull-request comment', () => {
    const big = obj('ConfigMap', 'big', `data:\n${Array.from({ length: 5000 }, (_, i) => `  k${i}: "${i}"`).join('\n')}\n`);
    const md = formatMarkdown(diffDist(new Map(), new Map([['dev/x/ConfigMap.data.big.yaml', big]])), { base: 'x', envs: ['dev'], maxPatchLines: 50, maxChars: 3000 });
    expect(md).toMatch(/… \d+ more lines|output cut at 3000 characters/);
    expect(md.length).toBeLessThan(3200);
  });

  test('GIVEN random line edits THEN git apply turns the old text into the new one with our hunks', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'udiff-'));
    git(dir, 'init', '-q');
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let t = 0; t < 40; t++) {
      const lines = (n: number) => Array.from({ length: rnd(n) }, () => `line ${rnd(5)}`);
      const a = lines(25);
      const b = lines(25);
      const before = a.length ? `${a.join('\n')}\n` : '';
      const after = b.length ? `${b.join('\n')}\n` : '';
      fs.writeFileSync(path.join(dir, 'f.txt'), before);
      const patch = unifiedDiff(before, after);
      if (patch === '') {
        expect(before).toBe(after);
        continue;
      }
      fs.writeFileSync(path.join(dir, 'p.diff'), `--- a/f.txt\n+++ b/f.txt\n${patch}\n`);
      git(dir, 'apply', '--unidiff-zero', 'p.diff');
      expect(fs.readFileSync(path.join(dir, 'f.txt'), 'utf8')).toBe(after);
    }
  });
});

describe('GIVEN a temporary git repository whose main branch holds a synthesized dist/', () => {
  let repo: string;

  beforeAll(() => {
    repo = fs.mkdtempSync(path.join(os.tmpdir(), 'diff-repo-'));
    git(repo, 'init', '-q');
    fs.cpSync(FIXTURE_ENVIRONMENTS_DIR, path.join(repo, 'lib', 'config', 'environments'), { recursive: true });
    execFileSync(process.execPath, [MAIN, '--environments', path.join(repo, 'lib', 'config', 'environments'), '--out', path.join(repo, 'dist')]);
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'base');
  });

  const runDiff = (...args: string[]) => spawnSync(process.execPath, [DIFF, ...args], { cwd: repo, encoding: 'utf8' });

  test('WHEN nothing changed THEN the diff says so and --exit-code succeeds', () => {
    const run = runDiff('--exit-code');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('No object changes in any environment.');
  });

  test('WHEN a branch grows the prod Postgres volume in config THEN the diff against the merge base shows exactly that, under prod and StatefulSet', () => {
    git(repo, 'checkout', '-q', '-b', 'bigger-volume');
    fs.appendFileSync(path.join(repo, 'lib', 'config', 'environments', 'prod.yaml'), 'postgres: { storage: { size: 30Gi } }\n');
    git(repo, 'commit', '-qam', 'prod: 30Gi for Postgres');
    const status = git(repo, 'status', '--porcelain');

    const run = runDiff('--exit-code');

    expect(run.stderr).toBe('');
    expect(run.status).toBe(1); // --exit-code: there are changes
    expect(run.stdout).toMatch(/^### Platform diff: `dist\/` at `[0-9a-f]{7}` \(the merge base of HEAD and main\) → this change/);
    expect(run.stdout).toContain('| dev | 0 | 0 | 0 |');
    expect(run.stdout).toContain('| ha | 0 | 0 | 0 |');
    expect(run.stdout).toMatch(/\| prod \| 0 \| [1-9]\d* \| 0 \|/);
    expect(run.stdout).toContain('#### prod\n');
    expect(run.stdout).not.toContain('#### dev');
    const statefulSets = run.stdout.slice(run.stdout.indexOf('**StatefulSet**'));
    expect(statefulSets).toContain('<code>data/postgres</code> (changed, postgres)');
    expect(statefulSets).toMatch(/-\s+storage: 20Gi\n\+\s+storage: 30Gi/);
    // Nothing was written in the repository.
    expect(git(repo, 'status', '--porcelain')).toBe(status);
  });

  test('WHEN an explicit --ref and --env are given THEN only that environment is compared against that ref', () => {
    const run = runDiff('--ref', 'main', '--env', 'dev');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('at `main` (');
    expect(run.stdout).toContain('No object changes in any environment.');
  });

  test('WHEN the ref does not exist THEN one clear line and a non-zero exit', () => {
    const run = runDiff('--ref', 'no-such-branch');
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe('diff: unknown git ref "no-such-branch"; fix: pass --ref with a branch, tag or commit');
  });
});
