/**
 * pgbench through the generated PgBouncer pods (100 clients split over pgbouncer.replicas pods) vs straight to Postgres (20 clients),
 * on a loopback primary built from the synthesized prod files. Prints TPS, their ratio and
 * the peak number of server connections the pooled run used.
 */
import { spawn } from 'child_process';
import { loadConfig } from '../../lib/config/load';
import { configMapsOf, PASSWORDS, PostgresLab } from '../lab/postgres-lab';
import { pooledServerConnections, poolPerPod } from '../../lib/config/connection-budget';
import { findProgram, postgresBinDir, runAsService } from '../lab/programs';
import { Platform } from '../../charts/platform';
import { renderPlatform } from '../../lib/synth';
import * as yaml from 'js-yaml';

const SCALE = 20;
const SECONDS = 20;

/** pgbench runs at the same time, one per port (a PgBouncer pod each), clients split evenly: summed TPS, peak app backends. */
async function pgbench(lab: PostgresLab, ports: number[], clients: number): Promise<{ tps: number; peak: number }> {
  const runs = ports.map((port, i) => {
    const share = Math.floor(clients / ports.length) + (i < clients % ports.length ? 1 : 0);
    const child = spawn(`${lab.bin}/pgbench`, ['-c', String(share), '-j', '2', '-T', String(SECONDS), '-n', '-h', '127.0.0.1', '-p', String(port), '-U', 'app', 'app'], {
      env: { ...process.env, PGPASSWORD: PASSWORDS.app },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    return new Promise<string>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`pgbench failed:\n${out}`)))));
  });
  let finished = false;
  const all = Promise.all(runs).finally(() => (finished = true));
  // Peak app backends on the server while the runs last (meaningful for the pooled runs).
  let peak = 0;
  while (!finished) {
    const n = lab.superuser(lab.primaryPort, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND backend_type = 'client backend'");
    peak = Math.max(peak, Number(n.stdout.trim() || 0));
    await new Promise((r) => setTimeout(r, 250));
  }
  const outputs = await all;
  const tps = outputs.reduce((sum, out) => sum + Number(/tps = ([\d.]+)/.exec(out)?.[1]), 0);
  if (!(tps > 0)) throw new Error(`no tps in pgbench output:\n${outputs.join('\n')}`);
  return { tps, peak };
}

export async function benchPgbench(): Promise<void> {
  const bin = postgresBinDir();
  if (!bin || !findProgram('pgbouncer')) {
    console.log('## pgbench: SKIPPED (postgresql and pgbouncer are not installed; apt-get install postgresql pgbouncer)');
    return;
  }
  const config = loadConfig('prod');
  const objects = [...renderPlatform(new Platform(config)).values()].map((t) => yaml.load(t));
  const lab = new PostgresLab(configMapsOf(objects));
  try {
    await lab.startPrimary();
    if (lab.applyInit().status !== 0) throw new Error('init failed');
    // As many PgBouncers as the environment runs pods, each with its share of the pool budget.
    const bouncers = [await lab.startPgbouncer()];
    for (let i = 1; i < Math.max(1, config.pgbouncer.replicas); i++) bouncers.push(await lab.startPgbouncer(`pgbouncer-${i}`));
    const init = runAsService(`${bin}/pgbench`, ['-i', '-s', String(SCALE), '-q', '-h', '127.0.0.1', '-p', String(lab.primaryPort), '-U', 'app', 'app'], { env: { PGPASSWORD: PASSWORDS.app } });
    if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
    const pooled = await pgbench(lab, bouncers, 100);
    const direct = await pgbench(lab, [lab.primaryPort], 20);
    const ratio = pooled.tps / direct.tps;
    // Every PgBouncer pod pools its share of the budget: together at most pooledServerConnections.
    const share = poolPerPod(config);
    const cap = pooledServerConnections(config);
    console.log(`## pgbench (TPC-B, scale ${SCALE}, ${SECONDS} s each, prod postgresql.conf and pgbouncer.ini)`);
    console.log(`  100 clients through ${bouncers.length} PgBouncer pod(s) ${pooled.tps.toFixed(0).padStart(6)} tps   peak server connections ${pooled.peak} (each pod ${share.defaultPoolSize} + ${share.reservePoolSize})`);
    console.log(`   20 clients straight to Postgres        ${direct.tps.toFixed(0).padStart(6)} tps`);
    console.log(`  ratio pooled / direct                   ${ratio.toFixed(2).padStart(6)}   (target ≥ 0.90 within the pool budget: ${ratio >= 0.9 && pooled.peak <= cap ? 'met' : 'NOT met'}; budget ${cap} server connections)`);
  } finally {
    await lab.stopAll();
  }
}
