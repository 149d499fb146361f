/** Synthesizes platforms in memory for tests. */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { referenceDir } from '../../lib/project';
import { loadConfig, parseConfig, withDefaults } from '../../lib/config/load';
import { PlatformConfig } from '../../lib/config/schema';
import { Platform, PlatformOptions } from '../../charts/platform';
import { renderPlatform } from '../../lib/synth';

/**
 * The sample environments the tests assert, owned by the tests (test/fixtures/environments), so a
 * team that edits its own lib/config/environments keeps a green suite; those are checked by the
 * invariants of test/user-environments.test.ts instead.
 */
export const FIXTURE_ENVIRONMENTS_DIR = path.join(__dirname, '..', 'fixtures', 'environments');
export const ENVIRONMENTS = ['dev', 'prod', 'prod-8gb', 'ha'];

/** A sample environment of the tests (test/fixtures/environments/<env>.yaml over the defaults). */
export function loadFixture(env: string): PlatformConfig {
  return loadConfig(env, { environmentsDir: FIXTURE_ENVIRONMENTS_DIR });
}

/** The config of a sample environment, or the defaults with `overrides` merged in. */
export function configFor(env: string, overrides?: Record<string, unknown>): PlatformConfig {
  if (!overrides) return loadFixture(env);
  return parseConfig({ ...withDefaults(overrides), name: env }, `test overrides for ${env}`);
}

export interface Synthesized {
  readonly config: PlatformConfig;
  readonly platform: Platform;
  /** Every object, with the chart (folder) it was written to. */
  readonly objects: { chart: string; file: string; object: any }[];
}

export function synth(config: PlatformConfig, options?: PlatformOptions): Synthesized {
  const platform = new Platform(config, options);
  const objects = [...renderPlatform(platform)].map(([file, text]) => ({
    chart: file.split('/')[1],
    file,
    object: yaml.load(text) as any,
  }));
  return { config, platform, objects };
}

const shipped = new Map<string, Synthesized>();

/**
 * A shipped environment, synthesized once per test file (jest gives each file its own modules) and
 * shared by its tests; its objects are frozen, so a test that changes them fails instead of
 * leaking into the next.
 */
export function synthEnv(env: string): Synthesized {
  return once(`fixture:${env}`, () => loadFixture(env));
}

/** The team's own environment (lib/config/environments), synthesized once per test file and frozen likewise. */
export function synthUserEnv(env: string): Synthesized {
  return once(`user:${env}`, () => loadConfig(env));
}

function once(key: string, config: () => PlatformConfig): Synthesized {
  let s = shipped.get(key);
  if (s === undefined) {
    s = cachedSynth(config());
    deepFreeze(s.objects);
    shipped.set(key, s);
  }
  return s;
}

/**
 * The shipped environments are rendered by some 30 test files; each render is kept on disk (in the
 * OS temp folder) under a hash of the whole parsed config and of the path, size and mtime of every
 * file the render can read (lib/, charts/, imports/, this helper, package-lock.json), so each fixture
 * is synthesized once per source state and the other test files, on any worker, read its objects
 * instead. `platform` (the construct tree) is built on first use only. Configs that render Helm charts
 * inline (they read the chart cache and run helm) are never cached. SYNTH_CACHE=off disables it.
 */
const CACHE_DIR = path.join(os.tmpdir(), `platform-as-code-synth-cache-${process.getuid?.() ?? 0}`);
let sourcesHash: string | undefined;

function sourcesFingerprint(): string {
  if (sourcesHash !== undefined) return sourcesHash;
  const root = path.join(__dirname, '..', '..');
  const files = [path.join(root, 'package-lock.json'), __filename];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) files.push(full);
    }
  };
  for (const dir of ['lib', 'charts', 'imports']) walk(path.join(root, dir));
  const hash = createHash('sha256');
  for (const file of files.sort()) {
    const st = fs.statSync(file);
    hash.update(`${path.relative(root, file)}\0${st.size}\0${st.mtimeMs}\n`);
  }
  sourcesHash = hash.digest('hex');
  return sourcesHash;
}

function cachedSynth(config: PlatformConfig): Synthesized {
  const configText = JSON.stringify(config);
  if (process.env.SYNTH_CACHE === 'off' || /"render":"inline"/.test(configText)) return synth(config);
  const file = path.join(CACHE_DIR, `${createHash('sha256').update(`${sourcesFingerprint()}\n${configText}`).digest('hex')}.json`);
  let objects: Synthesized['objects'] | undefined;
  try {
    objects = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    objects = undefined;
  }
  if (objects === undefined) {
    const s = synth(config);
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    // The objects are parsed YAML of plain JSON data (lib/yaml.ts writes nothing else), so JSON keeps them whole.
    fs.writeFileSync(tmp, JSON.stringify(s.objects));
    fs.renameSync(tmp, file);
    pruneCache();
    return s;
  }
  let platform: Platform | undefined;
  return {
    config,
    get platform(): Platform {
      platform ??= synth(config).platform;
      return platform;
    },
    objects,
  };
}

/** Drops renders older than a day (old source states). */
function pruneCache(): void {
  const dayAgo = Date.now() - 24 * 3600 * 1000;
  for (const name of fs.readdirSync(CACHE_DIR)) {
    const file = path.join(CACHE_DIR, name);
    try {
      if (fs.statSync(file).mtimeMs < dayAgo) fs.rmSync(file, { force: true });
    } catch {
      // another worker removed it
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Objects of one kind (optionally by name). */
export function find(s: Synthesized, kind: string, name?: string): any[] {
  return s.objects.map((o) => o.object).filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
}

export function one(s: Synthesized, kind: string, name: string): any {
  const found = find(s, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
  return found[0];
}

/** Grafana's Service is rendered by kube-prometheus-stack (`<release>-grafana`), its port from the grafana chart's values.yaml. */
const GRAFANA_SERVICE_PORT = (yaml.load(fs.readFileSync(path.join(referenceDir(), 'helm-values', 'grafana-12.11.1.values.yaml'), 'utf8')) as any).service.port;

/** Our Services plus those a Helm release renders that routes point at (Grafana). */
export function servicesWithHelm(s: Synthesized): any[] {
  const helm = find(s, 'Application')
    .filter((a) => a.spec.source?.chart === 'kube-prometheus-stack')
    .map((a) => ({ metadata: { name: `${a.spec.source.helm.releaseName}-grafana`, namespace: a.spec.destination.namespace }, spec: { ports: [{ port: GRAFANA_SERVICE_PORT }] } }));
  return [...find(s, 'Service'), ...helm];
}
