/**
 * Values of kube-prometheus-stack, typed with keys of its values.yaml (and of the grafana
 * subchart's values.yaml); test/monitoring-values.test.ts checks every key we set exists there.
 */
import { PlatformConfig } from '../../config/schema';
import { ReceiverConfig } from '../../config/monitoring';
import { KPS } from './names';
import { HelmResources, helmResources } from '../resources';

interface VolumeClaim {
  readonly volumeClaimTemplate: {
    readonly spec: { readonly storageClassName: string; readonly accessModes: string[]; readonly resources: { readonly requests: { readonly storage: string } } };
  };
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
    readonly routes: { readonly receiver: string; readonly matchers: string[]; readonly continue?: boolean }[];
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
    readonly config: AlertmanagerConfigFile;
    readonly alertmanagerSpec: { readonly secrets: string[]; readonly resources: HelmResources; readonly storage: VolumeClaim };
  };
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
  /** Label the dashboards sidecar watches (ConfigMaps in any namespace). */
  readonly dashboardLabel: { readonly key: string; readonly value: string };
  readonly datasourceLabel: { readonly key: string; readonly value: string };
  /** Loki's query URL for the Grafana datasource. */
  readonly lokiUrl: string;
}

export function kubePrometheusStackValues(inputs: KubePrometheusStackInputs): KubePrometheusStackValues {
  const { config } = inputs;
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
      config: alertmanagerConfig(m.alertmanager.receivers),
      alertmanagerSpec: {
        secrets: receiverSecrets(m.alertmanager.receivers),
        resources: helmResources(r.alertmanager),
        storage: claim(m.alertmanager.storage.size, m.alertmanager.storage.storageClass),
      },
    },
    grafana: {
      admin: { existingSecret: m.grafana.adminSecret, userKey: GRAFANA_ADMIN_KEYS.user, passwordKey: GRAFANA_ADMIN_KEYS.password },
      resources: helmResources(r.grafana),
      testFramework: { enabled: false },
      'grafana.ini': { server: { root_url: `https://${m.grafana.host}` }, analytics: { reporting_enabled: false, check_for_updates: false } },
      sidecar: {
        resources: helmResources(r.grafanaSidecar),
        dashboards: { enabled: true, label: inputs.dashboardLabel.key, labelValue: inputs.dashboardLabel.value, searchNamespace: 'ALL' },
        datasources: { enabled: true, label: inputs.datasourceLabel.key, labelValue: inputs.datasourceLabel.value },
      },
      additionalDataSources: [{ name: 'Loki', type: 'loki', uid: 'loki', url: inputs.lokiUrl, access: 'proxy', isDefault: false }],
    },
  };
}

/** Secrets the Alertmanager pod mounts: one per receiver Secret, each once. */
export function receiverSecrets(receivers: readonly ReceiverConfig[]): string[] {
  return [...new Set(receivers.map((r) => r.secret.name))].sort();
}

/** Where Alertmanager reads a receiver's secret value. */
export const receiverSecretFile = (r: ReceiverConfig) => `${KPS.alertmanagerSecretsDir}/${r.secret.name}/${r.secret.key}`;

/**
 * Routing: the Watchdog goes nowhere (it exists to prove the pipeline), everything else to each
 * receiver whose severities match. URLs and passwords are read from files, never inlined.
 */
export function alertmanagerConfig(receivers: readonly ReceiverConfig[]): AlertmanagerConfigFile {
  return {
    global: { resolve_timeout: '5m' },
    route: {
      receiver: 'null',
      group_by: ['namespace', 'alertname'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '12h',
      routes: [
        { receiver: 'null', matchers: ['alertname = "Watchdog"'] },
        ...receivers.map((r) => ({ receiver: r.name, matchers: [`severity =~ "${r.severities.join('|')}"`], continue: true })),
      ],
    },
    inhibit_rules: [
      { source_matchers: ['severity = critical'], target_matchers: ['severity =~ warning|info'], equal: ['namespace', 'alertname'] },
      { source_matchers: ['severity = warning'], target_matchers: ['severity = info'], equal: ['namespace', 'alertname'] },
    ],
    receivers: [{ name: 'null' }, ...receivers.map(receiverEntry)],
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
  }
}
