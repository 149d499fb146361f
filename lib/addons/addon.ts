/**
 * A Helm add-on, described once: its pinned chart, what it installs outside its namespace, its
 * pods and ports, its footprint rule, its values and its flows. The registry (./registry.ts)
 * lists the descriptors; the chart that hosts an add-on installs it with `installAddOns`, and
 * the AppProject, the sync waves, the footprint and the NetworkPolicies are derived from it.
 */
import { Construct } from 'constructs';
import { PlatformConfig } from '../config/schema';
import { CHART_VERSIONS } from '../config/versions';
import { HelmRelease } from '../constructs/helm-release';
import { AlertGroup } from '../constructs/monitoring/alert-rules';
import type { DashboardKit, DashboardRow } from '../constructs/monitoring/dashboards';
import { ProbeBackend, ProbeTarget } from '../constructs/monitoring/probes';
import { AllowFlows, FlowRule } from '../constructs/network-policy';
import { FootprintExtractor } from '../footprint';
import { HelmChartScope } from '../gitops/helm-scope';
import { chartWave, CRD_ADDONS } from '../gitops/sync-order';

/** Pods of one component of a release: the labels its chart gives them and the ports they listen on. */
export interface AddOnPods {
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: Readonly<Record<string, number>>;
}

/** What the chart hosting an add-on knows besides the config. */
export interface AddOnInputs {
  readonly config: PlatformConfig;
  /** Namespace the release installs into (`namespace(config)`). */
  readonly namespace: string;
  /**
   * The platform's S3 service (Loki's object store).
   * @default - none
   */
  readonly s3?: { readonly endpoint: string; readonly backend: ProbeBackend };
  /**
   * Every target the probers check.
   * @default none
   */
  readonly probeTargets?: readonly ProbeTarget[];
}

/** One NetworkPolicy on top of a namespace's default-deny, for pods of an add-on. */
export interface AddOnFlow {
  readonly name: string;
  readonly podLabels: Record<string, string>;
  /**
   * Namespace of the policy (an admit on the other side of a flow).
   * @default the release's namespace
   */
  readonly namespace?: string;
  /** @default none */
  readonly ingress?: FlowRule[];
  /** @default none */
  readonly egress?: FlowRule[];
}

export interface HelmAddOn<V extends object = object> extends HelmChartScope {
  /** Construct id in its host chart. */
  readonly id: string;
  /** Id of the chart (folder of dist/<env>/) whose folder holds the Application. */
  readonly host: string;
  /** Chart repository URL. */
  readonly repo: string;
  /** Chart name in the repository. */
  readonly chart: string;
  /** Exact chart version (from CHART_VERSIONS in lib/config/versions.ts). */
  readonly version: string;
  /** Helm release name (the Application's name; chart objects derive their names from it). */
  readonly releaseName: string;
  readonly namespace: (config: PlatformConfig) => string;
  /**
   * Ask for server-side apply in the release itself (CRD-bearing releases get it anyway from the sync policy).
   * @default false
   */
  readonly serverSideApply?: boolean;
  /** The pods the release runs, by component. */
  readonly pods: Readonly<Record<string, AddOnPods>>;
  /** Which values hold the resources of which workload, and how many pods run (lib/footprint.ts). */
  readonly footprint: FootprintExtractor;
  readonly values: (inputs: AddOnInputs) => V;
  /**
   * The release's NetworkPolicies.
   * @default none
   */
  readonly flows?: (inputs: AddOnInputs) => AddOnFlow[];
  /**
   * Alert rules on the metrics the release produces (thresholds from `config.alerts`); the
   * monitoring chart collects them into PrometheusRules `platform-<area>`.
   * @default none
   */
  readonly alerts?: (config: PlatformConfig) => AlertGroup[];
  /**
   * Rows of the platform overview dashboard on the release's metrics.
   * @default none
   */
  readonly dashboardRows?: (kit: DashboardKit) => DashboardRow[];
}

/** A chart in its repository, at the exact version CHART_VERSIONS pins for it. */
export const chartPin = (repo: string, chart: keyof typeof CHART_VERSIONS) => ({ repo, chart, version: CHART_VERSIONS[chart] });

/** The Argo CD Application of one add-on, with its scope, and its NetworkPolicies. */
export function installAddOn<V extends object>(scope: Construct, host: string, addOn: HelmAddOn<V>, inputs: Omit<AddOnInputs, 'namespace'>): HelmRelease<V> {
  const all: AddOnInputs = { ...inputs, namespace: addOn.namespace(inputs.config) };
  const release = new HelmRelease<V>(scope, addOn.id, {
    repository: addOn.repo, chart: addOn.chart, version: addOn.version, releaseName: addOn.releaseName, namespace: all.namespace,
    values: addOn.values(all), serverSideApply: addOn.serverSideApply,
    // The sync policy (lib/gitops/sync-policy.ts) sets the final wave from SYNC_ORDER.
    syncWave: chartWave(addOn.crdGroups.length > 0 ? CRD_ADDONS : host),
    scope: { crdGroups: addOn.crdGroups, clusterKinds: addOn.clusterKinds, extraNamespaces: addOn.extraNamespaces },
  });
  for (const flow of addOn.flows?.(all) ?? []) {
    new AllowFlows(scope, `${addOn.id}-flows-${flow.name}`, { ...flow, namespace: flow.namespace ?? all.namespace });
  }
  return release;
}

/** Installs every add-on of `addOns` hosted by the chart `host` (by its id). */
export function installAddOns(host: Construct, addOns: readonly HelmAddOn[], inputs: Omit<AddOnInputs, 'namespace'>): HelmRelease<object>[] {
  const id = host.node.id;
  return addOns.filter((a) => a.host === id).map((a) => installAddOn(host, id, a, inputs));
}

/** The release of `addOn` among `releases`, typed by its values (undefined when it is not installed). */
export function releaseOf<V extends object>(releases: readonly HelmRelease<object>[], addOn: HelmAddOn<V>): HelmRelease<V> {
  return releases.find((r) => r.node.id === addOn.id) as HelmRelease<V>;
}
