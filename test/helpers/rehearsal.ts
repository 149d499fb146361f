/**
 * The first-install rehearsal (scripts/lab/rehearsal.ts) as jest blocks: one environment per block,
 * from an empty lab cluster to every Application Synced and Healthy with the real Argo CD.
 * The environments are split into shards (one test file each) so that two labs run at a time.
 */
import * as path from 'path';
import { listEnvironments } from '../../lib/config/load';
import { argocdBuilt } from '../../scripts/lab/argocd';
import { missingLabPrograms } from '../../scripts/lab/cluster';
import { externalSecretsBuilt } from '../../scripts/lab/external-secrets';
import { applicationsOf, formatReport, Rehearsal, RehearsalOptions, RehearsalReport } from '../../scripts/lab/rehearsal';

export { applicationsOf, formatReport };
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

/** Minutes of lab time an environment may take from the root's apply to healthy. */
export const REHEARSAL_TIMEOUT_MS = 20 * 60_000;

/**
 * The environments of shard `shard` of `of` (the team's environments, whatever they are, but those a
 * longer rehearsal installs first: `except`), each rehearsed from an empty cluster.
 */
export function rehearseEnvironments(shard: number, of: number, options: { except?: readonly string[] } = {}): void {
  const all = listEnvironments().filter((env) => !options.except?.includes(env)).map((env) => ({ name: env, options: { env } as Omit<RehearsalOptions, 'log'> }));
  const mine = all.filter((_, i) => i % of === shard);
  const describeIt = describeRehearsal();
  for (const { name, options } of mine) {
    describeIt(`GIVEN an empty lab cluster shaped like ${name} WHEN the README's bootstrap block runs and the real Argo CD takes over`, () => {
      const run = startRehearsal(options);
      expectFirstInstall(() => run.report, run);
    });
  }
}

/** What a started rehearsal holds for the tests of its block: the lab, its report, its progress lines. */
export interface RehearsalRun {
  rehearsal?: Rehearsal;
  report: RehearsalReport;
  readonly progress: string[];
  log(line: string): void;
}

/** beforeAll: a rehearsal of `options.env` until its Applications are healthy (or the time runs out); afterAll: stop it. */
export function startRehearsal(options: Omit<RehearsalOptions, 'log'>): RehearsalRun {
  const progress: string[] = [];
  const run: RehearsalRun = {
    report: undefined as unknown as RehearsalReport, progress,
    log: (l) => progress.push(`${new Date().toISOString().slice(11, 19)} ${l}`),
  };
  beforeAll(async () => {
    const missing = rehearsalMissing();
    if (missing.length > 0) throw new Error(`CI=true but the rehearsal cannot run: ${missing.join(', ')} missing; .ci/run must build them`);
    run.rehearsal = await Rehearsal.start({ ...options, log: run.log });
    run.report = await run.rehearsal.waitHealthy(applicationsOf(path.join(run.rehearsal.repoDir, 'dist', options.env)), REHEARSAL_TIMEOUT_MS);
    console.log(formatReport(run.report));
  }, REHEARSAL_TIMEOUT_MS + 20 * 60_000);
  afterAll(async () => {
    await run.rehearsal?.stop();
  }, 120_000);
  return run;
}

/** The first-install assertions on a report (the one `report()` returns when they run). */
export function expectFirstInstall(report: () => RehearsalReport, run: RehearsalRun): void {
  test('THEN every Application reaches Synced and Healthy', () => {
    const r = report();
    const failing = r.applications.filter((a) => a.sync !== 'Synced' || a.health !== 'Healthy');
    if (r.minutesToHealthy === undefined) {
      throw new Error(`${formatReport(r)}\nprogress:\n${run.progress.slice(-40).join('\n')}\n${run.rehearsal?.tailLogs(40) ?? ''}`);
    }
    expect(failing).toEqual([]);
  });

  test('THEN no pod is held back by the kubelet (every mount, Secret key and ConfigMap key it names exists)', () => {
    expect(report().stuck).toEqual([]);
  });

  test('THEN the real Traefik routes every Ingress host, and routed each when its Application first became healthy', () => {
    expect(report().routes.length).toBeGreaterThan(0);
    expect(report().routes.filter((r) => r.status !== 'routed')).toEqual([]);
    expect(report().routesAtHealthy).toEqual({});
  });

  test('THEN every hook that ran succeeded', () => {
    expect(report().hooks.filter((h) => h.result !== 'Succeeded')).toEqual([]);
  });
}
