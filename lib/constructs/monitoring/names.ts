/**
 * Names, ports and pod labels of what the monitoring Helm charts create, derived from each
 * chart's naming rules and our release names (a release name that contains the chart name is
 * used as the full name). NetworkPolicies, Probes, datasources and tests use these instead of
 * strings scattered around.
 */

/** Labels of pods that may probe other namespaces (blackbox exporter, status page). */
export const PROBER_LABELS = { 'platform.io/prober': 'true' } as const;

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

export const BLACKBOX = {
  release: 'prometheus-blackbox-exporter',
  service: 'prometheus-blackbox-exporter',
  port: 9115,
  pods: { 'app.kubernetes.io/name': 'prometheus-blackbox-exporter' },
} as const;

/** In-cluster DNS name of a Service. */
export const serviceHost = (service: string, namespace: string) => `${service}.${namespace}.svc.cluster.local`;
