/**
 * npm run synth:helm -- --env ENV [--out DIR] [--environments DIR]
 * Writes the platform of one environment as a Helm chart (default: helm/platform-<env>/).
 * Configuration is loaded and everything rendered before anything is written.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError } from '../lib/config/errors';
import { ENVIRONMENTS_DIR, loadConfig } from '../lib/config/load';
import { helmChart } from '../lib/helm-chart';
import { Platform } from '../charts/platform';
import { findProjectRoot } from '../lib/project';
import { renderPlatform, writeManifests } from '../lib/synth';

function main(argv: string[]): void {
  let env: string | undefined;
  let out: string | undefined;
  let environmentsDir = ENVIRONMENTS_DIR;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--env') env = argv[++i];
    else if (argv[i] === '--out') out = argv[++i];
    else if (argv[i] === '--environments') environmentsDir = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}; usage: npm run synth:helm -- --env ENV [--out DIR]`);
  }
  if (!env) throw new Error('no environment; usage: npm run synth:helm -- --env ENV [--out DIR]');
  const root = findProjectRoot(__dirname);
  const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version as string;
  const files = helmChart(renderPlatform(new Platform(loadConfig(env, { environmentsDir }))), { env, version });
  const outDir = out ?? path.join('helm', `platform-${env}`);
  fs.mkdirSync(path.dirname(path.resolve(outDir)), { recursive: true });
  writeManifests(files, outDir);
  console.log(`wrote the ${env} platform as a Helm chart → ${outDir}/ (${files.size - 2} templates)`);
}

try {
  main(process.argv.slice(2));
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `synth:helm failed, nothing written: ${(err as Error).message}`);
  process.exit(1);
}
