/**
 * pgbench through the generated PgBouncer (100 clients) vs straight to Postgres (20 clients),
 * on a loopback primary built from the synthesized prod files. Prints TPS, their ratio and
 * the peak number of server connections the pooled run used.
 */
import { spawn } from 'child_process';
import { loadConfig } from '../../lib/config/load';
import { configMapsOf, PASSWORDS, PostgresLab } from '../lab/postgres-lab';
import { poolPerPod } from '../../lib/config/connection-budget';
import { findProgram, postgresBinDir, runAsService } from '../lab/programs';
import { Platform } from '../../charts/platform';
import { renderPlatform } from '../../lib/synth';
import * as yaml from 'js-yaml';

const SCALE = 20;
const SECONDS = 20;

async function pgbench(lab: PostgresLab, port: number, clients: number): Promise<{ tps: number; peak: number }> {
  const child = spawn(`${lab.bin}/pgbench`, ['-c', String(clients), '-j', '4', '-T', String(SECONDS), '-n', '-h', '127.0.0.1', '-p', String(port), '-U', 'app', 'app'], {
    env: { ...process.env, PGPASSWORD: PASSWORDS.app },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  let finished = false;
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => { finished = true; resolve(code); }));
  // Peak app backends on the server while this run lasts (meaningful for the pooled run).
  let peak = 0;
  while (!finished) {
    const n = lab.superuser(lab.primaryPort, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND backend_type = 'client backend'");
    peak = Math.max(peak, Number(n.stdout.trim() || 0));
    await new Promise((r) => setTimeout(r, 250));
  }
  if ((await exit) !== 0) throw new Error(`pgbench failed:\n${out}`);
  const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1]);
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
    await lab.startPgbouncer();
    const init = runAsService(`${bin}/pgbench`, ['-i', '-s', String(SCALE), '-q', '-h', '127.0.0.1', '-p', String(lab.primaryPort), '-U', 'app', 'app'], { env: { PGPASSWORD: PASSWORDS.app } });
    if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
    const pooled = await pgbench(lab, lab.bouncerPort, 100);
    const direct = await pgbench(lab, lab.primaryPort, 20);
    const ratio = pooled.tps / direct.tps;
    // One PgBouncer pod: its share of the pool budget (pgbouncer.replicas pods share it in the cluster).
    const share = poolPerPod(config);
    const cap = share.defaultPoolSize + share.reservePoolSize;
    console.log(`## pgbench (TPC-B, scale ${SCALE}, ${SECONDS} s each, prod postgresql.conf and pgbouncer.ini)`);
    console.log(`  100 clients through one PgBouncer pod   ${pooled.tps.toFixed(0).padStart(6)} tps   peak server connections ${pooled.peak} (its share ${share.defaultPoolSize} + ${share.reservePoolSize} of ${config.pgbouncer.replicas} pods)`);
    console.log(`   20 clients straight to Postgres        ${direct.tps.toFixed(0).padStart(6)} tps`);
    console.log(`  ratio pooled / direct                   ${ratio.toFixed(2).padStart(6)}   (target ≥ 0.90 within the pod's cap: ${ratio >= 0.9 && pooled.peak <= cap ? 'met' : 'NOT met'}; pool cap ${cap})`);
  } finally {
    await lab.stopAll();
  }
}
