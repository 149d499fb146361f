/**
 * The real redis-server runs the redis.conf and start script taken FROM THE SYNTHESIZED YAML
 * of prod. The test rewrites only `dir` and `aclfile` (paths), `bind` and `port` (loopback,
 * a free port); everything else is the shipped text. The eviction case also passes a small
 * `--maxmemory` so that a few MB fill it (said in its name).
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { requireBinary } from './helpers/real-programs';
import { one, synthEnv } from './helpers/platform';

const server = requireBinary('redis-server');
const cli = server ? requireBinary('redis-cli') : null;
const run = server && cli ? describe : describe.skip;

const PASSWORDS = { REDIS_APP_PASSWORD: 'app-s3cret\\$x', REDIS_EXPORTER_PASSWORD: 'exp-s3cret', REDIS_ADMIN_PASSWORD: 'adm-s3cret' };

run('GIVEN redis.conf and start.sh from the synthesized prod YAML WHEN the real redis-server runs them', () => {
  const configMap = one(synthEnv('prod'), 'ConfigMap', 'redis-config');
  let dir: string;
  let port: number;
  let child: ChildProcess | undefined;

  const redis = (user: string | null, ...args: string[]): string => {
    const auth = user ? ['--user', user] : [];
    const env: NodeJS.ProcessEnv = { ...process.env, REDISCLI_AUTH: user ? passwordOf(user) : undefined };
    if (!user) delete env.REDISCLI_AUTH;
    const out = spawnSync(cli!, ['--no-auth-warning', '-h', '127.0.0.1', '-p', String(port), ...auth, ...args], { encoding: 'utf8', env });
    return (out.stdout + out.stderr).trim();
  };

  const start = async (extraArgs: string[] = []) => {
    child = spawn('sh', [path.join(dir, 'start.sh'), ...extraArgs], {
      cwd: dir,
      env: { ...process.env, ...PASSWORDS, REDIS_CONF: path.join(dir, 'redis.conf'), REDIS_ACL_FILE: path.join(dir, 'users.acl') },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    for (let i = 0; i < 100 && redis('exporter', 'ping') !== 'PONG'; i++) await sleep(100);
    expect(redis('exporter', 'ping')).toBe('PONG');
  };

  const stop = async (signal: NodeJS.Signals) => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill(signal);
    await exited;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-test-'));
    port = await freePort();
    const conf = (configMap.data['redis.conf'] as string)
      .replace(/^dir .*$/m, `dir ${path.join(dir, 'data')}`)
      .replace(/^aclfile .*$/m, `aclfile ${path.join(dir, 'users.acl')}`)
      .replace(/^bind .*$/m, 'bind 127.0.0.1')
      .replace(/^port .*$/m, `port ${port}`);
    fs.mkdirSync(path.join(dir, 'data'));
    fs.writeFileSync(path.join(dir, 'redis.conf'), conf);
    fs.writeFileSync(path.join(dir, 'start.sh'), configMap.data['start.sh']);
    await start();
  });

  afterAll(async () => {
    await stop('SIGTERM');
  });

  test('THEN commands without authentication are refused (the default user is off)', () => {
    expect(redis(null, 'set', 'k', 'v')).toMatch(/^NOAUTH/);
    expect(redis(null, 'auth', 'default', '')).toMatch(/WRONGPASS/);
  });

  test('THEN the app user can work with keys but FLUSHALL, FLUSHDB and CONFIG fail with NOPERM and DEBUG is refused', () => {
    expect(redis('app', 'set', 'session:1', 'alice')).toBe('OK');
    expect(redis('app', 'get', 'session:1')).toBe('alice');
    for (const command of [['flushall'], ['flushdb'], ['config', 'get', 'maxmemory']]) {
      expect(redis('app', ...command)).toMatch(/^NOPERM/);
    }
    // Redis 7 refuses DEBUG server-wide before checking ACLs; ACL DRYRUN shows the app user is denied it too.
    expect(redis('app', 'debug', 'sleep', '0')).toMatch(/^(NOPERM|ERR DEBUG command not allowed)/);
    expect(redis('admin', 'acl', 'dryrun', 'app', 'debug', 'sleep', '0')).toMatch(/no permissions to run the 'debug' command/);
    expect(redis('admin', 'acl', 'dryrun', 'app', 'set', 'k', 'v')).toBe('OK');
    expect(redis('app', 'get', 'session:1')).toBe('alice');
  });

  test('THEN the exporter user may read INFO but not write', () => {
    expect(redis('exporter', 'info', 'server')).toContain('redis_version');
    expect(redis('exporter', 'set', 'x', 'y')).toMatch(/^NOPERM/);
  });

  test('THEN the AOF is on disk and data survives a hard kill and a restart', async () => {
    expect(redis('admin', 'config', 'get', 'appendonly')).toContain('yes');
    expect(redis('app', 'set', 'queue:job:1', 'pending')).toBe('OK');
    await sleep(1500); // appendfsync everysec
    const aofDir = path.join(dir, 'data', 'appendonlydir');
    expect(fs.readdirSync(aofDir).some((f) => f.endsWith('.aof'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'data', 'dump.rdb'))).toBe(false); // so the restart reads the AOF

    await stop('SIGKILL');
    await start();

    expect(redis('app', 'get', 'queue:job:1')).toBe('pending');
  });

  test('THEN with a test-sized maxmemory of 4mb, filling past it evicts keys (allkeys-lru) instead of failing writes', async () => {
    await stop('SIGTERM');
    await start(['--maxmemory', '4mb']);
    expect(redis('admin', 'config', 'get', 'maxmemory-policy')).toContain('allkeys-lru');
    const value = 'x'.repeat(10_000);
    const script = Array.from({ length: 1000 }, (_, i) => `SET cache:${i} ${value}`).join('\n') + '\n';
    const piped = spawnSync(cli!, ['--no-auth-warning', '-h', '127.0.0.1', '-p', String(port), '--user', 'app'], {
      input: script,
      encoding: 'utf8',
      env: { ...process.env, REDISCLI_AUTH: PASSWORDS.REDIS_APP_PASSWORD },
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(piped.stdout).not.toMatch(/OOM/);
    expect(piped.stdout.trim().split('\n').every((line) => line === 'OK')).toBe(true);
    expect(Number(redis('app', 'dbsize'))).toBeLessThan(1000);
    expect(Number(/evicted_keys:(\d+)/.exec(redis('exporter', 'info', 'stats'))?.[1])).toBeGreaterThan(0);
  });
});

function passwordOf(user: string): string {
  return PASSWORDS[`REDIS_${user.toUpperCase()}_PASSWORD` as keyof typeof PASSWORDS];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
