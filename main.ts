/**
 * Synthesizes every environment in lib/config/environments into dist/<env>/<chart>/.
 *   node build/main.js [--environments DIR] [--out DIR] [ENV ...]
 * All configuration is loaded, every platform rendered and its footprint checked against the
 * budget of its node size before anything is written.
 */
import * as path from 'path';
import { ADD_ONS } from './lib/addons/registry';
import { ConfigError } from './lib/config/errors';
import { ENVIRONMENTS_DIR, listEnvironments, loadConfig } from './lib/config/load';
import { assertBudget, footprintOfManifests } from './lib/footprint';
import { Platform } from './charts/platform';
import { Manifests, renderPlatform, writeManifests } from './lib/synth';

function main(argv: string[]): void {
  let environmentsDir = ENVIRONMENTS_DIR;
  let outDir = 'dist';
  const envs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--environments') environmentsDir = argv[++i];
    else if (argv[i] === '--out') outDir = argv[++i];
    else envs.push(argv[i]);
  }
  const selected = envs.length > 0 ? envs : listEnvironments(environmentsDir);
  const configs = selected.map((env) => loadConfig(env, { environmentsDir }));
  const files: Manifests = new Map();
  for (const config of configs) {
    const rendered = renderPlatform(new Platform(config));
    // The requests must fit the node's budget (lib/config/sizing.ts) before anything is written.
    assertBudget(footprintOfManifests(rendered, config, ADD_ONS), config, path.relative(process.cwd(), path.join(environmentsDir, `${config.name}.yaml`)));
    for (const [file, text] of rendered) files.set(file, text);
  }
  writeManifests(files, outDir);
  console.log(`synthesized ${selected.join(', ')} → ${outDir}/ (${files.size} objects)`);
}

try {
  main(process.argv.slice(2));
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `synth failed, dist/ left unchanged: ${(err as Error).stack}`);
  process.exit(1);
}
