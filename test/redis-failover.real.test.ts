/**
 * Redis that fails over, run by the real redis-server, redis-sentinel and haproxy with the scripts and
 * configs of the SYNTHESIZED ha environment (scripts/lab/redis-ha-lab.ts lists the rewrites: addresses
 * and paths only). The write gap and the writes lost are figures of `npm run bench -- ha`; here the
 * behaviour: writes resume through the same address, nothing acknowledged well before the kill is lost,
 * the old primary returns as a replica, ACLs and AOF are those of the single server.
 */
import { failoverDrill, REDIS_HA_PROGRAMS, RedisHaLab, startRedisHa } from '../scripts/lab/redis-ha-lab';
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
