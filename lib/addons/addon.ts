/**
 * A Helm add-on, described once: its pinned chart, what it installs outside its namespace, its
 * pods and ports, its footprint rule, its values and its flows. The registry (./registry.ts)
 * lists the descriptors; the chart that hosts an add-on installs it with `installAddOns`, and
 * the AppProject, the sync waves, the footprint and the NetworkPolicies are derived from it.
 */
import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { chartRepositoryOf, renderModeOf } from '../config/helm';
import { PlatformConfig } from '../config/schema';
import { CHART_VERSIONS } from '../config/versions';
import { HelmRelease } from '../constructs/helm-release';
import { AlertGroup } from '../constructs/monitoring/alert-rules';
import type { DashboardKit, DashboardRow } from '../constructs/monitoring/dashboards';
import { ProbeBackend, ProbeTarget } from '../constructs/monitoring/probes';
import { AllowFlows, FlowRule } from '../constructs/network-policy';
import { FootprintExtractor } from '../footprint';
import { HelmChartScope } from '../gitops/helm-scope';
import { PRODUCES_SECRETS_ANNOTATION } from '../gitops/secret-producers';
import { ARGOCD_CHART } from '../gitops/placement';
import { chartWave, CRD_ADDONS, CRD_ADDONS_ON_MONITORING, CRD_ADDONS_ON_SECRETS } from '../gitops/sync-order';
import { assertChartsFitKubernetes, InlineAddOnChart, inlineRender } from './inline';
import { KubernetesNeed } from './kubernetes';

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

/**
 * A Secret the chart does not render but one of its objects creates at run time (a Helm hook Job
 * that generates a certificate or a password, a controller): the pods that read it need no
 * declaration under `secrets`. Inline rendering checks that the producer is rendered and marks it
 * (PRODUCES_SECRETS_ANNOTATION), which the secret checks read.
 */
export interface RuntimeSecret {
  /** Name of the Secret, in the release namespace. */
  readonly name: string;
  /** The rendered object that creates it. */
  readonly producer: { readonly kind: string; readonly name: string };
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
  /**
   * Its pods read Secrets that the platform generates in the `secrets` chart (wave -5), so a CRD-bearing
   * add-on syncs after it (CRD_ADDONS_ON_SECRETS) instead of with the other CRD add-ons (wave -10).
   * @default false
   */
  readonly readsGeneratedSecrets?: boolean;
  /**
   * Its chart renders objects of the monitoring CRDs (a ServiceMonitor), so a CRD-bearing add-on syncs
   * after kube-prometheus-stack (CRD_ADDONS_ON_MONITORING).
   * @default false
   */
  readonly rendersMonitoringObjects?: boolean;
  /**
   * Secrets the chart's hooks or controllers create at run time (checked and marked when rendered inline).
   * @default none
   */
  readonly runtimeSecrets?: readonly RuntimeSecret[];
  /**
   * The oldest Kubernetes the chart works on, and why (its Chart.yaml `kubeVersion`, or an API
   * feature of its objects); test/pinned-charts.test.ts derives it from the packed chart.
   * @default - no need beyond the platform's own (lib/addons/kubernetes.ts)
   */
  readonly kubernetes?: KubernetesNeed;
  /** The pods the release runs, by component. */
  readonly pods: Readonly<Record<string, AddOnPods>>;
  /** Which values hold the resources of which workload, and how many pods run (lib/footprint.ts). */
  readonly footprint: FootprintExtractor;
  /**
   * The config key that sets the requests of each of its workloads (the footprint's budget error names it).
   * @default the error names the release and says the descriptor gives no key
   */
  readonly resourceKey?: (workload: string) => string;
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

/** The SYNC_ORDER step of a CRD-bearing add-on (undefined for the others: they sync with their host chart). */
export function crdAddOnStep(addOn: HelmAddOn<any>): string | undefined {
  if (addOn.crdGroups.length === 0) return undefined;
  return addOn.rendersMonitoringObjects ? CRD_ADDONS_ON_MONITORING : addOn.readsGeneratedSecrets ? CRD_ADDONS_ON_SECRETS : CRD_ADDONS;
}

/**
 * One add-on with its NetworkPolicies: an Argo CD Application in the host chart (`helm.render:
 * application`), or (`inline`) the chart's objects rendered from the chart cache into a chart of
 * their own, `dist/<env>/<add-on id>/`, whose Application has the wave the add-on's Application
 * would have. Argo CD's own chart (host `argocd`) renders into the argocd folder, which the root syncs.
 * `crdGroups`: API groups of every add-on's CRDs, for the chart's `.Capabilities.APIVersions`.
 */
export function installAddOn<V extends object>(
  scope: Construct, host: string, addOn: HelmAddOn<V>, inputs: Omit<AddOnInputs, 'namespace'>, crdGroups: readonly string[] = addOn.crdGroups,
): HelmRelease<V> {
  const all: AddOnInputs = { ...inputs, namespace: addOn.namespace(inputs.config) };
  const wave = chartWave(crdAddOnStep(addOn) ?? host);
  const inline = renderModeOf(inputs.config.helm, addOn.id) === 'inline';
  const selfHosted = host === ARGOCD_CHART;
  const render = inline ? inlineRender(inputs.config, addOn.id, addOn, crdGroups) : undefined;
  const target = inline && !selfHosted ? new InlineAddOnChart(Chart.of(scope).node.scope!, addOn.id, { syncWave: wave }) : scope;
  const release = new HelmRelease<V>(target, addOn.id, {
    repository: chartRepositoryOf(inputs.config.helm, addOn.repo), chart: addOn.chart, version: addOn.version, releaseName: addOn.releaseName, namespace: all.namespace,
    values: addOn.values(all), serverSideApply: addOn.serverSideApply,
    // Application mode: the sync policy (lib/gitops/sync-policy.ts) sets the final wave from SYNC_ORDER.
    // Inline: the folder's Application carries the wave; inside the argocd folder, Argo CD's objects sync with the project.
    syncWave: !inline ? wave : selfHosted ? chartWave(ARGOCD_CHART) : 0,
    scope: { crdGroups: addOn.crdGroups, clusterKinds: addOn.clusterKinds, extraNamespaces: addOn.extraNamespaces },
    ...(render ? { render: 'inline' as const, ...render } : {}),
  });
  if (render) markRuntimeSecrets(addOn, release);
  for (const flow of addOn.flows?.(all) ?? []) {
    new AllowFlows(scope, `${addOn.id}-flows-${flow.name}`, { ...flow, namespace: flow.namespace ?? all.namespace });
  }
  return release;
}

/**
 * Annotates the object that creates each of the add-on's runtime Secrets, or fails naming the
 * producer the chart no longer renders (a chart upgrade renamed or dropped it).
 */
function markRuntimeSecrets(addOn: HelmAddOn<any>, release: HelmRelease<any>): void {
  const objects = release.renderedObjects;
  const byProducer = new Map<ApiObject, string[]>();
  for (const secret of addOn.runtimeSecrets ?? []) {
    const producer = objects.find((o) => o.kind === secret.producer.kind && o.metadata.name === secret.producer.name);
    if (producer === undefined) {
      throw new Error(
        `add-on ${addOn.id}: chart ${addOn.chart} ${addOn.version} renders no ${secret.producer.kind} ${secret.producer.name}, which runtimeSecrets names as the creator of Secret ${secret.name}; ` +
          `fix: find what creates ${secret.name} in this chart version and correct runtimeSecrets of the ${addOn.id} descriptor in lib/addons/`,
      );
    }
    byProducer.set(producer, [...(byProducer.get(producer) ?? []), secret.name]);
  }
  for (const [producer, names] of byProducer) producer.metadata.addAnnotation(PRODUCES_SECRETS_ANNOTATION, names.join(','));
}

/** Installs every add-on of `addOns` hosted by the chart `host` (by its id). */
export function installAddOns(host: Construct, addOns: readonly HelmAddOn[], inputs: Omit<AddOnInputs, 'namespace'>): HelmRelease<object>[] {
  const id = host.node.id;
  // Every add-on at once (each host chart passes the whole list): one error lists every chart too new for helm.kubeVersion.
  assertChartsFitKubernetes(inputs.config, addOns);
  const crdGroups = addOns.flatMap((a) => a.crdGroups);
  return addOns.filter((a) => a.host === id).map((a) => installAddOn(host, id, a, inputs, crdGroups));
}

/** The release of `addOn` among `releases`, typed by its values (undefined when it is not installed). */
export function releaseOf<V extends object>(releases: readonly HelmRelease<object>[], addOn: HelmAddOn<V>): HelmRelease<V> {
  return releases.find((r) => r.node.id === addOn.id) as HelmRelease<V>;
}
