/**
 * One node to three, Postgres: a Patroni cluster of one member with data, then the two members the
 * three-node sizing adds join (Debian's patroni, the synthesized ha files, the lab API server as their
 * store, as test/patroni.real.test.ts runs them). They clone the leader and stream; the data is intact on
 * all three and the leader served throughout.
 */
import { LabCluster, missingLabPrograms } from '../scripts/lab/cluster';
import { ClusterMember, PatroniLab } from '../scripts/lab/patroni-lab';
import { configMapsOf } from '../scripts/lab/postgres-lab';
import { findProgram, postgresBinDir } from '../scripts/lab/programs';
import { synthEnv } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const leaderOf = (members: ClusterMember[]) => members.find((m) => m.role === 'leader')?.name;

describeWithPrograms('GIVEN a one-member Patroni cluster with data (ha files, lab API server as the store)', {
  postgres: postgresBinDir(), patroni: findProgram('patroni'), setpriv: findProgram('setpriv'), 'lab programs': missingLabPrograms().length === 0 ? 'built' : undefined,
}, () => {
  const s = synthEnv('ha');
  const ns = s.config.namespaces.data;
  const objects = s.objects.map((o) => o.object).filter((o: any) => o.metadata?.namespace === ns && !/^(pgbouncer|redis|minio)/.test(o.metadata.name));
  let kube: LabCluster;
  let lab: PatroniLab;

  beforeAll(async () => {
    kube = await LabCluster.start({ nodes: [{ name: 'lab-node-1', cpu: '8', memory: '32Gi', zone: 'lab-zone-a' }], crds: false });
    lab = new PatroniLab(kube, ns, configMapsOf(objects), objects);
    await lab.prepare(3, 'lab-node-1');
    lab.start(lab.members[0]);
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && leaderOf(await lab.cluster()) !== 'postgres-0') await sleep(500);
    if (leaderOf(await lab.cluster()) !== 'postgres-0') throw new Error(`postgres-0 did not lead:\n${lab.log(lab.members[0]).slice(-3000)}`);
  }, 240_000);

  afterAll(async () => {
    await lab?.stopAll();
    await kube?.stop();
  }, 120_000);

  test('WHEN the two members of the three-node sizing start THEN they clone the leader and replicate, and every row is on all three', async () => {
    const leader = lab.members[0];
    // synchronous_mode: with no standby yet, the leader must still accept commits (synchronous_mode_strict is off).
    const created = await lab.superuser(leader, 'CREATE TABLE grow_probe(id int PRIMARY KEY, note text); INSERT INTO grow_probe SELECT g, md5(g::text) FROM generate_series(1, 5000) g', 'app');
    expect(created.stderr).toBe('');
    const digest = (await lab.superuser(leader, "SELECT count(*) || ':' || md5(string_agg(note, ',' ORDER BY id)) FROM grow_probe", 'app')).stdout.trim();
    expect(digest).toMatch(/^5000:/);

    for (const m of lab.members.slice(1)) lab.start(m);
    let writesWhileJoining = 0;
    const deadline = Date.now() + 180_000;
    let members: ClusterMember[] = [];
    while (Date.now() < deadline) {
      // The leader keeps taking commits while the new members clone it.
      const w = await lab.superuser(leader, `INSERT INTO grow_probe VALUES (${10_000 + writesWhileJoining}, 'during')`, 'app');
      if (w.status === 0) writesWhileJoining++;
      members = await lab.cluster();
      // Debian's Patroni reports a replica that replays as `running` (newer ones say `streaming`), as in test/patroni.real.test.ts.
      if (members.length === 3 && members.filter((m) => m.role !== 'leader').every((m) => m.state === 'streaming' || m.state === 'running')) break;
      await sleep(500);
    }
    expect(members.map((m) => [m.name, m.role === 'leader' ? 'leader' : m.state.replace('streaming', 'running')]).sort()).toEqual([['postgres-0', 'leader'], ['postgres-1', 'running'], ['postgres-2', 'running']]);
    expect(writesWhileJoining).toBeGreaterThan(0);
    const total = 5000 + writesWhileJoining;
    for (const m of lab.members) {
      let rows = '';
      for (let t = 0; t < 40; t++) {
        rows = (await lab.superuser(m, 'SELECT count(*) FROM grow_probe', 'app')).stdout.trim();
        if (rows === String(total)) break;
        await sleep(250);
      }
      expect([m.name, rows]).toEqual([m.name, String(total)]);
      expect([m.name, (await lab.superuser(m, "SELECT count(*) || ':' || md5(string_agg(note, ',' ORDER BY id)) FROM grow_probe WHERE id <= 5000", 'app')).stdout.trim()]).toEqual([m.name, digest]);
    }
  }, 300_000);
});
