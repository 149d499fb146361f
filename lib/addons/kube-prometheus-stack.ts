/**
 * kube-prometheus-stack: Prometheus, Alertmanager, Grafana, the operator, node-exporter and
 * kube-state-metrics. Values typed with keys of its values.yaml (and of the grafana subchart's
 * values.yaml); test/addons.test.ts checks every key we set exists there.
 */
import { ALERT_ACTIONS } from '../config/alerts';
import { PlatformConfig } from '../config/schema';
import { HeartbeatConfig, ReceiverConfig } from '../config/monitoring';
import { anywhere, API_SERVER_PORTS, FlowRule, namespacePeer, podsPeer, tcp } from '../constructs/network-policy';
import { HelmResources, helmResources } from '../constructs/resources';
import { perNodeRow, row, sized } from '../footprint';
import { CRD, MUTATING_WEBHOOK, RBAC, VALIDATING_WEBHOOK } from '../gitops/helm-scope';
import { pair, configKey } from '../constructs/monitoring/alert-rules';
import * as yaml from 'js-yaml';
import { ESO_API, GENERATORS_API } from '../constructs/generated-secrets';
import { toYaml } from '../yaml';
import { chartPin, HelmAddOn } from './addon';
import { lokiUrl } from './loki';
import { KPS, lokiEgress } from './monitoring-pods';
import { traefik } from './traefik';

export { KPS };

/** Labels Grafana's sidecars watch: dashboards (ConfigMaps in any namespace) and datasources. */
export const GRAFANA_SIDECAR_LABELS = {
  dashboards: { key: 'grafana_dashboard', value: '1' },
  datasources: { key: 'grafana_datasource', value: '1' },
} as const;

interface VolumeClaim {
  readonly volumeClaimTemplate: {
    readonly spec: { readonly storageClassName: string; readonly accessModes: string[]; readonly resources: { readonly requests: { readonly storage: string } } };
  };
}

export interface AlertmanagerRoute {
  readonly receiver: string;
  readonly matchers: string[];
  readonly continue?: boolean;
  readonly group_wait?: string;
  readonly group_interval?: string;
  readonly repeat_interval?: string;
}

/** Alertmanager's configuration file (https://prometheus.io/docs/alerting/latest/configuration/). */
export interface AlertmanagerConfigFile {
  readonly global: { readonly resolve_timeout: string };
  readonly route: {
    readonly receiver: string;
    readonly group_by: string[];
    readonly group_wait: string;
    readonly group_interval: string;
    readonly repeat_interval: string;
    readonly routes: AlertmanagerRoute[];
  };
  readonly inhibit_rules: { readonly source_matchers: string[]; readonly target_matchers: string[]; readonly equal: string[] }[];
  readonly receivers: Record<string, unknown>[];
  readonly templates: string[];
}

export interface GrafanaDataSource {
  readonly name: string;
  readonly type: string;
  readonly uid: string;
  readonly url: string;
  readonly access: 'proxy';
  readonly isDefault: boolean;
}

export interface KubePrometheusStackValues {
  readonly defaultRules: { readonly create: boolean };
  // k3s runs the control plane in one process without these metrics endpoints: scraping them only raises TargetDown.
  readonly kubeControllerManager: { readonly enabled: boolean };
  readonly kubeScheduler: { readonly enabled: boolean };
  readonly kubeProxy: { readonly enabled: boolean };
  readonly kubeEtcd: { readonly enabled: boolean };
  readonly kubeStateMetrics: { readonly enabled: boolean };
  readonly nodeExporter: { readonly enabled: boolean };
  /** Subchart values (kube-state-metrics chart): `resources` is that chart's key. */
  readonly 'kube-state-metrics': { readonly resources: HelmResources };
  /** Subchart values (prometheus-node-exporter chart): `resources` is that chart's key. */
  readonly 'prometheus-node-exporter': { readonly resources: HelmResources };
  readonly prometheusOperator: {
    readonly resources: HelmResources;
    readonly prometheusConfigReloader: { readonly resources: HelmResources };
    readonly admissionWebhooks: { readonly patch: { readonly resources: HelmResources } };
  };
  readonly prometheus: {
    readonly prometheusSpec: {
      readonly retention: string;
      readonly retentionSize: string;
      readonly scrapeInterval: string;
      readonly resources: HelmResources;
      readonly storageSpec: VolumeClaim;
      // Pick up every ServiceMonitor, PodMonitor, Probe and PrometheusRule, not only the chart's own.
      readonly serviceMonitorSelectorNilUsesHelmValues: false;
      readonly podMonitorSelectorNilUsesHelmValues: false;
      readonly probeSelectorNilUsesHelmValues: false;
      readonly ruleSelectorNilUsesHelmValues: false;
    };
  };
  readonly alertmanager: {
    readonly alertmanagerSpec: {
      /** The chart renders no config Secret; the operator reads `configSecret`, which ESO makes (alertmanagerConfigManifests). */
      readonly useExistingSecret: true;
      readonly configSecret: string;
      readonly secrets: string[];
      readonly resources: HelmResources;
      readonly storage: VolumeClaim;
    };
  };
  /** Objects the chart renders as they are (templated by helm's `tpl`): the config Secret's ExternalSecret and its generator. */
  readonly extraManifests: Record<string, unknown>[];
  readonly grafana: {
    readonly admin: { readonly existingSecret: string; readonly userKey: string; readonly passwordKey: string };
    readonly resources: HelmResources;
    readonly testFramework: { readonly enabled: boolean };
    readonly 'grafana.ini': { readonly server: { readonly root_url: string }; readonly analytics: { readonly reporting_enabled: boolean; readonly check_for_updates: boolean } };
    readonly sidecar: {
      readonly resources: HelmResources;
      readonly dashboards: { readonly enabled: boolean; readonly label: string; readonly labelValue: string; readonly searchNamespace: string };
      readonly datasources: { readonly enabled: boolean; readonly label: string; readonly labelValue: string };
    };
    readonly additionalDataSources: GrafanaDataSource[];
  };
}

/** Grafana's admin Secret keys (created out of band). */
export const GRAFANA_ADMIN_KEYS = { user: 'admin-user', password: 'admin-password' } as const;

export interface KubePrometheusStackInputs {
  readonly config: PlatformConfig;
  /** Label the dashboards sidecar watches (ConfigMaps in any namespace). @default GRAFANA_SIDECAR_LABELS.dashboards */
  readonly dashboardLabel?: { readonly key: string; readonly value: string };
  /** @default GRAFANA_SIDECAR_LABELS.datasources */
  readonly datasourceLabel?: { readonly key: string; readonly value: string };
  /** Loki's query URL for the Grafana datasource. @default lokiUrl(config) */
  readonly lokiUrl?: string;
}

export function kubePrometheusStackValues(inputs: KubePrometheusStackInputs): KubePrometheusStackValues {
  const { config } = inputs;
  const dashboardLabel = inputs.dashboardLabel ?? GRAFANA_SIDECAR_LABELS.dashboards;
  const datasourceLabel = inputs.datasourceLabel ?? GRAFANA_SIDECAR_LABELS.datasources;
  const m = config.monitoring;
  const r = m.resources;
  const claim = (size: string, storageClass?: string): VolumeClaim => ({
    volumeClaimTemplate: {
      spec: { storageClassName: storageClass ?? config.storageClass, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } },
    },
  });
  return {
    defaultRules: { create: true },
    kubeControllerManager: { enabled: false },
    kubeScheduler: { enabled: false },
    kubeProxy: { enabled: false },
    kubeEtcd: { enabled: false },
    kubeStateMetrics: { enabled: true },
    nodeExporter: { enabled: true },
    'kube-state-metrics': { resources: helmResources(r.kubeStateMetrics) },
    'prometheus-node-exporter': { resources: helmResources(r.nodeExporter) },
    prometheusOperator: {
      resources: helmResources(r.operator),
      prometheusConfigReloader: { resources: helmResources(r.configReloader) },
      admissionWebhooks: { patch: { resources: helmResources(r.configReloader) } },
    },
    prometheus: {
      prometheusSpec: {
        retention: m.prometheus.retention,
        retentionSize: m.prometheus.retentionSize,
        scrapeInterval: m.prometheus.scrapeInterval,
        resources: helmResources(r.prometheus),
        storageSpec: claim(m.prometheus.storage.size, m.prometheus.storage.storageClass),
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        probeSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
      },
    },
    alertmanager: {
      alertmanagerSpec: {
        useExistingSecret: true,
        configSecret: KPS.alertmanagerConfigSecret,
        secrets: receiverSecrets(m.alertmanager.receivers, m.alertmanager.heartbeat),
        resources: helmResources(r.alertmanager),
        storage: claim(m.alertmanager.storage.size, m.alertmanager.storage.storageClass),
      },
    },
    extraManifests: alertmanagerConfigManifests(config.namespaces.monitoring, alertmanagerConfig(m.alertmanager.receivers, m.alertmanager.heartbeat)),
    grafana: {
      admin: { existingSecret: m.grafana.adminSecret, userKey: GRAFANA_ADMIN_KEYS.user, passwordKey: GRAFANA_ADMIN_KEYS.password },
      resources: helmResources(r.grafana),
      testFramework: { enabled: false },
      'grafana.ini': { server: { root_url: `https://${m.grafana.host}` }, analytics: { reporting_enabled: false, check_for_updates: false } },
      sidecar: {
        resources: helmResources(r.grafanaSidecar),
        dashboards: { enabled: true, label: dashboardLabel.key, labelValue: dashboardLabel.value, searchNamespace: 'ALL' },
        datasources: { enabled: true, label: datasourceLabel.key, labelValue: datasourceLabel.value },
      },
      additionalDataSources: [{ name: 'Loki', type: 'loki', uid: 'loki', url: inputs.lokiUrl ?? lokiUrl(config), access: 'proxy', isDefault: false }],
    },
  };
}

/**
 * The ExternalSecret that writes alertmanager.yaml into KPS.alertmanagerConfigSecret, and the UUID
 * generator it draws from. The file holds no credential (receivers read theirs from files), but the
 * operator reads it from a Secret only; a Secret rendered with data would put it in git as a Secret.
 * ESO's webhook refuses an ExternalSecret without a data source, so it draws one UUID, which the
 * template drops (mergePolicy Replace: the Secret holds exactly the template's key). `OnChange`: a new
 * config (a changed template) is written when Argo CD applies it.
 */
export function alertmanagerConfigManifests(namespace: string, file: AlertmanagerConfigFile): Record<string, unknown>[] {
  const text = toYaml(file);
  // Both helm (`tpl` of extraManifests) and ESO's template engine would evaluate Go template actions.
  if (text.includes('{{') || text.includes('}}')) throw new Error(`alertmanager.yaml contains "{{" or "}}", which helm's tpl and ESO's template engine would evaluate; fix: remove template actions from the receivers in config.monitoring.alertmanager`);
  const generator = `${KPS.alertmanagerConfigSecret}-source`;
  return [
    { apiVersion: GENERATORS_API, kind: 'UUID', metadata: { name: generator, namespace }, spec: {} },
    {
      apiVersion: ESO_API, kind: 'ExternalSecret', metadata: { name: KPS.alertmanagerConfigSecret, namespace },
      spec: {
        refreshPolicy: 'OnChange',
        target: {
          name: KPS.alertmanagerConfigSecret, creationPolicy: 'Owner', deletionPolicy: 'Retain',
          template: { engineVersion: 'v2', mergePolicy: 'Replace', data: { [KPS.alertmanagerConfigKey]: text } },
        },
        dataFrom: [{ sourceRef: { generatorRef: { apiVersion: GENERATORS_API, kind: 'UUID', name: generator } } }],
      },
    },
  ];
}

/** alertmanager.yaml as the values carry it (in the ExternalSecret's template), parsed. */
export function alertmanagerConfigOf(values: KubePrometheusStackValues): AlertmanagerConfigFile {
  const es = values.extraManifests.find((o) => o.kind === 'ExternalSecret') as any;
  return yaml.load(es.spec.target.template.data[KPS.alertmanagerConfigKey]) as AlertmanagerConfigFile;
}

/** Every Secret key Alertmanager reads: the receivers' and the heartbeat URL's. */
export function alertmanagerSecretRefs(receivers: readonly ReceiverConfig[], heartbeat: HeartbeatConfig | null = null): { name: string; key: string }[] {
  const refs = [...receivers.map((r) => r.secret), ...(heartbeat ? [heartbeat.secret] : [])];
  const unique = new Map(refs.map((ref) => [`${ref.name}/${ref.key}`, { name: ref.name, key: ref.key }]));
  return [...unique.values()].sort((a, b) => `${a.name}/${a.key}`.localeCompare(`${b.name}/${b.key}`));
}

/** Secrets the Alertmanager pod mounts: one per receiver (and heartbeat) Secret, each once. */
export function receiverSecrets(receivers: readonly ReceiverConfig[], heartbeat: HeartbeatConfig | null = null): string[] {
  return [...new Set(alertmanagerSecretRefs(receivers, heartbeat).map((r) => r.name))].sort();
}

/** Where Alertmanager reads a secret value (mounted from `alertmanagerSpec.secrets`). */
export const secretFile = (ref: { readonly name: string; readonly key: string }) => `${KPS.alertmanagerSecretsDir}/${ref.name}/${ref.key}`;
/** Where Alertmanager reads a receiver's secret value. */
export const receiverSecretFile = (r: ReceiverConfig) => secretFile(r.secret);

/** The receiver of the Watchdog when a heartbeat URL is configured. */
export const HEARTBEAT_RECEIVER = 'heartbeat';

/**
 * Routing: the always-firing Watchdog goes to the heartbeat URL outside the cluster every
 * `heartbeat.interval` (the dead man's switch: that service alerts when the pings stop), or
 * nowhere without one; everything else to each receiver whose severities match. URLs, tokens
 * and passwords are read from files, never inlined.
 */
export function alertmanagerConfig(receivers: readonly ReceiverConfig[], heartbeat: HeartbeatConfig | null = null): AlertmanagerConfigFile {
  const watchdog = ['alertname = "Watchdog"'];
  return {
    global: { resolve_timeout: '5m' },
    route: {
      receiver: 'null',
      group_by: ['namespace', 'alertname'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '12h',
      routes: [
        heartbeat
          ? { receiver: HEARTBEAT_RECEIVER, matchers: watchdog, group_wait: '0s', group_interval: heartbeat.interval, repeat_interval: heartbeat.interval }
          : { receiver: 'null', matchers: watchdog },
        ...receivers.map((r) => ({ receiver: r.name, matchers: [`severity =~ "${r.severities.join('|')}"`], continue: true })),
      ],
    },
    inhibit_rules: [
      { source_matchers: ['severity = critical'], target_matchers: ['severity =~ warning|info'], equal: ['namespace', 'alertname'] },
      { source_matchers: ['severity = warning'], target_matchers: ['severity = info'], equal: ['namespace', 'alertname'] },
    ],
    receivers: [
      { name: 'null' },
      ...(heartbeat ? [{ name: HEARTBEAT_RECEIVER, webhook_configs: [{ url_file: secretFile(heartbeat.secret), send_resolved: false }] }] : []),
      ...receivers.map(receiverEntry),
    ],
    templates: ['/etc/alertmanager/config/*.tmpl'],
  };
}

function receiverEntry(r: ReceiverConfig): Record<string, unknown> {
  const file = receiverSecretFile(r);
  switch (r.type) {
    case 'email':
      return {
        name: r.name,
        email_configs: [{ to: r.to, from: r.from, smarthost: r.smarthost, auth_username: r.authUsername, auth_password_file: file, require_tls: true, send_resolved: true }],
      };
    case 'slack':
      return { name: r.name, slack_configs: [{ api_url_file: file, ...(r.channel ? { channel: r.channel } : {}), send_resolved: true }] };
    case 'discord':
      return { name: r.name, discord_configs: [{ webhook_url_file: file, send_resolved: true }] };
    case 'telegram':
      return { name: r.name, telegram_configs: [{ bot_token_file: file, chat_id: r.chatId, send_resolved: true }] };
  }
}

/** TCP ports Alertmanager's receivers (and the heartbeat) connect to on the internet (443 webhooks and APIs, SMTP). */
export function alertmanagerEgressPorts(receivers: readonly ReceiverConfig[], heartbeat: HeartbeatConfig | null = null): number[] {
  const ports = [...receivers.map((r) => (r.type === 'email' ? Number(r.smarthost.split(':')[1]) : 443)), ...(heartbeat ? [443] : [])];
  return [...new Set(ports)].sort((a, b) => a - b);
}

/** node-exporter's measures, in percent, shared by the node alerts and the node dashboard row. */
const REAL_FILESYSTEMS = 'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs"';
const NODE = {
  cpuBusy: (range: string) => `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}${range})))`,
  memoryInUse: '100 * (1 - max by (instance) (node_memory_MemAvailable_bytes) / max by (instance) (node_memory_MemTotal_bytes))',
  diskInUse: `100 * (1 - max by (instance, mountpoint) (node_filesystem_avail_bytes{${REAL_FILESYSTEMS}}) / max by (instance, mountpoint) (node_filesystem_size_bytes{${REAL_FILESYSTEMS}}))`,
};

export const kubePrometheusStack: HelmAddOn<KubePrometheusStackValues> = {
  id: 'kube-prometheus-stack', host: 'monitoring', ...chartPin('https://prometheus-community.github.io/helm-charts', 'kube-prometheus-stack'), releaseName: KPS.release,
  kubernetes: { minimum: '1.25.0', reason: "Chart.yaml kubeVersion '>=1.25.0-0'" },
  namespace: (config) => config.namespaces.monitoring,
  // The operator's CRDs are far above the 256 KiB client-side apply annotation limit.
  serverSideApply: true,
  // Grafana reads its admin login from the generated Secret grafana-admin (secrets chart, wave -5).
  readsGeneratedSecrets: true,
  // Services for the control-plane exporters (kube-controller-manager, kube-scheduler, ...) go to kube-system.
  crdGroups: ['monitoring.coreos.com'], clusterKinds: [CRD, ...RBAC, VALIDATING_WEBHOOK, MUTATING_WEBHOOK], extraNamespaces: ['kube-system'],
  // The operator's webhook certificate: the PreSync hook Job runs kube-webhook-certgen create, which writes it.
  runtimeSecrets: [{ name: `${KPS.release}-admission`, producer: { kind: 'Job', name: `${KPS.release}-admission-create` } }],
  pods: {
    prometheus: { labels: KPS.prometheus.pods, ports: { web: KPS.prometheus.port, reloader: KPS.prometheus.reloaderPort } },
    alertmanager: { labels: KPS.alertmanager.pods, ports: { web: KPS.alertmanager.port, reloader: KPS.alertmanager.reloaderPort } },
    grafana: { labels: KPS.grafana.pods, ports: { http: KPS.grafana.containerPort } },
    operator: { labels: KPS.operator.pods, ports: { https: KPS.operator.port } },
    kubeStateMetrics: { labels: KPS.kubeStateMetrics.pods, ports: { http: KPS.kubeStateMetrics.port } },
    release: { labels: { release: KPS.release }, ports: {} },
  },
  // The chart's workloads by their keys under monitoring.resources (the admission Jobs are sized like the config reloader).
  resourceKey: (part) => `monitoring.resources.${({ 'kube-state-metrics': 'kubeStateMetrics', 'node-exporter': 'nodeExporter', 'prometheus-operator': 'operator', 'admission-webhook-jobs': 'configReloader' } as Record<string, string>)[part] ?? part}`,
  footprint: (v, nodes, at) => {
    const reloader = sized(at('prometheusOperator.prometheusConfigReloader.resources'), v.prometheusOperator?.prometheusConfigReloader?.resources);
    const sidecar = sized(at('grafana.sidecar.resources'), v.grafana?.sidecar?.resources);
    const sidecars = [v.grafana?.sidecar?.dashboards?.enabled, v.grafana?.sidecar?.datasources?.enabled].filter(Boolean).map(() => sidecar);
    return [
      row('prometheus', v.prometheus?.prometheusSpec?.replicas ?? 1, [sized(at('prometheus.prometheusSpec.resources'), v.prometheus?.prometheusSpec?.resources), reloader]),
      row('alertmanager', v.alertmanager?.alertmanagerSpec?.replicas ?? 1, [sized(at('alertmanager.alertmanagerSpec.resources'), v.alertmanager?.alertmanagerSpec?.resources), reloader]),
      row('grafana', 1, [sized(at('grafana.resources'), v.grafana?.resources), ...sidecars]),
      row('prometheus-operator', 1, [sized(at('prometheusOperator.resources'), v.prometheusOperator?.resources)]),
      row('kube-state-metrics', 1, [sized(at('kube-state-metrics.resources'), v['kube-state-metrics']?.resources)]),
      perNodeRow('node-exporter', nodes, [sized(at('prometheus-node-exporter.resources'), v['prometheus-node-exporter']?.resources)]),
      row('admission-webhook-jobs', 1, [sized(at('prometheusOperator.admissionWebhooks.patch.resources'), v.prometheusOperator?.admissionWebhooks?.patch?.resources)], true),
    ];
  },
  values: ({ config }) => kubePrometheusStackValues({ config }),
  // node-exporter: CPU, memory and disk of every node.
  dashboardRows: ({ graph, rate, thresholds: t }) => [{
    title: 'Node', order: 10, panels: [
      graph('CPU busy', 'percent', [[NODE.cpuBusy(rate), '{{instance}}']], t.cpu),
      graph('Memory in use', 'percent', [[NODE.memoryInUse, '{{instance}}']], t.memory),
      graph('Disk in use', 'percent', [[NODE.diskInUse, '{{instance}} {{mountpoint}}']], t.disk),
    ],
  }],
  alerts: (config) => {
    const t = config.alerts;
    const watched = [...new Set(Object.values(config.namespaces))].sort().join('|');
    return [
      { area: 'node', rules: [
        ...pair('NodeCpuHigh', (level) => ({
          expr: `${NODE.cpuBusy('[5m]')} > ${t.cpu[level]}`,
          for: t.cpu.for,
          summary: `CPU above ${t.cpu[level]} % on {{ $labels.instance }}`,
          description: `CPU busy {{ $value | printf "%.1f" }} % for ${t.cpu.for}. ${configKey('cpu')} (warning ${t.cpu.warning} %, critical ${t.cpu.critical} %).`,
          action: ALERT_ACTIONS.cpu,
        })),
        ...pair('NodeMemoryHigh', (level) => ({
          expr: `${NODE.memoryInUse} > ${t.memory[level]}`,
          for: t.memory.for,
          summary: `Memory above ${t.memory[level]} % on {{ $labels.instance }}`,
          description: `Memory in use {{ $value | printf "%.1f" }} % for ${t.memory.for}. ${configKey('memory')} (warning ${t.memory.warning} %, critical ${t.memory.critical} %).`,
          action: ALERT_ACTIONS.memory,
        })),
        ...pair('NodeDiskFull', (level) => ({
          expr: `${NODE.diskInUse} > ${t.disk[level]}`,
          for: t.disk.for,
          summary: `Disk ${'{{ $labels.mountpoint }}'} above ${t.disk[level]} % on {{ $labels.instance }}`,
          description: `Filesystem in use {{ $value | printf "%.1f" }} % for ${t.disk.for}. ${configKey('disk')} (warning ${t.disk.warning} %, critical ${t.disk.critical} %).`,
          action: ALERT_ACTIONS.disk,
        })),
      ] },
      // kube-state-metrics: restarts in every namespace of the platform.
      { area: 'kubernetes', rules: pair('PodRestartingOften', (level) => ({
        expr:
          `max by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total{namespace=~"${watched}"}[1h])) > ${t.podRestarts[level]}`,
        summary: `{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) restarted more than ${t.podRestarts[level]} times in an hour`,
        description: `{{ $value | printf "%.0f" }} restarts in the last hour. ${configKey('podRestarts')} (warning ${t.podRestarts.warning}, critical ${t.podRestarts.critical}).`,
        action: ALERT_ACTIONS.podRestarts,
      })) },
    ];
  },
  flows: ({ config }) => {
    const apiServer: FlowRule = { peers: anywhere(), ports: tcp(...API_SERVER_PORTS) };
    const prometheus = podsPeer(KPS.prometheus.pods);
    const grafana = podsPeer(KPS.grafana.pods);
    const edge = namespacePeer(config.namespaces.edge, { ...traefik.pods.traefik.labels });
    const alertmanagerPorts = alertmanagerEgressPorts(config.monitoring.alertmanager.receivers, config.monitoring.alertmanager.heartbeat);
    return [
      {
        name: 'grafana',
        podLabels: KPS.grafana.pods,
        ingress: [{ peers: [edge], ports: tcp(KPS.grafana.containerPort) }, { peers: [prometheus], ports: tcp(KPS.grafana.containerPort) }],
        egress: [
          { peers: [prometheus], ports: tcp(KPS.prometheus.port) },
          { peers: [podsPeer(KPS.alertmanager.pods)], ports: tcp(KPS.alertmanager.port) },
          lokiEgress(),
          apiServer, // the dashboard and datasource sidecars watch ConfigMaps
        ],
      },
      // Prometheus' egress (every namespace, the API server) is in the base chart; here the nodes.
      {
        name: 'prometheus',
        podLabels: KPS.prometheus.pods,
        ingress: [
          { peers: [grafana], ports: tcp(KPS.prometheus.port) },
          { peers: [prometheus], ports: tcp(KPS.prometheus.port, KPS.prometheus.reloaderPort) },
        ],
        // kubelet/cAdvisor (10250) and node-exporter (9100, host network) listen on node addresses.
        egress: [{ peers: anywhere(), ports: tcp(9100, 10250) }],
      },
      {
        name: 'alertmanager',
        podLabels: KPS.alertmanager.pods,
        ingress: [
          { peers: [prometheus], ports: tcp(KPS.alertmanager.port, KPS.alertmanager.reloaderPort) },
          { peers: [grafana], ports: tcp(KPS.alertmanager.port) },
        ],
        egress: alertmanagerPorts.length > 0 ? [{ peers: anywhere(), ports: tcp(...alertmanagerPorts) }] : [],
      },
      // The operator, kube-state-metrics and the admission Jobs of the release talk to the API server.
      { name: 'kube-prometheus-stack-api', podLabels: { release: KPS.release }, egress: [apiServer] },
      // The API server calls the operator's admission webhook from the control plane; Prometheus scrapes the same port.
      { name: 'prometheus-operator', podLabels: KPS.operator.pods, ingress: [{ peers: anywhere(), ports: tcp(KPS.operator.port) }] },
      { name: 'kube-state-metrics', podLabels: KPS.kubeStateMetrics.pods, ingress: [{ peers: [prometheus], ports: tcp(KPS.kubeStateMetrics.port) }], egress: [apiServer] },
    ];
  },
};
