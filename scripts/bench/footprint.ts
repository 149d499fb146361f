/** `npm run bench -- footprint`: what each environment's requests reserve of its nodes. */
import { listEnvironments, loadConfig } from '../../lib/config/load';
import { ADD_ONS } from '../../lib/addons/registry';
import { footprintOfManifests, formatFootprint } from '../../lib/footprint';
import { Platform } from '../../charts/platform';
import { renderPlatform } from '../../lib/synth';

export function benchFootprint(): void {
  for (const env of listEnvironments()) {
    const config = loadConfig(env);
    console.log(formatFootprint(env, footprintOfManifests(renderPlatform(new Platform(config)), config, ADD_ONS)));
  }
}
