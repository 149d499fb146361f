/** Synthesizes platforms in memory for tests. */
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { referenceDir } from '../../lib/project';
import { loadConfig, parseConfig, withDefaults } from '../../lib/config/load';
import { PlatformConfig } from '../../lib/config/schema';
import { Platform, PlatformOptions } from '../../charts/platform';
import { renderPlatform } from '../../lib/synth';

export const ENVIRONMENTS = ['dev', 'prod', 'prod-8gb', 'ha'];

/** The config of a shipped environment, or the defaults with `overrides` merged in. */
export function configFor(env: string, overrides?: Record<string, unknown>): PlatformConfig {
  if (!overrides) return loadConfig(env);
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

export function synthEnv(env: string): Synthesized {
  return synth(loadConfig(env));
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
