/**
 * MinIO distributed on loopback, from the SYNTHESIZED StatefulSet `minio-pool` (environments with
 * node.count >= 3): one real minio process per pod, each with its pod's drives as directories. The server
 * argument `http://minio-pool-{0...N}.<headless>:9000/data{0...M}` is expanded in MinIO's order (pod-major)
 * into explicit endpoints; the only rewrite is each pod's DNS name and drive paths → its own 127.x.y.(i+1)
 * address, port and directories (processes on one machine tell themselves apart by port). The env is the
 * container's (root credentials from test values).
 * Requires the built minio and mc (scripts/minio/build.sh), like scripts/lab/minio-lab.ts.
 */
import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { MC_BIN, MINIO_BIN, MINIO_BIN_DIR } from './minio-lab';
import { containerEnv } from './programs';

export interface MinioPoolLab {
  /** S3 endpoint of pod i. */
  endpoint(i: number): string;
  readonly pods: number;
  readonly drivesPerPod: number;
  /** Runs mc with alias `pod<i>` set for every pod (own config dir). */
  mc(args: string[]): SpawnSyncReturns<string>;
  /** The pod's `/minio/health/<what>` status (live, ready, cluster, cluster/read). */
  health(i: number, what: string): Promise<number>;
  kill(i: number): Promise<void>;
  start(i: number): Promise<void>;
  stop(): Promise<void>;
  readonly accessKey: string;
  readonly secretKey: string;
}

/** Parses MinIO's `{a...b}` ellipsis in one server argument: the pod and drive ranges. */
export function parsePoolArg(arg: string): { podPattern: string; pods: number[]; drives: number[]; port: number; drivePrefix: string } {
  const m = arg.match(/^http:\/\/([^{]+)\{(\d+)\.\.\.(\d+)\}([^:]*):(\d+)\/([^{]+)\{(\d+)\.\.\.(\d+)\}$/);
  if (!m) throw new Error(`not a pod × drive ellipsis argument: ${arg}`);
  const range = (a: string, b: string) => Array.from({ length: Number(b) - Number(a) + 1 }, (_, i) => Number(a) + i);
  return { podPattern: `${m[1]}{}${m[4]}`, pods: range(m[2], m[3]), drives: range(m[7], m[8]), port: Number(m[5]), drivePrefix: `/${m[6]}` };
}

const freePortOn = (host: string) => new Promise<number>((resolve, reject) => {
  const s = net.createServer();
  s.listen(0, host, () => {
    const { port } = s.address() as net.AddressInfo;
    s.close(() => resolve(port));
  });
  s.on('error', reject);
});

export async function startMinioPool(objects: any[], options: { name?: string } = {}): Promise<MinioPoolLab> {
  if (!MINIO_BIN || !MC_BIN) throw new Error(`minio/mc not built in ${MINIO_BIN_DIR}; fix: bash scripts/minio/build.sh`);
  const name = options.name ?? 'minio-pool';
  const sts = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === name);
  if (!sts) throw new Error(`no StatefulSet ${name} in the synthesized objects`);
  const container = sts.spec.template.spec.containers[0];
  const args: string[] = container.args;
  if (args[0] !== 'server') throw new Error(`unexpected minio args: ${args.join(' ')}`);
  const poolArgs = args.slice(1).filter((a) => a.startsWith('http://'));
  if (poolArgs.length !== 1) throw new Error(`expected one pool argument: ${args.join(' ')}`);
  const pool = parsePoolArg(poolArgs[0]);
  if (pool.pods.length !== sts.spec.replicas) throw new Error(`the argument names ${pool.pods.length} pods, the StatefulSet runs ${sts.spec.replicas}`);

  const net24 = `127.${40 + crypto.randomInt(200)}.${crypto.randomInt(250)}`;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'minio-pool-'));
  const hosts = pool.pods.map((_, i) => `${net24}.${i + 1}`);
  const ports = await Promise.all(hosts.map((h) => freePortOn(h)));
  const consolePorts = await Promise.all(hosts.map((h) => freePortOn(h)));
  // On a machine MinIO takes for a container (/.dockerenv, /run/.containerenv) it refuses peers that resolve to
  // loopback (cmd/endpoint.go: it waits for a pod IP). There each server runs chrooted into the lab directory
  // in a private mount namespace (minio is a static binary; /proc is bind-mounted for it), where those files
  // do not exist; the drive paths are then relative to that root.
  const containerized = ['/.dockerenv', '/run/.containerenv'].some((f) => fs.existsSync(f));
  const inRoot = (p: string) => (containerized ? `/${path.relative(root, p)}` : p);
  const driveDir = (pod: number, drive: number) => path.join(root, `pod${pod}`, `${pool.drivePrefix.replace(/^\//, '')}${drive}`);
  // MinIO's expansion order: pods outer, drives inner.
  const endpoints = pool.pods.flatMap((_, i) => pool.drives.map((d) => `http://${hosts[i]}:${ports[i]}${inRoot(driveDir(i, d))}`));
  for (const [i] of pool.pods.entries()) for (const d of pool.drives) fs.mkdirSync(driveDir(i, d), { recursive: true });
  if (containerized) {
    fs.copyFileSync(MINIO_BIN, path.join(root, 'minio'));
    fs.chmodSync(path.join(root, 'minio'), 0o755);
    fs.mkdirSync(path.join(root, 'proc'));
  }
  const accessKey = `root${crypto.randomBytes(4).toString('hex')}`;
  const secretKey = crypto.randomBytes(16).toString('hex');
  const secrets = { 'minio-root/root-user': accessKey, 'minio-root/root-password': secretKey };
  const flags = args.slice(1).filter((a) => !a.startsWith('http://'));
  const option = (flag: string) => flags[flags.indexOf(flag) + 1];
  if (option('--address') !== `:${pool.port}`) throw new Error(`--address ${option('--address')} differs from the pool's port ${pool.port}`);

  const children: (ChildProcess | undefined)[] = pool.pods.map(() => undefined);
  const start = async (i: number) => {
    const home = path.join(root, `home${i}`);
    fs.mkdirSync(home, { recursive: true });
    const log = fs.openSync(path.join(root, `pod${i}.log`), 'a');
    const podArgs = ['server', ...endpoints, '--address', `${hosts[i]}:${ports[i]}`, '--console-address', `${hosts[i]}:${consolePorts[i]}`,
      '--certs-dir', inRoot(path.join(home, 'certs')), '--quiet'];
    const [cmd, argv] = containerized
      ? ['unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind /proc "$0/proc" && exec chroot "$0" /minio "$@"', root, ...podArgs]]
      : [MINIO_BIN!, podArgs];
    children[i] = spawn(cmd, argv, {
      stdio: ['ignore', log, log],
      // MINIO_CI_CD: in erasure mode MinIO refuses a drive on the device of "/" (cmd/xl-storage.go, getDiskInfo);
      // here every drive is a directory of /tmp, on the root device. In a pod the drives are volumes, on
      // another device than the container's root, and the check stays on.
      env: { PATH: process.env.PATH, ...containerEnv(container, secrets, { HOME: inRoot(home), MINIO_BROWSER: 'off', MINIO_CI_CD: 'on' }) },
    });
  };
  const health = (i: number, what: string) => new Promise<number>((resolve) => {
    const get = http.get(`http://${hosts[i]}:${ports[i]}/minio/health/${what}`, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    get.on('error', () => resolve(0));
    get.setTimeout(3000, () => get.destroy());
  });
  const kill = (i: number) => new Promise<void>((resolve) => {
    const c = children[i];
    if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGKILL');
  });
  const mcDir = path.join(root, 'mc');
  const mc = (mcArgs: string[]) => spawnSync(MC_BIN!, ['--config-dir', mcDir, '--no-color', ...mcArgs], {
    encoding: 'utf8', timeout: 120_000, env: { PATH: `${MINIO_BIN_DIR}:/usr/bin:/bin`, HOME: root },
  });
  const stopAll = async () => {
    await Promise.all(pool.pods.map((_, i) => kill(i)));
    fs.rmSync(root, { recursive: true, force: true });
  };

  try {
    for (const [i] of pool.pods.entries()) await start(i);
    const deadline = Date.now() + 180_000;
    const allHealthy = async () => (await Promise.all(pool.pods.map((_, i) => health(i, 'cluster')))).every((s) => s === 200);
    while (!(await allHealthy())) {
      if (Date.now() > deadline) throw new Error(`the pool did not reach write quorum in 180 s:\n${pool.pods.map((_, i) => fs.readFileSync(path.join(root, `pod${i}.log`), 'utf8').slice(-2000)).join('\n---\n')}`);
      const dead = children.findIndex((c) => c?.exitCode !== null);
      if (dead >= 0) throw new Error(`minio pod ${dead} exited:\n${fs.readFileSync(path.join(root, `pod${dead}.log`), 'utf8')}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const [i] of pool.pods.entries()) {
      let alias = mc(['alias', 'set', `pod${i}`, `http://${hosts[i]}:${ports[i]}`, accessKey, secretKey]);
      for (let t = 0; alias.status !== 0 && t < 60; t++) {
        await new Promise((r) => setTimeout(r, 1000));
        alias = mc(['alias', 'set', `pod${i}`, `http://${hosts[i]}:${ports[i]}`, accessKey, secretKey]);
      }
      if (alias.status !== 0) throw new Error(`mc alias set pod${i}: ${alias.stderr}${alias.stdout}`);
    }
  } catch (e) {
    await stopAll();
    throw e;
  }

  return {
    endpoint: (i) => `http://${hosts[i]}:${ports[i]}`,
    pods: pool.pods.length,
    drivesPerPod: pool.drives.length,
    mc,
    health,
    kill,
    start: async (i) => {
      await start(i);
      // Ready as the pod's readinessProbe sees it (the Service sends clients only then).
      const probe = (container.readinessProbe.httpGet.path as string).replace('/minio/health/', '');
      for (let t = 0; t < 240 && (await health(i, probe)) !== 200; t++) await new Promise((r) => setTimeout(r, 500));
      if ((await health(i, probe)) !== 200) throw new Error(`pod ${i} not ready (${probe}) after 120 s`);
    },
    stop: stopAll,
    accessKey,
    secretKey,
  };
}

/** sha256 of a buffer, hex. */
export const sha256 = (data: Buffer | string): string => crypto.createHash('sha256').update(data).digest('hex');
