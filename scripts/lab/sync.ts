/**
 * Applies dist/<env>/ to a lab cluster as Argo CD would: server-side apply with field manager
 * `argocd-controller`, in Argo CD's order (Application waves; inside each, PreSync hooks, Sync,
 * PostSync hooks, object waves, kinds), waiting at the end of each Application for its workloads
 * to be ready and its hook Jobs to complete, as Argo CD waits for Healthy before the next wave.
 * Helm add-ons rendered as Applications (`helm.render: application`) cannot be rendered here: for
 * each, placeholder workloads carry the requests the footprint model reads from its values, so the
 * scheduler sees the whole load. Inline-rendered add-ons are real objects of dist/ and applied as such.
 */
import * as path from 'path';
import { argoSyncOrder, DistObject, OrderedObject } from '../../lib/gitops/argo-order';
import { objectId } from '../../lib/gitops/verify';
import { ADD_ONS } from '../../lib/addons/registry';
import { FootprintRow, helmRows } from '../../lib/footprint';
import { parseQuantity } from '../../lib/config/quantity';
import { loadDocuments } from '../../lib/validation/validate-dist';
import { LabCluster } from './cluster';

export interface LabSyncReport {
  /** Objects of dist/ accepted by the API server. */
  readonly applied: number;
  /** Objects refused, with the API server's message. */
  readonly errors: string[];
  /** Every `Warning` header the API server sent, with the object it came with. */
  readonly warnings: string[];
  /** Placeholder workloads created for Helm add-ons: namespace/name → the footprint row. */
  readonly placeholders: { namespace: string; name: string; row: FootprintRow }[];
  /** Applications whose workloads were not ready in time (pods not admitted or not scheduled). */
  readonly unhealthy: string[];
  readonly order: OrderedObject[];
}

export const PLACEHOLDER_LABEL = 'lab.platform.io/placeholder';

/** dist/<env>/ as DistObjects (`file` relative to dist/). */
export function loadDist(distDir: string, env: string): DistObject[] {
  return loadDocuments(path.join(distDir, env)).map(({ file, object }) => ({ file: path.relative(distDir, file).split(path.sep).join('/'), object }));
}


export async function syncToLab(lab: LabCluster, objects: readonly DistObject[], options: { nodes: number; log?: (line: string) => void; healthTimeoutMs?: number }): Promise<LabSyncReport> {
  const log = options.log ?? (() => undefined);
  const order = argoSyncOrder(objects);
  const errors: string[] = [];
  const warnings: string[] = [];
  const placeholders: LabSyncReport['placeholders'] = [];
  const unhealthy: string[] = [];
  let applied = 0;

  // Bootstrap step 1 of the README: Argo CD is installed with `helm install -n argocd --create-namespace`.
  await lab.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'argocd' } }, { fieldManager: 'helm' });

  // One unit per Application and wave: the root syncs the add-on Applications at their own waves.
  const unitOf = (o: OrderedObject) => `${o.application} (wave ${o.applicationWave})`;
  for (const application of [...new Set(order.map(unitOf))]) {
    const steps = order.filter((o) => unitOf(o) === application);
    for (const phase of ['PreSync', 'Sync', 'PostSync'] as const) {
      const batch = steps.filter((s) => s.phase === phase);
      for (const step of batch) {
        const res = await lab.apply(step.object).catch((err: Error) => ({ status: 0, body: { message: err.message }, warnings: [] as string[] }));
        for (const w of res.warnings) warnings.push(`${objectId(step.object)} (${step.file}): ${w}`);
        if (res.status >= 300 || res.status === 0) {
          errors.push(`${objectId(step.object)} (${step.file}): ${res.status} ${res.body?.message ?? JSON.stringify(res.body)}`);
          continue;
        }
        applied++;
        if (step.object.kind === 'Application' && step.object.spec?.source?.chart) {
          placeholders.push(...(await createPlaceholders(lab, step, options.nodes, errors)));
        }
      }
      // Hooks and workloads of this phase settle before the next phase, as Argo CD waits for them.
      const ok = await waitSettled(lab, batch.map((s) => s.object), options.healthTimeoutMs ?? 60_000);
      if (!ok) unhealthy.push(`${application} (${phase})`);
    }
    log(`lab sync: ${application} applied (${steps.length} objects)`);
  }
  return { applied, errors, warnings, placeholders, unhealthy, order };
}

/** Deployments, StatefulSets and DaemonSets ready; Jobs complete. False after the timeout. */
async function waitSettled(lab: LabCluster, objects: any[], timeoutMs: number): Promise<boolean> {
  const workloads = objects.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.kind));
  if (workloads.length === 0) return true;
  try {
    await lab.waitFor(`${workloads.length} workload(s) to be ready`, async () => {
      for (const w of workloads) {
        const live = (await lab.request('GET', await lab.objectUrl(w))).body;
        if (!isReady(live)) return false;
      }
      return true;
    }, timeoutMs);
    return true;
  } catch {
    return false;
  }
}

export function isReady(live: any): boolean {
  const s = live?.status ?? {};
  switch (live?.kind) {
    case 'Deployment':
    case 'StatefulSet':
      return (s.observedGeneration ?? 0) >= (live.metadata.generation ?? 1) && (s.readyReplicas ?? 0) >= (live.spec.replicas ?? 1);
    case 'DaemonSet':
      return s.desiredNumberScheduled > 0 && s.numberReady === s.desiredNumberScheduled;
    case 'Job':
      return (s.succeeded ?? 0) >= 1;
    default:
      return true;
  }
}

/**
 * Workloads that reserve what one Helm add-on's values request: a Deployment per footprint row
 * (a DaemonSet for per-node rows) of `pause` containers, Pod Security restricted, in the
 * Application's destination namespace. Transient rows (hook Jobs) are left out, as in the footprint.
 */
async function createPlaceholders(lab: LabCluster, step: OrderedObject, nodes: number, errors: string[]) {
  const app = step.object;
  const namespace: string = app.spec.destination.namespace;
  const rows = helmRows([{ chart: step.file.split('/')[1], object: app }], nodes, ADD_ONS).filter((r) => !r.transient);
  const made: LabSyncReport['placeholders'] = [];
  for (const row of rows) {
    const name = `placeholder-${row.workload.replace(/[^a-z0-9-]+/gi, '-').toLowerCase()}`.slice(0, 63).replace(/-+$/, '');
    const labels = { [PLACEHOLDER_LABEL]: name };
    const template = {
      metadata: { labels },
      spec: {
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{
          name: 'reserve', image: 'registry.k8s.io/pause:3.10',
          resources: { requests: { cpu: `${Math.round(row.cpu * 1000)}m`, memory: `${Math.ceil(row.memory / 2 ** 20)}Mi` }, limits: { memory: `${Math.ceil(row.memory / 2 ** 20)}Mi` } },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        }],
      },
    };
    const object = row.perNode
      ? { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name, namespace, labels }, spec: { selector: { matchLabels: labels }, template } }
      : { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, labels }, spec: { replicas: row.pods, selector: { matchLabels: labels }, template } };
    const res = await lab.apply(object, { fieldManager: 'lab-placeholder' });
    if (res.status >= 300) errors.push(`placeholder ${namespace}/${name} for ${row.workload}: ${res.status} ${res.body?.message}`);
    else made.push({ namespace, name, row });
  }
  return made;
}

/** What the scheduler placed on one node: the summed requests of its pods against its allocatable. */
export interface NodeRequests {
  readonly node: string;
  readonly pods: number;
  /** Cores and bytes. */
  readonly requested: { readonly cpu: number; readonly memory: number };
  readonly allocatable: { readonly cpu: number; readonly memory: number };
}

/**
 * Per node, the requests of the pods bound to it (as the scheduler counts them: each container,
 * or the largest init container when bigger) against the node's allocatable. `include` picks the
 * pods (default: all that still hold their requests, i.e. not Succeeded or Failed).
 */
export async function nodeRequests(lab: LabCluster, include: (pod: any) => boolean = () => true): Promise<NodeRequests[]> {
  const q = (v: string | undefined) => (v ? parseQuantity(v) : 0);
  const sum = (cs: any[] | undefined, key: 'cpu' | 'memory') => (cs ?? []).reduce((n, c) => n + q(c.resources?.requests?.[key]), 0);
  const maxOf = (cs: any[] | undefined, key: 'cpu' | 'memory') => Math.max(0, ...(cs ?? []).map((c) => q(c.resources?.requests?.[key])));
  const pods = (await lab.list('/api/v1/pods')).filter((p) => p.spec.nodeName && !['Succeeded', 'Failed'].includes(p.status?.phase) && include(p));
  // Every node has its allocatable: LabCluster.start returns only once kwok reports it (createNodes).
  const nodes = await lab.list('/api/v1/nodes');
  return nodes.map((n) => {
    const mine = pods.filter((p) => p.spec.nodeName === n.metadata.name);
    const requested = (key: 'cpu' | 'memory') => mine.reduce((t, p) => t + Math.max(sum(p.spec.containers, key), maxOf(p.spec.initContainers, key)), 0);
    return {
      node: n.metadata.name, pods: mine.length,
      requested: { cpu: requested('cpu'), memory: requested('memory') },
      allocatable: { cpu: q(n.status.allocatable.cpu), memory: q(n.status.allocatable.memory) },
    };
  });
}

/** One line per node: "node: N pods, requested cpu / allocatable (x %), memory …". */
export function formatNodeRequests(rows: readonly NodeRequests[]): string[] {
  const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)} %`;
  return rows.map((r) =>
    `${r.node}: ${r.pods} pods; CPU ${Math.round(r.requested.cpu * 1000)}m of ${Math.round(r.allocatable.cpu * 1000)}m allocatable (${pct(r.requested.cpu, r.allocatable.cpu)}), ` +
      `memory ${Math.round(r.requested.memory / 2 ** 20)}Mi of ${Math.round(r.allocatable.memory / 2 ** 20)}Mi (${pct(r.requested.memory, r.allocatable.memory)})`);
}
