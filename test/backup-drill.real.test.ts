/**
 * The restore drill notices a bad restore (issue 19): pg-dump.sh writes row counts and the newest
 * timestamp next to the dump, and the drill compares the restore with them. Proven with the
 * synthesized prod CronJobs, real Postgres, real rclone and the S3 server (test/helpers/backup-lab.ts):
 * it passes on a good dump and fails on a dump of the wrong database and on a dump missing a table.
 */
import * as fs from 'fs';
import * as path from 'path';
import { BACKUP_JOBS } from '../lib/backup-names';
import { PASSWORDS } from '../scripts/lab/postgres-lab';
import { serviceTempDir } from '../scripts/lab/programs';
import { bin, cron, daily, describeBackupLab, ROOT } from './helpers/backup-lab';

describeBackupLab('GIVEN the synthesized prod dump and drill CronJobs WHEN the drill restores the newest dump', ({ pg, lab, rewrite, keys, download }) => {
  const drill = () => lab.runPod(cron(BACKUP_JOBS.drill), { rewrite: rewrite() });
  const dumpNow = async (options: Parameters<typeof lab.runPod>[1] = {}) => {
    await new Promise((r) => setTimeout(r, 1100)); // a newer key timestamp than the last dump
    const run = lab.runPod(daily, { ...options, rewrite: rewrite(options.rewrite) });
    if (!run.ok) throw new Error(run.output);
    return run;
  };

  test('GIVEN a good dump THEN the stats next to it hold every table with its row count, and the drill passes', async () => {
    const run = await dumpNow();
    expect(run.output).toMatch(/pg-dump: app-daily-\d{8}T\d{6}Z\.dump\.stats, 4 tables/);
    const key = keys(`${ROOT}/postgres/daily`).filter((k) => k.endsWith('.stats')).pop()!;
    const stats = download(`${ROOT}/postgres/daily/${key}`).toString();
    expect(stats).toMatch(/^# database app\n# dumped \d+\n# newest \d+\n/);
    expect(stats).toContain('public.customers\t2000\n');
    expect(stats).toContain('public.attachments\t1500\n');
    const result = drill();
    expect(result.output).toMatch(/drill: app-daily-\S+\.dump is of app, 6 comparisons with its stats passed \(rows within 1 %, data at most 259200 s older than the dump\)/);
    expect(result.output).toContain('drill: passed, 1 checks');
    expect(result.ok).toBe(true);
  });

  test('GIVEN the dump job dumped the wrong database THEN DRILL FAILED, naming the database it holds and the one expected', async () => {
    pg.superuser(pg.primaryPort, 'CREATE DATABASE billing');
    pg.superuser(pg.primaryPort, 'CREATE TABLE public._prisma_migrations (id text, finished_at timestamptz); INSERT INTO public._prisma_migrations VALUES (1, now())', 'billing');
    await dumpNow({ rewrite: { PGDATABASE: 'billing', PGUSER: 'postgres', PGPASSWORD: PASSWORDS.superuser } });
    const result = drill();
    expect(result.ok).toBe(false);
    expect(result.output).toContain('drill: the dump is of database "billing" and its stats of "billing", expected "app"');
    expect(result.output).toContain('DRILL FAILED: the restore does not match the source at dump time');
  });

  test('GIVEN a dump missing a table (pg_dump told to skip it) THEN DRILL FAILED, naming the table and its rows at dump time', async () => {
    // A misconfigured dump: the pg_dump on PATH leaves out one table; the stats come from the live database.
    const shim = serviceTempDir('pg-dump-shim-');
    fs.writeFileSync(path.join(shim, 'pg_dump'), `#!/bin/sh\n[ "$1" = --version ] && exec ${bin}/pg_dump --version\nexec ${bin}/pg_dump --exclude-table=public.attachments "$@"\n`, { mode: 0o755 });
    await dumpNow({ pathPrefix: shim });
    const result = drill();
    expect(result.ok).toBe(false);
    expect(result.output).toContain('drill: public.attachments (1500 rows at dump time) is missing from the restore');
    expect(result.output).toMatch(/drill: 1 of 6 comparisons with app-daily-\S+\.dump\.stats failed/);
    expect(result.output).toContain('DRILL FAILED');
  });
});
