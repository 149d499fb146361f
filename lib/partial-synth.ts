/**
 * A partial synth (`node build/main.js prod`) renders only the environments it names; every other
 * environment's folder in dist/ is carried over as it is, so the atomic swap of lib/synth.ts
 * replaces exactly the named environments' folders and deletes nothing else.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Manifests } from './synth';

/**
 * `files` (the named environments) plus every file of `outDir` outside those environments' folders,
 * read back unchanged (writeManifests then hard-links them instead of writing them again).
 * @param environments the environments this synth rendered; their folders are replaced as a whole
 */
export function withOtherEnvironments(files: Manifests, outDir: string, environments: readonly string[]): Manifests {
  const rendered = new Set(environments);
  const all: Manifests = new Map(files);
  for (const rel of listFiles(outDir)) {
    if (rendered.has(rel.split('/')[0])) continue;
    all.set(rel, fs.readFileSync(path.join(outDir, rel), 'utf8'));
  }
  return all;
}

/** Plain files below `dir` as POSIX paths relative to it; none when `dir` does not exist yet. */
function listFiles(dir: string, rel = ''): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
  } catch (err) {
    if (rel === '' && (err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries.flatMap((entry) => {
    const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) return listFiles(dir, child);
    if (entry.isFile()) return [child];
    throw new Error(`${path.join(dir, child)} is neither a file nor a folder; a partial synth cannot carry it over, so nothing was written`);
  });
}
