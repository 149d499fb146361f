/**
 * Redis with Sentinel and HAProxy on loopback, from the SYNTHESIZED objects (ConfigMaps redis-config,
 * redis-ha, redis-haproxy and the StatefulSet redis of an environment with node.count >= 3): each member
 * runs the shipped start scripts with the real redis-server and redis-sentinel, HAProxy runs the shipped
 * haproxy.cfg. The only rewrites: the members' DNS names become 127.x.y.(1..n), the mount paths become
 * temp dirs, `bind` names the member's address and HAProxy binds its own address.
 * `failoverDrill` kills the primary (redis and its Sentinel, as a node loss does) while a client writes
 * through HAProxy in a bounded loop, and measures the write gap and the acknowledged writes lost.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { containerEnv, findProgram } from './programs';

export const REDIS_HA_PROGRAMS = {
  'redis-server': findProgram('redis-server'),
  'redis-sentinel': findProgram('redis-sentinel'),
  'redis-cli': findProgram('redis-cli'),
  haproxy: findProgram('haproxy'),
};

export const TEST_SECRETS: Record<string, string> = {
  'redis-auth/app-password': 'app-pw-4f1c9a',
  'redis-auth/exporter-password': 'exp-pw-77d2e0',
  'redis-auth/admin-password': 'adm-pw-9b3e51',
};

const find = (objects: any[], kind: string, name: string): any => {
  const o = objects.find((x) => x.kind === kind && x.metadata?.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in the synthesized objects`);
  return o;
};

interface Member {
  readonly index: number;
  readonly host: string;
  readonly dir: string;
  redis?: ChildProcess;
  sentinel?: ChildProcess;
}

export interface RedisHaLab {
  readonly members: readonly Member[];
  /** HAProxy's address and port: what REDIS_URL points at. */
  readonly proxy: { readonly host: string; readonly port: number; readonly healthPort: number };
  /** Runs redis-cli against a member (or HAProxy with `member` = 'proxy') as `user`. */
  cli(member: number | 'proxy', user: 'app' | 'admin' | 'exporter', ...args: string[]): string;
  /** redis-cli through HAProxy, one line per reply element (a missing key is an empty line). */
  proxyLines(user: 'app' | 'admin' | 'exporter', ...args: string[]): string[];
  /** `role` of each member (master/slave/down). */
  roles(): string[];
  /**
   * Starts member i (Redis, then its Sentinel), as the pod does; waits until the Sentinels know it.
   * Returns Redis's role as soon as it answered (before any Sentinel could reconfigure it).
   */
  startMember(i: number): Promise<string>;
  /** SIGKILL member i's Redis and Sentinel (a node that disappears). */
  killMember(i: number): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisHaOptions {
  /** Data directory of member 0 (a standalone server's, to grow from one to three). @default a fresh dir */
  readonly member0DataDir?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function portsFree(host: string, ports: number[]): Promise<boolean> {
  for (const port of ports) {
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, host, () => s.close(() => resolve(true)));
    });
    if (!free) return false;
  }
  return true;
}

/** Starts the set: members one after another (the StatefulSet's OrderedReady), then HAProxy. */
export async function startRedisHa(objects: any[], options: RedisHaOptions = {}): Promise<RedisHaLab> {
  const missing = Object.entries(REDIS_HA_PROGRAMS).filter(([, p]) => !p).map(([n]) => n);
  if (missing.length) throw new Error(`not installed: ${missing.join(', ')}; fix: apt-get install redis-server redis-sentinel haproxy`);
  const redisConfig = find(objects, 'ConfigMap', 'redis-config').data;
  const ha = find(objects, 'ConfigMap', 'redis-ha').data;
  const haproxyCfg: string = find(objects, 'ConfigMap', 'redis-haproxy').data['haproxy.cfg'];
  const sts = find(objects, 'StatefulSet', 'redis');
  const deployment = find(objects, 'Deployment', 'redis-haproxy');
  const [redisC, sentinelC] = ['redis', 'sentinel'].map((n) => sts.spec.template.spec.containers.find((c: any) => c.name === n));
  const proxyC = deployment.spec.template.spec.containers[0];
  const memberHosts: string[] = ha['members.sh'].match(/^MEMBERS="([^"]*)"/m)[1].split(' ');

  // A /24 of loopback addresses whose Redis and Sentinel ports are free.
  let net24 = '';
  for (let tries = 0; tries < 20 && !net24; tries++) {
    const candidate = `127.${40 + crypto.randomInt(200)}.${crypto.randomInt(250)}`;
    const hosts = [...memberHosts.map((_, i) => `${candidate}.${i + 1}`), `${candidate}.100`];
    if ((await Promise.all(hosts.map((h) => portsFree(h, [6379, 26379, 8404])))).every(Boolean)) net24 = candidate;
  }
  if (!net24) throw new Error('no free loopback /24 for the Redis set');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-ha-'));
  const hostOf = (i: number) => `${net24}.${i + 1}`;
  const mount = (c: any, volume: string) => c.volumeMounts.find((m: any) => m.name === volume).mountPath as string;
  const haDir = mount(redisC, 'ha');
  const runDir = mount(redisC, 'run');
  const sentinelDir = mount(sentinelC, 'sentinel');
  const confMount = redisC.volumeMounts.find((m: any) => m.subPath === 'redis.conf').mountPath as string;
  const startMount = redisC.volumeMounts.find((m: any) => m.subPath === 'start.sh').mountPath as string;
  const toAddresses = (text: string) => memberHosts.reduce((t, h, i) => t.split(h).join(hostOf(i)), text);

  const members: Member[] = memberHosts.map((_, i) => {
    const dir = path.join(root, `member${i}`);
    const files = { ha: path.join(dir, 'ha'), run: path.join(dir, 'run'), sentinel: path.join(dir, 'sentinel'), data: path.join(dir, 'data') };
    for (const d of Object.values(files)) fs.mkdirSync(d, { recursive: true });
    const dataDir = i === 0 && options.member0DataDir ? options.member0DataDir : files.data;
    const relocate = (text: string) => toAddresses(text)
      .split(`${haDir}/`).join(`${files.ha}/`)
      .split(confMount).join(path.join(dir, 'redis.conf'))
      .split(startMount).join(path.join(dir, 'start.sh'))
      .split(`${runDir}/`).join(`${files.run}/`)
      .split(`${sentinelDir}`).join(files.sentinel)
      .replace(/bind \* -::\*/g, `bind ${hostOf(i)}`);
    fs.writeFileSync(path.join(dir, 'redis.conf'), relocate(redisConfig['redis.conf']).replace(/^dir .*$/m, `dir ${dataDir}`));
    fs.writeFileSync(path.join(dir, 'start.sh'), relocate(redisConfig['start.sh']));
    for (const [name, text] of Object.entries(ha as Record<string, string>)) fs.writeFileSync(path.join(files.ha, name), relocate(text));
    return { index: i, host: hostOf(i), dir };
  });

  const run = (c: any, m: Member, name: string): ChildProcess => {
    const env = containerEnv(c, TEST_SECRETS, { POD_NAME: `${sts.metadata.name}-${m.index}` });
    const [shell, script] = c.command as string[];
    const local = script.split(`${haDir}/`).join(`${path.join(m.dir, 'ha')}/`);
    const log = fs.openSync(path.join(m.dir, `${name}.log`), 'a');
    // Redis and Sentinel address their peers by these names; the scripts' redis-cli talks to the member's own address.
    return spawn(shell, [local], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', log, log], cwd: m.dir });
  };

  const cliAt = (host: string, port: number, user: string, args: string[]): string => cliRaw(host, port, user, args).trim();
  const cliRaw = (host: string, port: number, user: string, args: string[]): string => {
    const r = spawnSync(REDIS_HA_PROGRAMS['redis-cli']!, ['--no-auth-warning', '-h', host, '-p', String(port), '--user', user, ...args], {
      encoding: 'utf8', timeout: 10_000, env: { PATH: process.env.PATH, REDISCLI_AUTH: TEST_SECRETS[`redis-auth/${user}-password`] },
    });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`;
  };
  const proxy = { host: `${net24}.100`, port: 6379, healthPort: 8404 };
  const cli = (member: number | 'proxy', user: 'app' | 'admin' | 'exporter', ...args: string[]) =>
    member === 'proxy' ? cliAt(proxy.host, proxy.port, user, args) : cliAt(hostOf(member), 6379, user, args);
  const role = (i: number) => (cli(i, 'admin', 'role').split('\n')[0] || 'down').replace(/^(Could not connect|Error).*/, 'down');
  const sentinelPing = (i: number) => spawnSync(REDIS_HA_PROGRAMS['redis-cli']!, ['--no-auth-warning', '-h', hostOf(i), '-p', '26379', 'ping'], {
    encoding: 'utf8', timeout: 5000, env: { PATH: process.env.PATH, REDISCLI_AUTH: TEST_SECRETS['redis-auth/admin-password'] },
  }).stdout?.trim();

  const sentinel = (i: number, ...args: string[]) => spawnSync(REDIS_HA_PROGRAMS['redis-cli']!, ['--no-auth-warning', '-h', hostOf(i), '-p', '26379', ...args], {
    encoding: 'utf8', timeout: 5000, env: { PATH: process.env.PATH, REDISCLI_AUTH: TEST_SECRETS['redis-auth/admin-password'] },
  }).stdout ?? '';
  const masterName = ha['members.sh'].match(/^MASTER_NAME=(\S+)/m)[1];
  /** Every Sentinel knows the other Sentinels and every replica (it learns them within ~10 s: INFO and hello messages). */
  const settled = async () => {
    const count = (out: string) => out.split('\n').filter((l) => l === 'name').length;
    const ok = () => members.every((_, i) => count(sentinel(i, 'sentinel', 'replicas', masterName)) === members.length - 1
      && count(sentinel(i, 'sentinel', 'sentinels', masterName)) === members.length - 1);
    for (let t = 0; t < 300 && !ok(); t++) await sleep(200);
    if (!ok()) throw new Error('the Sentinels did not learn every member within 60 s');
  };
  const startMember = async (i: number) => {
    const m = members[i];
    m.redis = run(redisC, m, 'redis');
    for (let t = 0; t < 300 && cli(i, 'exporter', 'ping') !== 'PONG'; t++) {
      if (m.redis.exitCode !== null) throw new Error(`member ${i} redis exited:\n${fs.readFileSync(path.join(m.dir, 'redis.log'), 'utf8')}`);
      await sleep(100);
    }
    if (cli(i, 'exporter', 'ping') !== 'PONG') throw new Error(`member ${i} redis not answering:\n${fs.readFileSync(path.join(m.dir, 'redis.log'), 'utf8')}`);
    const startedAs = role(i);
    m.sentinel = run(sentinelC, m, 'sentinel');
    for (let t = 0; t < 300 && sentinelPing(i) !== 'PONG'; t++) {
      if (m.sentinel.exitCode !== null) throw new Error(`member ${i} sentinel exited:\n${fs.readFileSync(path.join(m.dir, 'sentinel.log'), 'utf8')}`);
      await sleep(100);
    }
    return startedAs;
  };
  const kill = (c: ChildProcess | undefined) => new Promise<void>((resolve) => {
    if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGKILL');
  });

  for (let i = 0; i < members.length; i++) await startMember(i);
  await settled();

  // HAProxy as its Deployment runs it.
  const proxyDir = path.join(root, 'haproxy');
  fs.mkdirSync(proxyDir);
  const cfgMount = mount(proxyC, 'config');
  const cfg = toAddresses(haproxyCfg)
    .replace(/^(\s*)bind :(\d+)$/gm, (_, ws, port) => `${ws}bind ${proxy.host}:${port}`);
  fs.writeFileSync(path.join(proxyDir, 'haproxy.cfg'), cfg);
  const proxyArgs = (proxyC.command as string[]).slice(1).map((a) => a.split(`${cfgMount}/`).join(`${proxyDir}/`));
  const proxyLog = fs.openSync(path.join(proxyDir, 'haproxy.log'), 'a');
  const haproxy = spawn(REDIS_HA_PROGRAMS.haproxy!, proxyArgs, {
    env: { PATH: process.env.PATH, ...containerEnv(proxyC, TEST_SECRETS) }, stdio: ['ignore', proxyLog, proxyLog], cwd: proxyDir,
  });
  // Ready as its readinessProbe sees it (the Service sends clients only then).
  const probe = proxyC.readinessProbe.httpGet.path as string;
  const ready = () => new Promise<boolean>((resolve) => {
    const get = http.get(`http://${proxy.host}:${proxy.healthPort}${probe}`, (res) => { res.resume(); resolve(res.statusCode === 200); });
    get.on('error', () => resolve(false));
    get.setTimeout(2000, () => get.destroy());
  });
  for (let t = 0; t < 300 && !(await ready()); t++) {
    if (haproxy.exitCode !== null) throw new Error(`haproxy exited:\n${fs.readFileSync(path.join(proxyDir, 'haproxy.log'), 'utf8')}`);
    await sleep(100);
  }
  if (!(await ready())) throw new Error(`haproxy not ready (${probe}):\n${fs.readFileSync(path.join(proxyDir, 'haproxy.log'), 'utf8')}`);

  return {
    members,
    proxy,
    cli,
    roles: () => members.map((_, i) => role(i)),
    proxyLines: (user, ...args) => cliRaw(proxy.host, proxy.port, user, args).replace(/\n$/, '').split('\n'),
    startMember: async (i: number) => {
      const startedAs = await startMember(i);
      await settled();
      return startedAs;
    },
    killMember: async (i: number) => {
      await Promise.all([kill(members[i].redis), kill(members[i].sentinel)]);
    },
    stop: async () => {
      await kill(haproxy);
      for (const m of members) await Promise.all([kill(m.redis), kill(m.sentinel)]);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A minimal RESP client over one socket, reconnecting on error: what an app's client does. */
class RespClient {
  private socket?: net.Socket;
  private buffer = '';
  private waiting?: { resolve: (line: string) => void; reject: (e: Error) => void };

  constructor(private readonly host: string, private readonly port: number, private readonly auth: [string, string]) {}

  private connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = net.connect(this.port, this.host);
      s.setNoDelay(true);
      const fail = (e: Error) => {
        this.socket = undefined;
        this.waiting?.reject(e);
        this.waiting = undefined;
        reject(e);
      };
      s.once('error', fail);
      s.once('close', () => fail(new Error('closed')));
      s.on('data', (d) => {
        this.buffer += d.toString('utf8');
        const end = this.buffer.indexOf('\r\n');
        if (end >= 0 && this.waiting) {
          const line = this.buffer.slice(0, end);
          this.buffer = '';
          const w = this.waiting;
          this.waiting = undefined;
          w.resolve(line);
        }
      });
      s.once('connect', () => {
        this.socket = s;
        this.buffer = '';
        resolve();
      });
    });
  }

  /** Sends one command whose reply is one line (+OK, :n, -ERR); throws on an error reply or a dead connection. */
  async command(args: string[], timeoutMs = 2000): Promise<string> {
    if (!this.socket) {
      await this.connect();
      const auth = await this.send(['AUTH', ...this.auth], timeoutMs);
      if (auth !== '+OK') throw new Error(`AUTH: ${auth}`);
    }
    const reply = await this.send(args, timeoutMs);
    if (reply.startsWith('-')) throw new Error(reply);
    return reply;
  }

  private send(args: string[], timeoutMs: number): Promise<string> {
    const s = this.socket!;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        this.close();
        reject(new Error('timeout'));
      }, timeoutMs);
      this.waiting = { resolve: (l) => { clearTimeout(timer); resolve(l); }, reject: (e) => { clearTimeout(timer); reject(e); } };
      s.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}

export interface FailoverFigures {
  /** Writes acknowledged before, and after, the kill. */
  readonly acknowledgedBefore: number;
  readonly acknowledgedAfter: number;
  /** Longest time between two acknowledged writes around the kill (the writes refused or stalled). */
  readonly writeGapSeconds: number;
  /** Writes acknowledged but absent from the new primary, and how long before the kill the oldest of them was acknowledged. */
  readonly lost: number;
  readonly lostOldestMsBeforeKill: number;
  readonly failedAttempts: number;
  readonly oldPrimary: number;
  readonly newPrimary: number;
  /** The old primary's role as soon as it answers again, and every member's once it settled. */
  readonly roleOnReturn: string;
  readonly rolesAfterReturn: readonly string[];
}

/**
 * Writes SET w:<n> through HAProxy in a loop (bounded: `maxWrites`, `maxSeconds`), kills the primary
 * (Redis and Sentinel) after `killAfterWrites`, keeps writing until `writesAfter` more were acknowledged,
 * then checks every acknowledged key on the new primary and restarts the old one.
 */
export async function failoverDrill(lab: RedisHaLab, o: { killAfterWrites?: number; writesAfter?: number; maxWrites?: number; maxSeconds?: number; clients?: number } = {}): Promise<FailoverFigures> {
  const killAfter = o.killAfterWrites ?? 2000;
  const writesAfter = o.writesAfter ?? 2000;
  const maxWrites = o.maxWrites ?? 200_000;
  const deadline = Date.now() + (o.maxSeconds ?? 120) * 1000;
  const oldPrimary = lab.roles().indexOf('master');
  if (oldPrimary < 0) throw new Error(`no primary: ${lab.roles().join(', ')}`);
  const acked: { n: number; at: number }[] = [];
  let failed = 0;
  let killedAt = 0;
  let after = 0;
  let next = 0;
  // Each client writes one command at a time, as an app's connection does; several clients write side by side.
  const writer = async () => {
    const client = new RespClient(lab.proxy.host, lab.proxy.port, ['app', TEST_SECRETS['redis-auth/app-password']]);
    while (next < maxWrites && Date.now() < deadline && after < writesAfter) {
      if (!killedAt && acked.length >= killAfter) {
        killedAt = Date.now();
        await lab.killMember(oldPrimary);
      }
      const n = next++;
      try {
        await client.command(['SET', `w:${n}`, String(n)]);
        acked.push({ n, at: Date.now() });
        if (killedAt) after++;
      } catch {
        failed++;
        await sleep(50);
      }
    }
    client.close();
  };
  await Promise.all(Array.from({ length: o.clients ?? 1 }, writer));
  if (!killedAt || after < writesAfter) throw new Error(`drill did not finish: ${acked.length} writes acknowledged, ${after} after the kill, ${failed} failed`);
  let gap = 0;
  // The longest pause between two acknowledgements once the kill began (in-flight writes may still be acknowledged just after it).
  for (let i = 1; i < acked.length; i++) if (acked[i].at >= killedAt) gap = Math.max(gap, acked[i].at - acked[i - 1].at);
  // Every acknowledged key, on the new primary (through HAProxy), in batches.
  const missing: { n: number; at: number }[] = [];
  for (let i = 0; i < acked.length; i += 500) {
    const batch = acked.slice(i, i + 500);
    // A reply is one line per key; anything else (a connection cut while HAProxy settles) is asked again.
    let out: string[] = [];
    for (let t = 0; t < 20; t++) {
      out = lab.proxyLines('app', 'mget', ...batch.map((a) => `w:${a.n}`));
      if (out.length === batch.length && !/^(ERR|Error|Could not connect|READONLY|LOADING)/.test(out[0])) break;
      await sleep(500);
    }
    if (out.length !== batch.length) throw new Error(`MGET of ${batch.length} keys answered: ${out.slice(0, 3).join(' / ')}`);
    batch.forEach((a, j) => { if (out[j] !== String(a.n)) missing.push(a); });
  }
  const newPrimary = lab.roles().indexOf('master');
  // As it starts, before any Sentinel could convert it: the start script asked them who the primary is.
  const roleOnReturn = await lab.startMember(oldPrimary);
  let rolesAfterReturn = lab.roles();
  for (let t = 0; t < 100 && rolesAfterReturn[oldPrimary] !== 'slave'; t++) {
    await sleep(200);
    rolesAfterReturn = lab.roles();
  }
  return {
    acknowledgedBefore: acked.filter((a) => a.at < killedAt).length,
    acknowledgedAfter: after,
    writeGapSeconds: gap / 1000,
    lost: missing.length,
    lostOldestMsBeforeKill: missing.length ? killedAt - Math.min(...missing.map((m) => m.at)) : 0,
    failedAttempts: failed,
    oldPrimary,
    newPrimary,
    roleOnReturn,
    rolesAfterReturn,
  };
}
