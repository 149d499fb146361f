/**
 * The first-install rehearsal (scripts/lab/rehearsal.ts) as jest blocks: one environment per block,
 * from an empty lab cluster to every Application Synced and Healthy with the real Argo CD.
 * The environments are split into shards (one test file each) so that two labs run at a time.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { listEnvironments } from '../../lib/config/load';
import { argocdBuilt } from '../../scripts/lab/argocd';
import { missingLabPrograms } from '../../scripts/lab/cluster';
import { externalSecretsBuilt } from '../../scripts/lab/external-secrets';
import { Rehearsal, RehearsalOptions, RehearsalReport } from '../../scripts/lab/rehearsal';
import { sealedSecretsControllerMissing } from '../../scripts/lab/sealed-secrets';

const IS_CI = process.env.CI === 'true';

/** What the rehearsal needs that is not here. */
export function rehearsalMissing(): string[] {
  return [
    ...missingLabPrograms(),
    ...(argocdBuilt() ? [] : ['argocd (bash scripts/argocd/build.sh)']),
    ...(externalSecretsBuilt() ? [] : ['external-secrets (bash scripts/external-secrets/build.sh)']),
    ...sealedSecretsControllerMissing(),
  ];
}

/** describe, or describe.skip with a loud message when programs are missing outside CI (under CI=true it runs and fails). */
export function describeRehearsal(): jest.Describe {
  const missing = rehearsalMissing();
  if (missing.length > 0 && !IS_CI) {
    console.warn(`\n!!! SKIPPING the first-install rehearsal: ${missing.join(', ')} missing (CI always runs it) !!!\n`);
    return describe.skip;
  }
  return describe;
}

/** The Application names an environment's dist/ defines (the copy's, after the block's synth). */
export function applicationsOf(distEnvDir: string): string[] {
  const names: string[] = [];
  for (const file of fs.readdirSync(distEnvDir, { recursive: true, encoding: 'utf8' })) {
    if (!/(^|\/)Application\.[^/]+\.yaml$/.test(file)) continue;
    names.push((yaml.load(fs.readFileSync(path.join(distEnvDir, file), 'utf8')) as any).metadata.name);
  }
  return names.sort();
}

/** One line per Application and per stuck pod, for a failure message and the closing note. */
export function formatReport(report: RehearsalReport): string {
  const apps = report.applications.map((a) => `  ${a.name}: ${a.sync}/${a.health}${a.operation ? ` (${a.operation})` : ''} ${a.message}`);
  const stuck = report.stuck.map((s) => `  ${s.namespace}/${s.pod}: ${s.reason}: ${s.message}`);
  const hooks = report.hooks.map((h) => `  ${h.phase} ${h.kind} ${h.namespace}/${h.name}: ${h.result}`);
  return [
    `rehearsal ${report.env}: ${report.minutesToHealthy === undefined ? 'NOT healthy' : `Synced+Healthy ${report.minutesToHealthy} min after the root was applied`} (bootstrap block ${report.blockSeconds} s)`,
    `sync attempts: ${Object.entries(report.syncAttempts).map(([k, v]) => `${k}=${v}`).join(', ')}`,
    'applications:', ...apps, `hooks (${hooks.length}):`, ...hooks, `stuck pods (${stuck.length}):`, ...stuck,
    `routes answering 404 when their Application became healthy: ${JSON.stringify(report.routesAtHealthy)}`,
    `routes now: ${report.routes.map((r) => `${r.host} ${r.status}`).join(', ')}`,
    `Traefik problems (${report.traefikProblems.length}):`, ...report.traefikProblems.map((p) => `  ${p}`),
  ].join('\n');
}

/** Minutes of lab time an environment may take from the root's apply to healthy. */
export const REHEARSAL_TIMEOUT_MS = 20 * 60_000;

/**
 * The environments of shard `shard` of `of` (the team's environments, whatever they are), each
 * rehearsed from an empty cluster.
 */
export function rehearseEnvironments(shard: number, of: number, extra: { name: string; options: Omit<RehearsalOptions, 'log'> }[] = []): void {
  const all = [...listEnvironments().map((env) => ({ name: env, options: { env } as Omit<RehearsalOptions, 'log'> })), ...extra];
  const mine = all.filter((_, i) => i % of === shard);
  const describeIt = describeRehearsal();
  for (const { name, options } of mine) {
    describeIt(`GIVEN an empty lab cluster shaped like ${name} WHEN the README's bootstrap block runs and the real Argo CD takes over`, () => {
      let rehearsal: Rehearsal | undefined;
      let report: RehearsalReport;
      const progress: string[] = [];

      beforeAll(async () => {
        const missing = rehearsalMissing();
        if (missing.length > 0) throw new Error(`CI=true but the rehearsal cannot run: ${missing.join(', ')} missing; .ci/run must build them`);
        rehearsal = await Rehearsal.start({ ...options, log: (l) => progress.push(`${new Date().toISOString().slice(11, 19)} ${l}`) });
        report = await rehearsal.waitHealthy(applicationsOf(path.join(rehearsal.repoDir, 'dist', options.env)), REHEARSAL_TIMEOUT_MS);
        console.log(formatReport(report));
      }, REHEARSAL_TIMEOUT_MS + 20 * 60_000);

      afterAll(async () => {
        await rehearsal?.stop();
      }, 120_000);

      test('THEN every Application reaches Synced and Healthy', () => {
        const failing = report.applications.filter((a) => a.sync !== 'Synced' || a.health !== 'Healthy');
        if (report.minutesToHealthy === undefined) {
          throw new Error(`${formatReport(report)}\nprogress:\n${progress.slice(-40).join('\n')}\n${rehearsal?.tailLogs(40) ?? ''}`);
        }
        expect(failing).toEqual([]);
      });

      test('THEN no pod is held back by the kubelet (every mount, Secret key and ConfigMap key it names exists)', () => {
        expect(report.stuck).toEqual([]);
      });

      test('THEN the real Traefik routes every Ingress host, and routed each when its Application first became healthy', () => {
        expect(report.routes.length).toBeGreaterThan(0);
        expect(report.routes.filter((r) => r.status !== 'routed')).toEqual([]);
        expect(report.routesAtHealthy).toEqual({});
      });

      test('THEN every hook that ran succeeded', () => {
        expect(report.hooks.filter((h) => h.result !== 'Succeeded')).toEqual([]);
      });
    });
  }
}
