/** Synthesizes platforms in memory for tests. */
import * as fs from 'fs';
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
    s = synth(config());
    deepFreeze(s.objects);
    shipped.set(key, s);
  }
  return s;
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
