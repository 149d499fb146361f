/**
 * Renders platforms to dist/<env>/<chart>/<Kind>.<namespace>.<name>.yaml. Everything is
 * rendered in memory first and swapped in with renames, so a failed synth leaves the old
 * dist/ untouched.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ApiObject } from 'cdk8s';
import * as yaml from 'js-yaml';
import { renderedObjects } from './gitops/rendered';
import { Platform } from './platform';

/** The files of one synth: relative path → YAML text. */
export type Manifests = Map<string, string>;

/** Every chart's objects as YAML, from the one render per chart that the GitOps derivation shares. */
export function renderPlatform(platform: Platform): Manifests {
  const errors = platform.app.node
    .findAll()
    .flatMap((c) => c.node.validate().map((message) => `${c.node.path}: ${message}`));
  if (errors.length > 0) throw new Error(`Validation failed:\n${errors.join('\n')}`);

  const files: Manifests = new Map();
  for (const chart of platform.charts) {
    for (const object of renderedObjects(chart)) {
      const file = path.posix.join(platform.config.name, chart.node.id, fileName(object));
      if (files.has(file)) throw new Error(`two objects render to ${file}; give them distinct names`);
      files.set(file, toYaml(object));
    }
  }
  return files;
}

export function toYaml(object: unknown): string {
  return yaml.dump(object, { noRefs: true, lineWidth: -1 });
}

function fileName(object: any): string {
  const { kind } = object;
  const { name, namespace } = object.metadata ?? {};
  return [kind, namespace, name].filter(Boolean).join('.').replace(/[^0-9A-Za-z._-]/g, '') + '.yaml';
}

/**
 * Replaces `outDir` with exactly `files`, atomically enough that a crash never leaves a half-written
 * dist/: a staging folder is filled completely, then swapped in with two renames. A file whose text
 * is unchanged is hard-linked from the old dist/ instead of written again (most of a synth's time
 * was creating ~500 files); the old folder is only unlinked, never written to.
 */
export function writeManifests(files: Manifests, outDir: string): void {
  const parent = path.dirname(path.resolve(outDir));
  const staging = fs.mkdtempSync(path.join(parent, '.dist-staging-'));
  try {
    const folders = new Set<string>();
    for (const [rel, text] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const target = path.join(staging, rel);
      const folder = path.dirname(target);
      if (!folders.has(folder)) {
        fs.mkdirSync(folder, { recursive: true });
        folders.add(folder);
      }
      if (!linkIfUnchanged(path.join(outDir, rel), text, target)) fs.writeFileSync(target, text);
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

/** Hard-links `existing` to `target` when it is a plain file holding exactly `text`; false otherwise. */
function linkIfUnchanged(existing: string, text: string, target: string): boolean {
  try {
    const stat = fs.lstatSync(existing, { throwIfNoEntry: false });
    if (!stat?.isFile() || stat.size !== Buffer.byteLength(text) || fs.readFileSync(existing, 'utf8') !== text) return false;
    fs.linkSync(existing, target);
    return true;
  } catch {
    return false; // e.g. a file system without hard links: write the file instead
  }
}

export type { ApiObject };
