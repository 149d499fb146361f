/** `node build/main.js <env>` rewrites only dist/<env>/; a synth without names writes every environment. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { withOtherEnvironments } from '../lib/partial-synth';
import { writeManifests } from '../lib/synth';
import { listYamlFiles } from '../lib/validation/validate-dist';
import { MAIN, treeHash } from './helpers/bad-input';

const allText = (dir: string): string => listYamlFiles(dir).map((f) => fs.readFileSync(f, 'utf8')).join('\n');

describe('a partial synth', () => {
  test('GIVEN a dist/ with environments a and b WHEN only a is rendered THEN b is carried over and a is replaced as a whole', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'partial-')), 'dist');
    writeManifests(new Map([['a/base/Old.yaml', 'kind: Old\n'], ['b/base/Keep.yaml', 'kind: Keep\n'], ['b/redis/Also.yaml', 'kind: Also\n']]), out);

    const files = withOtherEnvironments(new Map([['a/base/New.yaml', 'kind: New\n']]), out, ['a']);

    expect(Object.fromEntries(files)).toEqual({ 'a/base/New.yaml': 'kind: New\n', 'b/base/Keep.yaml': 'kind: Keep\n', 'b/redis/Also.yaml': 'kind: Also\n' });
  });

  test('GIVEN no dist/ yet WHEN one environment is rendered THEN only its files are written', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'partial-')), 'dist');
    expect([...withOtherEnvironments(new Map([['a/x/One.yaml', 'kind: One\n']]), out, ['a']).keys()]).toEqual(['a/x/One.yaml']);
  });

  describe('end to end through the compiled synth', () => {
    let work = '';
    let envDir = '';
    let out = '';
    const run = (...args: string[]) => spawnSync(process.execPath, [MAIN, '--environments', envDir, '--out', out, ...args], { encoding: 'utf8' });

    beforeAll(() => {
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'partial-e2e-'));
      envDir = path.join(work, 'environments');
      out = path.join(work, 'dist');
      fs.mkdirSync(envDir);
      // Test-owned environments: what they contain does not matter, only that both synthesize.
      fs.writeFileSync(path.join(envDir, 'one.yaml'), 'stage: development\ndomain: one.example.org\n');
      fs.writeFileSync(path.join(envDir, 'two.yaml'), 'stage: development\ndomain: two.example.org\n');
      const full = run();
      if (full.status !== 0) throw new Error(full.stderr);
    });

    test('GIVEN dist/ with both environments WHEN `main.js one` runs after one changed THEN only dist/one/ changes and dist/two/ is byte-identical', () => {
      const twoBefore = treeHash(path.join(out, 'two'));
      const oneBefore = treeHash(path.join(out, 'one'));
      fs.writeFileSync(path.join(out, 'one', 'base', 'Stale.left.over.yaml'), 'kind: Stale\n');
      fs.writeFileSync(path.join(envDir, 'one.yaml'), 'stage: development\ndomain: one.example.net\n');

      const partial = run('one');

      expect(partial.status).toBe(0);
      expect(fs.readdirSync(out).sort()).toEqual(['one', 'two']);
      expect(treeHash(path.join(out, 'two'))).toBe(twoBefore);
      expect(treeHash(path.join(out, 'one'))).not.toBe(oneBefore);
      expect(fs.existsSync(path.join(out, 'one', 'base', 'Stale.left.over.yaml'))).toBe(false);
      expect(allText(path.join(out, 'one'))).toContain('one.example.net');
      expect(allText(path.join(out, 'one'))).not.toContain('one.example.org');
    });

    test('GIVEN an environment folder no file names any more WHEN a full synth runs THEN it disappears; WHEN a partial one runs THEN it stays', () => {
      fs.mkdirSync(path.join(out, 'retired', 'base'), { recursive: true });
      fs.writeFileSync(path.join(out, 'retired', 'base', 'Namespace.app.yaml'), 'kind: Namespace\n');

      expect(run('two').status).toBe(0);
      expect(fs.existsSync(path.join(out, 'retired', 'base', 'Namespace.app.yaml'))).toBe(true);

      expect(run().status).toBe(0);
      expect(fs.readdirSync(out).sort()).toEqual(['one', 'two']);
    });

    test('GIVEN a name with no environment file WHEN synthesizing it THEN it fails naming the file and dist/ is unchanged', () => {
      const before = treeHash(out);
      const bad = run('stagin');
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain('stagin.yaml');
      expect(bad.stderr).toContain('fix: create');
      expect(treeHash(out)).toBe(before);
    });
  });
});
