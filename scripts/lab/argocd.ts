/**
 * Argo CD's application controller and repo-server, built from the github.com/argoproj/argo-cd/v3 module
 * (v3.2.11: scripts/argocd/build.sh; the chart the platform pins deploys v3.4.4, whose module does not
 * build from the proxy), run as local processes against a lab cluster (scripts/lab/cluster.ts) with a
 * private redis-server, all on 127.0.0.1. No argocd-server, no ApplicationSet controller, no Dex.
 *
 * Out of cluster, the processes need what their Deployments would give them:
 * - the controller: KUBECONFIG (the lab's) plus ARGOCD_FAKE_IN_CLUSTER=true, so that the in-cluster
 *   destination https://kubernetes.default.svc resolves to that kubeconfig instead of a service account;
 *   `--namespace`; the ConfigMap argocd-cm labelled app.kubernetes.io/part-of=argocd (its settings
 *   informer only sees labelled ConfigMaps) and the Secret argocd-secret in that namespace (the chart's
 *   `helm install` makes both; minimalArgoCdSettings() for tests without the chart); and the AppProject
 *   `default`, which argocd-server creates at its start: start() creates it when it is absent.
 * - the repo-server: helm and git on PATH, ARGOCD_GPG_ENABLED=false (else it wants a GnuPG keyring under
 *   /app/config), and its own folders instead of the image's: TMPDIR (clones, chart downloads),
 *   HOME, the askpass socket (default /tmp/reposerver-ask-pass.sock, shared by every instance otherwise),
 *   the plugin socket folder, the SSH/TLS data folders.
 * Both listen on 127.0.0.1, except the controller's metrics server: v3.2.11 binds it to 0.0.0.0 (no flag).
 */
import { ChildProcess, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { helmBinary } from '../../lib/helm-binary';
import { findProjectRoot, referenceDir } from '../../lib/project';
import { LabCluster } from './cluster';
import { findProgram, freePort, stop } from './programs';

export const ARGOCD_BIN = path.join(findProjectRoot(__dirname), '.tools', 'argocd', 'bin', 'argocd');
/** The Argo CD release the binary is built from (scripts/argocd/go.mod). */
export const ARGOCD_LAB_VERSION = 'v3.2.11';

/** Whether scripts/argocd/build.sh has built the binary. */
export function argocdBuilt(): boolean {
  return fs.existsSync(ARGOCD_BIN);
}

/**
 * The controller's timings for a lab, where nothing sends Git webhooks and tests wait on the outcome:
 * - `--app-resync 10 --app-resync-jitter 0`: every Application is compared with Git every 10 s (default
 *   120 s plus up to 60 s of jitter), so a new commit is seen within seconds;
 * - `--repo-error-grace-period-seconds 10`: a repo-server error shows as a condition after 10 s, not 180 s;
 * - `--self-heal-timeout-seconds 2 --self-heal-backoff-timeout-seconds 0`: a drifted resource of an
 *   Application with selfHeal is re-synced after a fixed 2 s instead of the exponential backoff
 *   (2 s × 3ⁿ, capped at 300 s), so drift tests stay bounded;
 * - `--status-processors 10 --operation-processors 5`: half the defaults (20 and 10); enough for the
 *   platform's ~20 Applications on a small machine, with a root Application syncing while its children do.
 */
export const LAB_CONTROLLER_FLAGS: readonly string[] = [
  '--app-resync', '10', '--app-resync-jitter', '0', '--repo-error-grace-period-seconds', '10',
  '--self-heal-timeout-seconds', '2', '--self-heal-backoff-timeout-seconds', '0',
  '--status-processors', '10', '--operation-processors', '5',
];

/**
 * The repo-server's match for `--app-resync 10`: it caches what a branch or tag resolves to (ls-remote) for
 * `--revision-cache-expiration`, by default ARGOCD_RECONCILIATION_TIMEOUT or 3 min (the chart sets that env
 * on both from argocd-cm's timeout.reconciliation), so without it a new commit is seen only minutes later.
 */
export const LAB_REPO_SERVER_FLAGS: readonly string[] = ['--revision-cache-expiration', '10s'];

export interface LabArgoCdOptions {
  /** Where Argo CD's settings live and where it watches Applications. @default 'argocd' */
  readonly namespace?: string;
  /** Progress lines. @default none */
  readonly log?: (line: string) => void;
  /** Extra env for the repo-server and the controller, e.g. HOME with a gitconfig. @default none */
  readonly env?: Record<string, string>;
}

/**
 * The settings objects the chart's `helm install` would make, reduced to what the controller and the
 * repo-server read: the namespace, argocd-cm, argocd-rbac-cm and argocd-cmd-params-cm (labelled
 * app.kubernetes.io/part-of=argocd), and argocd-secret with a random server.secretkey (which only
 * argocd-server uses). For tests that do not install the chart.
 */
export function minimalArgoCdSettings(namespace = 'argocd'): any[] {
  const labels = { 'app.kubernetes.io/part-of': 'argocd' };
  const configMap = (name: string, data: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels: { ...labels, 'app.kubernetes.io/name': name } }, data });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    configMap('argocd-cm'),
    configMap('argocd-rbac-cm'),
    configMap('argocd-cmd-params-cm'),
    {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name: 'argocd-secret', namespace, labels: { ...labels, 'app.kubernetes.io/name': 'argocd-secret' } },
      stringData: { 'server.secretkey': crypto.randomBytes(32).toString('base64') },
    },
  ];
}

/**
 * Installs only Argo CD's CRDs (Application, AppProject, ApplicationSet from ../shared/reference/crds/argo-cd)
 * and waits until they are Established: for a lab started with `crds: false`, much quicker than all of them.
 */
export async function installArgoCdCrds(lab: LabCluster): Promise<void> {
  const dir = path.join(referenceDir(), 'crds', 'argo-cd');
  const crds = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()
    .flatMap((f) => (yaml.loadAll(fs.readFileSync(path.join(dir, f), 'utf8')) as any[]).filter((d) => d?.kind === 'CustomResourceDefinition'));
  for (const crd of crds) {
    const res = await lab.apply(crd, { fieldManager: 'lab' });
    if (res.status >= 300) throw new Error(`CRD ${crd.metadata.name}: ${res.status} ${res.body?.message}`);
  }
  await lab.waitFor('the Argo CD CRDs to be Established', async () => {
    for (const crd of crds) {
      const live = await lab.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
      if (!live.body?.status?.conditions?.some((c: any) => c.type === 'Established' && c.status === 'True')) return false;
    }
    return true;
  }, 60_000);
}

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly log: string;
}

const canConnect = (port: number): Promise<boolean> => new Promise((resolve) => {
  const socket = net.connect(port, '127.0.0.1');
  socket.once('connect', () => { socket.destroy(); resolve(true); });
  socket.once('error', () => resolve(false));
});

const httpOk = (url: string): Promise<boolean> => new Promise((resolve) => {
  const req = http.get(url, { timeout: 2_000 }, (res) => { res.resume(); resolve(res.statusCode === 200); });
  req.on('timeout', () => req.destroy());
  req.on('error', () => resolve(false));
});

export class LabArgoCd {
  /**
   * Starts redis-server, the repo-server and the application controller; resolves when the controller
   * answers /healthz. Fails, naming the fix, when the binary, redis-server, helm or git is missing, or
   * when argocd-cm or argocd-secret is absent from the namespace.
   */
  public static async start(lab: LabCluster, options: LabArgoCdOptions = {}): Promise<LabArgoCd> {
    if (!argocdBuilt()) throw new Error(`${ARGOCD_BIN} is not built; fix: bash scripts/argocd/build.sh`);
    const redis = findProgram('redis-server');
    if (!redis) throw new Error('redis-server is not installed; fix: apt-get install redis-server');
    if (!findProgram('git')) throw new Error('git is not installed; fix: apt-get install git');
    let helmError = '';
    const helm = helmBinary((reason) => { helmError = reason; });
    if (!helm) throw new Error(`no helm for the repo-server: ${helmError}; fix: bash scripts/helm.sh`);

    const argocd = new LabArgoCd(lab, options);
    try {
      await argocd.checkSettings();
      await argocd.ensureDefaultProject();
      await argocd.boot(redis, helm);
    } catch (err) {
      const logs = argocd.tailLogs(20);
      await argocd.stop();
      throw new Error(`${(err as Error).message}${logs ? `\n${logs}` : ''}`);
    }
    return argocd;
  }

  public readonly namespace: string;
  /** Logs, the repo-server's TMPDIR and HOME: a folder of the lab's dir (kept until the lab stops). */
  public readonly dir: string;
  /** Path of the application controller's log (text format). */
  public readonly controllerLog: string;
  /** Path of the repo-server's log (text format). */
  public readonly repoServerLog: string;
  /** 127.0.0.1:<port> of the repo-server's gRPC (plaintext) and of redis. Set once started. */
  public repoServerAddress = '';
  public redisAddress = '';
  /** Milliseconds from start() to a healthy controller. */
  public startupMs = 0;
  private readonly processes: Proc[] = [];
  private readonly log: (line: string) => void;

  private constructor(private readonly lab: LabCluster, private readonly options: LabArgoCdOptions) {
    this.namespace = options.namespace ?? 'argocd';
    this.dir = fs.mkdtempSync(path.join(lab.dir, 'argocd-'));
    this.controllerLog = path.join(this.dir, 'application-controller.log');
    this.repoServerLog = path.join(this.dir, 'repo-server.log');
    this.log = options.log ?? (() => undefined);
  }

  private async checkSettings(): Promise<void> {
    const ns = this.namespace;
    const fix = `fix: helm install the argo-cd chart into namespace ${ns}, or apply minimalArgoCdSettings('${ns}')`;
    const cm = await this.lab.request('GET', `/api/v1/namespaces/${ns}/configmaps/argocd-cm`);
    if (cm.status !== 200) throw new Error(`ConfigMap ${ns}/argocd-cm not found (${cm.status}): the controller reads its settings from it; ${fix}`);
    if (cm.body.metadata?.labels?.['app.kubernetes.io/part-of'] !== 'argocd') {
      throw new Error(`ConfigMap ${ns}/argocd-cm lacks the label app.kubernetes.io/part-of=argocd, without which Argo CD does not see it; ${fix}`);
    }
    const secret = await this.lab.request('GET', `/api/v1/namespaces/${ns}/secrets/argocd-secret`);
    if (secret.status !== 200) throw new Error(`Secret ${ns}/argocd-secret not found (${secret.status}); ${fix}`);
  }

  /** What argocd-server does at its start (it does not run here): the AppProject `default`, if absent. */
  private async ensureDefaultProject(): Promise<void> {
    const url = `/apis/argoproj.io/v1alpha1/namespaces/${this.namespace}/appprojects`;
    if ((await this.lab.request('GET', `${url}/default`)).status === 200) return;
    const res = await this.lab.request('POST', url, {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'AppProject', metadata: { name: 'default', namespace: this.namespace },
      spec: { sourceRepos: ['*'], destinations: [{ server: '*', namespace: '*' }], clusterResourceWhitelist: [{ group: '*', kind: '*' }] },
    });
    if (res.status >= 300 && res.status !== 409) throw new Error(`creating the AppProject ${this.namespace}/default: ${res.status} ${res.body?.message ?? ''} (are the Argo CD CRDs installed? LabCluster installs them unless crds: false)`);
  }

  private run(name: string, cmd: string, args: string[], env: Record<string, string | undefined>): Proc {
    const log = path.join(this.dir, `${name}.log`);
    const fd = fs.openSync(log, 'a');
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], cwd: this.dir, env });
    fs.closeSync(fd);
    child.on('error', () => undefined);
    const proc = { name, child, log };
    this.processes.push(proc);
    return proc;
  }

  private async until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const dead = this.processes.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
      if (dead) throw new Error(`${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}) while waiting for ${what}`);
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
  }

  private async boot(redis: string, helm: string): Promise<void> {
    const t0 = Date.now();
    const folder = (name: string) => {
      const p = path.join(this.dir, name);
      fs.mkdirSync(p, { recursive: true, mode: 0o700 });
      return p;
    };
    const [redisPort, repoPort, repoMetrics, controllerMetrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
    this.redisAddress = `127.0.0.1:${redisPort}`;
    this.repoServerAddress = `127.0.0.1:${repoPort}`;

    this.run('redis', redis, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', folder('redis')], { PATH: process.env.PATH });
    await this.until(`redis-server on ${this.redisAddress}`, () => canConnect(redisPort), 30_000);

    // git calls back `argocd` (ARGOCD_BINARY_NAME=argocd-git-ask-pass) for credentials: the binary's folder is on PATH.
    const base = {
      PATH: [path.dirname(helm), path.dirname(ARGOCD_BIN), process.env.PATH ?? '/usr/bin:/bin'].join(':'),
      HOME: folder('home'), TMPDIR: folder('tmp'),
    };
    this.run('repo-server', ARGOCD_BIN, [
      'repo-server', '--disable-tls', '--address', '127.0.0.1', `--port=${repoPort}`,
      '--metrics-address', '127.0.0.1', `--metrics-port=${repoMetrics}`, '--redis', this.redisAddress,
      ...LAB_REPO_SERVER_FLAGS, '--loglevel', 'info', '--logformat', 'text',
    ], {
      ...base,
      ARGOCD_GPG_ENABLED: 'false',
      ARGOCD_ASK_PASS_SOCK: path.join(this.dir, 'askpass.sock'),
      ARGOCD_PLUGINSOCKFILEPATH: folder('plugins'),
      ARGOCD_SSH_DATA_PATH: folder('ssh'),
      ARGOCD_TLS_DATA_PATH: folder('tls'),
      ARGOCD_GNUPGHOME: folder('gnupg'),
      ARGOCD_GPG_DATA_PATH: folder('gpg-source'),
      ARGOCD_APP_CONF_PATH: folder('app-config'),
      ...this.options.env,
    });
    await this.until(`the repo-server on ${this.repoServerAddress}`, async () => (await canConnect(repoPort)) && httpOk(`http://127.0.0.1:${repoMetrics}/healthz`), 60_000);
    this.log(`argocd: repo-server ready on ${this.repoServerAddress} after ${Date.now() - t0} ms`);

    this.run('application-controller', ARGOCD_BIN, [
      'application-controller', '--namespace', this.namespace,
      '--repo-server', this.repoServerAddress, '--repo-server-plaintext', '--redis', this.redisAddress,
      `--metrics-port=${controllerMetrics}`, ...LAB_CONTROLLER_FLAGS, '--loglevel', 'info', '--logformat', 'text',
    ], {
      ...base, KUBECONFIG: this.lab.kubeconfig, ARGOCD_FAKE_IN_CLUSTER: 'true', ...this.options.env,
    });
    await this.until('the application controller to answer /healthz', () => httpOk(`http://127.0.0.1:${controllerMetrics}/healthz`), 120_000);
    this.startupMs = Date.now() - t0;
    this.log(`argocd: application controller ready (namespace ${this.namespace}) after ${this.startupMs} ms`);
  }

  /** The last `lines` lines of the controller's, the repo-server's and redis's logs, for a failure message. */
  public tailLogs(lines = 30): string {
    return this.processes.map(({ name, log }) => {
      const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '';
      return `--- ${name}.log (last ${lines} lines)\n${text}`;
    }).join('\n');
  }

  /** Stops the controller, then the repo-server, then redis. The logs stay in `dir` until the lab stops. */
  public async stop(): Promise<void> {
    for (const { child } of [...this.processes].reverse()) await stop(child);
  }
}
