/**
 * Point-in-time recovery of a pgbench-generated database (scale 70 ≈ 1 GB) with the synthesized
 * prod PITR pieces (scripts/lab/pitr-lab.ts): a full base backup by the sidecar's script, more
 * writes archived as WAL, then a restore to the latest WAL and the replay until the server accepts
 * writes, each timed, against an S3 server on loopback behind TLS (B2 stand-in; add the download
 * speed from B2 for a real restore). The scale can be lowered for a quick look:
 * PITR_BENCH_SCALE=10 npm run bench -- pitr.
 */
import { loadConfig } from '../../lib/config/load';
import { parseDuration } from '../../lib/config/duration';
import { PitrLab } from '../lab/pitr-lab';
import { PASSWORDS, shippedPostgres } from '../lab/postgres-lab';
import { findProgram } from '../lab/programs';
import { Platform } from '../../charts/platform';
import { renderPlatform } from '../../lib/synth';
import * as yaml from 'js-yaml';

const HOUR = 3_600_000;

export async function benchPitr(): Promise<void> {
  const missing = Object.entries({ ...shippedPostgres().required, openssl: findProgram('openssl') }).filter(([, p]) => !p).map(([n]) => n);
  if (missing.length > 0) {
    console.log(`## pitr: SKIPPED (${missing.join(', ')} missing: npm ci, scripts/trixie/build.sh as root, apt-get install openssl)`);
    return;
  }
  const scale = Number(process.env.PITR_BENCH_SCALE ?? 70);
  const config = loadConfig('prod');
  const objects = [...renderPlatform(new Platform(config)).values()].map((t) => yaml.load(t) as any);
  const lab = new PitrLab(config, objects);
  try {
    await lab.start();
    const pgbench = (args: string[]) => {
      const r = lab.pg.run(`${lab.pg.bin}/pgbench`, [...args, '-h', '127.0.0.1', '-p', String(lab.pg.primaryPort), '-U', 'app', 'app'], { env: { PGPASSWORD: PASSWORDS.app }, timeoutMs: 2 * HOUR });
      if (r.status !== 0) throw new Error(`pgbench ${args.join(' ')} failed: ${r.stderr}`);
    };
    const t0 = Date.now();
    pgbench(['-i', '-s', String(scale), '-I', 'dtGvp', '-q']);
    const generated = Date.now() - t0;
    const dbSize = Number(lab.value("SELECT pg_database_size('app')"));

    const t1 = Date.now();
    const backup = lab.baseBackupRound();
    if (backup.status !== 0 || !/full backup done/.test(backup.stdout)) throw new Error(`base backup failed:\n${backup.stdout}${backup.stderr}`);
    const backupMs = Date.now() - t1;
    await lab.archiveNow(); // WAL waits in pg_wal until the sidecar has created the stanza

    // Writes after the base backup: the restore replays them from the archived WAL.
    const t2 = Date.now();
    pgbench(['-n', '-c', '2', '-t', '2000']);
    await lab.archiveNow();
    const writesMs = Date.now() - t2;
    const committed = lab.value('SELECT sum(delta) || \'|\' || count(*) FROM pgbench_history');

    const restore = await lab.restoreTo('latest');
    const after = lab.value('SELECT sum(delta) || \'|\' || count(*) FROM pgbench_history');
    if (after !== committed) throw new Error(`restored history ${after}, expected ${committed}`);

    const sec = (value: number) => `${(value / 1000).toFixed(1).padStart(7)} s`;
    const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
    const rto = restore.restoreMs + restore.replayMs;
    console.log(`## pitr (pgbench scale ${scale}: ${mib(dbSize)} database, prod pgbackrest.conf and scripts, MinIO over TLS on loopback)`);
    console.log(`  generate with pgbench -i                       ${sec(generated)}`);
    console.log(`  full base backup (zst, aes-256-cbc, 2 procs)   ${sec(backupMs)}`);
    console.log(`  4000 pgbench transactions, archived as WAL     ${sec(writesMs)}`);
    console.log(`  restore to latest (pgbackrest restore)         ${sec(restore.restoreMs)}`);
    console.log(`  start, WAL replay, promotion                   ${sec(restore.replayMs)}   pgbench_history equal to the source (${committed.split('|')[1]} rows)`);
    console.log(`  PITR restore time (restore + replay)           ${sec(rto)}`);
    console.log(`  RPO bound: archive_timeout ${config.backup.pitr.archiveTimeout} (${parseDuration(config.backup.pitr.archiveTimeout)} s) of writes, plus an archive push in flight`);
  } finally {
    await lab.stop();
  }
}
