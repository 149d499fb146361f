/**
 * The lab cluster: a real Kubernetes control plane on loopback, built from Go modules by
 * scripts/lab/build.sh: etcd, kube-apiserver (Pod Security admission on, as in k3s),
 * kube-controller-manager and kube-scheduler, with kwok standing in for the kubelets of nodes
 * shaped like an environment. No container runtime: images are never pulled, processes never run;
 * what it proves is what the API server, admission, the controllers and the scheduler do.
 */
import { ChildProcess, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { parseQuantity } from '../../lib/config/quantity';
import { EVICTION_HARD_MEMORY, k3sReserved, NodeShape } from '../../lib/config/sizing';
import { findProjectRoot, referenceDir } from '../../lib/project';
import { freePort, stop } from './programs';
import { KWOK_NODE_STAGES, KWOK_STAGES, NODE_IP_ANNOTATION } from './kwok-stages';
import { LabKubelet, PodOutcomeHook } from './kubelet';
import { kubeDnsService, LabMetricsServer, serviceLbPass } from './k3s';

export const LAB_BIN = path.join(findProjectRoot(__dirname), '.tools', 'lab', 'bin');
export const LAB_PROGRAMS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;

/** The programs that are not built yet (run `bash scripts/lab/build.sh`). */
export const missingLabPrograms = (): string[] => LAB_PROGRAMS.filter((p) => !fs.existsSync(path.join(LAB_BIN, p)));

export interface LabNode {
  readonly name: string;
  /** Cores, as a quantity ("4"). */
  readonly cpu: string;
  /** Bytes, as a quantity ("16Gi"). */
  readonly memory: string;
  readonly zone: string;
  /** Held back from allocatable for k3s itself (kubelet system-reserved): cores and bytes. @default none */
  readonly reserved?: { readonly cpu: number; readonly memory: number };
}

export interface LabClusterOptions {
  readonly nodes: readonly LabNode[];
  /** Install every CRD under ../shared/reference/crds. @default true */
  readonly crds?: boolean;
  /** Where logs, certificates and etcd data go. @default a new temp dir, removed on stop */
  readonly workDir?: string;
  /** Progress lines. @default none */
  readonly log?: (line: string) => void;
  /**
   * Who plays the kubelet. 'kwok': kwok's stages mark every bound pod Running and Ready at once and
   * every Job pod Succeeded, reading nothing else. 'faithful': kwok simulates the nodes only and
   * scripts/lab/kubelet.ts runs each pod as the kubelet would (volumes and env must resolve, init
   * containers first, Job pods complete, events and messages as the kubelet writes them), and the
   * lab adds what k3s gives every cluster: ServiceLB, the metrics API, the kube-dns Service
   * (scripts/lab/k3s.ts). @default 'kwok'
   */
  readonly kubelet?: 'kwok' | 'faithful';
  /**
   * Call the admission webhooks that charts register (cert-manager, External Secrets, the Prometheus
   * operator). Their Services have no pods that answer here, so with webhooks on (and their
   * `failurePolicy: Fail`) every object they validate would be refused; a lab that installs the real
   * charts turns them off (the configurations are still applied and listed, only never called).
   * @default true
   */
  readonly admissionWebhooks?: boolean;
  /**
   * Faithful mode: how a container's run ends (e.g. make one Job's pod exit 1 to rehearse a broken
   * migration). Return undefined for the default: init containers and Job pods complete, the rest
   * keep running. @default every container follows the default
   */
  readonly podOutcome?: PodOutcomeHook;
}

/** An answer of the API server: status, parsed body, and the `Warning` headers it sent. */
export interface ApiResponse {
  readonly status: number;
  readonly body: any;
  readonly warnings: string[];
}

/** Reserved by k3s's kubelet defaults for eviction: allocatable = capacity − reserved − 100Mi memory. */
const EVICTION_RESERVE = EVICTION_HARD_MEMORY;
const ADMIN_TOKEN_USER = 'lab-admin';

/**
 * k3s-like node shapes for an environment: `count` nodes of `cpu`/`memory`, one zone each, with
 * k3s's own reservation (lib/config/sizing.ts) held back from allocatable as on a real node.
 */
export function nodesFor(env: string, node: NodeShape): LabNode[] {
  return Array.from({ length: node.count }, (_, i) => ({
    name: `${env}-node-${i + 1}`, cpu: node.cpu, memory: node.memory, zone: `lab-zone-${String.fromCharCode(97 + i)}`, reserved: k3sReserved(node),
  }));
}

export class LabCluster {
  /** Starts the control plane and the nodes; resolves when the nodes are Ready and schedulable. */
  public static async start(options: LabClusterOptions): Promise<LabCluster> {
    const missing = missingLabPrograms();
    if (missing.length) throw new Error(`lab programs not built: ${missing.join(', ')}; fix: bash scripts/lab/build.sh`);
    const lab = new LabCluster(options);
    try {
      await lab.boot();
    } catch (err) {
      await lab.stop();
      throw new Error(`${(err as Error).message}\n${lab.tailLogs()}`);
    }
    return lab;
  }

  public readonly dir: string;
  public readonly kubeconfig: string;
  public server = '';
  /** Milliseconds from start() to Ready nodes. */
  public startupMs = 0;
  private readonly ownsDir: boolean;
  private readonly processes: { name: string; child: ChildProcess }[] = [];
  private readonly token = crypto.randomBytes(24).toString('hex');
  private ca = '';
  private readonly log: (line: string) => void;
  private provisioner?: NodeJS.Timeout;
  private faithfulKubelet?: LabKubelet;
  private metrics?: LabMetricsServer;
  private k3sLoop?: { stop: () => Promise<void> };

  private constructor(private readonly options: LabClusterOptions) {
    this.ownsDir = !options.workDir;
    this.dir = options.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lab-cluster-'));
    this.kubeconfig = path.join(this.dir, 'kubeconfig');
    this.log = options.log ?? (() => undefined);
  }

  private file(name: string, text: string, mode = 0o600): string {
    const target = path.join(this.dir, name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text, { mode });
    return target;
  }

  private run(name: string, args: string[]): ChildProcess {
    const logFd = fs.openSync(path.join(this.dir, `${name}.log`), 'a');
    const child = spawn(path.join(LAB_BIN, name), args, { stdio: ['ignore', logFd, logFd], cwd: this.dir, detached: false });
    fs.closeSync(logFd);
    child.on('error', () => undefined);
    this.processes.push({ name, child });
    return child;
  }

  private async boot(): Promise<void> {
    const t0 = Date.now();
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    this.run('etcd', [
      '--name=lab', `--data-dir=${path.join(this.dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`, `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=lab=http://127.0.0.1:${etcdPeer}`, '--listen-metrics-urls=', '--log-level=warn',
      '--quota-backend-bytes=536870912', '--unsafe-no-fsync',
    ]);

    // Service-account signing key pair, admin token.
    const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = this.file('pki/sa.key', privateKey.export({ type: 'pkcs1', format: 'pem' }) as string);
    const saPub = this.file('pki/sa.pub', publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const tokens = this.file('pki/tokens.csv', `${this.token},${ADMIN_TOKEN_USER},lab-admin-uid,"system:masters"\n`);
    const certDir = path.join(this.dir, 'pki', 'serving');
    this.server = `https://127.0.0.1:${apiPort}`;

    this.run('kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1', `--secure-port=${apiPort}`, '--advertise-address=127.0.0.1',
      // The "kubernetes" Service would point at a loopback address, which Endpoints refuse.
      '--endpoint-reconciler-type=none',
      `--cert-dir=${certDir}`, `--token-auth-file=${tokens}`, '--anonymous-auth=false',
      '--authorization-mode=Node,RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${saPub}`, `--service-account-signing-key-file=${saKey}`,
      // k3s defaults: service range, privileged pods allowed (Pod Security admission decides per namespace).
      '--service-cluster-ip-range=10.43.0.0/16', '--allow-privileged=true',
      '--enable-priority-and-fairness=false', '--profiling=false', '--v=1',
      ...(this.options.admissionWebhooks === false ? ['--disable-admission-plugins=ValidatingAdmissionWebhook,MutatingAdmissionWebhook'] : []),
    ]);
    await this.waitFor('the API server certificate', async () => fs.existsSync(path.join(certDir, 'apiserver.crt')), 60_000);
    this.ca = fs.readFileSync(path.join(certDir, 'apiserver.crt'), 'utf8');
    this.writeKubeconfig(this.kubeconfig, ADMIN_TOKEN_USER);
    await this.waitFor('the API server to answer /readyz', async () => (await this.request('GET', '/readyz').catch(() => ({ status: 0 }))).status === 200, 120_000);
    this.log(`lab: API server ready at ${this.server} after ${Date.now() - t0} ms`);

    this.run('kube-controller-manager', [
      `--kubeconfig=${this.kubeconfig}`, '--leader-elect=false', '--secure-port=0',
      `--service-account-private-key-file=${saKey}`, `--root-ca-file=${path.join(certDir, 'apiserver.crt')}`,
      // Node health is kwok's job here (no kubelet heartbeats): keep the node controllers off.
      '--controllers=*,-node-lifecycle-controller,-node-ipam-controller,-cloud-node-lifecycle-controller,-service-lb-controller,-node-route-controller',
      '--concurrent-deployment-syncs=10', '--concurrent-statefulset-syncs=10', '--v=1',
    ]);
    this.run('kube-scheduler', [`--kubeconfig=${this.kubeconfig}`, '--leader-elect=false', '--secure-port=0', '--v=1']);
    const stages = this.file('kwok.yaml', (this.faithful ? KWOK_NODE_STAGES : KWOK_STAGES).map((s) => yaml.dump(s, { lineWidth: -1 })).join('---\n'));
    this.run('kwok', [
      `--kubeconfig=${this.kubeconfig}`, `--config=${stages}`, '--manage-all-nodes=true',
      '--cidr=10.42.0.1/16', '--node-ip=10.42.0.1', '--server-address=', '--v=1',
    ]);

    const t1 = Date.now();
    await Promise.all([(this.options.crds ?? true) ? this.installCrds() : undefined, this.apply(localPathStorageClass()), this.createNodes(this.options.nodes)]);
    this.log(`lab: CRDs and nodes ready in ${Date.now() - t1} ms`);
    this.provisioner = setInterval(() => void this.provisionVolumes().catch(() => undefined), 500);
    if (this.faithful) await this.startFaithful(certDir);
    this.startupMs = Date.now() - t0;
    this.log(`lab: ${this.options.nodes.length} node(s) Ready after ${this.startupMs} ms`);
  }

  private get faithful(): boolean {
    return this.options.kubelet === 'faithful';
  }

  /** The lab's kubelet (faithful mode only): what it saw, e.g. `await lab.kubelet.stuck()`. */
  public get kubelet(): LabKubelet {
    if (!this.faithfulKubelet) throw new Error(`lab.kubelet is the faithful kubelet; fix: LabCluster.start({ ..., kubelet: 'faithful' }) (this lab runs kubelet: '${this.options.kubelet ?? 'kwok'}')`);
    return this.faithfulKubelet;
  }

  /** Faithful mode: our kubelet, then k3s's ServiceLB, metrics API and kube-dns Service. */
  private async startFaithful(certDir: string): Promise<void> {
    const t0 = Date.now();
    this.faithfulKubelet = new LabKubelet(this, { podOutcome: this.options.podOutcome, log: this.log });
    this.faithfulKubelet.start();
    await this.must('POST', '/api/v1/namespaces/kube-system/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'svclb', namespace: 'kube-system' } });
    const dns = await this.apply(kubeDnsService(), { fieldManager: 'k3s' });
    if (dns.status >= 300) throw new Error(`kube-dns Service: ${dns.status} ${dns.body?.message}`);
    this.metrics = await LabMetricsServer.start(this, { cert: path.join(certDir, 'apiserver.crt'), key: path.join(certDir, 'apiserver.key') });
    for (const object of this.metrics.objects()) {
      const res = await this.apply(object, { fieldManager: 'k3s' });
      if (res.status >= 300) throw new Error(`${object.kind} ${object.metadata.name}: ${res.status} ${res.body?.message}`);
    }
    const applied = new Map<string, string>();
    this.k3sLoop = loop(() => serviceLbPass(this, applied), 500, (err) => this.log(`lab servicelb: ${err.message}`));
    await this.waitFor('the metrics API (APIService v1beta1.metrics.k8s.io) to be Available', async () => {
      const res = await this.request('GET', '/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io');
      return res.body?.status?.conditions?.some((c: any) => c.type === 'Available' && c.status === 'True') ?? false;
    }, 60_000);
    this.log(`lab: faithful kubelet, ServiceLB, metrics API on 127.0.0.1:${this.metrics.port} and kube-dns ready in ${Date.now() - t0} ms`);
  }

  private writeKubeconfig(file: string, user: string): void {
    const kubeconfig = {
      apiVersion: 'v1', kind: 'Config', 'current-context': 'lab',
      clusters: [{ name: 'lab', cluster: { server: this.server, 'certificate-authority-data': Buffer.from(this.ca).toString('base64') } }],
      users: [{ name: user, user: { token: this.token } }],
      contexts: [{ name: 'lab', context: { cluster: 'lab', user } }],
    };
    fs.writeFileSync(file, yaml.dump(kubeconfig), { mode: 0o600 });
  }

  /** Installs every CRD of ../shared/reference/crds and waits until each is Established. */
  private async installCrds(): Promise<void> {
    const root = path.join(referenceDir(), 'crds');
    const files = fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => /\.ya?ml$/.test(f)).sort();
    const crds = files.flatMap((file) => (yaml.loadAll(fs.readFileSync(path.join(root, file), 'utf8')) as any[]).filter((d) => d?.kind === 'CustomResourceDefinition'));
    const names = crds.map((d) => d.metadata.name as string);
    // Four at a time: all at once, each large schema's apply can stall past the 30 s request timeout on a loaded machine.
    for (let i = 0; i < crds.length; i += 4) {
      await Promise.all(crds.slice(i, i + 4).map(async (doc) => {
        const res = await this.apply(doc, { fieldManager: 'lab' });
        if (res.status >= 300) throw new Error(`CRD ${doc.metadata.name}: ${res.status} ${res.body?.message}`);
      }));
    }
    await this.waitFor(`${names.length} CRDs to be Established`, async () => {
      const list = await this.request('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions');
      const established = new Set((list.body.items as any[]).filter((c) => c.status?.conditions?.some((x: any) => x.type === 'Established' && x.status === 'True')).map((c) => c.metadata.name));
      return names.every((n) => established.has(n));
    }, 180_000); // minutes when several labs compile the large CRD schemas at once on a loaded machine
    this.log(`lab: ${names.length} CRDs established`);
  }

  /** k3s-like nodes, simulated by kwok; the not-ready taint added at creation is lifted once Ready. */
  private async createNodes(nodes: readonly LabNode[]): Promise<void> {
    const shape = (n: LabNode) => {
      const reserved = n.reserved ?? { cpu: 0, memory: 0 };
      const allocatable = {
        cpu: `${Math.round((parseQuantity(n.cpu) - reserved.cpu) * 1000)}m`,
        memory: `${Math.floor((parseQuantity(n.memory) - reserved.memory - EVICTION_RESERVE) / 2 ** 20)}Mi`,
        pods: '110', 'ephemeral-storage': '50Gi',
      };
      return { capacity: { ...allocatable, cpu: n.cpu, memory: n.memory }, allocatable };
    };
    for (const [i, n] of nodes.entries()) {
      // Faithful mode: an InternalIP per node (ServiceLB lists them) and a /24 of k3s's pod range per node (flannel's).
      const faithful = this.faithful ? { ip: { [NODE_IP_ANNOTATION]: `172.20.0.${10 + i}` }, spec: { podCIDR: `10.42.${i}.0/24`, podCIDRs: [`10.42.${i}.0/24`] } } : undefined;
      await this.must('POST', '/api/v1/nodes', {
        apiVersion: 'v1', kind: 'Node',
        metadata: {
          name: n.name,
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0', ...faithful?.ip },
          labels: {
            'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64',
            'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64',
            'node-role.kubernetes.io/control-plane': 'true', 'node-role.kubernetes.io/master': 'true',
            'node.kubernetes.io/instance-type': 'k3s', 'topology.kubernetes.io/zone': n.zone, 'type': 'kwok',
          },
        },
        spec: faithful?.spec ?? {},
      });
    }
    // kwok marks each node Ready; the shape is (re)applied until both hold, since kwok may write a
    // status it read before the shape was set.
    await this.waitFor('the nodes to be Ready with their capacity', async () => {
      let done = true;
      for (const n of nodes) {
        const live = (await this.must('GET', `/api/v1/nodes/${n.name}`)).body;
        const want = shape(n);
        const same = (key: 'cpu' | 'memory') => live.status?.allocatable?.[key] !== undefined && parseQuantity(live.status.allocatable[key]) === parseQuantity(want.allocatable[key]);
        const shaped = same('cpu') && same('memory');
        const ready = live.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
        if (!shaped) await this.must('PATCH', `/api/v1/nodes/${n.name}/status`, { status: want }, 'application/merge-patch+json');
        done &&= shaped && ready;
      }
      return done;
    }, 60_000);
    for (const n of nodes) await this.must('PATCH', `/api/v1/nodes/${n.name}`, { spec: { taints: null } }, 'application/merge-patch+json');
  }

  /** One request to the API server as the lab admin. */
  public request(method: string, urlPath: string, body?: unknown, contentType = 'application/json'): Promise<ApiResponse> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = https.request(`${this.server}${urlPath}`, {
        method, ca: this.ca || undefined, rejectUnauthorized: Boolean(this.ca), timeout: 30_000,
        // Content-Length always: Node sends a DELETE body unframed otherwise, and the API server reads none (DeleteOptions lost).
        headers: { Authorization: `Bearer ${this.token}`, Accept: 'application/json', ...(payload ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) } : {}) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: any = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // plain text (e.g. /readyz)
          }
          const warning = res.headers.warning;
          const warnings = (Array.isArray(warning) ? warning : warning ? [warning] : []).flatMap((w) => w.split(/,(?=\s*\d{3} )/)).map((w) => w.trim());
          resolve({ status: res.statusCode ?? 0, body: parsed, warnings });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: no answer within 30 s`)));
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  private async must(method: string, urlPath: string, body?: unknown, contentType?: string): Promise<ApiResponse> {
    const res = await this.request(method, urlPath, body, contentType);
    if (res.status >= 300) throw new Error(`${method} ${urlPath}: ${res.status} ${res.body?.message ?? JSON.stringify(res.body)}`);
    return res;
  }

  /** Server-side apply of one object (field manager `argocd-controller`, as Argo CD with ServerSideApply). */
  public async apply(object: any, options: { fieldManager?: string; dryRun?: boolean } = {}): Promise<ApiResponse> {
    const url = await this.objectUrl(object);
    const query = new URLSearchParams({ fieldManager: options.fieldManager ?? 'argocd-controller', force: 'true', fieldValidation: 'Strict' });
    if (options.dryRun) query.set('dryRun', 'All');
    return this.request('PATCH', `${url}?${query}`, object, 'application/apply-patch+yaml');
  }

  private readonly discovered = new Map<string, { plural: string; namespaced: boolean }>();

  /** The REST path of an object, from API discovery. */
  public async objectUrl(object: any): Promise<string> {
    const { plural, namespaced } = await this.resourceOf(object.apiVersion, object.kind);
    const base = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
    const ns = namespaced ? `/namespaces/${object.metadata.namespace ?? 'default'}` : '';
    return `${base}${ns}/${plural}/${object.metadata.name}`;
  }

  public async resourceOf(apiVersion: string, kind: string): Promise<{ plural: string; namespaced: boolean }> {
    const key = `${apiVersion}/${kind}`;
    if (!this.discovered.has(key)) {
      const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      const res = await this.request('GET', base);
      if (res.status !== 200) throw new Error(`${apiVersion} is not served (${res.status})`);
      for (const r of res.body.resources as any[]) {
        if (!r.name.includes('/')) this.discovered.set(`${apiVersion}/${r.kind}`, { plural: r.name, namespaced: r.namespaced });
      }
      if (!this.discovered.has(key)) throw new Error(`${kind} is not served under ${apiVersion}`);
    }
    return this.discovered.get(key)!;
  }

  /** All objects of one resource, e.g. list('/api/v1/pods'). */
  public async list(urlPath: string): Promise<any[]> {
    return (await this.must('GET', urlPath)).body.items as any[];
  }

  public async waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      const dead = this.processes.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
      if (dead) throw new Error(`${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}) while waiting for ${what}`);
      try {
        if (await check()) return;
      } catch (err) {
        lastError = err;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
  }

  /** The last lines of every log, for a failure message. */
  public tailLogs(lines = 15): string {
    return this.processes.map(({ name }) => {
      const file = path.join(this.dir, `${name}.log`);
      const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '';
      return `--- ${name}.log (last ${lines} lines)\n${text}`;
    }).join('\n');
  }

  /**
   * What k3s's local-path provisioner does: a claim the scheduler has given a node
   * (`volume.kubernetes.io/selected-node`) gets a PersistentVolume on that node.
   */
  private async provisionVolumes(): Promise<void> {
    const claims = await this.list('/api/v1/persistentvolumeclaims');
    for (const pvc of claims) {
      const node = pvc.metadata.annotations?.['volume.kubernetes.io/selected-node'];
      if (!node || pvc.spec.volumeName || pvc.spec.storageClassName !== 'local-path') continue;
      const name = `pvc-${pvc.metadata.uid}`;
      const res = await this.request('POST', '/api/v1/persistentvolumes', {
        apiVersion: 'v1', kind: 'PersistentVolume',
        metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': 'rancher.io/local-path' } },
        spec: {
          capacity: { storage: pvc.spec.resources.requests.storage }, accessModes: pvc.spec.accessModes, volumeMode: pvc.spec.volumeMode ?? 'Filesystem',
          persistentVolumeReclaimPolicy: 'Delete', storageClassName: 'local-path',
          claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: pvc.metadata.namespace, name: pvc.metadata.name, uid: pvc.metadata.uid },
          hostPath: { path: `/var/lib/rancher/k3s/storage/${name}_${pvc.metadata.namespace}_${pvc.metadata.name}`, type: 'DirectoryOrCreate' },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }] } },
        },
      });
      if (res.status >= 300 && res.status !== 409) throw new Error(`provisioning ${name}: ${res.body?.message}`);
    }
  }

  /** Stops every process this lab started (in reverse order) and removes its temp dir. */
  public async stop(): Promise<void> {
    if (this.provisioner) clearInterval(this.provisioner);
    await this.faithfulKubelet?.stop();
    await this.k3sLoop?.stop();
    await this.metrics?.stop();
    for (const { child } of [...this.processes].reverse()) await stop(child);
    this.processes.length = 0;
    if (this.ownsDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** k3s's default StorageClass (local-path): node-bound volumes, bound when the first pod is scheduled. */
function localPathStorageClass() {
  return {
    apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
    metadata: { name: 'local-path', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: 'rancher.io/local-path', reclaimPolicy: 'Delete', volumeBindingMode: 'WaitForFirstConsumer',
  };
}

/** Runs `pass` every `intervalMs` (after the previous pass ended) until stopped; stop() waits for a pass under way. */
function loop(pass: () => Promise<void>, intervalMs: number, onError: (err: Error) => void): { stop: () => Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const next = () => {
    if (stopped) return;
    running = pass().catch(onError).finally(() => {
      running = undefined;
      if (!stopped) timer = setTimeout(next, intervalMs);
    });
  };
  next();
  return {
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
