/** Bad environment files run through the compiled synth: each must fail loudly and write nothing. */
import { execFileSync, spawnSync, SpawnSyncReturns } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ENVIRONMENTS_DIR } from '../../lib/config/load';
import { listYamlFiles } from '../../lib/validation/validate-dist';

export const MAIN = path.resolve(__dirname, '..', '..', 'build', 'main.js');

/** [case name, overrides merged over prod.yaml's top-level keys, fragments stderr must contain]. */
export type BadInput = [string, Record<string, unknown>, string[]];

/** Content hash of every YAML file below `dir`, to prove a failed synth left it untouched. */
export function treeHash(dir: string): string {
  const hash = crypto.createHash('sha256');
  for (const file of listYamlFiles(dir)) hash.update(path.relative(dir, file)).update(fs.readFileSync(file));
  return hash.digest('hex');
}

/**
 * One test per case: prod.yaml with the overrides, synthesized by `node build/main.js` over an
 * existing dist/, must exit 1 with every expected fragment and "Nothing was written.", and dist/
 * must hash the same as before.
 */
export function describeBadInputs(title: string, cases: BadInput[], more?: (ctx: BadInputContext) => void): void {
  let workdir = '';
  let dist = '';
  let before = '';
  const ctx: BadInputContext = {
    workdir: () => workdir,
    synthFile: (text) => {
      const envDir = fs.mkdtempSync(path.join(workdir, 'env-'));
      fs.writeFileSync(path.join(envDir, 'prod.yaml'), text);
      return spawnSync(process.execPath, [MAIN, '--environments', envDir, '--out', dist], { encoding: 'utf8' });
    },
    distUnchanged: () => treeHash(dist) === before,
  };
  describe(title, () => {
    beforeAll(() => {
      workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bad-input-'));
      dist = path.join(workdir, 'dist');
      execFileSync(process.execPath, [MAIN, '--out', dist, 'prod']);
      before = treeHash(dist);
    });

    test.each(cases)('%s THEN it fails naming key, value and fix, and dist/ is unchanged', (_name, overrides, expected) => {
      const prod = yaml.load(fs.readFileSync(path.join(ENVIRONMENTS_DIR, 'prod.yaml'), 'utf8')) as object;

      const run = ctx.synthFile(yaml.dump({ ...prod, ...overrides }));

      expect(run.status).toBe(1);
      for (const fragment of expected) expect(run.stderr).toContain(fragment);
      expect(run.stderr).toContain('Nothing was written.');
      expect(ctx.distUnchanged()).toBe(true);
    });

    more?.(ctx);
  });
}

export interface BadInputContext {
  /** Scratch folder of this block (exists from beforeAll on). */
  workdir(): string;
  /** Synthesizes with `text` as the only environment file (prod.yaml) over the block's dist/. */
  synthFile(text: string): SpawnSyncReturns<string>;
  /** True while dist/ holds exactly what the first, good synth wrote. */
  distUnchanged(): boolean;
}
