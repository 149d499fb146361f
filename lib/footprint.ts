/**
 * What one environment reserves on its nodes: the requests of our own workloads in dist/ plus
 * the resources set in the values of every Helm release (Argo CD Applications). A Helm chart's
 * workload whose values set no requests or no memory limit is an error here, so every pod the
 * platform runs is sized. The budget of the node's size (lib/config/sizing.ts) is checked at
 * synth time: `budgetProblems` names the keys to change.
 */
import * as yaml from 'js-yaml';
import { ConfigError, ConfigProblem } from './config/errors';
import { parseQuantity } from './config/quantity';
import { PlatformConfig } from './config/schema';
import { serviceResourceKey } from './services/registry';
import { allocatable, BUDGETS, k3sReserved, SizeName, sizeOf } from './config/sizing';

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
  /** The config key that sets its requests, when its owner says (an add-on's descriptor). @default resourceKey() finds it */
  readonly key?: string;
}

export interface Footprint {
  readonly rows: FootprintRow[];
  /** Steady state: sum of pods × requests. */
  readonly cpu: number;
  readonly memory: number;
  /** nodes × allocatable (node size − k3s's reservation − the eviction threshold). */
  readonly capacity: { readonly cpu: number; readonly memory: number };
  /** nodes × k3s's reservation, left out of `capacity`. */
  readonly reserved: { readonly cpu: number; readonly memory: number };
  readonly size: SizeName;
  /** Share of `capacity` the steady-state requests may take (BUDGETS of the size). */
  readonly budget: { readonly cpu: number; readonly memory: number };
}

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

/** The custom resources whose pods prometheus-operator makes (a StatefulSet each): Prometheus (replicas × shards) and Alertmanager. */
const OPERATED_KINDS = ['Prometheus', 'Alertmanager'];

/**
 * Pods that prometheus-operator makes from rendered custom resources (inline-rendered
 * kube-prometheus-stack): the main container sized by the resource's `spec.resources`, plus the
 * config-reloader sidecar the operator adds, sized by its `--config-reloader-*` arguments (the chart's
 * `prometheusOperator.prometheusConfigReloader.resources`).
 */
export function operatedRows(objects: { chart: string; object: any }[]): FootprintRow[] {
  const operated = objects.filter(({ object: o }) => OPERATED_KINDS.includes(o.kind) && String(o.apiVersion).startsWith('monitoring.coreos.com/'));
  if (operated.length === 0) return [];
  const args: string[] = objects.flatMap(({ object: o }) => (o.kind === 'Deployment' ? o.spec.template.spec.containers.flatMap((c: any) => c.args ?? []) : []));
  const arg = (name: string) => args.find((a) => a.startsWith(`--config-reloader-${name}=`))?.split('=')[1];
  const reloader = { requests: { cpu: arg('cpu-request'), memory: arg('memory-request') }, limits: { memory: arg('memory-limit') } };
  return operated.map(({ chart, object: o }) => {
    const where = `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`;
    const perPod = sum([sized(where, o.spec?.resources), sized(`${where} config-reloader (prometheus-operator's --config-reloader-* arguments)`, reloader)]);
    const pods = (o.spec?.replicas ?? 1) * (o.kind === 'Prometheus' ? o.spec?.shards ?? 1 : 1);
    return { chart, workload: `${o.kind}/${o.metadata.name}`, pods, perNode: false, ...perPod, transient: false, source: 'object' as const };
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
  /** The config key that sets the requests of one of its workloads (by the extractor's workload name). @default none */
  readonly resourceKey?: (workload: string) => string;
}

/** Helm releases: Argo CD Applications with a Helm source and valuesObject. */
export function helmRows(objects: { chart: string; object: any }[], nodes: number, rules: readonly FootprintRule[]): FootprintRow[] {
  return objects
    .filter(({ object: o }) => o.kind === 'Application' && o.spec?.source?.chart)
    .flatMap(({ chart, object: o }) => {
      const name: string = o.spec.source.chart;
      const rule = rules.find((r) => r.chart === name);
      const extract = rule?.footprint;
      if (!extract) throw new Error(`Application ${o.metadata.name}: no footprint rule for chart ${name}; fix: give its add-on descriptor in lib/addons/ a footprint`);
      const values = o.spec.source.helm?.valuesObject ?? {};
      return extract(values, nodes, (part) => `Application ${o.metadata.name} (chart ${name}) values ${part}`).map((r) => ({
        ...r, chart, workload: `${o.metadata.name}/${r.workload}`, source: 'helm' as const, ...(rule.resourceKey ? { key: rule.resourceKey(r.workload) } : {}),
      }));
    });
}

/** `rules`: the footprint rule of every Helm chart in use (ADD_ONS of lib/addons/registry.ts). */
export function footprint(objects: { chart: string; object: any }[], config: PlatformConfig, rules: readonly FootprintRule[]): Footprint {
  const nodes = config.node.count;
  const rows = [...objectRows(objects, nodes), ...operatedRows(objects), ...helmRows(objects, nodes, rules)];
  const steady = rows.filter((r) => !r.transient);
  const perNode = allocatable(config.node);
  const reserved = k3sReserved(config.node);
  const size = sizeOf(config.node);
  return {
    rows,
    cpu: steady.reduce((s, r) => s + r.pods * r.cpu, 0),
    memory: steady.reduce((s, r) => s + r.pods * r.memory, 0),
    capacity: { cpu: nodes * perNode.cpu, memory: nodes * perNode.memory },
    reserved: { cpu: nodes * reserved.cpu, memory: nodes * reserved.memory },
    size,
    budget: BUDGETS[size],
  };
}

const mi = (bytes: number) => `${Math.round(bytes / 2 ** 20)}Mi`;
const m = (cores: number) => `${Math.round(cores * 1000)}m`;
const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)} %`;

/**
 * The budget of the environment's size, as configuration problems (empty when met): the share
 * used, the largest requests with the key that sets each, and the fix.
 */
export function budgetProblems(f: Footprint, config: PlatformConfig): ConfigProblem[] {
  const steady = f.rows.filter((r) => !r.transient);
  const largest = (pick: (r: FootprintRow) => number, unit: (n: number) => string) =>
    [...steady].sort((a, b) => pick(b) * b.pods - pick(a) * a.pods).slice(0, 4)
      .map((r) => `${r.workload} ${unit(pick(r) * r.pods)} (${resourceKey(r)})`).join(', ');
  const shape = `${config.node.count} × ${config.node.cpu} CPU / ${config.node.memory}`;
  const problems: ConfigProblem[] = [];
  for (const [resource, used, cap, unit] of [['memory', f.memory, f.capacity.memory, mi], ['cpu', f.cpu, f.capacity.cpu, m]] as const) {
    const share = f.budget[resource];
    if (used <= cap * share) continue;
    problems.push({
      key: 'node',
      value: config.node,
      message: `the requests take ${unit(used)} ${resource}, ${pct(used, cap)} of the allocatable ${unit(cap)} (${shape} after k3s's reservation), ` +
        `over the ${share * 100} % budget of a ${f.size} node (${unit(cap * share)}); largest: ${largest((r) => r[resource], unit)}; ` +
        `fix: lower those requests by ${unit(used - cap * share)} in the environment file, or run on a larger node (node.${resource === 'cpu' ? 'cpu' : 'memory'})`,
    });
  }
  // A rolling update starts the new pod before the old one stops (maxSurge): the node needs room for
  // the largest Deployment pod beside the steady state, or that rollout waits Pending forever.
  const surge = steady.filter((r) => r.workload.startsWith('Deployment/')).sort((a, b) => b.memory - a.memory)[0];
  const free = f.capacity.memory - f.memory;
  if (surge && problems.length === 0 && free < surge.memory) {
    problems.push({
      key: 'node',
      value: config.node,
      message: `leaves ${mi(free)} of memory beside the requests, less than the ${mi(surge.memory)} a rolling update of ${surge.workload} starts before stopping the old pod; ` +
        `fix: lower requests (largest: ${largest((r) => r.memory, mi)}) by ${mi(surge.memory - free)}, or run on a larger node (node.memory)`,
    });
  }
  return problems;
}

/** The footprint of rendered manifests (`<env>/<chart>/<file>` → YAML), as the synth holds them. */
export function footprintOfManifests(files: ReadonlyMap<string, string>, config: PlatformConfig, rules: readonly FootprintRule[]): Footprint {
  const objects = [...files].map(([file, text]) => ({ chart: file.split('/')[1], object: yaml.load(text) as any }));
  return footprint(objects, config, rules);
}

/** Throws the budget problems as a configuration error of `source` (the synth then writes nothing). */
export function assertBudget(f: Footprint, config: PlatformConfig, source: string): void {
  const problems = budgetProblems(f, config);
  if (problems.length > 0) throw new ConfigError(`${source} (footprint budget)`, problems);
}

/** The config key that sets a footprint row's requests (for the budget error). */
export function resourceKey(r: FootprintRow): string {
  const [owner, part] = r.workload.split('/');
  if (r.source === 'object') {
    if (r.chart === 'app') return `apps.${part}.resources`;
    // A built-in service's workloads name their keys in its descriptor (lib/services/registry.ts).
    return serviceResourceKey(r.chart, part) ?? 'monitoring.resources.statusPage';
  }
  // A Helm add-on's descriptor names its keys (HelmAddOn.resourceKey, lib/addons/).
  return r.key ?? `${owner} (its add-on descriptor names no key)`;
}

/** The footprint as a table (for `npm run bench -- footprint`). */
export function formatFootprint(env: string, f: Footprint): string {
  const lines = [`## footprint of ${env}: requests (pods × per pod)`, `  ${'chart'.padEnd(11)}${'workload'.padEnd(66)}${'pods'.padStart(5)}${'cpu'.padStart(8)}${'memory'.padStart(9)}`];
  for (const r of [...f.rows].sort((a, b) => a.chart.localeCompare(b.chart) || a.workload.localeCompare(b.workload))) {
    lines.push(`  ${r.chart.padEnd(11)}${(r.workload + (r.transient ? ' (transient)' : '')).padEnd(66)}${String(r.pods).padStart(5)}${m(r.pods * r.cpu).padStart(8)}${mi(r.pods * r.memory).padStart(9)}`);
  }
  const met = f.cpu <= f.capacity.cpu * f.budget.cpu && f.memory <= f.capacity.memory * f.budget.memory;
  lines.push(
    `  steady-state total${' '.repeat(59)}${m(f.cpu).padStart(12)}${mi(f.memory).padStart(9)}`,
    `  of ${m(f.capacity.cpu)} CPU / ${mi(f.capacity.memory)} allocatable (${f.size}; k3s reserves ${m(f.reserved.cpu)} / ${mi(f.reserved.memory)}): ` +
      `CPU ${pct(f.cpu, f.capacity.cpu)}, memory ${pct(f.memory, f.capacity.memory)} ` +
      `(budget ${f.budget.cpu * 100} % / ${f.budget.memory * 100} %: ${met ? 'met' : 'NOT met'})`,
  );
  return lines.join('\n');
}
