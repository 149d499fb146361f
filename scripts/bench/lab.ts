/**
 * `npm run bench -- lab`: per environment, the lab cluster's start-up time, the time to apply its
 * dist/ in Argo CD's order, and what the scheduler placed on each node (requests vs allocatable,
 * the Helm add-ons' placeholders included). Needs the lab programs (bash scripts/lab/build.sh).
 */
import * as path from 'path';
import { listEnvironments, loadConfig } from '../../lib/config/load';
import { findProjectRoot } from '../../lib/project';
import { LabCluster, missingLabPrograms, nodesFor } from '../lab/cluster';
import { formatNodeRequests, loadDist, nodeRequests, syncToLab } from '../lab/sync';

export async function benchLab(): Promise<void> {
  const missing = missingLabPrograms();
  if (missing.length) {
    console.log(`## lab: skipped, ${missing.join(', ')} not built (bash scripts/lab/build.sh)`);
    return;
  }
  const dist = path.join(findProjectRoot(__dirname), 'dist');
  for (const env of listEnvironments()) {
    const nodes = nodesFor(env, loadConfig(env).node);
    const lab = await LabCluster.start({ nodes });
    try {
      const t0 = Date.now();
      const report = await syncToLab(lab, loadDist(dist, env), { nodes: nodes.length });
      const syncMs = Date.now() - t0;
      console.log(`## lab ${env}: start-up ${(lab.startupMs / 1000).toFixed(1)} s, ${report.applied} objects applied in ${(syncMs / 1000).toFixed(1)} s ` +
        `(${report.errors.length} refused, ${report.unhealthy.length} unhealthy), ${report.placeholders.length} add-on placeholder workloads`);
      for (const line of formatNodeRequests(await nodeRequests(lab)).map((l) => `  ${l}`)) console.log(line);
    } finally {
      await lab.stop();
    }
  }
}
