/**
 * Day 2 and restores, rehearsed (issue #27, parts 7 and 8): prod is installed from an empty faithful lab
 * cluster by the README's bootstrap block and the real Argo CD (scripts/lab/rehearsal.ts), then, in the same
 * lab (scripts/lab/rehearsal-day2.ts):
 *   7a a commit ships a crm image whose migration exits 1 → the sync fails, the notification engine renders
 *      it, the old pods keep serving; (the restores of 8 run meanwhile: they push nothing)
 *   7b the README's rollback block, run as written → every Application Synced and Healthy again;
 *   7c a chart re-packed with the next patch version, its pin bumped, pushed → synced without a manual step;
 *   8  pg-restore, pitr-restore and minio-restore created from their suspended CronJobs with the README's
 *      commands → their pods start, and each writes where its server reads its data.
 * Prints the lab minutes of every step and the test's wall time.
 */
import * as fs from 'fs';
import * as path from 'path';
import { findProjectRoot } from '../lib/project';
import {
  BrokenDeploy, bumpChart, ChartBump, formatSteps, breakTheApp, Restores, restores, RollBack, rollBack, rollbackBlock, StepReport,
} from '../scripts/lab/rehearsal-day2';
import { applicationsOf, describeRehearsal, formatReport, REHEARSAL_TIMEOUT_MS, rehearsalMissing } from './helpers/rehearsal';
import { Rehearsal } from '../scripts/lab/rehearsal';

const ENV = 'prod';
const readme = fs.readFileSync(path.join(findProjectRoot(__dirname), 'README.md'), 'utf8');

describeRehearsal()(`GIVEN ${ENV} installed from an empty lab cluster by the README's bootstrap block and the real Argo CD`, () => {
  const t0 = Date.now();
  let r: Rehearsal | undefined;
  const steps: StepReport[] = [];
  const progress: string[] = [];
  let installed: Error | undefined;
  let broken: BrokenDeploy | Error;
  let rolledBack: RollBack | Error;
  let bumped: ChartBump | Error;
  let restored: Promise<Restores | Error>;
  const ok = <T>(x: T | Error | undefined): T => {
    if (installed) throw installed;
    if (x instanceof Error) throw x;
    if (x === undefined) throw new Error('the step did not run');
    return x;
  };
  const step = async <T extends StepReport>(f: () => Promise<T>): Promise<T | Error> => {
    try {
      const result = await f();
      steps.push(result);
      return result;
    } catch (err) {
      return err as Error;
    }
  };

  beforeAll(async () => {
    const missing = rehearsalMissing();
    if (missing.length > 0) throw new Error(`CI=true but the rehearsal cannot run: ${missing.join(', ')} missing; .ci/run must build them`);
    r = await Rehearsal.start({ env: ENV, log: (l) => progress.push(`${new Date().toISOString().slice(11, 19)} ${l}`) });
    const report = await r.waitHealthy(applicationsOf(path.join(r.repoDir, 'dist', ENV)), REHEARSAL_TIMEOUT_MS);
    console.log(formatReport(report));
    if (report.minutesToHealthy === undefined) {
      installed = new Error(`the first install did not become healthy:\n${formatReport(report)}\n${progress.slice(-30).join('\n')}\n${r.tailLogs(30)}`);
      return;
    }
    steps.push({ step: 'first install', labMinutes: report.minutesToHealthy, lines: [] });
    // 8 pushes nothing and touches no Application: it runs while Argo CD retries the broken sync.
    restored = step(() => restores(r!));
    broken = await step(() => breakTheApp(r!, { app: 'crm' }));
    rolledBack = broken instanceof Error ? new Error(`not run: 7a failed: ${broken.message}`) : await step(() => rollBack(r!, (broken as BrokenDeploy).application));
    bumped = rolledBack instanceof Error ? new Error(`not run: 7b failed: ${rolledBack.message}`) : await step(() => bumpChart(r!, { chart: 'prometheus-blackbox-exporter' }));
    await restored;
  }, REHEARSAL_TIMEOUT_MS + 60 * 60_000);

  afterAll(async () => {
    console.log(`${formatSteps(steps)}\nday-2 rehearsal wall time: ${Math.round((Date.now() - t0) / 6_000) / 10} min`);
    await r?.stop();
  }, 120_000);

  describe('WHEN a commit ships a crm image whose migration exits 1 (7a)', () => {
    test('THEN the PreSync migration fails with exit code 1, Argo CD retries, and the operation for that revision ends Failed', () => {
      const b = ok(broken);
      expect(b.operation.phase).toBe('Failed');
      expect(b.operation.revision).toBe(b.revision);
      expect(b.operation.retryCount).toBeGreaterThanOrEqual(1);
      expect(b.operation.hooks).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'app/crm-migrate', hookType: 'PreSync', hookPhase: 'Failed' })]));
      expect(b.migrationExits.length).toBeGreaterThanOrEqual(1);
      expect(new Set(b.migrationExits)).toEqual(new Set([1]));
    });

    test("THEN Argo CD's notification engine, on the live config the chart rendered, fires on-hook-failed naming the Job and the revision", () => {
      const b = ok(broken);
      expect(b.notification.fired).toEqual(['on-hook-failed']);
      const email = b.notification.messages['on-hook-failed']['ops-email'];
      expect(email.subject).toBe(`[${ENV}] Deploy of ${b.application} stopped: a hook failed`);
      expect(email.message).toContain(`hook crm-migrate (PreSync) Failed`);
      expect(email.message).toContain(`Revision ${b.revision}`);
      expect(email.message).toContain('kubectl -n app logs job/crm-migrate');
    });

    test('THEN the old pods kept serving throughout: Ready, behind ready Service endpoints, the Deployment never changed', () => {
      const b = ok(broken);
      expect(b.serving.length).toBeGreaterThan(5);
      expect(b.serving.filter((s) => s.readyOldPods < 1 || s.readyEndpoints < 1 || s.deploymentImage !== b.oldImage)).toEqual([]);
    });
  });

  describe("WHEN the README's rollback block runs (7b)", () => {
    test('THEN what ran is the README block, unchanged (prod, Application app)', () => {
      const rb = ok(rolledBack);
      expect(rb.script).toBe(rollbackBlock(readme));
      expect(fs.readFileSync(path.join(r!.dir, `rollback-${ENV}.sh`), 'utf8')).toBe(rollbackBlock(readme));
    });

    test('THEN it reverted the breaking commit, and every Application is Synced and Healthy again', () => {
      const rb = ok(rolledBack);
      const b = ok(broken);
      expect(rb.revertedCommits).toEqual([expect.stringContaining(`Revert "${ENV}: crm ${b.newImage}"`)]);
      expect(rb.lines[0]).toContain('Synced+Healthy');
    });
  });

  describe('WHEN a chart is published with the next patch version and its pin bumped (7c)', () => {
    test('THEN its Application syncs the new version, with nothing done in Argo CD', () => {
      const c = ok(bumped);
      expect(c.to).toBe('11.17.3');
      expect(c.fetched).toEqual(expect.arrayContaining([`200 /prometheus-blackbox-exporter-${c.to}.tgz`]));
      expect(c.liveChartLabels).toContain(`prometheus-blackbox-exporter-${c.to}`);
      expect(c.liveChartLabels).not.toContain(`prometheus-blackbox-exporter-${c.from}`);
    });
  });

  describe('WHEN pg-restore, pitr-restore and minio-restore are created from their suspended CronJobs as the README says (8)', () => {
    test('THEN each Job has a pod that started: every mount and Secret it names is there', async () => {
      const x = ok(await restored);
      expect(x.runs.map((run) => run.cronJob)).toEqual(['pg-restore', 'pitr-restore', 'minio-restore']);
      expect(x.stuck).toEqual([]);
    });

    test("THEN pitr-restore writes the server's data directory on its own volume (member 0's claim at the server's mount)", async () => {
      const x = ok(await restored);
      expect(x.dataPaths.flatMap((d) => d.problems)).toEqual([]);
      expect(x.dataPaths.find((d) => d.job.startsWith('pitr'))).toMatchObject({
        kind: 'volume', server: 'postgres', claim: 'data-postgres-0', serverMount: '/home/postgres/pgdata', restoreMount: '/home/postgres/pgdata',
        serverDataDir: '/home/postgres/pgdata/data', restoreTargets: ['/home/postgres/pgdata/data'],
      });
    });

    test('THEN pg-restore and minio-restore mount no data volume: they restore through the Service of the server that keeps the data on its claim', async () => {
      const x = ok(await restored);
      const byCron = (name: string) => x.dataPaths[x.runs.findIndex((run) => run.cronJob === name)];
      expect(byCron('pg-restore')).toMatchObject({ kind: 'network', service: 'data/postgres-rw', server: 'postgres', serverDataDir: '/home/postgres/pgdata/data' });
      expect(byCron('minio-restore')).toMatchObject({ kind: 'network', service: 'data/minio', server: 'minio', serverDataDir: '/data', serverMount: '/data' });
    });
  });
});
