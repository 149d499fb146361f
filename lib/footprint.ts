/**
 * What one environment reserves on its nodes: the requests of our own workloads in dist/ plus
 * the resources set in the values of every Helm release (Argo CD Applications). A Helm chart's
 * workload whose values set no requests or no memory limit is an error here, so every pod the
 * platform runs is sized.
 */
import { parseQuantity } from './config/quantity';
import { PlatformConfig } from './config/schema';

export interface FootprintRow {
  /** dist/ folder of the object or of the Application. */
  readonly chart: string;
  readonly workload: string;
  /** Pods at steady state (DaemonSets: one per node). */
  readonly pods: number;
  /** One pod on every node (a DaemonSet), rather than `pods` replicas placed by the scheduler. */
  readonly perNode: boolean;
  /** Per pod, summed over its containers: cores and bytes. */
  readonly cpu: number;
  readonly memory: number;
  /** Jobs and hooks: they run now and then and are left out of the steady-state total. */
  readonly transient: boolean;
  readonly source: 'object' | 'helm';
}

export interface Footprint {
  readonly rows: FootprintRow[];
  /** Steady state: sum of pods × requests. */
  readonly cpu: number;
  readonly memory: number;
  /** nodes × node size. */
  readonly capacity: { readonly cpu: number; readonly memory: number };
  /** Share of the capacity the requests may take. */
  readonly limitShare: number;
}

/** Requests may reserve at most this share of the cluster: the rest is headroom for bursts, rollouts and a node's own daemons. */
export const FOOTPRINT_LIMIT = 0.5;

interface Resources {
  requests?: { cpu?: string; memory?: string };
  limits?: { memory?: string };
}

/** Requests of one container (or Helm values block); an error naming `where` when it is not sized. */
export function sized(where: string, r: Resources | undefined): { cpu: number; memory: number } {
  if (!r?.requests?.cpu || !r.requests.memory || !r.limits?.memory) {
    throw new Error(`${where}: no CPU/memory requests or no memory limit; fix: set resources.requests.cpu, .memory and resources.limits.memory`);
  }
  return { cpu: parseQuantity(r.requests.cpu), memory: parseQuantity(r.requests.memory) };
}

const sum = (parts: { cpu: number; memory: number }[]) => parts.reduce((a, b) => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory }), { cpu: 0, memory: 0 });

/** Our own workloads: Deployments, StatefulSets, DaemonSets, Jobs and CronJobs. */
export function objectRows(objects: { chart: string; object: any }[], nodes: number): FootprintRow[] {
  const hpaMin = new Map<string, number>();
  for (const { object: o } of objects) {
    if (o.kind === 'HorizontalPodAutoscaler') hpaMin.set(`${o.metadata.namespace}/${o.spec.scaleTargetRef.name}`, o.spec.minReplicas ?? 1);
  }
  return objects.flatMap(({ chart, object: o }): FootprintRow[] => {
    const template = o.spec?.template ?? o.spec?.jobTemplate?.spec?.template;
    if (!template || !['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(o.kind)) return [];
    const where = `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`;
    const perPod = sum((template.spec.containers ?? []).map((c: any) => sized(`${where} container ${c.name}`, c.resources)));
    const pods = o.kind === 'DaemonSet' ? nodes
      : o.kind === 'Job' || o.kind === 'CronJob' ? 1
      : o.spec.replicas ?? hpaMin.get(`${o.metadata.namespace}/${o.metadata.name}`) ?? 1;
    return [{ chart, workload: `${o.kind}/${o.metadata.name}`, pods, perNode: o.kind === 'DaemonSet', ...perPod, transient: o.kind === 'Job' || o.kind === 'CronJob', source: 'object' }];
  });
}

/**
 * A Helm chart's footprint rule: which values hold the resources of which workload, and how many
 * pods run. Only the components our values enable. `where(part)` names a values key in errors.
 */
export type FootprintExtractor = (values: any, nodes: number, where: (part: string) => string) => Omit<FootprintRow, 'chart' | 'source'>[];

/** One workload row of an extractor: pods × the sum of its containers' requests. */
export const row = (workload: string, pods: number, parts: { cpu: number; memory: number }[], transient = false) => ({ workload, pods, perNode: false, ...sum(parts), transient });

/** A DaemonSet of a chart: one pod on every node. */
export const perNodeRow = (workload: string, nodes: number, parts: { cpu: number; memory: number }[]) => ({ ...row(workload, nodes, parts), perNode: true });

/** The footprint rule of each chart (the add-on descriptors of lib/addons/ are such rules). */
export interface FootprintRule {
  readonly chart: string;
  readonly footprint: FootprintExtractor;
}

/** Helm releases: Argo CD Applications with a Helm source and valuesObject. */
export function helmRows(objects: { chart: string; object: any }[], nodes: number, rules: readonly FootprintRule[]): FootprintRow[] {
  return objects
    .filter(({ object: o }) => o.kind === 'Application' && o.spec?.source?.chart)
    .flatMap(({ chart, object: o }) => {
      const name: string = o.spec.source.chart;
      const extract = rules.find((r) => r.chart === name)?.footprint;
      if (!extract) throw new Error(`Application ${o.metadata.name}: no footprint rule for chart ${name}; fix: give its add-on descriptor in lib/addons/ a footprint`);
      const values = o.spec.source.helm?.valuesObject ?? {};
      return extract(values, nodes, (part) => `Application ${o.metadata.name} (chart ${name}) values ${part}`).map((r) => ({
        ...r, chart, workload: `${o.metadata.name}/${r.workload}`, source: 'helm' as const,
      }));
    });
}

/** `rules`: the footprint rule of every Helm chart in use (ADD_ONS of lib/addons/registry.ts). */
export function footprint(objects: { chart: string; object: any }[], config: PlatformConfig, rules: readonly FootprintRule[]): Footprint {
  const nodes = config.cluster.nodes;
  const rows = [...objectRows(objects, nodes), ...helmRows(objects, nodes, rules)];
  const steady = rows.filter((r) => !r.transient);
  return {
    rows,
    cpu: steady.reduce((s, r) => s + r.pods * r.cpu, 0),
    memory: steady.reduce((s, r) => s + r.pods * r.memory, 0),
    capacity: { cpu: nodes * parseQuantity(config.cluster.nodeCpu), memory: nodes * parseQuantity(config.cluster.nodeMemory) },
    limitShare: FOOTPRINT_LIMIT,
  };
}

/** The footprint as a table (for `npm run bench -- footprint`). */
export function formatFootprint(env: string, f: Footprint): string {
  const mi = (bytes: number) => `${Math.round(bytes / 2 ** 20)}Mi`;
  const m = (cores: number) => `${Math.round(cores * 1000)}m`;
  const lines = [`## footprint of ${env}: requests (pods × per pod)`, `  ${'chart'.padEnd(11)}${'workload'.padEnd(66)}${'pods'.padStart(5)}${'cpu'.padStart(8)}${'memory'.padStart(9)}`];
  for (const r of [...f.rows].sort((a, b) => a.chart.localeCompare(b.chart) || a.workload.localeCompare(b.workload))) {
    lines.push(`  ${r.chart.padEnd(11)}${(r.workload + (r.transient ? ' (transient)' : '')).padEnd(66)}${String(r.pods).padStart(5)}${m(r.pods * r.cpu).padStart(8)}${mi(r.pods * r.memory).padStart(9)}`);
  }
  const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)} %`;
  lines.push(
    `  steady-state total${' '.repeat(59)}${m(f.cpu).padStart(12)}${mi(f.memory).padStart(9)}`,
    `  of ${m(f.capacity.cpu)} CPU / ${mi(f.capacity.memory)}: CPU ${pct(f.cpu, f.capacity.cpu)}, memory ${pct(f.memory, f.capacity.memory)} ` +
      `(limit ${f.limitShare * 100} %: ${f.cpu <= f.capacity.cpu * f.limitShare && f.memory <= f.capacity.memory * f.limitShare ? 'met' : 'NOT met'})`,
  );
  return lines.join('\n');
}
