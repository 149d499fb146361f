/** `npm run bench -- footprint`: what each environment's requests reserve of its nodes. */
import * as yaml from 'js-yaml';
import { listEnvironments, loadConfig } from '../../lib/config/load';
import { ADD_ONS } from '../../lib/addons/registry';
import { footprint, formatFootprint } from '../../lib/footprint';
import { Platform } from '../../charts/platform';
import { renderPlatform } from '../../lib/synth';

export function benchFootprint(): void {
  for (const env of listEnvironments()) {
    const config = loadConfig(env);
    const objects = [...renderPlatform(new Platform(config))].map(([file, text]) => ({ chart: file.split('/')[1], object: yaml.load(text) as any }));
    console.log(formatFootprint(env, footprint(objects, config, ADD_ONS)));
  }
}
