/**
 * Automatic failover, proven with real programs: Patroni 4.0.7 (Debian trixie, the series the image carries;
 * PostgreSQL 17 under it, see scripts/lab/patroni-lab.ts) runs three loopback members
 * from the synthesized ha files, with the lab cluster's real kube-apiserver as its Kubernetes
 * store (the synthesized ServiceAccount, Role and Services applied to it). A real PgBouncer reaches
 * "the rw Service" through a proxy that follows the Service's Endpoints, as kube-proxy would.
 */
import * as fs from 'fs';
import * as path from 'path';
import { LabCluster, missingLabPrograms } from '../scripts/lab/cluster';
import { ClusterMember, commitLoop, PatroniLab } from '../scripts/lab/patroni-lab';
import { configMapsOf, PASSWORDS, PostgresLab, shippedPostgres } from '../scripts/lab/postgres-lab';
import { trixieProgram } from '../scripts/lab/trixie';
import { synthEnv } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

/** The lab's kube-apiserver, etcd, controller-manager (built by scripts/lab/build.sh). */
const labReady = missingLabPrograms().length === 0 ? 'built' : undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The README's `kubectl ... exec ... -- patronictl list` (section "Postgres runbooks (Patroni)"): the pod and the command it runs there. */
function readmePatronictlList(): { pod: string; argv: string[] } {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const section = readme.split('\n### Postgres runbooks (Patroni)\n')[1]?.split('\n## ')[0] ?? '';
  const line = [...section.matchAll(/`(kubectl [^`]*? exec [^`]*?) -- (patronictl[^`]*? list)`/g)][0];
  if (!line) throw new Error('README.md, "Postgres runbooks (Patroni)": no `kubectl ... exec ... -- patronictl ... list` command');
  return { pod: /exec(?: -\w+)* (\S+)/.exec(line[1])![1], argv: line[2].split(/\s+/) };
}

describeWithPrograms('GIVEN three Patroni members from the ha files, with the lab API server as their store', {
  'trixie postgres': trixieProgram('postgres'), 'trixie patroni': trixieProgram('patroni'), 'trixie patronictl': trixieProgram('patronictl'), 'trixie pgbouncer': trixieProgram('pgbouncer'), 'lab programs': labReady,
}, () => {
  const s = synthEnv('ha');
  const ns = s.config.namespaces.data;
  const objects = s.objects.map((o) => o.object).filter((o: any) => o.metadata?.namespace === ns && !/^(pgbouncer|redis|minio)/.test(o.metadata.name));
  let kube: LabCluster;
  let lab: PatroniLab;
  let bouncerPid: number | undefined;
  const bouncer = new PostgresLab(configMapsOf(s.objects.map((o) => o.object)), {}, shippedPostgres());
  const leaderOf = (members: ClusterMember[]) => members.find((m) => m.role === 'leader')?.name;
  const through = (sql: string, user = 'app', password = PASSWORDS.app, db = 'app') => lab.psql(bouncer.bouncerPort, user, password, db, sql);

  beforeAll(async () => {
    kube = await LabCluster.start({ nodes: [{ name: 'lab-node-1', cpu: '8', memory: '32Gi', zone: 'lab-zone-a' }], crds: false });
    lab = new PatroniLab(kube, ns, configMapsOf(objects), objects);
    await lab.prepare(3, 'lab-node-1');
    for (const m of lab.members) lab.start(m);
    const deadline = Date.now() + 150_000;
    let members: ClusterMember[] = [];
    while (Date.now() < deadline) {
      members = await lab.cluster();
      if (leaderOf(members) && members.filter((m) => m.state === 'streaming' || (m.role !== 'leader' && m.state === 'running')).length === 2 && members.some((m) => m.role === 'sync_standby')) break;
      await sleep(500);
    }
    if (!members.some((m) => m.role === 'sync_standby')) {
      throw new Error(`no leader with a synchronous standby: ${JSON.stringify(members)}\n${lab.members.map((m) => `--- ${m.name}\n${lab.log(m).slice(-3000)}`).join('\n')}`);
    }
    await lab.startRwProxy();
    const deadlineRw = Date.now() + 30_000;
    while (!lab.rwMember && Date.now() < deadlineRw) await sleep(250);
    bouncer.primaryPort = lab.rwPort;
    await bouncer.startPgbouncer();
    bouncerPid = bouncer.pgbouncerProcess?.pid;
    const table = await through('CREATE TABLE IF NOT EXISTS failover_probe(id int PRIMARY KEY)');
    if (table.status !== 0) throw new Error(`create table through PgBouncer: ${table.stderr}`);
  }, 240_000);

  afterAll(async () => {
    await bouncer.stopAll();
    await lab?.stopAll();
    await kube?.stop();
  }, 120_000);

  test('THEN every member runs Patroni 4.0.x, the series the image carries, over PostgreSQL 17 (see scripts/lab/patroni-lab.ts)', async () => {
    const seen = await Promise.all(lab.members.map(async (m) => {
      const status = await lab.rest(m, '/patroni');
      return { version: status?.patroni?.version, server: Math.floor((status?.server_version ?? 0) / 10000) };
    }));
    expect(seen).toEqual(lab.members.map(() => ({ version: expect.stringMatching(/^4\.0\.\d+$/), server: 17 })));
  });

  test("THEN Patroni labels the leader's pod, and the rw Service's Endpoints are that pod alone", async () => {
    const leader = leaderOf(await lab.cluster())!;
    const pods = await kube.list(`/api/v1/namespaces/${ns}/pods`);
    expect(pods.map((p) => [p.metadata.name, p.metadata.labels.role]).sort()).toEqual(
      lab.members.map((m) => [m.name, m.name === leader ? 'master' : 'replica']).sort(),
    );
    expect(await lab.endpointIps('postgres-rw')).toEqual([lab.member(leader).podIp]);
    expect((await lab.endpointIps('postgres-ro')).sort()).toEqual(lab.members.filter((m) => m.name !== leader).map((m) => m.podIp).sort());
    // The leader lock: the Endpoints object `postgres`, annotated with the leader's name.
    const lock = await kube.request('GET', `/api/v1/namespaces/${ns}/endpoints/postgres`);
    expect(lock.body.metadata.annotations.leader).toBe(leader);
  });

  test('THEN the post_bootstrap init ran: the app role works through PgBouncer, and the pooler refuses the other roles', async () => {
    expect((await through('SELECT current_user')).stdout.trim()).toBe('app');
    for (const [user, password] of [['pgbouncer_auth', PASSWORDS.pgbouncerAuth], ['metrics', PASSWORDS.metrics], ['backup', PASSWORDS.backup], ['replicator', PASSWORDS.replication], ['postgres', PASSWORDS.superuser]]) {
      const r = await through('SELECT 1', user, password);
      expect([user, r.status]).toEqual([user, 2]);
    }
  });

  test("WHEN an operator runs the README's `patronictl list` in a member's postgres container THEN it lists the members with their roles; without the container's PATRONICTL_CONFIG_FILE it cannot", async () => {
    const { pod, argv } = readmePatronictlList();
    const env = lab.podEnv(lab.member(pod));
    const listed = await lab.exec(argv, env);
    expect({ status: listed.status, output: listed.output }).toEqual({ status: 0, output: expect.stringMatching(/\| Leader /) });
    for (const m of lab.members) expect(listed.output).toContain(m.name);
    expect(env.PATRONICTL_CONFIG_FILE).toBe(`${lab.member(pod).dir}/patroni.yml`); // the mounted patroni.yml, as the lab copies it
    const { PATRONICTL_CONFIG_FILE: _unset, ...without } = env;
    const bare = await lab.exec(argv, without);
    expect({ status: bare.status, listsMembers: lab.members.every((m) => bare.output.includes(m.name)) }).not.toEqual({ status: 0, listsMembers: true });
  }, 120_000);

  describe('WHEN the leader is killed (-9, Patroni and Postgres) while a client commits through PgBouncer', () => {
    let old = '';
    let promotedAfterMs = 0;
    let result: Awaited<ReturnType<typeof commitLoop>>;
    let newLeader = '';

    beforeAll(async () => {
      old = leaderOf(await lab.cluster())!;
      let killedAt = 0;
      let afterPromotion = 0;
      const watcher = (async () => {
        while (!killedAt) await sleep(50);
        const deadline = killedAt + 90_000;
        while (Date.now() < deadline) {
          const leader = leaderOf(await lab.cluster(lab.member(old)));
          if (leader && leader !== old) {
            newLeader = leader;
            promotedAfterMs = Date.now() - killedAt;
            return;
          }
          await sleep(200);
        }
      })();
      const loop = commitLoop(lab, bouncer.bouncerPort, 'failover_probe', () => (newLeader !== '' && ++afterPromotion > 60) || (killedAt > 0 && Date.now() - killedAt > 100_000), { maxCommits: 20_000, maxMs: 150_000 });
      await sleep(3000);
      lab.killHard(lab.member(old));
      killedAt = Date.now();
      // The node is gone: its pod turns NotReady (the node lifecycle controller's doing, after
      // node-monitor-grace-period on a real cluster), so Endpoints drop it whatever its labels say.
      await lab.setReady(lab.member(old), false);
      await watcher;
      result = await loop;
    }, 200_000);

    test('THEN a replica is promoted within 30 s', () => {
      // eslint-disable-next-line no-console
      console.log(`failover: ${old} killed, ${newLeader} promoted after ${(promotedAfterMs / 1000).toFixed(1)} s`);
      expect(newLeader).not.toBe('');
      expect(promotedAfterMs).toBeLessThanOrEqual(30_000);
    });

    test('THEN the client reconnects through the same PgBouncer, now routed to the new leader', async () => {
      expect(lab.rwMember).toBe(newLeader);
      expect(await lab.endpointIps('postgres-rw')).toEqual([lab.member(newLeader).podIp]);
      let r = await through('SELECT pg_is_in_recovery()');
      for (let i = 0; i < 20 && r.status !== 0; i++) {
        await sleep(500);
        r = await through('SELECT pg_is_in_recovery()');
      }
      expect([r.stdout.trim(), r.stderr]).toEqual(['f', '']);
      // The same PgBouncer process throughout: it reconnected, nobody restarted it.
      expect(bouncer.pgbouncerProcess?.exitCode).toBeNull();
      expect(bouncer.pgbouncerProcess?.pid).toBe(bouncerPid);
    });

    test('THEN no acknowledged commit is missing (synchronous_mode)', async () => {
      const present = new Set((await lab.superuser(lab.member(newLeader), 'SELECT id FROM failover_probe', 'app')).stdout.trim().split('\n').map(Number));
      const missing = result.acknowledged.filter((id) => !present.has(id));
      // eslint-disable-next-line no-console
      console.log(`failover: ${result.acknowledged.length} commits acknowledged, ${result.acknowledged.length - missing.length} present on the new leader, ${result.failures.length} attempts failed during the failover`);
      expect(result.acknowledged.length).toBeGreaterThan(20);
      expect(missing).toEqual([]);
    });

    test('THEN the old primary rejoins as a replica of the new leader', async () => {
      lab.start(lab.member(old));
      await lab.setReady(lab.member(old), true);
      let me: ClusterMember | undefined;
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline) {
        me = (await lab.cluster()).find((m) => m.name === old);
        if (me && me.role !== 'leader' && (me.state === 'streaming' || me.state === 'running') && me.lag === 0) break;
        await sleep(500);
      }
      const rewound = /pg_rewind/.test(lab.log(lab.member(old)));
      // eslint-disable-next-line no-console
      console.log(`rejoin: ${old} is ${me?.role} (${me?.state}), pg_rewind ${rewound ? 'ran' : 'was not needed'}`);
      expect(me?.role).toMatch(/^(replica|sync_standby)$/);
      const probe = await lab.superuser(lab.member(old), 'SELECT pg_is_in_recovery(), count(*) > 0 FROM failover_probe', 'app');
      expect(probe.stdout.trim()).toBe('t|t');
    }, 120_000);
  });

  describe('WHEN an operator runs patronictl switchover while the client commits', () => {
    let from = '';
    let to = '';
    let result: Awaited<ReturnType<typeof commitLoop>>;
    let switchover: { status: number | null; output: string };

    beforeAll(async () => {
      // After the rejoin, the synchronous standby may still be catching up: wait (bounded) until one is named.
      let members = await lab.cluster();
      for (const deadline = Date.now() + 60_000; Date.now() < deadline && !members.some((m) => m.role === 'sync_standby'); members = await lab.cluster()) await sleep(500);
      from = leaderOf(members)!;
      const standby = members.find((m) => m.role === 'sync_standby');
      if (standby === undefined) throw new Error(`no synchronous standby within 60 s: ${JSON.stringify(members)}`);
      to = standby.name;
      let done = false;
      const loop = commitLoop(lab, bouncer.bouncerPort, 'failover_probe', () => done, { maxCommits: 20_000, maxMs: 120_000 }, 1_000_000);
      await sleep(2000);
      switchover = await lab.patronictl(lab.member(to), ['switchover', '--leader', from, '--candidate', to, '--force', 'postgres']);
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && lab.rwMember !== to) await sleep(250);
      await sleep(3000); // commits on the new leader
      done = true;
      result = await loop;
    }, 200_000);

    test('THEN it completes, the rw Service follows, and no acknowledged commit is lost', async () => {
      // eslint-disable-next-line no-console
      console.log(`switchover ${from} → ${to}: exit ${switchover.status}; ${result.acknowledged.length} commits acknowledged, ${result.failures.length} attempts failed`);
      expect(switchover.status).toBe(0);
      expect(leaderOf(await lab.cluster())).toBe(to);
      expect(lab.rwMember).toBe(to);
      const present = new Set((await lab.superuser(lab.member(to), 'SELECT id FROM failover_probe', 'app')).stdout.trim().split('\n').map(Number));
      expect(result.acknowledged.filter((id) => !present.has(id))).toEqual([]);
      expect(result.acknowledged.length).toBeGreaterThan(10);
    });
  });
});
