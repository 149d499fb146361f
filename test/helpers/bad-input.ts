/**
 * Bad environment files. Every case runs in-process through what main.ts runs before it writes
 * (loadConfig on a scratch environments folder, then the platform and its render) and must fail
 * with a ConfigError naming key, value and fix. Cases marked end-to-end also run through the
 * compiled synth over an existing dist/: exit 1, the message on stderr, dist/ untouched.
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ConfigError } from '../../lib/config/errors';
import { loadConfig } from '../../lib/config/load';
import { FIXTURE_ENVIRONMENTS_DIR, loadFixture } from './platform';
import { Platform } from '../../charts/platform';
import { renderPlatform, writeManifests } from '../../lib/synth';
import { listYamlFiles } from '../../lib/validation/validate-dist';

export const MAIN = path.resolve(__dirname, '..', '..', 'build', 'main.js');

/** [case name, overrides merged over prod.yaml's top-level keys, fragments the error must contain]. */
export type BadInput = [string, Record<string, unknown>, string[]];

/** Content hash of every YAML file below `dir`, to prove a failed synth left it untouched. */
export function treeHash(dir: string): string {
  const hash = crypto.createHash('sha256');
  for (const file of listYamlFiles(dir)) hash.update(path.relative(dir, file)).update(fs.readFileSync(file));
  return hash.digest('hex');
}

/** The sample prod.yaml of the tests (test/fixtures/environments) with `overrides` replacing its top-level keys. */
export function prodWith(overrides: Record<string, unknown>): string {
  const prod = yaml.load(fs.readFileSync(path.join(FIXTURE_ENVIRONMENTS_DIR, 'prod.yaml'), 'utf8')) as object;
  return yaml.dump({ ...prod, ...overrides });
}

/**
 * One test per case, in-process; the cases named in `endToEnd` (one per kind of failure is
 * enough) also through `node build/main.js` over a dist/ that must hash the same afterwards.
 */
export function describeBadInputs(title: string, cases: BadInput[], options: { endToEnd: string[] }, more?: (ctx: BadInputContext) => void): void {
  const unknown = options.endToEnd.filter((name) => !cases.some(([n]) => n === name));
  if (unknown.length > 0) throw new Error(`endToEnd names no case: ${unknown.join(', ')}`);
  let workdir = '';
  let dist = '';
  let before = '';
  const envFolder = (text: string): string => {
    const envDir = fs.mkdtempSync(path.join(workdir, 'env-'));
    fs.writeFileSync(path.join(envDir, 'prod.yaml'), text);
    return envDir;
  };
  const ctx: BadInputContext = {
    workdir: () => workdir,
    synthInProcess: (text) => {
      try {
        renderPlatform(new Platform(loadConfig('prod', { environmentsDir: envFolder(text) })));
      } catch (err) {
        return err;
      }
      return undefined;
    },
    synthFile: (text) => {
      const envDir = envFolder(text);
      const run = spawnSync(process.execPath, [MAIN, '--environments', envDir, '--out', dist], { encoding: 'utf8' });
      return { status: run.status, stderr: run.stderr, file: path.join(envDir, 'prod.yaml') };
    },
    distUnchanged: () => treeHash(dist) === before,
  };
  describe(title, () => {
    beforeAll(() => {
      workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bad-input-'));
      dist = path.join(workdir, 'dist');
      writeManifests(renderPlatform(new Platform(loadFixture('prod'))), dist);
      before = treeHash(dist);
    });

    test.each(cases)('%s THEN it fails naming key, value and fix', (_name, overrides, expected) => {
      const error = ctx.synthInProcess(prodWith(overrides));

      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      for (const fragment of expected) expect(message).toContain(fragment);
      expect(message).toContain('Nothing was written.');
    });

    const endToEnd = cases.filter(([name]) => options.endToEnd.includes(name));
    test.each(endToEnd)('%s THEN the compiled synth exits 1 with the same message and dist/ is unchanged', (_name, overrides, expected) => {
      const run = ctx.synthFile(prodWith(overrides));

      expect(run.status).toBe(1);
      // The file the user wrote (here a scratch folder, not lib/config/environments), then key, value and fix.
      expect(run.stderr).toContain(`Invalid configuration in ${path.relative(process.cwd(), run.file)}`);
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
  /** Loads `text` as the only environment file (prod.yaml) and renders its platform; returns what was thrown, if anything. */
  synthInProcess(text: string): unknown;
  /** Synthesizes with `text` as the only environment file (prod.yaml) through the compiled synth, over the block's dist/. */
  synthFile(text: string): { status: number | null; stderr: string; file: string };
  /** True while dist/ holds exactly what the first, good synth wrote. */
  distUnchanged(): boolean;
}
