/**
 * `npm run bench -- ha`: the failover figures of the ha environment on the real programs.
 *   Redis: the synthesized Sentinel set and HAProxy (scripts/lab/redis-ha-lab.ts); the primary is killed -9
 *   during writes through HAProxy, three times on fresh sets: the write gap, writes refused, and writes
 *   acknowledged but lost (asynchronous replication; min-replicas-to-write bounds a cut-off primary, not a kill).
 */
import * as yaml from 'js-yaml';
import * as os from 'os';
import { loadConfig } from '../../lib/config/load';
import { Platform } from '../../charts/platform';
import { renderPlatform } from '../../lib/synth';
import { failoverDrill, REDIS_HA_PROGRAMS, startRedisHa } from '../lab/redis-ha-lab';
import { nodeLoss } from '../../lib/validation/node-loss';

export async function benchHa(): Promise<void> {
  const objects = [...renderPlatform(new Platform(loadConfig('ha'))).values()].map((text) => yaml.load(text) as any);
  const nodes = loadConfig('ha').node.count;
  console.log(`## ha: losing one of ${nodes} nodes (model of lib/validation/node-loss.ts: the placement asked for, k3s's eviction, node-bound volumes)`);
  for (let lost = 0; lost < nodes; lost++) {
    console.log(`  node ${lost} lost:`);
    const rows = nodeLoss(objects, nodes, lost, ['app/crm', 'app/web', 'data/pgbouncer', 'data/postgres-rw', 'data/redis', 'data/minio', 'data/minio-console'], {
      'data/postgres-rw': 'Patroni promotes a replica (~20 s, test/patroni.real.test.ts); member there stays down (local-path)',
      'data/redis': `Redis member ${lost} stays down (local-path); if it was the primary, Sentinel promotes a replica (the gap below)`,
    });
    for (const r of rows) console.log(`    ${r.service.padEnd(20)} ${r.workload.padEnd(26)} ready ${r.before} → ${r.after}   ${r.recovery}`);
  }
  console.log('## ha: Redis failover (3 members with Sentinel, HAProxy; the primary killed -9 during writes)');
  const missing = Object.entries(REDIS_HA_PROGRAMS).filter(([, p]) => !p).map(([n]) => n);
  if (missing.length) {
    console.log(`  skipped: ${missing.join(', ')} not installed (apt-get install redis-server redis-sentinel haproxy)`);
    return;
  }
  const runs = 3;
  const clients = 8;
  console.log(`  ${clients} clients, each one SET at a time through HAProxy`);
  for (let run = 1; run <= runs; run++) {
    const lab = await startRedisHa(objects);
    try {
      const f = await failoverDrill(lab, { killAfterWrites: 3000, writesAfter: 3000, maxSeconds: 180, clients });
      console.log(`  run ${run}: write gap ${f.writeGapSeconds.toFixed(2).padStart(6)} s   refused ${String(f.failedAttempts).padStart(4)}   ` +
        `acknowledged ${f.acknowledgedBefore} before / ${f.acknowledgedAfter} after   lost ${f.lost}${f.lost ? ` (oldest ${f.lostOldestMsBeforeKill} ms before the kill)` : ''}   ` +
        `member ${f.oldPrimary} → ${f.newPrimary}, returns as ${f.roleOnReturn}`);
    } finally {
      await lab.stop();
    }
  }
  console.log(`  load average ${os.loadavg()[0].toFixed(1)}; the gap is Sentinel's down-after (5 s) + election + HAProxy's rise (2 checks of 1 s)`);
}
