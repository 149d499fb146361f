/**
 * Day 2 and restores, rehearsed on a started first-install rehearsal (scripts/lab/rehearsal.ts) with the
 * real Argo CD: each step is a function taking the running Rehearsal, so they chain after the first install
 * of an environment in the same lab (test/rehearsal-day2.real.test.ts).
 *
 * - breakTheApp (issue #27, 7a): a commit that ships a new image whose migration exits 1 (the faithful
 *   kubelet ends the migration Job's container with exit code 1 when it runs that image, the one thing the
 *   commit changed), pushed to the lab's git server: Argo CD's PreSync hook fails, it retries, the
 *   operation ends Failed; Argo CD's own notification engine renders the failure from the live
 *   argocd-notifications-cm (rendered by the repo-server from the argo-cd chart with the project's
 *   values) and the live Application; the old pods keep serving the whole time.
 * - rollBack (7b): the README's rollback block ("Rolling back a deploy"), extracted and run as written in
 *   the copy of the repository, brings every Application back to Synced and Healthy.
 * - bumpChart (7c): one packed chart of ../shared/reference/charts re-packed with the next patch version
 *   into the lab's chart repository (re-indexed), its pin in lib/config/versions.ts bumped in the copy,
 *   synth, commit, push: the Application syncs the new version without anyone touching Argo CD.
 * - restores (8): the pg-restore, pitr-restore and minio-restore Jobs created from their suspended
 *   CronJobs with the README's commands; their pods must start (every mount and Secret present), and
 *   restoreDataPaths checks that each writes where its server reads its data.
 *
 * Lab minutes are wall-clock minutes from the push (or the command) to the outcome: the lab's Argo CD
 * polls git every 10 s (LAB_CONTROLLER_FLAGS), a default install every 3 min.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import * as YAML from 'yaml';
import { findProjectRoot, referenceDir } from '../../lib/project';
import { helmBinary } from '../../lib/helm-binary';
import { applicationsOf, Rehearsal, trackedBy } from './rehearsal';
import { loadDist } from './sync';

export const README_ROLLBACK_HEADING = '### Rolling back a deploy';

/** The first bash block after `heading` in the README, exactly as written. */
export function readmeBlock(readme: string, heading: string): string {
  const at = readme.indexOf(`${heading}\n`);
  if (at < 0) throw new Error(`README.md has no "${heading}" section`);
  const next = readme.slice(at + heading.length).search(/\n#{2,4} /);
  const section = next < 0 ? readme.slice(at) : readme.slice(at, at + heading.length + next);
  const fence = /```bash\n([\s\S]*?)```/.exec(section);
  if (!fence) throw new Error(`README.md's "${heading}" has no bash block`);
  return fence[1];
}

/** The README's rollback block, as written. */
export function rollbackBlock(readme: string): string {
  return readmeBlock(readme, README_ROLLBACK_HEADING);
}

/**
 * The rollback block for `env` and the Application `application`: the README's example environment
 * `prod` and Application `app` replaced, nothing else (for prod and app it is the block itself).
 */
export function rollbackScript(block: string, env: string, application = 'app'): string {
  const marker = '\u0000';
  return block.replace(/\bapp\b/g, marker).replace(/\bprod\b/g, env).split(marker).join(application);
}

/**
 * Where the README tells a person to create a restore Job from its suspended CronJob: the first inline
 * command naming `--from=cronjob/<name>`, and, when it writes a file (`--dry-run=client -o yaml > f`),
 * the `kubectl create -f f` that follows it. Throws when the README has none.
 */
export function restoreCommands(readme: string, cronJob: string): string[] {
  const spans = [...readme.matchAll(/`([^`\n]+)`/g)].map((m) => ({ text: m[1], at: m.index! }));
  const first = spans.find((s) => s.text.startsWith('kubectl ') && s.text.includes(`--from=cronjob/${cronJob}`));
  if (!first) throw new Error(`README.md has no \`kubectl ... --from=cronjob/${cronJob}\` command; fix: document how the ${cronJob} Job is created`);
  const file = /> *(\S+)$/.exec(first.text)?.[1];
  if (!file) return [first.text];
  const create = spans.find((s) => s.at > first.at && new RegExp(`^kubectl (-n \\S+ )?create -f ${file.replace(/\./g, '\\.')}$`).test(s.text));
  if (!create) throw new Error(`README.md writes ${file} for ${cronJob} but never runs \`kubectl create -f ${file}\``);
  return [first.text, create.text];
}

export const RESTORE_CRONJOBS = ['pg-restore', 'pitr-restore', 'minio-restore'] as const;

/** One day-2 step's outcome: lab minutes from its push or command to its end, and what was seen. */
export interface StepReport {
  readonly step: string;
  readonly labMinutes: number;
  readonly lines: string[];
}

const minutesSince = (t0: number) => Math.round(((Date.now() - t0) / 60_000) * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function application(r: Rehearsal, name: string): Promise<any> {
  const res = await r.lab.request('GET', `/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/${name}`);
  if (res.status !== 200) throw new Error(`Application ${name}: ${res.status} ${res.body?.message ?? ''}`);
  return res.body;
}

const appLine = (a: any) => `${a.metadata.name}: ${a.status?.sync?.status}/${a.status?.health?.status} operation ${a.status?.operationState?.phase ?? '-'} (retries ${a.status?.operationState?.retryCount ?? 0}) revision ${a.status?.sync?.revision ?? a.status?.sync?.revisions ?? '-'}: ${(a.status?.operationState?.message ?? '').slice(0, 200)}`;

/** Polls `check` every 2 s for at most `timeoutMs`, without refreshing anything (no manual step). */
async function until(r: Rehearsal, what: string, check: () => Promise<boolean>, timeoutMs: number, context: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(2_000);
  }
  throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}\n${await context().catch((e) => String(e))}\n${r.tailLogs(20)}`);
}

/** Every Application of the environment Synced and Healthy with no operation running (none refreshed by hand). */
export async function waitAllHealthy(r: Rehearsal, timeoutMs: number): Promise<void> {
  const expected = applicationsOf(path.join(r.repoDir, 'dist', r.env));
  await until(r, `every Application of ${r.env} Synced and Healthy`, async () => {
    const apps = new Map((await r.applications()).map((a) => [a.name, a]));
    return expected.every((n) => { const a = apps.get(n); return a && a.sync === 'Synced' && a.health === 'Healthy' && a.operation !== 'Running'; });
  }, timeoutMs, async () => (await r.applications()).filter((a) => a.sync !== 'Synced' || a.health !== 'Healthy' || a.operation === 'Running').map((a) => `${a.name}: ${a.sync}/${a.health} ${a.operation} ${a.message}`).join('\n'));
}

/** Commits everything the copy changed, as the deploy flow does (synth, commit, push); resolves with the new revision. */
async function synthCommitPush(r: Rehearsal, name: string, message: string): Promise<string> {
  const run = await r.shell(name, `npm run synth\ngit add -A\ngit commit -q -m ${JSON.stringify(message)}\ngit push -q\n`, 600_000);
  if (run.status !== 0) throw new Error(`${name} failed (${run.status}):\n${run.log.trim().split('\n').slice(-25).join('\n')}`);
  return git(r, ['rev-parse', 'HEAD']).trim();
}

function git(r: Rehearsal, args: string[]): string {
  const run = spawnSync('git', args, { cwd: r.repoDir, encoding: 'utf8', env: { ...process.env, HOME: r.home } });
  if (run.status !== 0) throw new Error(`git ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

// ---------------------------------------------------------------------------------------------------
// 7a: a commit that breaks the app

export interface Serving {
  readonly at: string;
  /** Pods of the Deployment's ReplicaSet from before the commit that are Ready. */
  readonly readyOldPods: number;
  /** Ready endpoints of the app's Service (its EndpointSlices). */
  readonly readyEndpoints: number;
  readonly deploymentImage: string;
}

export interface BrokenDeploy extends StepReport {
  readonly application: string;
  readonly revision: string;
  readonly oldImage: string;
  readonly newImage: string;
  /** The Application when its operation ended (phase, message, retries, the hook results). */
  readonly operation: { phase: string; message: string; retryCount: number; revision: string; hooks: { name: string; hookType: string; hookPhase: string; message: string }[] };
  /** Exit codes of the migration containers that ran the new image. */
  readonly migrationExits: number[];
  /** Every sample of the old pods and the Service taken while Argo CD tried (every 2 s). */
  readonly serving: Serving[];
  /** Argo CD's notification engine on the live config and Application: the triggers that fired and, per trigger and service, the message. */
  readonly notification: { fired: string[]; messages: Record<string, Record<string, { message: string; subject?: string }>> };
}

/** Argo CD's notification engine (scripts/argocd-notifications, built into .tools). */
export const NOTIFICATIONS_ENGINE = path.join(findProjectRoot(__dirname), '.tools', 'argocd-notifications', 'bin', 'argocd-notifications');

/** Runs the engine on the live argocd-notifications-cm, -secret and an Application (as the controller would when it changes). */
export async function renderNotifications(r: Rehearsal, app: any): Promise<BrokenDeploy['notification']> {
  const cm = await r.lab.request('GET', '/api/v1/namespaces/argocd/configmaps/argocd-notifications-cm');
  if (cm.status !== 200) throw new Error(`argocd-notifications-cm is not in the cluster (${cm.status}): the argo-cd chart renders it when notifications are enabled (a receiver in monitoring.alertmanager.receivers)`);
  const secret = await r.lab.request('GET', '/api/v1/namespaces/argocd/secrets/argocd-notifications-secret');
  const secretData = secret.status === 200 ? Object.fromEntries(Object.entries(secret.body.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString()])) : {};
  if (!fs.existsSync(NOTIFICATIONS_ENGINE)) throw new Error(`${NOTIFICATIONS_ENGINE} is missing; fix: bash scripts/argocd-notifications/build.sh`);
  const run = spawnSync(NOTIFICATIONS_ENGINE, [], { input: JSON.stringify({ configMap: cm.body.data, secret: secretData, app }), encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`the notification engine failed: ${run.stderr}`);
  const out = JSON.parse(run.stdout);
  const fired = Object.entries(out.triggers as Record<string, { triggered: boolean }[]>).filter(([, conds]) => conds.some((c) => c.triggered)).map(([name]) => name).sort();
  const messages: BrokenDeploy['notification']['messages'] = {};
  for (const [trigger, byService] of Object.entries(out.notifications as Record<string, Record<string, any>>)) {
    messages[trigger] = Object.fromEntries(Object.entries(byService).map(([service, n]) => [service, { message: n.message, subject: n.email?.subject }]));
  }
  return { fired, messages };
}

/** The image of a broken release of `image`: its tag with `-bad-migration` appended. */
export const brokenImage = (image: string) => `${image}-bad-migration`;

/**
 * 7a. Ships a new image of `app` whose migration exits 1: the environment file of the copy names the new
 * image, synth, commit, push. Waits (no refresh, no manual step) until Argo CD's operation for that
 * revision ends Failed, sampling the old pods and the Service every 2 s meanwhile.
 */
export async function breakTheApp(r: Rehearsal, options: { app?: string; timeoutMs?: number } = {}): Promise<BrokenDeploy> {
  const appName = options.app ?? 'crm';
  const dist = loadDist(path.join(r.repoDir, 'dist'), r.env).map((d) => d.object);
  const deploymentFromDist = dist.find((o) => o?.kind === 'Deployment' && o.metadata.name === appName);
  if (!deploymentFromDist) throw new Error(`breakTheApp: dist/${r.env} has no Deployment ${appName}`);
  const namespace = deploymentFromDist.metadata.namespace as string;
  if (!dist.some((o) => o?.kind === 'Job' && o.metadata.name === `${appName}-migrate`)) throw new Error(`breakTheApp: ${appName} has no migration Job (apps.${appName}.migration.command)`);

  const deploymentUrl = `/apis/apps/v1/namespaces/${namespace}/deployments/${appName}`;
  const live = (await r.lab.request('GET', deploymentUrl)).body;
  const applicationName = trackedBy(live);
  if (!applicationName) throw new Error(`breakTheApp: Deployment ${namespace}/${appName} is not tracked by an Application`);
  const containerName = live.spec.template.spec.containers.some((c: any) => c.name === appName) ? appName : live.spec.template.spec.containers[0].name;
  const oldImage = live.spec.template.spec.containers.find((c: any) => c.name === containerName).image as string;
  const selector = Object.entries(live.spec.selector.matchLabels as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');
  const podsNow = async () => r.lab.list(`/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`);
  const oldReplicaSets = new Set((await podsNow()).flatMap((p) => (p.metadata.ownerReferences ?? []).filter((o: any) => o.kind === 'ReplicaSet').map((o: any) => o.name as string)));
  if (oldReplicaSets.size === 0) throw new Error(`breakTheApp: no pod of ${namespace}/${appName} runs before the commit`);

  const newImage = brokenImage(oldImage);
  const exits: number[] = [];
  // The one thing the commit changes is the image: its migration container exits 1, as a migration that fails does.
  r.podOutcome = (pod, container) => {
    if (container.init || pod.metadata.labels?.['job-name'] !== `${appName}-migrate`) return undefined;
    const c = pod.spec.containers.find((x: any) => x.name === container.name);
    if (c?.image !== newImage) return undefined;
    return { fail: { exitCode: 1, message: `Error: P3009 migrate found failed migrations (lab: ${newImage} exits 1)` } };
  };

  const envFile = path.join(r.repoDir, 'lib', 'config', 'environments', `${r.env}.yaml`);
  const doc = YAML.parseDocument(fs.readFileSync(envFile, 'utf8'));
  doc.setIn(['apps', appName, 'image'], newImage);
  fs.writeFileSync(envFile, doc.toString());
  const revision = await synthCommitPush(r, 'break-the-app', `${r.env}: ${appName} ${newImage}`);
  const t0 = Date.now();

  const serving: Serving[] = [];
  const sample = async () => {
    const pods = await podsNow();
    const readyOld = pods.filter((p) => (p.metadata.ownerReferences ?? []).some((o: any) => oldReplicaSets.has(o.name))
      && (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True')).length;
    const slices = await r.lab.list(`/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${appName}`)}`);
    const endpoints = slices.flatMap((s) => s.endpoints ?? []).filter((e: any) => e.conditions?.ready !== false).length;
    const image = (await r.lab.request('GET', deploymentUrl)).body.spec.template.spec.containers.find((c: any) => c.name === containerName).image;
    serving.push({ at: new Date().toISOString().slice(11, 19), readyOldPods: readyOld, readyEndpoints: endpoints, deploymentImage: image });
    for (const p of await r.lab.list(`/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(`job-name=${appName}-migrate`)}`)) {
      const st = (p.status?.containerStatuses ?? []).find((s: any) => s.image === newImage || p.spec.containers.some((c: any) => c.name === s.name && c.image === newImage));
      const code = st?.state?.terminated?.exitCode;
      const key = `${p.metadata.uid}`;
      if (code !== undefined && !seenPods.has(key)) { seenPods.add(key); exits.push(code); }
    }
  };
  const seenPods = new Set<string>();
  let finalApp: any;
  await until(r, `Application ${applicationName}'s sync of ${revision.slice(0, 8)} to end Failed`, async () => {
    await sample();
    const a = await application(r, applicationName);
    const op = a.status?.operationState;
    const opRevision = op?.syncResult?.revision ?? op?.operation?.sync?.revision;
    if (op && ['Failed', 'Error'].includes(op.phase) && opRevision === revision) { finalApp = a; return true; }
    return false;
  }, options.timeoutMs ?? 15 * 60_000, async () => appLine(await application(r, applicationName)));
  const labMinutes = minutesSince(t0);
  await sample();

  const op = finalApp.status.operationState;
  const hooks = ((op.syncResult?.resources ?? []) as any[]).filter((x) => x.hookType).map((x) => ({ name: `${x.namespace}/${x.name}`, hookType: x.hookType, hookPhase: x.hookPhase, message: x.message ?? '' }));
  const notification = await renderNotifications(r, finalApp);
  const lines = [
    `commit ${revision.slice(0, 8)}: ${appName} ${oldImage} → ${newImage}; Application ${applicationName} ${op.phase} after ${labMinutes} lab min, ${op.retryCount ?? 0} retries: ${op.message}`,
    ...hooks.map((h) => `  hook ${h.hookType} ${h.name}: ${h.hookPhase} ${h.message}`),
    `  migration exit codes: ${exits.join(', ') || 'none seen'}`,
    `  serving: ${serving.length} samples, fewest ready old pods ${Math.min(...serving.map((s) => s.readyOldPods))}, fewest ready endpoints ${Math.min(...serving.map((s) => s.readyEndpoints))}, Deployment images ${[...new Set(serving.map((s) => s.deploymentImage))].join(', ')}`,
    `  notification: ${notification.fired.join(', ') || 'none fired'}`,
    ...Object.entries(notification.messages).flatMap(([t, byService]) => Object.entries(byService).map(([svc, n]) => `    ${t} → ${svc}: ${n.subject ? `[${n.subject}] ` : ''}${n.message}`)),
  ];
  return {
    step: '7a a commit whose migration exits 1', labMinutes, lines, application: applicationName, revision, oldImage, newImage,
    operation: { phase: op.phase, message: op.message ?? '', retryCount: op.retryCount ?? 0, revision: op.syncResult?.revision ?? '', hooks },
    migrationExits: exits, serving, notification,
  };
}

// ---------------------------------------------------------------------------------------------------
// 7b: the README's rollback

export interface RollBack extends StepReport {
  /** The script that ran (the README block, with the environment and Application names substituted). */
  readonly script: string;
  readonly revertedCommits: string[];
  readonly revision: string;
}

/** 7b. Runs the README's rollback block for `applicationName` in the copy; waits until every Application is Synced and Healthy. */
export async function rollBack(r: Rehearsal, applicationName: string, options: { timeoutMs?: number } = {}): Promise<RollBack> {
  const before = git(r, ['rev-parse', 'HEAD']).trim();
  const script = rollbackScript(rollbackBlock(fs.readFileSync(path.join(r.repoDir, 'README.md'), 'utf8')), r.env, applicationName);
  const run = await r.shell(`rollback-${r.env}`, script, 600_000);
  if (run.status !== 0) throw new Error(`the README's rollback block failed (${run.status}):\n${run.log.trim().split('\n').slice(-25).join('\n')}`);
  const t0 = Date.now();
  const revision = git(r, ['rev-parse', 'HEAD']).trim();
  if (revision === before) throw new Error('the README\'s rollback block made no commit');
  const pushed = git(r, ['ls-remote', 'origin', 'refs/heads/main']).split(/\s/)[0];
  if (pushed !== revision) throw new Error(`the README's rollback block did not push: origin has ${pushed}, the copy ${revision}`);
  const revertedCommits = git(r, ['log', '--format=%h %s', `${before}..${revision}`]).trim().split('\n');
  await until(r, `Application ${applicationName} at the revert ${revision.slice(0, 8)}`, async () => (await application(r, applicationName)).status?.sync?.revision === revision,
    options.timeoutMs ?? 10 * 60_000, async () => appLine(await application(r, applicationName)));
  await waitAllHealthy(r, options.timeoutMs ?? 10 * 60_000);
  r.podOutcome = undefined;
  const a = await application(r, applicationName);
  return {
    step: '7b the README rollback (git revert)', labMinutes: minutesSince(t0), script, revertedCommits, revision,
    lines: [`rollback: ${revertedCommits.join('; ')} pushed; every Application Synced+Healthy after ${minutesSince(t0)} lab min`, `  ${appLine(a)}`],
  };
}

// ---------------------------------------------------------------------------------------------------
// 7c: a chart version bump

export interface ChartBump extends StepReport {
  readonly chart: string;
  readonly from: string;
  readonly to: string;
  readonly application: string;
  readonly revision: string;
  /** What the lab's chart repository served of the chart (e.g. "200 /prometheus-blackbox-exporter-11.17.3.tgz"). */
  readonly fetched: string[];
  /** `helm.sh/chart` labels of the live objects the Application manages, after the sync. */
  readonly liveChartLabels: string[];
}

/** The next patch version (`11.17.2` → `11.17.3`, `v1.21.1` → `v1.21.2`). */
export function nextPatch(version: string): string {
  const m = /^(v?\d+\.\d+\.)(\d+)$/.exec(version);
  if (!m) throw new Error(`nextPatch: "${version}" is not a plain major.minor.patch version`);
  return `${m[1]}${Number(m[2]) + 1}`;
}

/** Replaces the pin of `chart` in versions.ts text; throws when it is not pinned there. */
export function bumpPin(versionsTs: string, chart: string, to: string): { text: string; from: string } {
  const re = new RegExp(`^(\\s*'?${chart.replace(/[-.]/g, '\\$&')}'?\\s*:\\s*')([^']+)(')`, 'm');
  const m = re.exec(versionsTs);
  if (!m) throw new Error(`bumpPin: ${chart} is not pinned in lib/config/versions.ts (CHART_VERSIONS)`);
  return { text: versionsTs.replace(re, `$1${to}$3`), from: m[2] };
}

/**
 * 7c. Publishes the next patch version of `chart` (the reference package re-packed, the repository
 * re-indexed) in the lab's chart repository, bumps its pin in the copy, synth, commit, push; waits until
 * its Application runs the new version, Synced and Healthy, with nothing done in Argo CD.
 */
export async function bumpChart(r: Rehearsal, options: { chart?: string; timeoutMs?: number } = {}): Promise<ChartBump> {
  const chart = options.chart ?? 'prometheus-blackbox-exporter';
  const versionsFile = path.join(r.repoDir, 'lib', 'config', 'versions.ts');
  const current = bumpPin(fs.readFileSync(versionsFile, 'utf8'), chart, 'x').from;
  const to = nextPatch(current);
  const archive = path.join(referenceDir(), 'charts', `${chart}-${current}.tgz`);
  if (!fs.existsSync(archive)) throw new Error(`bumpChart: ${archive} is missing`);
  const helm = helmBinary((reason) => { throw new Error(reason); })!;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-bump-'));
  try {
    const run = (cmd: string, args: string[]) => {
      const res = spawnSync(cmd, args, { cwd: work, encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: path.join(work, 'c'), HELM_CONFIG_HOME: path.join(work, 'c'), HELM_DATA_HOME: path.join(work, 'c') } });
      if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${res.stderr}`);
    };
    run('tar', ['-xzf', archive, '-C', work]);
    run(helm, ['package', path.join(work, chart), '--version', to, '--destination', r.chartsDir]);
    run(helm, ['repo', 'index', r.chartsDir]);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const index = yaml.load(fs.readFileSync(path.join(r.chartsDir, 'index.yaml'), 'utf8')) as any;
  if (!(index.entries?.[chart] ?? []).some((e: any) => e.version === to)) throw new Error(`bumpChart: the re-indexed repository does not list ${chart} ${to}`);

  fs.writeFileSync(versionsFile, bumpPin(fs.readFileSync(versionsFile, 'utf8'), chart, to).text);
  const revision = await synthCommitPush(r, 'chart-bump', `charts: ${chart} ${to}`);
  const t0 = Date.now();
  const app = loadDist(path.join(r.repoDir, 'dist'), r.env).map((d) => d.object)
    .find((o) => o?.kind === 'Application' && o.spec?.source?.chart === chart);
  if (!app) throw new Error(`bumpChart: dist/${r.env} has no Application for the chart ${chart}`);
  if (app.spec.source.targetRevision !== to) throw new Error(`bumpChart: the synth did not take the new pin: ${app.metadata.name} targets ${app.spec.source.targetRevision}`);
  const name = app.metadata.name as string;
  await until(r, `Application ${name} Synced and Healthy at ${chart} ${to}`, async () => {
    const s = (await application(r, name)).status;
    return s?.sync?.revision === to && s.sync.status === 'Synced' && s.health?.status === 'Healthy' && s.operationState?.phase !== 'Running';
  }, options.timeoutMs ?? 10 * 60_000, async () => appLine(await application(r, name)));
  const labMinutes = minutesSince(t0);
  await waitAllHealthy(r, options.timeoutMs ?? 10 * 60_000);
  const resources = ((await application(r, name)).status?.resources ?? []) as any[];
  const labels = new Set<string>();
  for (const res of resources.filter((x) => ['Deployment', 'Service', 'ConfigMap', 'ServiceAccount'].includes(x.kind))) {
    const group = res.group ? `/apis/${res.group}/${res.version}` : `/api/${res.version}`;
    const plural = `${res.kind.toLowerCase()}s`;
    const live = await r.lab.request('GET', `${group}/namespaces/${res.namespace}/${plural}/${res.name}`);
    const label = live.body?.metadata?.labels?.['helm.sh/chart'];
    if (label) labels.add(label);
  }
  const fetched = r.chartRepo.requests.filter((q) => q.includes(`${chart}-${to}.tgz`));
  return {
    step: `7c chart bump ${chart} ${current} → ${to}`, labMinutes, chart, from: current, to, application: name, revision, fetched, liveChartLabels: [...labels].sort(),
    lines: [`chart bump: ${chart} ${current} → ${to} (commit ${revision.slice(0, 8)}): Application ${name} Synced+Healthy at ${to} after ${labMinutes} lab min; fetched ${fetched.join(', ')}; live helm.sh/chart ${[...labels].join(', ')}`],
  };
}

// ---------------------------------------------------------------------------------------------------
// 8: restores

/**
 * Where a server image keeps its data when nothing else says so (the image's own PGDATA): facts about
 * the images, not read from our code. timescale/timescaledb-ha: PGDATA=/home/postgres/pgdata/data.
 */
export const IMAGE_DATA_DIRS: Record<string, string> = { 'timescale/timescaledb-ha': '/home/postgres/pgdata/data' };

export interface DataPath {
  readonly job: string;
  /** 'volume': the Job writes into the server's volume; 'network': it restores through the server's protocol. */
  readonly kind: 'volume' | 'network';
  /** The server (StatefulSet) whose data the Job restores. */
  readonly server?: string;
  /** Where the server reads its data from (Patroni's data_dir, PGDATA, MinIO's `server <dir>`). */
  readonly serverDataDir?: string;
  readonly serverMount?: string;
  readonly claim?: string;
  readonly restoreMount?: string;
  /** Where the Job writes (PGDATA, pgBackRest's pg1-path), for a volume restore. */
  readonly restoreTargets: string[];
  /** The Service it restores through, for a network restore. */
  readonly service?: string;
  readonly problems: string[];
}

const within = (dir: string, mount: string) => dir === mount || dir.startsWith(`${mount.replace(/\/$/, '')}/`);
const imageRepository = (image: string) => image.replace(/@.*$/, '').replace(/:[^/:]*$/, '');

/** ConfigMaps a container mounts, with their data. */
function mountedConfigMaps(spec: any, container: any, configMaps: any[]): { mountPath: string; data: Record<string, string> }[] {
  const out: { mountPath: string; data: Record<string, string> }[] = [];
  for (const m of container.volumeMounts ?? []) {
    const v = (spec.volumes ?? []).find((x: any) => x.name === m.name);
    if (!v?.configMap) continue;
    const cm = configMaps.find((c) => c.metadata.name === v.configMap.name);
    if (cm) out.push({ mountPath: m.mountPath, data: cm.data ?? {} });
  }
  return out;
}

/** Where a server container reads its data: Patroni's postgresql.data_dir, else PGDATA, else `server <dir>` (MinIO), else the image's. */
export function serverDataDir(spec: any, container: any, configMaps: any[]): string | undefined {
  for (const { data } of mountedConfigMaps(spec, container, configMaps)) {
    for (const text of Object.values(data)) {
      let parsed: any;
      try { parsed = yaml.load(text); } catch { continue; }
      if (typeof parsed?.postgresql?.data_dir === 'string') return parsed.postgresql.data_dir;
    }
  }
  const pgdata = (container.env ?? []).find((e: any) => e.name === 'PGDATA')?.value;
  if (pgdata) return pgdata;
  const args = [...(container.command ?? []), ...(container.args ?? [])];
  const server = args.indexOf('server');
  if (server >= 0) return args.slice(server + 1).find((a: string) => a.startsWith('/'));
  return IMAGE_DATA_DIRS[imageRepository(container.image)];
}

/**
 * Checks that each restore Job writes where its server reads its data. A Job that mounts a claim must
 * mount the very claim of a StatefulSet's pod, at the path where the server container mounts it, and
 * write (PGDATA, pgBackRest's pg1-path) exactly the server's data directory (which must be the image's
 * own PGDATA where known). A Job that mounts no claim restores through a Service: it must exist and
 * select the pods of a StatefulSet whose data directory lies on its claim.
 * `jobs`: name and pod spec of each restore Job; `objects`: live StatefulSets, ConfigMaps and Services.
 */
export function restoreDataPaths(jobs: readonly { name: string; namespace: string; spec: any }[], objects: readonly any[]): DataPath[] {
  const sets = objects.filter((o) => o?.kind === 'StatefulSet');
  const configMapsIn = (ns: string) => objects.filter((o) => o?.kind === 'ConfigMap' && o.metadata.namespace === ns);
  return jobs.map(({ name, namespace, spec }) => {
    const problems: string[] = [];
    const claims = (spec.volumes ?? []).filter((v: any) => v.persistentVolumeClaim);
    const containers = [...(spec.initContainers ?? []), ...spec.containers];
    if (claims.length > 0) {
      const volume = claims[0];
      const claim = volume.persistentVolumeClaim.claimName as string;
      let server: { sts: any; template: string } | undefined;
      for (const sts of sets.filter((s) => s.metadata.namespace === namespace)) {
        for (const t of sts.spec.volumeClaimTemplates ?? []) {
          const m = new RegExp(`^${t.metadata.name}-${sts.metadata.name}-(\\d+)$`).exec(claim);
          if (m && Number(m[1]) < (sts.spec.replicas ?? 1)) server = { sts, template: t.metadata.name };
        }
      }
      const restoreContainer = containers.find((c: any) => (c.volumeMounts ?? []).some((m: any) => m.name === volume.name));
      const restoreMount = (restoreContainer?.volumeMounts ?? []).find((m: any) => m.name === volume.name);
      const targets: string[] = [];
      const pgdata = (restoreContainer?.env ?? []).find((e: any) => e.name === 'PGDATA')?.value;
      if (pgdata) targets.push(pgdata);
      if (restoreContainer) {
        for (const { data } of mountedConfigMaps(spec, restoreContainer, configMapsIn(namespace))) {
          for (const text of Object.values(data)) {
            const m = /^pg1-path=(.+)$/m.exec(text);
            if (m && !targets.includes(m[1].trim())) targets.push(m[1].trim());
          }
        }
      }
      if (!server) {
        problems.push(`${name} mounts claim ${claim}, which is no StatefulSet pod's claim in ${namespace}`);
        return { job: name, kind: 'volume', claim, restoreMount: restoreMount?.mountPath, restoreTargets: targets, problems } as DataPath;
      }
      const podSpec = server.sts.spec.template.spec;
      const serverContainer = podSpec.containers.find((c: any) => (c.volumeMounts ?? []).some((m: any) => m.name === server!.template && !m.readOnly));
      const serverMount = (serverContainer?.volumeMounts ?? []).find((m: any) => m.name === server!.template);
      const dataDir = serverContainer ? serverDataDir(podSpec, serverContainer, configMapsIn(namespace)) : undefined;
      const imageDir = serverContainer ? IMAGE_DATA_DIRS[imageRepository(serverContainer.image)] : undefined;
      if (!serverMount || !dataDir) problems.push(`the server ${server.sts.metadata.name} has no container that writes volume ${server.template}, or no known data directory`);
      if (dataDir && imageDir && dataDir !== imageDir) problems.push(`the server ${server.sts.metadata.name} reads ${dataDir}, but its image's PGDATA is ${imageDir}`);
      if (!restoreMount) problems.push(`${name} declares claim ${claim} but no container mounts it`);
      else if (serverMount && (restoreMount.mountPath !== serverMount.mountPath || (restoreMount.subPath ?? '') !== (serverMount.subPath ?? ''))) {
        problems.push(`${name} mounts ${claim} at ${restoreMount.mountPath}${restoreMount.subPath ? ` (subPath ${restoreMount.subPath})` : ''}, the server at ${serverMount.mountPath}${serverMount.subPath ? ` (subPath ${serverMount.subPath})` : ''}`);
      }
      if (restoreMount?.readOnly) problems.push(`${name} mounts ${claim} read-only`);
      if (targets.length === 0) problems.push(`${name} names no target directory (PGDATA or pg1-path)`);
      for (const t of targets) {
        if (dataDir && t !== dataDir) problems.push(`${name} restores into ${t}, the server reads ${dataDir}`);
        if (restoreMount && !within(t, restoreMount.mountPath)) problems.push(`${name} restores into ${t}, outside its mount of ${claim} (${restoreMount.mountPath}): the container's root filesystem`);
      }
      return { job: name, kind: 'volume', server: server.sts.metadata.name, serverDataDir: dataDir, serverMount: serverMount?.mountPath, claim, restoreMount: restoreMount?.mountPath, restoreTargets: targets, problems };
    }
    // A network restore: the in-cluster Service it names in its environment.
    const hosts = new Set<string>();
    for (const c of containers) {
      for (const e of c.env ?? []) {
        const m = /(?:^|\/\/)([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?(?::\d+)?(?:\/|$)/.exec(String(e.value ?? ''));
        if (m) hosts.add(`${m[2]}/${m[1]}`);
      }
    }
    const found: DataPath[] = [];
    for (const host of hosts) {
      const [ns, svcName] = host.split('/');
      const svc = objects.find((o) => o?.kind === 'Service' && o.metadata.namespace === ns && o.metadata.name === svcName);
      if (!svc) { found.push({ job: name, kind: 'network', service: host, restoreTargets: [], problems: [`${name} restores through Service ${host}, which does not exist`] }); continue; }
      const selector = svc.spec.selector ?? {};
      // Keys the pod template lacks are labels the server sets at run time (Patroni's role=master).
      const sts = sets.find((s) => s.metadata.namespace === ns && Object.keys(selector).length > 0
        && Object.entries(selector).every(([k, v]) => !(k in (s.spec.template.metadata.labels ?? {})) || s.spec.template.metadata.labels[k] === v)
        && Object.entries(selector).some(([k, v]) => s.spec.template.metadata.labels?.[k] === v));
      if (!sts) { found.push({ job: name, kind: 'network', service: host, restoreTargets: [], problems: [`Service ${host} selects no StatefulSet: ${name} would restore into nothing persistent`] }); continue; }
      const podSpec = sts.spec.template.spec;
      const templates = new Set((sts.spec.volumeClaimTemplates ?? []).map((t: any) => t.metadata.name as string));
      const serverContainer = podSpec.containers.find((c: any) => (c.volumeMounts ?? []).some((m: any) => templates.has(m.name)));
      const dataDir = serverContainer ? serverDataDir(podSpec, serverContainer, configMapsIn(ns)) : undefined;
      const mount = (serverContainer?.volumeMounts ?? []).find((m: any) => templates.has(m.name));
      const p: string[] = [];
      if (!dataDir || !mount || !within(dataDir, mount.mountPath)) p.push(`the server ${sts.metadata.name} behind ${host} keeps its data (${dataDir ?? '?'}) outside its claim (${mount?.mountPath ?? 'none'})`);
      found.push({ job: name, kind: 'network', service: host, server: sts.metadata.name, serverDataDir: dataDir, serverMount: mount?.mountPath, restoreTargets: [], problems: p });
    }
    if (found.length === 0) return { job: name, kind: 'network', restoreTargets: [], problems: [`${name} mounts no claim and names no in-cluster Service: it restores nowhere`] } as DataPath;
    // One entry per Job: the Service that holds data (the first one with a server), with every problem.
    const primary = found.find((f) => f.server) ?? found[0];
    return { ...primary, problems: found.filter((f) => f === primary || !f.server).flatMap((f) => f.problems) };
  });
}

export interface RestoreRun {
  readonly cronJob: string;
  readonly job: string;
  readonly namespace: string;
  readonly commands: string[];
  /** The pod's phase and each container's state once it started. */
  readonly pod: string;
  readonly phase: string;
  readonly containers: string[];
}

export interface Restores extends StepReport {
  readonly runs: RestoreRun[];
  readonly dataPaths: DataPath[];
  /** Pods of the restore Jobs the kubelet holds back (a missing mount or Secret). */
  readonly stuck: string[];
}

/** A pod whose every container has started (running or ended): its mounts and Secrets were all there. */
const started = (pod: any) => {
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  return all.length === (pod.spec.initContainers?.length ?? 0) + pod.spec.containers.length && all.every((s: any) => s.state?.running || s.state?.terminated || s.lastState?.terminated);
};

/**
 * 8. Creates each restore Job from its suspended CronJob with the README's commands, waits for its pod to
 * start, and checks where each writes (restoreDataPaths) against the live servers.
 */
export async function restores(r: Rehearsal, options: { timeoutMs?: number } = {}): Promise<Restores> {
  const readme = fs.readFileSync(path.join(r.repoDir, 'README.md'), 'utf8');
  const cronJobs = (await r.lab.list('/apis/batch/v1/cronjobs')).filter((c) => (RESTORE_CRONJOBS as readonly string[]).includes(c.metadata.name));
  const missing = RESTORE_CRONJOBS.filter((n) => !cronJobs.some((c) => c.metadata.name === n));
  if (missing.length > 0) throw new Error(`restores: no CronJob ${missing.join(', ')} in the cluster`);
  for (const c of cronJobs) if (c.spec.suspend !== true) throw new Error(`restores: CronJob ${c.metadata.namespace}/${c.metadata.name} is not suspended`);
  const before = new Set((await r.lab.list('/apis/batch/v1/jobs')).map((j) => j.metadata.uid as string));
  const commands = Object.fromEntries(RESTORE_CRONJOBS.map((n) => [n, restoreCommands(readme, n)]));
  const t0 = Date.now();
  // One shell per restore, each in its own folder (the pitr command writes pitr.yaml), from the README's commands.
  for (const name of RESTORE_CRONJOBS) {
    const dir = path.join(r.dir, `restore-${name}`);
    fs.mkdirSync(dir, { recursive: true });
    const run = await r.shell(`restore-${name}`, `cd ${JSON.stringify(dir)}\n${commands[name].join('\n')}\n`, 120_000);
    if (run.status !== 0) throw new Error(`the README's command for ${name} failed (${run.status}):\n${run.log.trim().split('\n').slice(-15).join('\n')}`);
  }
  const created = async () => (await r.lab.list('/apis/batch/v1/jobs')).filter((j) => !before.has(j.metadata.uid));
  const jobFor = (jobs: any[], cronJob: string) => jobs.find((j) => j.metadata.ownerReferences?.some((o: any) => o.kind === 'CronJob' && o.name === cronJob)
    || j.metadata.annotations?.['cronjob.kubernetes.io/instantiate'] === 'manual' && j.metadata.labels?.['app.kubernetes.io/name'] === cronJob
    || j.spec.template.metadata?.labels?.['app.kubernetes.io/name'] === cronJob || j.metadata.labels?.['app.kubernetes.io/name'] === cronJob);
  const podsOf = async (job: any) => r.lab.list(`/api/v1/namespaces/${job.metadata.namespace}/pods?labelSelector=${encodeURIComponent(`batch.kubernetes.io/job-name=${job.metadata.name}`)}`);
  await until(r, 'a started pod of every restore Job', async () => {
    const jobs = await created();
    for (const name of RESTORE_CRONJOBS) {
      const job = jobFor(jobs, name);
      if (!job || !(await podsOf(job)).some(started)) return false;
    }
    return true;
  }, options.timeoutMs ?? 5 * 60_000, async () => {
    const jobs = await created();
    const stuck = await r.lab.kubelet.stuck();
    return [`Jobs created: ${jobs.map((j) => `${j.metadata.namespace}/${j.metadata.name}`).join(', ') || 'none'}`, ...stuck.map((s) => `stuck ${s.namespace}/${s.pod}: ${s.reason}: ${s.message}`)].join('\n');
  });
  const labMinutes = minutesSince(t0);
  const jobs = await created();
  const runs: RestoreRun[] = [];
  for (const name of RESTORE_CRONJOBS) {
    const job = jobFor(jobs, name);
    const pod = (await podsOf(job)).find(started);
    const statuses = [...(pod.status.initContainerStatuses ?? []), ...(pod.status.containerStatuses ?? [])];
    runs.push({
      cronJob: name, job: job.metadata.name, namespace: job.metadata.namespace, commands: commands[name], pod: pod.metadata.name, phase: pod.status.phase,
      containers: statuses.map((s: any) => `${s.name} ${s.state.running ? 'running' : s.state.terminated ? `exited ${s.state.terminated.exitCode}` : Object.keys(s.state)[0]}`),
    });
  }
  const restoreJobs = RESTORE_CRONJOBS.map((n) => jobFor(jobs, n)).filter(Boolean);
  const stuckAll = await r.lab.kubelet.stuck();
  const stuck = stuckAll.filter((s) => restoreJobs.some((j) => s.pod.startsWith(`${j.metadata.name}-`))).map((s) => `${s.namespace}/${s.pod}: ${s.reason}: ${s.message}`);
  const objects = [
    ...(await r.lab.list('/apis/apps/v1/statefulsets')).map((o) => ({ kind: 'StatefulSet', ...o })),
    ...(await r.lab.list('/api/v1/configmaps')).map((o) => ({ kind: 'ConfigMap', ...o })),
    ...(await r.lab.list('/api/v1/services')).map((o) => ({ kind: 'Service', ...o })),
  ];
  const dataPaths = restoreDataPaths(restoreJobs.map((j) => ({ name: j.metadata.name, namespace: j.metadata.namespace, spec: j.spec.template.spec })), objects);
  return {
    step: '8 restores from their suspended CronJobs', labMinutes, runs, dataPaths, stuck,
    lines: [
      `restores: every restore pod started ${labMinutes} lab min after the README's commands`,
      ...runs.map((x) => `  ${x.namespace}/${x.job} (${x.commands.join(' && ')}): pod ${x.pod} ${x.phase}; ${x.containers.join(', ')}`),
      ...dataPaths.map((d) => d.kind === 'volume'
        ? `  ${d.job}: writes ${d.restoreTargets.join(', ')} on ${d.claim} at ${d.restoreMount}; server ${d.server} mounts it at ${d.serverMount}, reads ${d.serverDataDir}${d.problems.length ? ` — PROBLEMS: ${d.problems.join('; ')}` : ''}`
        : `  ${d.job}: no data volume, restores through Service ${d.service} → ${d.server ?? '?'} (reads ${d.serverDataDir ?? '?'} on its claim at ${d.serverMount ?? '?'})${d.problems.length ? ` — PROBLEMS: ${d.problems.join('; ')}` : ''}`),
    ],
  };
}

/** The day-2 steps' lines, for the test's log and the closing note. */
export function formatSteps(steps: readonly StepReport[]): string {
  return steps.map((s) => [`${s.step}: ${s.labMinutes} lab min`, ...s.lines.map((l) => `  ${l}`)].join('\n')).join('\n');
}
