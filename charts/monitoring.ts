import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { PlatformConfig } from '../lib/config/schema';
import { clusterPeers, isSecondary } from '../lib/config/shared-cluster';
import { AllowFlows } from '../lib/constructs/network-policy';
import { IMAGES } from '../lib/config/versions';
import { HelmAddOn, installAddOns, releaseOf } from '../lib/addons/addon';
import { alloy, AlloyValues } from '../lib/addons/alloy';
import { GRAFANA_ADMIN_KEYS, GRAFANA_SIDECAR_LABELS, KPS, kubePrometheusStack, KubePrometheusStackValues, alertmanagerSecretRefs } from '../lib/addons/kube-prometheus-stack';
import { loki, LOKI_S3_SECRET_KEYS, lokiUrl, LokiValues } from '../lib/addons/loki';
import { BLACKBOX, blackboxExporter, BlackboxValues } from '../lib/addons/prometheus-blackbox-exporter';
import { ADD_ONS } from '../lib/addons/registry';
import { TRAEFIK_PORTS } from '../lib/addons/traefik';
import { EdgeAttachment, PublicIngress } from '../lib/constructs/edge/public-ingress';
import { HelmRelease, SYNC_WAVE_ANNOTATION } from '../lib/constructs/helm-release';
import { MonitoringFlows } from '../lib/constructs/monitoring/flows';
import { PROBER_LABELS, serviceHost } from '../lib/constructs/monitoring/names';
import { ProbeBackend, Probes, ProbeTarget } from '../lib/constructs/monitoring/probes';
import { StatusPage } from '../lib/constructs/monitoring/status-page';
import { PlatformAlertRules, runbookPageUrl } from '../lib/constructs/monitoring/alert-rules';
import { PlatformDashboards } from '../lib/constructs/monitoring/dashboards';
import { IMonitoringContributor } from '../lib/constructs/monitoring/contributions';

export interface MonitoringEdge {
  readonly namespace: string;
  /** For public pages (the status page). */
  readonly public: EdgeAttachment;
  /** For admin UIs (Grafana: adds the admin IP allow-list). */
  readonly admin: EdgeAttachment;
  /** Pods of the ingress controller, for the NetworkPolicies on both sides. */
  readonly traefikPodLabels: Record<string, string>;
}

export interface MonitoringChartProps {
  readonly config: PlatformConfig;
  readonly edge: MonitoringEdge;
  /** In-cluster health checks (apps, data services), built from the other charts' attributes. */
  readonly targets: readonly ProbeTarget[];
  /** Public hosts served by the edge elsewhere; their certificates are checked (this chart adds its own). */
  readonly publicHosts: readonly string[];
  /** Owners of alert rules and dashboard rows (the data services). @default none */
  readonly contributors?: readonly IMonitoringContributor[];
  /** The platform's S3 service, for `monitoring.loki.storage.type: s3`. */
  readonly s3: { readonly endpoint: string; readonly backend: ProbeBackend };
  /**
   * Helm add-ons; this chart installs those whose `host` is its id.
   * @default ADD_ONS (lib/addons/registry.ts)
   */
  readonly addOns?: readonly HelmAddOn[];
}

/** Objects of the add-ons' kinds: Argo CD retries them until the CRDs exist. */
const CUSTOM_RESOURCE_ANNOTATIONS = {
  [SYNC_WAVE_ANNOTATION]: '0',
  'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true',
};

/**
 * Monitoring: kube-prometheus-stack (Prometheus, Alertmanager, Grafana, node-exporter,
 * kube-state-metrics), Loki and Alloy for logs, the blackbox exporter with one Probe per
 * target, a public status page from the same target list, Grafana behind the admin allow-list,
 * and the namespace's NetworkPolicies.
 * The users' threshold table becomes PrometheusRules, and the overview dashboard a sidecar
 * ConfigMap. PrometheusRules need no particular labels (`prometheusRuleLabels` is empty: the
 * selectors are open).
 */
export class MonitoringChart extends Chart {
  /** Namespace of the stack; PrometheusRules and dashboard ConfigMaps may live here. */
  public readonly namespace: string;
  /** Label that the Grafana dashboards sidecar watches on ConfigMaps (any namespace). */
  public readonly dashboardLabel = GRAFANA_SIDECAR_LABELS.dashboards;
  /** Label that the Grafana datasources sidecar watches on ConfigMaps/Secrets. */
  public readonly datasourceLabel = GRAFANA_SIDECAR_LABELS.datasources;
  /** Labels a PrometheusRule, ServiceMonitor or Probe needs to be picked up: none (selectors are open, every namespace). */
  public readonly prometheusRuleLabels: Readonly<Record<string, string>> = {};
  /** Datasource UIDs in Grafana, for dashboards. */
  public readonly datasourceUids = { prometheus: 'prometheus', loki: 'loki', alertmanager: 'alertmanager' } as const;
  /** In-cluster URLs of the stack. */
  public readonly prometheusUrl: string;
  public readonly alertmanagerUrl: string;
  public readonly lokiUrl: string;
  public readonly grafanaUrl: string;
  public readonly statusPageUrl: string;
  /** Every target probed (the blackbox Probes and the status page share this list). */
  public readonly targets: readonly ProbeTarget[];
  /** The Probe objects, by target name (alerts select on `job="blackbox"` plus the `service`/`group` labels). */
  public readonly probes: Probes;
  public readonly kubePrometheusStack: HelmRelease<KubePrometheusStackValues>;
  public readonly loki: HelmRelease<LokiValues>;
  public readonly alloy: HelmRelease<AlloyValues>;
  public readonly blackboxExporter: HelmRelease<BlackboxValues>;
  /** Secrets the monitoring pods read (created out of band, or sealed), in the monitoring namespace. */
  public readonly secrets: readonly { readonly name: string; readonly key: string }[];

  constructor(scope: Construct, id: string, props: MonitoringChartProps) {
    super(scope, id, { labels: { 'app.kubernetes.io/part-of': 'platform' } });
    const { config } = props;
    const m = config.monitoring;
    const ns = config.namespaces.monitoring;
    this.namespace = ns;
    this.prometheusUrl = `http://${serviceHost(KPS.prometheus.service, ns)}:${KPS.prometheus.port}`;
    this.alertmanagerUrl = `http://${serviceHost(KPS.alertmanager.service, ns)}:${KPS.alertmanager.port}`;
    this.lokiUrl = lokiUrl(config);
    this.grafanaUrl = `https://${m.grafana.host}`;
    this.statusPageUrl = `https://${m.statusPage.host}`;

    // A secondary environment has no monitoring stack of its own: its primary's Prometheus, Grafana and
    // blackbox exporter serve it (lib/config/shared-cluster.ts).
    const secondary = isSecondary(config);
    const peers = clusterPeers(config);
    if (!secondary) {
      new PublicIngress(this, 'grafana-ingress', {
        name: 'grafana', namespace: ns, hosts: [m.grafana.host], serviceName: KPS.grafana.service, servicePort: KPS.grafana.port, edge: props.edge.admin,
      });
    }

    const publicHosts = [...new Set([...props.publicHosts, ...(secondary ? [] : [m.grafana.host]), m.statusPage.host])].sort();
    this.targets = [
      ...props.targets,
      ...publicHosts.map((host): ProbeTarget => ({ name: host, group: 'certificates', kind: 'tls', target: `https://${host}` })),
    ];
    // The data services' rules and rows, and each add-on's on its own metrics (lib/addons/).
    const addOns = props.addOns ?? ADD_ONS;
    const contributors: IMonitoringContributor[] = [
      ...(props.contributors ?? []),
      { alertRules: () => addOns.flatMap((a) => a.alerts?.(config) ?? []), dashboardRows: (kit) => addOns.flatMap((a) => a.dashboardRows?.(kit) ?? []) },
    ];
    new PlatformAlertRules(this, 'alert-rules', {
      namespace: ns, thresholds: config.alerts, namespaces: config.namespaces, labels: this.prometheusRuleLabels, runbookUrl: runbookPageUrl(config.gitops),
      contributors,
    });
    new PlatformDashboards(this, 'dashboards', {
      namespace: ns, thresholds: config.alerts, namespaces: config.namespaces,
      datasourceUid: this.datasourceUids.prometheus, sidecarLabel: this.dashboardLabel, contributors,
    });

    // kube-prometheus-stack, Loki, Alloy and the blackbox exporter, with their NetworkPolicies (lib/addons/).
    const releases = installAddOns(this, props.addOns ?? ADD_ONS, { config, s3: props.s3, probeTargets: this.targets });
    this.kubePrometheusStack = releaseOf(releases, kubePrometheusStack);
    this.loki = releaseOf(releases, loki);
    this.alloy = releaseOf(releases, alloy);
    this.blackboxExporter = releaseOf(releases, blackboxExporter);

    this.probes = new Probes(this, 'probes', {
      namespace: ns, targets: this.targets, proberUrl: `${serviceHost(BLACKBOX.service, peers.monitoring)}:${BLACKBOX.port}`, interval: m.blackbox.interval,
      annotations: CUSTOM_RESOURCE_ANNOTATIONS,
    });
    const status = new StatusPage(this, 'status-page', {
      namespace: ns, image: config.images.gatus ?? IMAGES.gatus, host: m.statusPage.host, title: m.statusPage.title, targets: this.targets,
      interval: m.blackbox.interval, resources: m.resources.statusPage, edge: props.edge.public, proberLabels: PROBER_LABELS,
      storageClass: m.statusPage.storage.storageClass ?? config.storageClass, storageSize: m.statusPage.storage.size,
    });

    const receivers = m.alertmanager.receivers;
    new MonitoringFlows(this, 'flows', {
      namespace: ns,
      edgeNamespace: props.edge.namespace,
      traefikPodLabels: props.edge.traefikPodLabels,
      traefikMetricsPort: TRAEFIK_PORTS.metrics,
      targets: this.targets,
      proberLabels: PROBER_LABELS,
      proberNamespaces: [...new Set([ns, peers.monitoring])],
      statusPage: { podLabels: status.podLabels, port: status.port },
    });
    // The primary's blackbox exporter probes this environment's targets too: its egress, on its side.
    if (secondary) {
      for (const flow of blackboxExporter.flows?.({ config, namespace: peers.monitoring, probeTargets: this.targets }) ?? []) {
        new AllowFlows(this, `cluster-${flow.name}`, { ...flow, namespace: peers.monitoring });
      }
    }

    this.secrets = [
      ...alertmanagerSecretRefs(receivers, m.alertmanager.heartbeat),
      { name: m.grafana.adminSecret, key: GRAFANA_ADMIN_KEYS.user },
      { name: m.grafana.adminSecret, key: GRAFANA_ADMIN_KEYS.password },
      ...(m.loki.storage.type === 's3' ? Object.values(LOKI_S3_SECRET_KEYS).map((key) => ({ name: (m.loki.storage as { secret: string }).secret, key })) : []),
    ];
  }
}
