/**
 * The chart cache: the pinned chart archives that `npm run charts:pull` (scripts/charts-pull.ts)
 * fetched, as `<chart>-<version>.tgz` in `helm.chartCache`, and `charts.lock.json` with the sha256
 * of each archive and how its digest was verified. The synth reads archives from here only (never
 * the network) and refuses one whose sha256 differs from the lock.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { findProjectRoot } from '../project';

export const CHART_LOCK_FILE = 'charts.lock.json';
export const PULL_COMMAND = 'npm run charts:pull';

/** A chart at an exact version in its repository. */
export interface ChartPin {
  readonly repo: string;
  readonly chart: string;
  readonly version: string;
}

export interface ChartLockEntry extends ChartPin {
  /** Archive file name in the cache. */
  readonly file: string;
  readonly sha256: string;
  /** Where the digest the archive was checked against came from, or why there was none. */
  readonly verified: string;
}

/** The archive name `helm pull` writes for a chart version. */
export const archiveName = (pin: Pick<ChartPin, 'chart' | 'version'>): string => `${pin.chart}-${pin.version}.tgz`;

/** `helm.chartCache` as an absolute folder (relative paths are taken from the project root). */
export const chartCacheDir = (chartCache: string): string => path.resolve(findProjectRoot(__dirname), chartCache);

export const sha256File = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

export function readLock(cacheDir: string): ChartLockEntry[] {
  const file = path.join(cacheDir, CHART_LOCK_FILE);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')).charts as ChartLockEntry[]) : [];
}

export function writeLock(cacheDir: string, entries: readonly ChartLockEntry[]): void {
  const sorted = [...entries].sort((a, b) => a.chart.localeCompare(b.chart) || a.version.localeCompare(b.version));
  fs.writeFileSync(path.join(cacheDir, CHART_LOCK_FILE), `${JSON.stringify({ charts: sorted }, null, 2)}\n`);
}

/**
 * The cached archive of `pin`, or an error saying why it cannot be used and the command that fixes it:
 * missing, or not the archive that was pulled (sha256 differs from the lock).
 */
export function cachedChart(cacheDir: string, pin: ChartPin): { file: string } | { problem: string } {
  const file = path.join(cacheDir, archiveName(pin));
  if (!fs.existsSync(file)) return { problem: `chart ${pin.chart} ${pin.version} (${pin.repo}) is not in the chart cache ${cacheDir}` };
  const locked = readLock(cacheDir).find((e) => e.chart === pin.chart && e.version === pin.version);
  if (locked && locked.sha256 !== sha256File(file)) {
    return { problem: `${file} does not match the sha256 in ${CHART_LOCK_FILE} (${locked.sha256}), so it is not the archive that was pulled` };
  }
  return { file };
}
