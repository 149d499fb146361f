/**
 * The sealed-secrets controller, built from its Go module (scripts/kubeseal/build.sh), run as a local
 * process against a lab cluster, as its Deployment would run it. The controller only knows in-cluster
 * configuration, so it runs in a private mount namespace (unshare, root) where
 * /run/secrets/kubernetes.io/serviceaccount holds the lab's token and CA; it listens on loopback.
 * It finds its sealing key where the bootstrap puts it: a TLS Secret labelled
 * `sealedsecrets.bitnami.com/sealed-secrets-key=active` in its namespace.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { findProjectRoot } from '../../lib/project';
import { LabCluster } from './cluster';
import { findProgram, freePort, stop } from './programs';

export const SEALED_SECRETS_CONTROLLER = path.join(findProjectRoot(__dirname), '.tools', 'kubeseal', 'bin', 'controller');

/** What the controller needs that may be absent here (a name per missing thing). */
export function sealedSecretsControllerMissing(): string[] {
  return [
    ...(fs.existsSync(SEALED_SECRETS_CONTROLLER) ? [] : ['controller (bash scripts/kubeseal/build.sh)']),
    ...(findProgram('unshare') ? [] : ['unshare']),
    ...(process.getuid?.() === 0 ? [] : ['root (for unshare --mount)']),
  ];
}

export class LabSealedSecrets {
  /** Starts the controller in `namespace` (@default kube-system, where the platform's chart runs it). */
  public static async start(lab: LabCluster, options: { namespace?: string } = {}): Promise<LabSealedSecrets> {
    const missing = sealedSecretsControllerMissing();
    if (missing.length > 0) throw new Error(`the sealed-secrets controller cannot run here: ${missing.join(', ')} missing`);
    const controller = new LabSealedSecrets(lab);
    await controller.run(options.namespace ?? 'kube-system');
    return controller;
  }

  private child?: ChildProcess;
  public readonly logFile: string;

  private constructor(private readonly lab: LabCluster) {
    this.logFile = path.join(lab.dir, 'sealed-secrets-controller.log');
  }

  private async run(namespace: string): Promise<void> {
    const kubeconfig = yaml.load(fs.readFileSync(this.lab.kubeconfig, 'utf8')) as any;
    const sa = path.join(this.lab.dir, 'sealed-secrets-serviceaccount');
    fs.mkdirSync(sa, { recursive: true });
    fs.writeFileSync(path.join(sa, 'token'), kubeconfig.users[0].user.token);
    fs.writeFileSync(path.join(sa, 'ca.crt'), Buffer.from(kubeconfig.clusters[0].cluster['certificate-authority-data'], 'base64'));
    fs.writeFileSync(path.join(sa, 'namespace'), namespace);
    const api = new URL(this.lab.server);
    const [listen, metrics] = [await freePort(), await freePort()];
    const script = 'mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io && cp -r "$SA" /run/secrets/kubernetes.io/serviceaccount && exec "$@"';
    const log = fs.openSync(this.logFile, 'a');
    this.child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', SEALED_SECRETS_CONTROLLER,
      `--listen-addr=127.0.0.1:${listen}`, `--listen-metrics-addr=127.0.0.1:${metrics}`, '--key-renew-period=0', '--update-status=true'], {
      env: { PATH: process.env.PATH, SA: sa, KUBERNETES_SERVICE_HOST: api.hostname, KUBERNETES_SERVICE_PORT: api.port, POD_NAMESPACE: namespace },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    this.child.on('error', () => undefined);
  }

  /** The last lines of the controller's log. */
  public tail(lines = 20): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '';
  }

  public async stop(): Promise<void> {
    await stop(this.child);
  }
}
