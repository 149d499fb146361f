/**
 * Names, ports and pod labels of the monitoring add-ons' workloads (kube-prometheus-stack, Loki,
 * Alloy): what each add-on's flows and values name of the others. Apart from their descriptors, so
 * that the three need not import each other. Their flows to Loki are written once, here (LOKI_CLIENTS).
 */
import { FlowRule, podsPeer, tcp } from '../constructs/network-policy';

/**
 * Names, ports and pod labels of what the chart creates, derived from its naming rules and our
 * release name (a release name that contains the chart name is used as the full name).
 */
export const KPS = {
  release: 'kube-prometheus-stack',
  prometheus: { service: 'kube-prometheus-stack-prometheus', port: 9090, reloaderPort: 8080, pods: { 'app.kubernetes.io/name': 'prometheus' } },
  alertmanager: { service: 'kube-prometheus-stack-alertmanager', port: 9093, reloaderPort: 8080, pods: { 'app.kubernetes.io/name': 'alertmanager' } },
  grafana: { service: 'kube-prometheus-stack-grafana', port: 80, containerPort: 3000, pods: { 'app.kubernetes.io/name': 'grafana' } },
  /** The operator serves its admission webhook and metrics on one TLS port. */
  operator: { port: 10250, pods: { app: 'kube-prometheus-stack-operator' } },
  kubeStateMetrics: { port: 8080, pods: { 'app.kubernetes.io/name': 'kube-state-metrics' } },
  /** Alertmanager mounts each Secret in `alertmanagerSpec.secrets` here, one folder per Secret. */
  alertmanagerSecretsDir: '/etc/alertmanager/secrets',
  /**
   * The Secret holding alertmanager.yaml (`alertmanagerSpec.configSecret`), made in the cluster by
   * the External Secrets Operator from the template in the chart's `extraManifests`, so the chart
   * renders no Secret with data (which would reach git when rendered inline).
   */
  alertmanagerConfigSecret: 'alertmanager-config',
  /** Its key: the file the operator reads. */
  alertmanagerConfigKey: 'alertmanager.yaml',
} as const;

export const LOKI = {
  release: 'loki',
  service: 'loki',
  port: 3100,
  /** Every pod of the release (single binary and the memcached caches). */
  pods: { 'app.kubernetes.io/name': 'loki', 'app.kubernetes.io/instance': 'loki' },
  cacheExporterPort: 9150,
} as const;

export const ALLOY = { release: 'alloy', port: 12345, pods: { 'app.kubernetes.io/name': 'alloy', 'app.kubernetes.io/instance': 'alloy' } } as const;

/**
 * Who talks to Loki's HTTP port, once: Alloy pushes the logs, Grafana queries them. Each client's
 * egress (lokiEgress) and Loki's ingress (lokiIngress) are derived from this list.
 */
export const LOKI_CLIENTS: readonly Readonly<Record<string, string>>[] = [ALLOY.pods, KPS.grafana.pods];

/** A Loki client's egress rule (same namespace: the monitoring add-ons share one). */
export const lokiEgress = (): FlowRule => ({ peers: [podsPeer(LOKI.pods)], ports: tcp(LOKI.port) });

/** Loki's ingress rule for its clients. */
export const lokiIngress = (): FlowRule => ({ peers: LOKI_CLIENTS.map((labels) => podsPeer(labels)), ports: tcp(LOKI.port) });
