/**
 * The External Secrets Operator's controller, built from its Go module (scripts/external-secrets/build.sh),
 * run as a local process against a lab cluster (scripts/lab/cluster.ts), as its Deployment would run it.
 *
 * A pod reaches the API server at https://kubernetes.default.svc (the Kubernetes provider's `server.url`
 * in the SecretStores the platform renders). Here the controller runs on the host, so a CONNECT proxy on
 * 127.0.0.1 (HTTPS_PROXY) plays the cluster's Service: it forwards exactly kubernetes.default.svc:443 to
 * the lab's API server, whose certificate names kubernetes.default.svc and whose CA is the kube-root-ca.crt
 * ConfigMap of every namespace. The controller's own connection (kubeconfig, 127.0.0.1) is not proxied.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { findProjectRoot } from '../../lib/project';
import { PlatformConfig, SECRET_SCOPES, secretScopeNamespace } from '../../lib/config/schema';
import { IN_CLUSTER_API } from '../../lib/constructs/generated-secrets';
import { findSecretReferences } from '../../lib/gitops/secret-references';
import { LabCluster } from './cluster';

export const EXTERNAL_SECRETS_BIN = path.join(findProjectRoot(__dirname), '.tools', 'external-secrets', 'bin', 'external-secrets');
export const externalSecretsBuilt = (): boolean => fs.existsSync(EXTERNAL_SECRETS_BIN);

export class LabExternalSecrets {
  /** Starts the proxy and the controller. */
  public static async start(lab: LabCluster): Promise<LabExternalSecrets> {
    if (!externalSecretsBuilt()) throw new Error(`${EXTERNAL_SECRETS_BIN} is not built; fix: bash scripts/external-secrets/build.sh`);
    const eso = new LabExternalSecrets(lab);
    await eso.listen();
    eso.run();
    return eso;
  }

  private readonly api: URL;
  private proxy?: http.Server;
  private proxyPort = 0;
  private child?: ChildProcess;
  private runs = 0;
  /** Forwarded CONNECTs and refused ones (any other host). */
  public forwarded = 0;
  public refused: string[] = [];
  private readonly tunnels = new Set<net.Socket>();

  private constructor(private readonly lab: LabCluster) {
    this.api = new URL(lab.server);
  }

  private async listen(): Promise<void> {
    const inCluster = `${new URL(IN_CLUSTER_API.url).hostname}:443`;
    const proxy = http.createServer((_req, res) => { res.writeHead(405).end(); });
    proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      if (req.url !== inCluster) {
        this.refused.push(String(req.url));
        client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
        return;
      }
      this.forwarded++;
      const upstream = net.connect(Number(this.api.port), '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      this.tunnels.add(client).add(upstream);
      const close = () => { upstream.destroy(); client.destroy(); this.tunnels.delete(client); this.tunnels.delete(upstream); };
      for (const s of [upstream, client]) s.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    this.proxy = proxy;
    this.proxyPort = (proxy.address() as net.AddressInfo).port;
  }

  private run(): void {
    this.runs++;
    const log = fs.openSync(path.join(this.lab.dir, `external-secrets-${this.runs}.log`), 'a');
    this.child = spawn(EXTERNAL_SECRETS_BIN, [
      '--metrics-addr=0', '--loglevel=info', '--enable-leader-election=false',
      // As the platform's values set them (lib/addons/external-secrets.ts): namespaced stores and generators only.
      '--enable-cluster-store-reconciler=false', '--enable-cluster-external-secret-reconciler=false',
      '--enable-push-secret-reconciler=false', '--enable-cluster-push-secret-reconciler=false',
    ], {
      stdio: ['ignore', log, log],
      env: { PATH: process.env.PATH, HOME: this.lab.dir, KUBECONFIG: this.lab.kubeconfig, HTTPS_PROXY: `http://127.0.0.1:${this.proxyPort}`, NO_PROXY: '127.0.0.1,localhost' },
    });
    fs.closeSync(log);
    this.child.on('error', () => undefined);
  }

  /** Stops the controller (the Secrets it made stay) and starts a new process. */
  public async restart(): Promise<void> {
    await this.stopController();
    this.run();
  }

  /** The log of the current (or last) controller process. */
  public log(lines = 30): string {
    const file = path.join(this.lab.dir, `external-secrets-${this.runs}.log`);
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n') : '';
  }

  /** Resident memory of the controller (Linux /proc), in MiB: all of it, and the anonymous part (heap, stacks) without the mapped binary. */
  public memory(): { rss: number; anon: number } | undefined {
    try {
      const status = fs.readFileSync(`/proc/${this.child?.pid}/status`, 'utf8');
      const mib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
      return { rss: Math.round(mib('VmRSS')), anon: Math.round(mib('RssAnon')) };
    } catch {
      return undefined;
    }
  }

  private async stopController(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
      child.kill('SIGTERM');
    });
  }

  public async stop(): Promise<void> {
    await this.stopController();
    for (const s of this.tunnels) s.destroy();
    this.proxy?.closeAllConnections();
    await new Promise<void>((resolve) => (this.proxy ? this.proxy.close(() => resolve()) : resolve()));
  }
}

/**
 * Stand-ins for the outside secrets of a config (declared `existing`: a person creates them), with every
 * declared key set to a placeholder, so that a lab sync checks that everything else is produced in the cluster.
 */
export async function createOutsideStandIns(lab: LabCluster, config: PlatformConfig): Promise<string[]> {
  const made: string[] = [];
  for (const role of SECRET_SCOPES) {
    for (const [name, d] of Object.entries(config.secrets[role]).filter(([, x]) => x.mode === 'existing')) {
      const namespace = secretScopeNamespace(config, role);
      await lab.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }, { fieldManager: 'lab-stand-in' });
      const res = await lab.apply({
        apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels: { 'lab.platform.io/stand-in': 'outside-secret' } },
        stringData: Object.fromEntries(d.keys.map((k) => [k, `stand-in-${k}`])),
      }, { fieldManager: 'lab-stand-in' });
      if (res.status >= 300) throw new Error(`stand-in ${namespace}/${name}: ${res.status} ${res.body?.message}`);
      made.push(`${namespace}/${name}`);
    }
  }
  return made;
}

/** Every pod in the cluster that reads (env, envFrom, volumes) a Secret that does not exist, with the Secrets. */
export async function podsMissingSecrets(lab: LabCluster): Promise<{ pods: number; references: number; missing: string[] }> {
  const pods = await lab.list('/api/v1/pods');
  const secrets = new Set((await lab.list('/api/v1/secrets')).map((s) => `${s.metadata.namespace}/${s.metadata.name}`));
  const missing: string[] = [];
  let references = 0;
  for (const pod of pods) {
    const refs = findSecretReferences({ ...pod, kind: 'Pod' });
    references += refs.length;
    const absent = [...new Set(refs.map((r) => `${r.namespace}/${r.name}`).filter((s) => !secrets.has(s)))];
    if (absent.length > 0) missing.push(`${pod.metadata.namespace}/${pod.metadata.name}: ${absent.join(', ')}`);
  }
  return { pods: pods.length, references, missing };
}
