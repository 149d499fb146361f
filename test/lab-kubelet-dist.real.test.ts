/**
 * dist/prod on one faithful lab cluster (scripts/lab/kubelet.ts plays the kubelet), with the real
 * External Secrets Operator controller making the generated Secrets and stand-ins for the outside
 * ones: every ConfigMap and Secret of dist/ that a pod reads is deleted in turn, the pods of the
 * workloads that read it are recreated (as a node restart or a rollout would; a CronJob or Job is
 * run again, as its schedule or the next sync would), and the lab must report exactly those pods
 * stuck with the kubelet's reason and message, then see them recover once the object is applied again.
 */
import { LabCluster, missingLabPrograms, nodesFor } from '../scripts/lab/cluster';
import { createOutsideStandIns, externalSecretsBuilt, LabExternalSecrets } from '../scripts/lab/external-secrets';
import type { StuckPod } from '../scripts/lab/kubelet';
import { blockingReferences, blocksWhenMissing, podReferences, ReferencedObject } from '../scripts/lab/pod-references';
import { LabSyncReport, syncToLab } from '../scripts/lab/sync';
import { synthUserEnv } from './helpers/platform';

const ENV = 'prod';
const IS_CI = process.env.CI === 'true';
const missing = [...missingLabPrograms(), ...(externalSecretsBuilt() ? [] : ['external-secrets (bash scripts/external-secrets/build.sh)'])];
if (missing.length > 0 && !IS_CI) {
  console.warn(`\n!!! SKIPPING the lab's "deleted ConfigMap or Secret of dist/ → stuck pods" tests: ${missing.join(', ')} not built (bash scripts/lab/build.sh; CI always runs them) !!!\n`);
}
const describeLab = missing.length > 0 && !IS_CI ? describe.skip : describe;

const { config, objects } = synthUserEnv(ENV);
const idOf = (o: any) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`;
const byId = new Map(objects.map(({ object }) => [idOf(object), object]));
/** The ConfigMaps and Secrets of dist/ whose absence blocks some pod, with their readers. */
const CASES = blockingReferences(objects, (kind, namespace, name) => byId.has(`${kind} ${namespace}/${name}`));
/** A Secret made at run time by the ESO controller from an ExternalSecret of dist/ (a Password generator). */
const GENERATED = blockingReferences(objects, (kind, namespace, name) => kind === 'Secret' && namespace === config.namespaces.data && name === 'postgres-superuser')[0];
const GENERATED_SOURCE = byId.get(`ExternalSecret ${config.namespaces.data}/postgres-superuser`);

/** Bounds per case: the recreated pods reported stuck, then running again. */
const STUCK_WITHIN_MS = 45_000;
const RECOVER_WITHIN_MS = 45_000;

const isTerminal = (p: any) => ['Succeeded', 'Failed'].includes(p.status?.phase);
const isRunningReady = (p: any) => p.status?.phase === 'Running' && p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
const podId = (p: { namespace: string; pod: string } | any) => (p.metadata ? `${p.metadata.namespace}/${p.metadata.name}` : `${p.namespace}/${p.pod}`);

/**
 * What the kubelet reports for a pod of `workload` while `target` is missing (and nothing else is):
 * a FailedMount per mounted volume reading it (volumes come before any container), otherwise a
 * CreateContainerConfigError for the first init container reading it, or else for each container
 * reading it (the kubelet tries them all). The whole object is missing: the message is "not found".
 */
function expectedStuck(workload: any, target: ReferencedObject): Omit<StuckPod, 'namespace' | 'pod'>[] {
  const refs = podReferences([workload]).filter((r) => blocksWhenMissing(r) && r.kind === target.kind && r.namespace === target.namespace && r.name === target.name);
  const notFound = `${target.kind.toLowerCase()} "${target.name}" not found`;
  const volumes = [...new Set(refs.filter((r) => r.via === 'volume').map((r) => r.volume!))];
  if (volumes.length > 0) return volumes.map((v) => ({ reason: 'FailedMount', message: `MountVolume.SetUp failed for volume "${v}" : ${notFound}` }));
  const spec = workload.kind === 'CronJob' ? workload.spec.jobTemplate.spec.template.spec : workload.spec.template.spec;
  const readers = new Set(refs.map((r) => r.container!));
  const init = (spec.initContainers ?? []).map((c: any) => c.name as string).find((c: string) => readers.has(c));
  const containers = init !== undefined ? [init] : spec.containers.map((c: any) => c.name as string).filter((c: string) => readers.has(c));
  return containers.map((container: string) => ({ reason: 'CreateContainerConfigError', message: notFound, container }));
}

const sortStuck = (list: readonly Omit<StuckPod, 'namespace' | 'pod'>[]) =>
  list.map((s) => ({ reason: s.reason, message: s.message, ...(s.container ? { container: s.container } : {}) })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

interface CaseResult {
  readonly object: string;
  readonly readers: string[];
  readonly pods: number;
  readonly reasons: string[];
  readonly stuckMs: number;
  readonly recoverMs: number;
}

describeLab(`GIVEN dist/${ENV} applied to one faithful lab cluster with the real ESO controller and stand-ins for the outside secrets`, () => {
  let lab: LabCluster;
  let eso: LabExternalSecrets | undefined;
  let report: LabSyncReport;
  /** Before anything was deleted: the pods the kubelet could not start, and the bound pods not running. */
  let before: { stuck: StuckPod[]; notRunning: string[] };
  const results: CaseResult[] = [];
  const timings: string[] = [];
  const duringSync = new Map<string, { first: number; last: number }>();
  const syncLog: string[] = [];
  let runs = 0;

  beforeAll(async () => {
    if (missing.length > 0) throw new Error(`CI=true but ${missing.join(', ')} not built: .ci/run must build them`);
    const t0 = Date.now();
    lab = await LabCluster.start({ nodes: nodesFor(ENV, config.node), kubelet: 'faithful' });
    eso = await LabExternalSecrets.start(lab);
    await createOutsideStandIns(lab, config);
    timings.push(`lab started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const t1 = Date.now();
    // What the kubelet reports while the first sync runs (pods waiting on what a later step makes): logged, with when it was first and last seen.
    const sampler = setInterval(() => void lab.kubelet.stuck().then((list) => {
      const at = (Date.now() - t1) / 1000;
      for (const s of list) {
        const key = `${podId(s)} ${s.reason}: ${s.message}`;
        const seen = duringSync.get(key);
        duringSync.set(key, { first: seen?.first ?? at, last: at });
      }
    }).catch(() => undefined), 1_000);
    report = await syncToLab(lab, objects, { nodes: config.node.count, log: (line) => syncLog.push(`${((Date.now() - t1) / 1000).toFixed(1)} s ${line}`) }).finally(() => clearInterval(sampler));
    timings.push(`dist/${ENV} applied in ${((Date.now() - t1) / 1000).toFixed(1)} s (${report.applied} objects, unhealthy: ${report.unhealthy.join(', ') || 'none'})`);
    const externalSecrets = objects.filter((o) => o.object.kind === 'ExternalSecret').length;
    await lab.waitFor(`${externalSecrets} ExternalSecrets to be Ready`, async () => {
      const items = await lab.list('/apis/external-secrets.io/v1/externalsecrets');
      return items.length === externalSecrets && items.every((es) => es.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
    }, 120_000).catch((err) => console.log(`${err.message}\n${eso?.log()}`));
    // Every bound pod running (Job pods completed) and none stuck, or what is not, after a bounded wait.
    const snapshot = async () => {
      const pods = await lab.list('/api/v1/pods');
      const notRunning = pods.filter((p) => !isTerminal(p) && !isRunningReady(p)).map((p) => `${podId(p)}: ${p.status?.phase}${p.spec.nodeName ? '' : ' (unscheduled)'}`);
      return { stuck: await lab.kubelet.stuck(), notRunning };
    };
    await lab.waitFor('every pod running and none stuck', async () => {
      before = await snapshot();
      return before.stuck.length === 0 && before.notRunning.length === 0;
    }, 60_000).catch(() => undefined);
    timings.push(`settled after ${((Date.now() - t0) / 1000).toFixed(1)} s in all`);
  }, 600_000);

  afterAll(async () => {
    if (results.length > 0) {
      console.log([
        `lab ${ENV}: ${timings.join('; ')}`,
        `stuck while the first sync ran (seconds after it began):`,
        ...[...duringSync].map(([what, t]) => `  ${t.first.toFixed(0)}–${t.last.toFixed(0)} s ${what}`),
        `sync progress:`, ...syncLog.map((l) => `  ${l}`),
        ...results.map((r) => `  ${r.object}: ${r.pods} pod(s) of ${r.readers.join(', ')} stuck after ${(r.stuckMs / 1000).toFixed(1)} s with ${r.reasons.join(' / ')}; running again ${(r.recoverMs / 1000).toFixed(1)} s after the re-apply`),
      ].join('\n'));
    }
    await eso?.stop();
    await lab?.stop();
  });

  test('THEN the API server accepts every object and, before anything is deleted, every pod runs and the kubelet reports none stuck', () => {
    expect(report.errors).toEqual([]);
    expect(report.applied).toBe(objects.length);
    expect(before).toEqual({ stuck: [], notRunning: [] });
  });

  test('THEN the first sync leaves no pod waiting on an object that a later wave applies (Argo CD would wait for it forever): every Application is healthy in time', () => {
    // A pod waiting a moment for the ESO controller to make its Secret is a normal first install; one still waiting when its
    // Application's wait ends (60 s) holds the root's next waves, which may be the ones that would make the object.
    const waitedLong = [...duringSync].filter(([, t]) => t.last - t.first >= 30).map(([what, t]) => `${t.first.toFixed(0)}–${t.last.toFixed(0)} s ${what}`);
    expect({ unhealthy: report.unhealthy, waitedLong }).toEqual({ unhealthy: [], waitedLong: [] });
  });

  test('THEN the cases cover every ConfigMap and Secret of dist/ a pod template reads (an unread one, like a dashboard for the Grafana sidecar, is not a case)', () => {
    const inDist = objects.filter((o) => ['ConfigMap', 'Secret'].includes(o.object.kind)).map((o) => idOf(o.object));
    const read = new Set(podReferences(objects).map((r) => `${r.kind} ${r.namespace}/${r.name}`));
    expect(CASES.map((c) => `${c.kind} ${c.namespace}/${c.name}`)).toEqual(inDist.filter((id) => read.has(id)).sort());
    expect(CASES.length).toBeGreaterThan(0);
  });

  /** The live pods of one reader: a Deployment's or StatefulSet's own, or those of the Job run for it. */
  async function podsOf(reader: any, job: string | undefined): Promise<any[]> {
    const ns = reader.metadata.namespace;
    if (job !== undefined) return lab.list(`/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(`batch.kubernetes.io/job-name=${job}`)}`);
    const selector = Object.entries(reader.spec.selector.matchLabels as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');
    const pods = await lab.list(`/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`);
    return pods.filter((p) => p.metadata.ownerReferences?.some((o: any) => (reader.kind === 'StatefulSet' ? o.kind === 'StatefulSet' && o.name === reader.metadata.name : o.kind === 'ReplicaSet' && o.name.startsWith(`${reader.metadata.name}-`))));
  }

  /** How many pods a reader has once recreated: its replicas (an OrderedReady StatefulSet recreates ordinal 0 only while it is not ready); one per Job run. */
  async function expectedPods(reader: any): Promise<number> {
    if (!['Deployment', 'StatefulSet'].includes(reader.kind)) return 1;
    const live = (await lab.request('GET', await lab.objectUrl(reader))).body;
    const replicas = live.spec.replicas ?? 1;
    return reader.kind === 'StatefulSet' && (live.spec.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady' ? Math.min(1, replicas) : replicas;
  }

  /** A Job like the one a CronJob's schedule (or `kubectl create job --from=cronjob/...`) or the next sync of a hook Job makes. */
  function jobRun(reader: any, name: string): any {
    const spec = reader.kind === 'CronJob' ? reader.spec.jobTemplate.spec : reader.spec;
    const labels = reader.kind === 'CronJob' ? reader.spec.jobTemplate.metadata?.labels : reader.metadata.labels;
    return { apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: reader.metadata.namespace, labels, annotations: { 'lab.platform.io/run-of': idOf(reader) } }, spec };
  }

  /**
   * Removes `target` (remove), recreates the pods of its readers, checks that exactly those are
   * reported stuck with the kubelet's reason naming it, restores it (restore) and waits until they
   * run again (a Job's pod: completes).
   */
  async function breakAndRestore(target: ReferencedObject, remove: () => Promise<void>, restore: () => Promise<void>): Promise<void> {
    const name = `${target.kind} ${target.namespace}/${target.name}`;
    const readers = [...target.readers.keys()].map((id) => ({ id, object: byId.get(id)!, job: undefined as string | undefined }));
    const baseline = new Set(before.stuck.map(podId));
    const t0 = Date.now();
    await remove();
    let restored = false;
    try {
      const old = new Set<string>();
      for (const r of readers) {
        if (['Deployment', 'StatefulSet'].includes(r.object.kind)) {
          for (const p of await podsOf(r.object, undefined)) {
            old.add(p.metadata.uid);
            const res = await lab.request('DELETE', `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`);
            expect([podId(p), res.status]).toEqual([podId(p), 200]);
          }
        } else {
          r.job = `${r.object.metadata.name}`.slice(0, 40).replace(/-+$/, '') + `-stuck-${++runs}`;
          const res = await lab.request('POST', `/apis/batch/v1/namespaces/${r.object.metadata.namespace}/jobs`, jobRun(r.object, r.job));
          expect([r.job, res.status, res.body?.message]).toEqual([r.job, 201, undefined]);
        }
      }
      const want = new Map(await Promise.all(readers.map(async (r) => [r.id, await expectedPods(r.object)] as const)));
      const fresh = async () => new Map(await Promise.all(readers.map(async (r) => [r.id, (await podsOf(r.object, r.job)).filter((p) => !old.has(p.metadata.uid) && !p.metadata.deletionTimestamp)] as const)));
      let pods = new Map<string, any[]>();
      let stuck: StuckPod[] = [];
      // Done when every recreated pod is reported stuck, or as soon as one runs without the object (the assertions below then say which).
      await lab.waitFor(`the recreated pods of ${readers.map((r) => r.id).join(', ')} to be reported stuck`, async () => {
        pods = await fresh();
        stuck = await lab.kubelet.stuck();
        const reported = new Set(stuck.map(podId));
        const all = [...pods.values()].flat();
        if (all.some((p) => isRunningReady(p) || p.status?.phase === 'Succeeded')) return true;
        return readers.every((r) => pods.get(r.id)!.length === want.get(r.id) && pods.get(r.id)!.every((p) => p.spec.nodeName && reported.has(podId(p))));
      }, STUCK_WITHIN_MS).catch((err) => {
        throw new Error(`${name}: ${err.message}\nrecreated: ${JSON.stringify(Object.fromEntries([...pods].map(([k, v]) => [k, v.map((p) => `${p.metadata.name} ${p.status?.phase} ${p.spec.nodeName ?? 'unbound'}`)])))}\nstuck: ${JSON.stringify(stuck)}`);
      });
      const stuckMs = Date.now() - t0;
      // Exactly the kubelet's reasons, naming the object, for each recreated pod; no other pod is stuck.
      const readerPods = new Set<string>();
      for (const r of readers) {
        for (const p of pods.get(r.id)!) {
          readerPods.add(podId(p));
          const seen = stuck.filter((s) => podId(s) === podId(p));
          const live = (await lab.request('GET', `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`)).body;
          expect({ object: name, pod: podId(p), phase: live.status?.phase, stuck: sortStuck(seen) })
            .toEqual({ object: name, pod: podId(p), phase: 'Pending', stuck: sortStuck(expectedStuck(r.object, target)) });
          if (seen[0].reason === 'FailedMount') expect({ pod: podId(p), podIP: live.status.podIP }).toEqual({ pod: podId(p), podIP: undefined });
          else expect(live.status.podIP).toMatch(/^10\.42\./);
        }
      }
      expect({ object: name, othersStuck: stuck.filter((s) => !readerPods.has(podId(s)) && !baseline.has(podId(s))) }).toEqual({ object: name, othersStuck: [] });
      const reasons = [...new Set(stuck.filter((s) => readerPods.has(podId(s))).map((s) => `${s.reason} (${s.message})`))];

      const t1 = Date.now();
      restored = true;
      await restore();
      await lab.waitFor(`the pods of ${readers.map((r) => r.id).join(', ')} to run again`, async () => {
        const now = await fresh();
        const jobsDone = await Promise.all(readers.filter((r) => r.job).map(async (r) => ((await lab.request('GET', `/apis/batch/v1/namespaces/${r.object.metadata.namespace}/jobs/${r.job}`)).body.status?.succeeded ?? 0) >= 1));
        const running = readers.filter((r) => !r.job).every((r) => now.get(r.id)!.length === want.get(r.id) && now.get(r.id)!.every(isRunningReady));
        const stillStuck = (await lab.kubelet.stuck()).filter((s) => !baseline.has(podId(s)));
        return running && jobsDone.every(Boolean) && stillStuck.length === 0;
      }, RECOVER_WITHIN_MS).catch(async (err) => {
        throw new Error(`${name}: ${err.message}\nstuck: ${JSON.stringify(await lab.kubelet.stuck())}`);
      });
      const recoverMs = Date.now() - t1;
      results.push({ object: name, readers: readers.map((r) => r.id), pods: readerPods.size, reasons, stuckMs, recoverMs });
    } finally {
      // A failed case leaves the lab as it found it, for the next case.
      if (!restored) await restore().catch(() => undefined);
      for (const r of readers.filter((x) => x.job)) {
        await lab.request('DELETE', `/apis/batch/v1/namespaces/${r.object.metadata.namespace}/jobs/${r.job}`, { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' });
      }
    }
  }

  const secretsPath = (namespace: string, kind: string, name: string) => `/api/v1/namespaces/${namespace}/${kind === 'ConfigMap' ? 'configmaps' : 'secrets'}/${name}`;
  const gone = async (path: string, what: string) => lab.waitFor(`${what} to be gone`, async () => (await lab.request('GET', path)).status === 404, 30_000);

  test.each(CASES.map((c) => [`${c.kind} ${c.namespace}/${c.name}`, [...c.readers.entries()].map(([w, via]) => `${w} (${via})`).join(', '), c] as const))(
    'WHEN %s of dist/ is deleted and the pods of its readers are recreated THEN exactly those pods are stuck with the kubelet\'s reason naming it: %s; WHEN it is applied again THEN they run',
    async (_name, _readers, target) => {
      const path = secretsPath(target.namespace, target.kind, target.name);
      await breakAndRestore(target, async () => {
        expect((await lab.request('DELETE', path)).status).toBe(200);
        await gone(path, `${target.kind} ${target.namespace}/${target.name}`);
      }, async () => {
        const res = await lab.apply(byId.get(`${target.kind} ${target.namespace}/${target.name}`));
        expect(res.status).toBe(201);
      });
    }, STUCK_WITHIN_MS + RECOVER_WITHIN_MS + 30_000);

  test('WHEN a generated Secret (made by the ESO controller at run time) is deleted with its ExternalSecret THEN the pods reading it wait in CreateContainerConfigError; WHEN the ExternalSecret is applied again THEN the controller makes it and they run', async () => {
    expect(GENERATED).toBeDefined();
    expect(GENERATED_SOURCE).toBeDefined();
    const esPath = await lab.objectUrl(GENERATED_SOURCE);
    const path = secretsPath(GENERATED.namespace, 'Secret', GENERATED.name);
    await breakAndRestore(GENERATED, async () => {
      // Without its ExternalSecret nothing makes the Secret again (the garbage collector would delete it as its owner's dependent).
      // 200, or 202 while the controller's finalizer is still on it (it depends on how far the controller got).
      expect([200, 202]).toContain((await lab.request('DELETE', esPath, { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' })).status);
      await gone(esPath, 'the ExternalSecret');
      expect([200, 404]).toContain((await lab.request('DELETE', path)).status);
      await gone(path, `Secret ${GENERATED.namespace}/${GENERATED.name}`);
    }, async () => {
      expect([200, 201]).toContain((await lab.apply(GENERATED_SOURCE)).status);
      await lab.waitFor('the controller to make the Secret again', async () => (await lab.request('GET', path)).status === 200, 60_000).catch((err) => {
        throw new Error(`${err.message}\n${eso?.log()}`);
      });
    });
  }, STUCK_WITHIN_MS + RECOVER_WITHIN_MS + 90_000);
});
