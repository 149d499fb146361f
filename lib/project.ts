import * as fs from 'fs';
import * as path from 'path';

/** The folder holding package.json, above `start` (works from the sources and from build/). */
export function findProjectRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

/** ../shared/reference beside the project: upstream schemas and chart defaults (read-only). */
export const referenceDir = (): string => path.resolve(findProjectRoot(__dirname), '..', 'shared', 'reference');
