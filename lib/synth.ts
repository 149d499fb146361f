/**
 * Renders platforms to dist/<env>/<chart>/<Kind>.<namespace>.<name>.yaml. Everything is
 * rendered in memory first and swapped in with renames, so a failed synth leaves the old
 * dist/ untouched.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, App, Chart } from 'cdk8s';
import { renderCharts, renderedJsonText, renderedObjects } from './gitops/rendered';
import { toYaml } from './yaml';

export { toYaml };

/** The files of one synth: relative path → YAML text. */
export type Manifests = Map<string, string>;

/** What rendering needs of a platform (charts/platform.ts composes it; lib/ does not import charts/). */
export interface RenderablePlatform {
  readonly app: App;
  readonly config: { readonly name: string };
  readonly charts: readonly Chart[];
}

/**
 * YAML already written, by the JSON of its object. Environments share most objects (dashboards,
 * scripts, rules), so a synth of all of them passes one cache to every renderPlatform.
 */
export type YamlCache = Map<string, string>;

/**
 * Every chart's objects as YAML, from the one render per chart that the GitOps derivation shares.
 * @param yamlCache YAML of identical objects rendered before (another environment of this synth)
 */
export function renderPlatform(platform: RenderablePlatform, yamlCache: YamlCache = new Map()): Manifests {
  const errors = platform.app.node
    .findAll()
    .flatMap((c) => c.node.validate().map((message) => `${c.node.path}: ${message}`));
  if (errors.length > 0) throw new Error(`Validation failed:\n${errors.join('\n')}`);

  const files: Manifests = new Map();
  const charts = platform.charts;
  renderCharts(charts);
  for (const chart of charts) {
    for (const object of renderedObjects(chart)) {
      const file = path.posix.join(platform.config.name, chart.node.id, fileName(object));
      if (files.has(file)) throw new Error(`two objects render to ${file}; give them distinct names`);
      const json = renderedJsonText(object);
      let text = yamlCache.get(json);
      if (text === undefined) {
        text = toYaml(object);
        yamlCache.set(json, text);
      }
      files.set(file, text);
    }
  }
  return files;
}

function fileName(object: any): string {
  const { kind } = object;
  const { name, namespace } = object.metadata ?? {};
  return [kind, namespace, name].filter(Boolean).join('.').replace(/[^0-9A-Za-z._-]/g, '') + '.yaml';
}

/**
 * Replaces `outDir` with exactly `files`, atomically enough that a crash never leaves a half-written
 * dist/: a staging folder is filled completely, then swapped in with two renames. A file whose text
 * is unchanged is hard-linked from the old dist/ instead of written again (creating ~500 files was
 * most of a synth's time), and a dist/ that already holds exactly `files` is left as it is. The old
 * folder is only read and unlinked, never written to.
 */
export function writeManifests(files: Manifests, outDir: string): void {
  const sorted = [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const existing = listTree(outDir);
  const unchanged = new Set(sorted.filter(([rel, text]) => existing.files.has(rel) && sameText(path.join(outDir, rel), text)).map(([rel]) => rel));
  const folders = new Set(sorted.flatMap(([rel]) => parentFolders(rel)));
  const same = existing.found && !existing.other && unchanged.size === files.size && existing.files.size === files.size && [...existing.folders].every((f) => folders.has(f));
  if (same) return;

  const parent = path.dirname(path.resolve(outDir));
  const staging = fs.mkdtempSync(path.join(parent, '.dist-staging-'));
  try {
    for (const folder of [...folders].sort()) fs.mkdirSync(path.join(staging, folder));
    for (const [rel, text] of sorted) {
      const target = path.join(staging, rel);
      if (!(unchanged.has(rel) && tryLink(path.join(outDir, rel), target))) fs.writeFileSync(target, text);
    }
    const retired = `${staging}-old`;
    if (fs.existsSync(outDir)) fs.renameSync(outDir, retired);
    fs.renameSync(staging, outDir);
    fs.rmSync(retired, { recursive: true, force: true });
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

/** Every folder on the way to `rel` (a POSIX path relative to dist/), outermost first. */
function parentFolders(rel: string): string[] {
  const parts = rel.split('/').slice(0, -1);
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** Plain files and folders below `dir` (relative paths); `other` when anything else is there. */
function listTree(dir: string): { found: boolean; files: Set<string>; folders: Set<string>; other: boolean } {
  const tree = { found: false, files: new Set<string>(), folders: new Set<string>(), other: false };
  const walk = (rel: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    } catch {
      tree.other = rel !== ''; // no dist/ yet is fine; an unreadable folder inside it is not
      return;
    }
    if (rel === '') tree.found = true;
    for (const entry of entries) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        tree.folders.add(child);
        walk(child);
      } else if (entry.isFile()) {
        tree.files.add(child);
      } else {
        tree.other = true;
      }
    }
  };
  walk('');
  return tree;
}

function sameText(file: string, text: string): boolean {
  try {
    return fs.readFileSync(file, 'utf8') === text;
  } catch {
    return false;
  }
}

/** Hard-links `existing` to `target`; false where the file system cannot (then the file is written). */
function tryLink(existing: string, target: string): boolean {
  try {
    fs.linkSync(existing, target);
    return true;
  } catch {
    return false;
  }
}

export type { ApiObject };
