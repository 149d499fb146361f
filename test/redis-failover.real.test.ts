/**
 * Redis that fails over, run by the real redis-server, redis-sentinel and haproxy with the scripts and
 * configs of the SYNTHESIZED ha environment (scripts/lab/redis-ha-lab.ts lists the rewrites: addresses
 * and paths only). The write gap and the writes lost are figures of `npm run bench -- ha`; here the
 * behaviour: writes resume through the same address, nothing acknowledged well before the kill is lost,
 * the old primary returns as a replica, ACLs and AOF are those of the single server.
 */
import { spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { failoverDrill, REDIS_HA_PROGRAMS, RedisHaLab, startRedisHa, TEST_SECRETS } from '../scripts/lab/redis-ha-lab';
import { describeWithPrograms } from './helpers/real-programs';
import { synthEnv } from './helpers/platform';

jest.setTimeout(300_000);

describeWithPrograms('GIVEN the synthesized ha Redis (3 members with Sentinel, HAProxy in front) on the real programs', REDIS_HA_PROGRAMS, () => {
  let lab: RedisHaLab;
  beforeAll(async () => {
    lab = await startRedisHa(synthEnv('ha').objects.map((o) => o.object));
  });
  afterAll(async () => {
    await lab?.stop();
  });

  test('THEN member 0 is the primary, the others replicate it, and the app reaches the primary through HAProxy', async () => {
    expect(lab.roles()).toEqual(['master', 'slave', 'slave']);
    expect(lab.cli('proxy', 'app', 'set', 'greeting', 'hello')).toBe('OK');
    for (let t = 0; t < 50 && lab.cli(2, 'app', 'get', 'greeting') !== 'hello'; t++) await new Promise((r) => setTimeout(r, 100));
    expect(lab.cli(2, 'app', 'get', 'greeting')).toBe('hello');
    // A replica refuses writes: HAProxy must never route there.
    expect(lab.cli(1, 'app', 'set', 'x', 'y')).toMatch(/READONLY/);
  });

  test('THEN the ACLs are unchanged: no default user, the app may not FLUSHALL, every member has the AOF on', () => {
    expect(lab.cli('proxy', 'app', 'flushall')).toMatch(/NOPERM/);
    for (const i of [0, 1, 2]) expect(lab.cli(i, 'admin', 'config', 'get', 'appendonly')).toContain('yes');
    expect(lab.cli(0, 'admin', 'config', 'get', 'min-replicas-to-write')).toContain('1');
  });

  test('WHEN the primary is killed (-9, with its Sentinel) during writes THEN writes resume through the same address, nothing acknowledged before the last second is lost, and the old primary returns as a replica', async () => {
    const f = await failoverDrill(lab, { killAfterWrites: 1500, writesAfter: 1500, maxSeconds: 180, clients: 4 });
    console.log(`failover: gap ${f.writeGapSeconds.toFixed(1)} s, ${f.lost} acknowledged writes lost (oldest ${f.lostOldestMsBeforeKill} ms before the kill), ${f.failedAttempts} attempts refused; ${f.acknowledgedBefore} before / ${f.acknowledgedAfter} after`);
    expect(f.newPrimary).not.toBe(f.oldPrimary);
    expect(f.newPrimary).toBeGreaterThanOrEqual(0);
    expect(f.acknowledgedAfter).toBeGreaterThanOrEqual(1500);
    // Asynchronous replication loses at most what was in flight: never a write acknowledged a second before the kill.
    expect(f.lostOldestMsBeforeKill).toBeLessThan(1000);
    expect(f.roleOnReturn).toBe('slave');
    expect(f.rolesAfterReturn[f.oldPrimary]).toBe('slave');
    expect(f.rolesAfterReturn.filter((r) => r === 'master')).toHaveLength(1);
  });
});

describeWithPrograms('GIVEN a single Redis of prod (one node) with keys WHEN the team grows to three nodes (its data-redis-0 becomes member 0 of the ha set)', REDIS_HA_PROGRAMS, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-grow-'));
  const dataDir = path.join(dir, 'data');
  let lab: RedisHaLab | undefined;
  const keys = Array.from({ length: 200 }, (_, i) => `${['session', 'cache', 'queue', 'set', 'rank'][i % 5]}:${i}`);
  const write = (cli: (...args: string[]) => string, key: string, i: number) => {
    const kind = key.split(':')[0];
    if (kind === 'session') cli('set', key, `user-${i}`, 'ex', '86400');
    else if (kind === 'cache') cli('hset', key, 'a', String(i), 'b', `x${i}`);
    else if (kind === 'queue') cli('rpush', key, `job-${i}`, `job-${i + 1}`);
    else if (kind === 'set') cli('sadd', key, `m${i}`, `n${i}`);
    else cli('zadd', key, String(i), `p${i}`);
  };
  const read = (cli: (...args: string[]) => string, key: string) => {
    const kind = key.split(':')[0];
    const args = { session: ['get'], cache: ['hgetall'], queue: ['lrange', key, '0', '-1'], set: ['smembers'], rank: ['zrange', key, '0', '-1', 'withscores'] }[kind]!;
    const out = (args.length > 1 ? cli(...args) : cli(args[0], key)).split('\n');
    return kind === 'set' ? out.sort().join(',') : out.join(',');
  };

  afterAll(async () => {
    await lab?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('THEN every key reads the same through HAProxy and on the replicas, the expiries kept', async () => {
    // The single server, as prod runs it (its redis.conf and start script), on member 0's future data directory.
    const prod = synthEnv('prod').objects.map((o) => o.object);
    const cm = prod.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'redis-config').data;
    fs.mkdirSync(dataDir);
    const port = 6379;
    const host = `127.${40 + crypto.randomInt(200)}.${crypto.randomInt(250)}.200`;
    fs.writeFileSync(path.join(dir, 'redis.conf'), cm['redis.conf'].replace(/^dir .*$/m, `dir ${dataDir}`).replace(/^aclfile .*$/m, `aclfile ${dir}/users.acl`).replace(/^bind .*$/m, `bind ${host}`));
    fs.writeFileSync(path.join(dir, 'start.sh'), cm['start.sh']);
    const single = spawn('sh', [path.join(dir, 'start.sh')], {
      env: { PATH: process.env.PATH, REDIS_CONF: path.join(dir, 'redis.conf'), REDIS_ACL_FILE: path.join(dir, 'users.acl'),
        REDIS_APP_PASSWORD: TEST_SECRETS['redis-auth/app-password'], REDIS_EXPORTER_PASSWORD: TEST_SECRETS['redis-auth/exporter-password'], REDIS_ADMIN_PASSWORD: TEST_SECRETS['redis-auth/admin-password'] },
      stdio: 'ignore',
    });
    const singleCli = (...args: string[]) => spawnSync(REDIS_HA_PROGRAMS['redis-cli']!, ['--no-auth-warning', '-h', host, '-p', String(port), '--user', 'app', ...args], {
      encoding: 'utf8', env: { PATH: process.env.PATH, REDISCLI_AUTH: TEST_SECRETS['redis-auth/app-password'] },
    }).stdout.trim();
    for (let t = 0; t < 100 && singleCli('ping') !== 'PONG'; t++) await new Promise((r) => setTimeout(r, 100));
    keys.forEach((k, i) => write(singleCli, k, i));
    const before = keys.map((k) => read(singleCli, k));
    // The pod stops for the rollout (SIGTERM: Redis writes its AOF and exits).
    await new Promise<void>((resolve) => { single.once('exit', () => resolve()); single.kill('SIGTERM'); });

    lab = await startRedisHa(synthEnv('ha').objects.map((o) => o.object), { member0DataDir: dataDir });
    expect(lab.roles()).toEqual(['master', 'slave', 'slave']);
    const through = (member: number | 'proxy') => (...args: string[]) => lab!.cli(member, 'app', ...args);
    expect(keys.map((k) => read(through('proxy'), k))).toEqual(before);
    for (const replica of [1, 2]) expect(keys.map((k) => read(through(replica), k))).toEqual(before);
    expect(Number(lab.cli('proxy', 'app', 'ttl', 'session:0'))).toBeGreaterThan(86000);
    expect(lab.cli('proxy', 'app', 'dbsize')).toBe(String(keys.length));
  });
});
