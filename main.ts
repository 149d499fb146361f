/**
 * Synthesizes every environment in lib/config/environments into dist/<env>/<chart>/.
 *   node build/main.js [--environments DIR] [--out DIR] [--accept Kind/namespace/name ...] [ENV ...]
 * With no ENV, dist/ holds exactly the environments that exist (a removed one disappears); naming
 * ENVs rewrites only dist/<ENV>/ and leaves every other folder of dist/ as it is.
 * All configuration is loaded, every platform rendered and its footprint checked against the
 * budget of its node size before anything is written. A change Argo CD cannot apply by itself (a
 * StatefulSet field Kubernetes cannot change in place, a StatefulSet removed with its data) is refused
 * until accepted by name: `--accept` (lib/gitops/manual-steps.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ADD_ONS } from './lib/addons/registry';
import { ConfigError } from './lib/config/errors';
import { monitoringWarnings } from './lib/config/monitoring';
import { configSource, ENVIRONMENTS_DIR, listEnvironments, loadConfig, placeholdersOf } from './lib/config/load';
import { placeholderWarning } from './lib/config/placeholders';
import { assertBudget, footprintOfManifests } from './lib/footprint';
import { Platform } from './charts/platform';
import { Manifests, renderPlatform, writeManifests, YamlCache } from './lib/synth';
import { withOtherEnvironments } from './lib/partial-synth';
import { PlatformConfig } from './lib/config/schema';
import { clusterCollisions } from './lib/validation/collisions';
import { SUMMARY_FILE, summarize } from './lib/summary';
import { assertStepsAccepted, manualSteps, ManualStepsError } from './lib/gitops/manual-steps';

function main(argv: string[]): void {
  let environmentsDir = ENVIRONMENTS_DIR;
  let outDir = 'dist';
  const envs: string[] = [];
  const accepted: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--environments') environmentsDir = argv[++i];
    else if (argv[i] === '--out') outDir = argv[++i];
    else if (argv[i] === '--accept') accepted.push(argv[++i]);
    else envs.push(argv[i]);
  }
  const selected = envs.length > 0 ? envs : listEnvironments(environmentsDir);
  const configs = selected.map((env) => loadConfig(env, { environmentsDir }));
  for (const warning of configs.flatMap(monitoringWarnings)) console.error(`\n!!! WARNING: ${warning}\n`);
  for (const config of configs) {
    const warning = placeholderWarning(config.name, config.stage, placeholdersOf(config));
    if (warning) console.error(`!!! WARNING: ${warning}`);
  }
  const files: Manifests = new Map();
  const summaries: Manifests = new Map();
  const yamlCache: YamlCache = new Map();
  for (const config of configs) {
    const rendered = renderPlatform(new Platform(config), yamlCache);
    // The requests must fit the node's budget (lib/config/sizing.ts) before anything is written.
    assertBudget(footprintOfManifests(rendered, config, ADD_ONS), config, configSource(config));
    for (const [file, text] of rendered) files.set(file, text);
    // dist/<env>/SUMMARY.md: what the objects add up to (lib/summary.ts); outside every Application's path.
    summaries.set(`${config.name}/${SUMMARY_FILE}`, summarize(config, rendered).text);
  }
  assertNoClusterCollisions(configs, files, environmentsDir, yamlCache);
  // Compared with the dist/ it replaces (what the cluster runs): refused until each manual step is accepted.
  assertStepsAccepted(manualSteps(workloadFiles(outDir, selected), files), accepted);
  const partial = envs.length > 0;
  const written: Manifests = new Map([...files, ...summaries]);
  writeManifests(partial ? withOtherEnvironments(written, outDir, selected) : written, outDir);
  console.log(`synthesized ${selected.join(', ')} → ${outDir}/ (${files.size} objects)`);
}

/** The StatefulSets, Deployments and DaemonSets in `outDir` of the environments `envs`, as synth writes them (relative path → text). */
function workloadFiles(outDir: string, envs: readonly string[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const env of envs) {
    const dir = path.join(outDir, env);
    if (!fs.existsSync(dir)) continue;
    for (const chart of fs.readdirSync(dir)) {
      if (!fs.statSync(path.join(dir, chart)).isDirectory()) continue;
      for (const file of fs.readdirSync(path.join(dir, chart)).filter((f) => /^(StatefulSet|Deployment|DaemonSet)\./.test(f))) {
        files.set(`${env}/${chart}/${file}`, fs.readFileSync(path.join(dir, chart, file), 'utf8'));
      }
    }
  }
  return files;
}

/**
 * Environments sharing a cluster (cluster.sharedWith) must not collide on it; the other side of a
 * pair not synthesized in this run (a primary, or a secondary of a primary that is) is rendered for
 * the check only.
 */
function assertNoClusterCollisions(configs: PlatformConfig[], files: Manifests, environmentsDir: string, yamlCache: YamlCache): void {
  const filesOf = (env: string): Manifests => {
    const own = new Map([...files].filter(([file]) => file.startsWith(`${env}/`)));
    return own.size > 0 ? own : renderPlatform(new Platform(loadConfig(env, { environmentsDir })), yamlCache);
  };
  const selected = new Set(configs.map((c) => c.name));
  const guests = listEnvironments(environmentsDir).filter((env) => {
    if (selected.has(env)) return false;
    const text = yaml.load(fs.readFileSync(path.join(environmentsDir, `${env}.yaml`), 'utf8')) as { cluster?: { sharedWith?: unknown } } | null;
    return typeof text?.cluster?.sharedWith === 'string' && selected.has(text.cluster.sharedWith);
  });
  for (const config of [...configs, ...guests.map((env) => loadConfig(env, { environmentsDir }))]) {
    const primary = config.cluster.sharedWith;
    if (primary === undefined) continue;
    const both = new Map([...filesOf(primary), ...filesOf(config.name)]);
    // One set of nodes: the requests of both environments must fit the primary's budget together.
    const primaryConfig = loadConfig(primary, { environmentsDir });
    assertBudget(footprintOfManifests(both, primaryConfig, ADD_ONS), primaryConfig, `${configSource(config)} together with ${primary} on its cluster`);
    const collisions = clusterCollisions([{ name: primary, files: filesOf(primary) }, { name: config.name, files: filesOf(config.name) }]);
    if (collisions.length === 0) continue;
    const shown = collisions.length > 5 ? [...collisions.slice(0, 5), `and ${collisions.length - 5} more`] : collisions;
    throw new ConfigError(configSource(config), [{
      key: 'cluster.sharedWith', value: primary,
      message: `puts objects on ${primary}'s cluster that ${primary} has too: ${shown.join('; ')}; fix: give this environment its own domain (hosts) and leave namespaces unset (they get the prefix "${config.name}-")`,
    }]);
  }
}

try {
  main(process.argv.slice(2));
} catch (err) {
  console.error(err instanceof ConfigError || err instanceof ManualStepsError ? err.message : `synth failed, dist/ left unchanged: ${(err as Error).stack}`);
  process.exit(1);
}
