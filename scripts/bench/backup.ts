/**
 * Backup and restore of a pgbench-generated database (scale 70 ≈ 1 GB) with the synthesized
 * prod scripts against s3rver on loopback (B2 stand-in): dump, upload, fetch and restore, each
 * timed, and the implied RTO next to today's 30 minutes. The scale can be lowered for a quick
 * look: BACKUP_BENCH_SCALE=10 npm run bench -- backup.
 */
import { BACKUP_JOBS } from '../../lib/backup-names';
import { loadConfig } from '../../lib/config/load';
import { BackupLab, CRYPT, S3_KEY, S3Server } from '../lab/backup-lab';
import { configMapsOf, PASSWORDS, PostgresLab } from '../lab/postgres-lab';
import { findProgram, postgresBinDir, runAsService } from '../lab/programs';
import { Platform } from '../../charts/platform';
import { renderPlatform } from '../../lib/synth';
import * as yaml from 'js-yaml';

const TODAY_RTO_MINUTES = 30;
const HOUR = 3_600_000;

export async function benchBackup(): Promise<void> {
  const bin = postgresBinDir();
  if (!bin || !findProgram('rclone')) {
    console.log('## backup: SKIPPED (postgresql and rclone are not installed; apt-get install postgresql rclone)');
    return;
  }
  const scale = Number(process.env.BACKUP_BENCH_SCALE ?? 70);
  const config = loadConfig('prod');
  const objects = [...renderPlatform(new Platform(config)).values()].map((t) => yaml.load(t) as any);
  const cron = (name: string) => objects.find((o) => o.kind === 'CronJob' && o.metadata.name === name);
  const scripts = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'backup-scripts').data;
  const pg = new PostgresLab(configMapsOf(objects));
  const s3 = new S3Server();
  const c = config.backup.credentials;
  const lab = new BackupLab({
    scripts, pgBin: bin,
    secrets: { 'postgres-backup/password': PASSWORDS.backup, 'postgres-superuser/password': PASSWORDS.superuser, [`${c.secretName}/${c.keyIdKey}`]: S3_KEY, [`${c.secretName}/${c.applicationKeyKey}`]: S3_KEY, ...CRYPT.secrets },
  });
  try {
    await s3.start([config.backup.b2.bucket]);
    await pg.startPrimary();
    if (pg.applyInit().status !== 0) throw new Error('init failed');
    const start = Date.now();
    const init = runAsService(`${bin}/pgbench`, ['-i', '-s', String(scale), '-I', 'dtGvp', '-q', '-h', '127.0.0.1', '-p', String(pg.primaryPort), '-U', 'app', 'app'], { env: { PGPASSWORD: PASSWORDS.app }, timeoutMs: 2 * HOUR });
    if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
    const generated = Date.now() - start;
    const dbSize = Number(pg.superuser(pg.primaryPort, "SELECT pg_database_size('app')").stdout.trim());

    const rewrite = { PGHOST: '127.0.0.1', PGPORT: String(pg.primaryPort), RCLONE_CONFIG_B2RAW_ENDPOINT: s3.endpoint };
    const scratch = lab.scratch();
    const backup = lab.runPod(cron(BACKUP_JOBS.dump('daily')), { scratch, rewrite, timeoutMs: 2 * HOUR });
    if (!backup.ok) throw new Error(`backup failed:\n${backup.output}`);
    const dumpSize = Number(/(\d+) bytes/.exec(backup.output)?.[1]);
    const restore = lab.runPod(cron(BACKUP_JOBS.restore), { rewrite, timeoutMs: 2 * HOUR });
    if (!restore.ok) throw new Error(`restore failed:\n${restore.output}`);
    const rows = (db: string) => pg.superuser(pg.primaryPort, 'SELECT count(*) FROM pgbench_accounts', db).stdout.trim();
    if (rows('app') !== rows('app_restore')) throw new Error(`restored ${rows('app_restore')} rows of ${rows('app')}`);

    const ms = (run: typeof backup, container: string) => run.steps.find((st) => st.container === container)!.ms;
    const sec = (value: number) => `${(value / 1000).toFixed(1).padStart(7)} s`;
    const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
    const rto = ms(restore, 'fetch') + ms(restore, 'restore');
    console.log(`## backup (pgbench scale ${scale}: ${mib(dbSize)} database, prod scripts, s3rver on loopback)`);
    console.log(`  generate with pgbench -i                 ${sec(generated)}`);
    console.log(`  dump (pg_dump -Fc -Z6, sha256)           ${sec(ms(backup, 'dump'))}   ${mib(dumpSize)} archive`);
    console.log(`  upload (temp key, verify, rename)        ${sec(ms(backup, 'upload'))}`);
    console.log(`  fetch (download newest dump)             ${sec(ms(restore, 'fetch'))}`);
    console.log(`  restore (sha256 check, pg_restore -j2)   ${sec(ms(restore, 'restore'))}   ${rows('app_restore')} rows in pgbench_accounts, equal to the source`);
    console.log(`  implied RTO (fetch + restore)            ${sec(rto)}   vs today ${TODAY_RTO_MINUTES} min: ${rto < TODAY_RTO_MINUTES * 60_000 ? 'within' : 'NOT within'} (add the runbook's stop/verify/restart steps and the download speed from B2)`);
  } finally {
    await pg.stopAll();
    await s3.stop();
  }
}
