/**
 * Real Patroni members on loopback, with the lab cluster's kube-apiserver as their Kubernetes
 * store. Each member runs the synthesized patroni.yml, postgresql.conf, pg_hba.conf and init
 * scripts; only container paths, ports and the kubeconfig context are rewritten. Patroni logs in
 * with a token of the synthesized ServiceAccount, so the synthesized Role is what it may do.
 * A TCP proxy plays kube-proxy for the `postgres-rw` Service: it forwards to the member whose
 * pod IP the Service's Endpoints list (the pod Patroni labelled as leader).
 *
 * The programs are the trixie root's (scripts/lab/trixie.ts): Patroni 4.0.7, the series the image carries,
 * managing PostgreSQL 17. Not the image's 16: Patroni needs pg_basebackup, pg_rewind and pg_controldata of
 * the server's major, which the npm PostgreSQL 16 build (server only) lacks, and trixie has no 16.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { PATHS } from '../../lib/services/postgres/config-files';
import { PATRONI_PATHS, PATRONI_PORT } from '../../lib/services/postgres/patroni';
import { LabCluster } from './cluster';
import { PASSWORDS } from './postgres-lab';
import { freePort, ownForService, serviceTempDir, startAsService, stop } from './programs';
import { TRIXIE_PG_BIN, trixieRunner } from './trixie';

export interface PatroniMember {
  readonly name: string;
  readonly pgPort: number;
  readonly apiPort: number;
  readonly dir: string;
  readonly podIp: string;
  child?: ChildProcess;
}

export interface ClusterMember { name: string; role: string; state: string; timeline?: number; lag?: number | string }

export class PatroniLab {
  /** PostgreSQL's bin dir inside the trixie root. */
  readonly bin = TRIXIE_PG_BIN;
  private readonly runner = trixieRunner();
  readonly dir = serviceTempDir('patroni-lab-');
  readonly members: PatroniMember[] = [];
  rwPort = 0;
  private rwTarget?: number;
  private proxy?: net.Server;
  private poller?: NodeJS.Timeout;
  private readonly sockets = new Set<net.Socket>();
  private kubeconfig = '';

  /**
   * @param configMaps synthesized ConfigMaps by name
   * @param objects every synthesized object of the postgres chart
   */
  constructor(private readonly kube: LabCluster, private readonly namespace: string, private readonly configMaps: Record<string, Record<string, string>>, private readonly objects: any[]) {}

  private file(configMap: string, key: string): string {
    const text = this.configMaps[configMap]?.[key];
    if (text === undefined) throw new Error(`ConfigMap ${configMap} has no ${key}`);
    return text;
  }

  private write(target: string, text: string, mode = 0o644): string {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text, { mode });
    return target;
  }

  /** Container paths → this member's directory. */
  private relocate(text: string, member: string): string {
    const m = `${this.dir}/${member}`;
    return text
      .split(PATHS.configDir + '/').join(`${m}/etc/`)
      .split(PATHS.scriptsDir).join(`${this.dir}/scripts`)
      .split(PATHS.socketDir).join(`${m}/run`)
      .split(PATHS.pgdata).join(`${m}/data`)
      .split(PATRONI_PATHS.pgpass).join(`${m}/pgpass`);
  }

  /** Namespace, the synthesized RBAC and Services, one Pod object per member, a token for Patroni. */
  async prepare(memberCount: number, nodeName: string): Promise<void> {
    const ns = this.namespace;
    const must = async (object: any) => {
      const res = await this.kube.apply(object);
      if (res.status >= 300) throw new Error(`apply ${object.kind} ${object.metadata.name}: ${res.status} ${res.body?.message}`);
    };
    await must({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    for (const o of this.objects.filter((x) => ['ServiceAccount', 'Role', 'RoleBinding', 'Service'].includes(x.kind))) await must(o);
    const sts = this.objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'postgres');
    const labels = sts.spec.template.metadata.labels;
    for (let i = 0; i < memberCount; i++) {
      await must({
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: `postgres-${i}`, namespace: ns, labels },
        spec: { nodeName, serviceAccountName: 'postgres', containers: [{ name: 'postgres', image: sts.spec.template.spec.containers[0].image, ports: sts.spec.template.spec.containers[0].ports }] },
      });
    }
    const ips: string[] = [];
    await this.kube.waitFor('the member pods to get IPs', async () => {
      const pods = await this.kube.list(`/api/v1/namespaces/${ns}/pods`);
      ips.splice(0, ips.length, ...Array.from({ length: memberCount }, (_, i) => pods.find((p) => p.metadata.name === `postgres-${i}`)?.status?.podIP ?? ''));
      return ips.every(Boolean);
    }, 60_000);
    for (let i = 0; i < memberCount; i++) {
      this.members.push({ name: `postgres-${i}`, pgPort: await freePort(), apiPort: await freePort(), dir: `${this.dir}/postgres-${i}`, podIp: ips[i] });
    }

    // Patroni logs in as the synthesized ServiceAccount: a TokenRequest, in a kubeconfig.
    const token = await this.kube.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts/postgres/token`, {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 },
    });
    if (token.status >= 300) throw new Error(`TokenRequest: ${token.status} ${token.body?.message}`);
    const kubeconfig: any = yaml.load(fs.readFileSync(this.kube.kubeconfig, 'utf8'));
    kubeconfig.users = kubeconfig.users.map((u: any) => ({ name: u.name, user: { token: token.body.status.token } }));
    this.kubeconfig = this.write(`${this.dir}/kubeconfig`, yaml.dump(kubeconfig), 0o600);

    for (const key of ['10-init.sh', 'init.sql', 'pgbouncer-auth.sql']) {
      this.write(`${this.dir}/scripts/${key}`, this.relocate(this.file('postgres-scripts', key), 'scripts'), 0o755);
    }
    for (const m of this.members) {
      this.write(`${m.dir}/etc/postgresql.conf`, this.relocate(this.file('postgres-config', 'postgresql.conf'), m.name));
      this.write(`${m.dir}/etc/pg_hba.conf`, this.file('postgres-config', 'pg_hba.conf'));
      fs.mkdirSync(`${m.dir}/run`, { recursive: true });
      this.write(`${m.dir}/patroni.yml`, this.memberConfig(m));
    }
    ownForService(this.dir);
  }

  /** The synthesized patroni.yml with loopback ports, member paths, trixie's PostgreSQL bin dir and the lab context. */
  memberConfig(m: PatroniMember): string {
    const text = this.relocate(this.file('postgres-patroni', 'patroni.yml'), m.name)
      .replace(/0\.0\.0\.0:5432/g, `127.0.0.1:${m.pgPort}`)
      .replace(new RegExp(`0\\.0\\.0\\.0:${PATRONI_PORT}`, 'g'), `127.0.0.1:${m.apiPort}`);
    const doc: any = yaml.load(text);
    doc.postgresql.bin_dir = this.bin;
    doc.kubernetes.context = 'lab';
    return yaml.dump(doc);
  }

  env(m: PatroniMember): NodeJS.ProcessEnv {
    return {
      PATH: `${this.bin}:/usr/sbin:/usr/bin:/bin`,
      KUBECONFIG: this.kubeconfig,
      KUBERNETES_SERVICE_HOST: '', // not in a pod: Patroni falls back to the kubeconfig
      PATRONI_NAME: m.name,
      PATRONI_KUBERNETES_NAMESPACE: this.namespace,
      PATRONI_KUBERNETES_POD_IP: m.podIp,
      PATRONI_POSTGRESQL_CONNECT_ADDRESS: `127.0.0.1:${m.pgPort}`,
      PATRONI_RESTAPI_CONNECT_ADDRESS: `127.0.0.1:${m.apiPort}`,
      PATRONI_RESTAPI_USERNAME: 'patroni',
      PATRONI_RESTAPI_PASSWORD: PASSWORDS.superuser,
      PATRONI_SUPERUSER_PASSWORD: PASSWORDS.superuser,
      PATRONI_REWIND_PASSWORD: PASSWORDS.superuser,
      PATRONI_REPLICATION_PASSWORD: PASSWORDS.replication,
      APP_PASSWORD: PASSWORDS.app, REPLICATION_PASSWORD: PASSWORDS.replication, PGBOUNCER_AUTH_PASSWORD: PASSWORDS.pgbouncerAuth,
      METRICS_PASSWORD: PASSWORDS.metrics, BACKUP_PASSWORD: PASSWORDS.backup, GLITCHTIP_DB_PASSWORD: PASSWORDS.glitchtip,
      PGCONNECT_TIMEOUT: '5',
    };
  }

  /**
   * The postgres container's env as the synthesized StatefulSet sets it: Secrets from the lab's
   * passwords (PASSWORDS by Secret name; others get a placeholder), fieldRefs from the member, `$(VAR)`
   * expanded as the kubelet does, and a value naming a file of a mounted ConfigMap this lab copies
   * (patroni.yml) mapped onto the member's copy. Plus what a pod has that a loopback process does
   * not: PATH, HOME, and the lab's Kubernetes login instead of the in-cluster one.
   */
  podEnv(m: PatroniMember): Record<string, string> {
    const sts = this.objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'postgres');
    const spec = sts.spec.template.spec;
    const container = spec.containers.find((c: any) => c.name === 'postgres');
    const secrets: Record<string, string> = {
      'postgres-superuser': PASSWORDS.superuser, 'postgres-app': PASSWORDS.app, 'postgres-replication': PASSWORDS.replication,
      'pgbouncer-auth': PASSWORDS.pgbouncerAuth, 'postgres-metrics': PASSWORDS.metrics, 'postgres-backup': PASSWORDS.backup, 'postgres-glitchtip': PASSWORDS.glitchtip,
    };
    const fields: Record<string, string> = { 'metadata.name': m.name, 'metadata.namespace': this.namespace, 'status.podIP': m.podIp };
    // Files of the mounted ConfigMaps the lab copies per member: container path → lab path.
    const copies: Record<string, Record<string, string>> = { 'postgres-patroni': { 'patroni.yml': `${m.dir}/patroni.yml` } };
    const files = new Map<string, string>();
    for (const mount of container.volumeMounts) {
      const cm = spec.volumes.find((v: any) => v.name === mount.name)?.configMap?.name;
      for (const [key, lab] of Object.entries(copies[cm] ?? {})) files.set(`${mount.mountPath}/${key}`, lab);
    }
    const env: Record<string, string> = {};
    for (const e of container.env) {
      const raw = e.value !== undefined ? String(e.value)
        : e.valueFrom?.secretKeyRef ? secrets[e.valueFrom.secretKeyRef.name] ?? `lab-unused-${e.valueFrom.secretKeyRef.name}`
        : fields[e.valueFrom?.fieldRef?.fieldPath] ?? '';
      const expanded = raw.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name) => env[name] ?? whole);
      env[e.name] = files.get(expanded) ?? expanded;
    }
    return { ...env, PATH: `${this.bin}:/usr/sbin:/usr/bin:/bin`, HOME: this.dir, KUBECONFIG: this.kubeconfig, KUBERNETES_SERVICE_HOST: '' };
  }

  /** A command as `kubectl exec` runs it in a member's postgres container: `argv` with exactly `env`. */
  exec(argv: string[], env: Record<string, string>, timeoutMs = 90_000): Promise<{ status: number | null; output: string }> {
    return new Promise((resolve) => {
      // In the trixie root, where `argv[0]` is looked up on the env's PATH, as in the container.
      const [cmd, args] = this.runner('/usr/bin/env', argv, false);
      const child = spawn(cmd, args, { env, cwd: this.dir });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      child.on('error', (err) => (output += String(err)));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, output });
      });
    });
  }

  start(m: PatroniMember): void {
    m.child = startAsService('/usr/bin/patroni', [`${m.dir}/patroni.yml`], `${m.dir}.log`, this.env(m), this.runner);
  }

  log(m: PatroniMember): string {
    return fs.existsSync(`${m.dir}.log`) ? fs.readFileSync(`${m.dir}.log`, 'utf8') : '';
  }

  /** Node loss: SIGKILL to Patroni and to its postmaster (no clean shutdown, no lock release). */
  killHard(m: PatroniMember): void {
    const pidFile = `${m.dir}/data/postmaster.pid`;
    const postmaster = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]) : 0;
    m.child?.kill('SIGKILL');
    if (postmaster) {
      try {
        process.kill(postmaster, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** The pid of a replica's walreceiver (its only way to hear the primary's WAL), or 0 when it runs none. */
  async walReceiverPid(m: PatroniMember): Promise<number> {
    const r = await this.superuser(m, 'SELECT pid FROM pg_stat_wal_receiver');
    return Number(r.stdout.trim() || 0);
  }

  /**
   * The pod's Ready condition, as the kubelet (probes) or, for a lost node, the node lifecycle
   * controller sets it. Endpoints list only Ready pods, so a lost leader leaves `postgres-rw`.
   */
  async setReady(m: PatroniMember, ready: boolean): Promise<void> {
    const res = await this.kube.request('PATCH', `/api/v1/namespaces/${this.namespace}/pods/${m.name}/status`,
      { status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } }, 'application/strategic-merge-patch+json');
    if (res.status >= 300) throw new Error(`pod ${m.name} status: ${res.status} ${res.body?.message}`);
  }

  /** GET on a member's REST API (JSON), or undefined when it does not answer. */
  rest(m: PatroniMember, urlPath: string): Promise<any> {
    return new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: m.apiPort, path: urlPath, timeout: 2000 }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          try {
            resolve(JSON.parse(body));
          } catch {
            resolve(undefined);
          }
        });
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(undefined));
    });
  }

  /** The cluster as the first answering member (other than `except`) sees it. */
  async cluster(except?: PatroniMember): Promise<ClusterMember[]> {
    for (const m of this.members.filter((x) => x !== except)) {
      const c = await this.rest(m, '/cluster');
      if (c?.members) return c.members;
    }
    return [];
  }

  member(name: string): PatroniMember {
    return this.members.find((m) => m.name === name)!;
  }

  /** Endpoints addresses of a Service in the lab API (what kube-proxy would route to). */
  async endpointIps(service: string): Promise<string[]> {
    const res = await this.kube.request('GET', `/api/v1/namespaces/${this.namespace}/endpoints/${service}`);
    if (res.status !== 200) return [];
    return (res.body.subsets ?? []).flatMap((s: any) => (s.addresses ?? []).map((a: any) => a.ip));
  }

  /** Starts the rw proxy: forwards to the member whose pod IP `postgres-rw`'s Endpoints list. */
  async startRwProxy(): Promise<void> {
    this.rwPort = await freePort();
    const refresh = async () => {
      const ips = await this.endpointIps('postgres-rw').catch(() => []);
      this.rwTarget = ips.length === 1 ? this.members.find((m) => m.podIp === ips[0])?.pgPort : undefined;
    };
    await refresh();
    this.poller = setInterval(() => void refresh(), 250);
    this.proxy = net.createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      if (!this.rwTarget) {
        client.destroy();
        return;
      }
      const upstream = net.connect(this.rwTarget, '127.0.0.1');
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      client.pipe(upstream).pipe(client);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => this.proxy!.listen(this.rwPort, '127.0.0.1', resolve));
  }

  /** Where the rw proxy forwards now (a member name), if anywhere. */
  get rwMember(): string | undefined {
    return this.members.find((m) => m.pgPort === this.rwTarget)?.name;
  }

  /** psql without blocking the event loop (the proxy runs in this process). */
  psql(port: number, user: string, password: string, db: string, sql: string, timeoutMs = 10_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const args = [`host=127.0.0.1 port=${port} dbname=${db} user=${user}`, '-v', 'ON_ERROR_STOP=1', '--no-psqlrc', '-qAt', '-c', sql];
      const [cmd, argv] = this.runner(`${this.bin}/psql`, args, false);
      const child = spawn(cmd, argv, { env: { PATH: process.env.PATH, PGPASSWORD: password, PGCONNECT_TIMEOUT: '3' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      });
    });
  }

  superuser(m: PatroniMember, sql: string, db = 'postgres') {
    return this.psql(m.pgPort, 'postgres', PASSWORDS.superuser, db, sql);
  }

  /** patronictl with a member's config (its Kubernetes login and REST API credentials). */
  patronictl(m: PatroniMember, args: string[]): Promise<{ status: number | null; output: string }> {
    return new Promise((resolve) => {
      const [cmd, argv] = this.runner('/usr/bin/patronictl', ['-c', `${m.dir}/patroni.yml`, ...args], false);
      const child = spawn(cmd, argv, { env: { ...process.env, ...this.env(m), HOME: this.dir } });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, output });
      });
    });
  }

  async stopAll(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.proxy ? this.proxy.close(() => resolve()) : resolve()));
    await Promise.all(this.members.map((m) => stop(m.child)));
    for (const m of this.members) this.killHard(m); // a postmaster left by a killed Patroni
    fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

/**
 * Commits one row per iteration through `port` until `until()` is true or the bounds are hit,
 * recording the ids whose INSERT was acknowledged (psql exit 0 with the id echoed back).
 */
export async function commitLoop(lab: PatroniLab, port: number, table: string, until: () => boolean, bounds: { maxCommits: number; maxMs: number }, firstId = 1) {
  const acknowledged: number[] = [];
  const failures: string[] = [];
  const started = Date.now();
  let id = firstId;
  for (let i = 0; i < bounds.maxCommits && Date.now() - started < bounds.maxMs && !until(); i++, id++) {
    const r = await lab.psql(port, 'app', PASSWORDS.app, 'app', `INSERT INTO ${table}(id) VALUES (${id}) RETURNING id`, 8_000);
    if (r.status === 0 && r.stdout.trim() === String(id)) acknowledged.push(id);
    else {
      failures.push(r.stderr.trim().split('\n').pop() ?? '');
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  return { acknowledged, failures, nextId: id };
}
