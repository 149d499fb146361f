/**
 * Renders platforms to dist/<env>/<chart>/<Kind>.<namespace>.<name>.yaml. Everything is
 * rendered in memory first and swapped in with renames, so a failed synth leaves the old
 * dist/ untouched.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, App, Chart } from 'cdk8s';
import * as yaml from 'js-yaml';

/** The files of one synth: relative path → YAML text. */
export type Manifests = Map<string, string>;

/** What rendering needs of a platform (charts/platform.ts composes it; lib/ does not import charts/). */
export interface RenderablePlatform {
  readonly app: App;
  readonly config: { readonly name: string };
  readonly charts: readonly Chart[];
}

export function renderPlatform(platform: RenderablePlatform): Manifests {
  const errors = platform.app.node
    .findAll()
    .flatMap((c) => c.node.validate().map((message) => `${c.node.path}: ${message}`));
  if (errors.length > 0) throw new Error(`Validation failed:\n${errors.join('\n')}`);

  const files: Manifests = new Map();
  for (const chart of platform.charts) {
    for (const object of Chart.of(chart).toJson()) {
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

/** Replaces `outDir` with exactly `files`, atomically enough that a crash never leaves a half-written dist/. */
export function writeManifests(files: Manifests, outDir: string): void {
  const parent = path.dirname(path.resolve(outDir));
  const staging = fs.mkdtempSync(path.join(parent, '.dist-staging-'));
  try {
    for (const [rel, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
      const target = path.join(staging, rel);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, text);
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

export type { ApiObject };
