/**
 * npm run lab -- [--env prod] [--sync] [--kubelet faithful] [-- COMMAND ...]
 *
 * Starts the lab cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
 * nodes shaped like the environment's `cluster` config, CRDs from ../shared/reference installed),
 * prints its KUBECONFIG and start-up time, optionally applies dist/<env>/ as Argo CD would
 * (--sync), then runs COMMAND with KUBECONFIG set, or waits for Ctrl-C. Everything it started is
 * stopped on exit. `--kubelet faithful` runs pods with the lab's kubelet and adds k3s's ServiceLB,
 * metrics API and kube-dns Service (README "Lab cluster"). Build the programs first: bash scripts/lab/build.sh.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { loadConfig } from '../lib/config/load';
import { findProjectRoot } from '../lib/project';
import { LabCluster, nodesFor } from './lab/cluster';
import { formatNodeRequests, loadDist, nodeRequests, syncToLab } from './lab/sync';

async function main(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const command = dash >= 0 ? argv.slice(dash + 1) : [];
  const args = dash >= 0 ? argv.slice(0, dash) : argv;
  const env = args.includes('--env') ? args[args.indexOf('--env') + 1] : 'prod';
  const config = loadConfig(env);
  const nodes = nodesFor(env, config.node);
  const kubelet = args.includes('--kubelet') ? args[args.indexOf('--kubelet') + 1] : 'kwok';
  if (kubelet !== 'kwok' && kubelet !== 'faithful') throw new Error(`--kubelet ${kubelet}: expected kwok or faithful`);
  const lab = await LabCluster.start({ nodes, kubelet, log: (line) => console.log(line) });
  const stopOnSignal = () => void lab.stop().then(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    console.log(`lab ${env}: ${nodes.map((n) => `${n.name} (${n.cpu} CPU / ${n.memory}, ${n.zone})`).join(', ')}`);
    console.log(`lab ${env}: started in ${(lab.startupMs / 1000).toFixed(1)} s; export KUBECONFIG=${lab.kubeconfig}`);
    if (args.includes('--sync')) {
      const report = await syncToLab(lab, loadDist(path.join(findProjectRoot(__dirname), 'dist'), env), { nodes: nodes.length, log: (l) => console.log(l) });
      console.log(`lab ${env}: ${report.applied} objects applied, ${report.errors.length} refused, ${report.warnings.length} warning(s), ${report.placeholders.length} add-on placeholders`);
      for (const line of [...report.errors, ...report.warnings]) console.log(`  ${line}`);
      if (report.unhealthy.length) console.log(`  not ready in time: ${report.unhealthy.join(', ')}`);
      console.log(`lab ${env}: requested vs allocatable per node`);
      for (const line of formatNodeRequests(await nodeRequests(lab))) console.log(`  ${line}`);
    }
    if (command.length > 0) {
      return spawnSync(command[0], command.slice(1), { stdio: 'inherit', env: { ...process.env, KUBECONFIG: lab.kubeconfig } }).status ?? 1;
    }
    console.log('lab: running; Ctrl-C stops it');
    await new Promise(() => undefined);
    return 0;
  } finally {
    await lab.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(`lab: ${(err as Error).message}`);
    process.exitCode = 1;
  },
);
