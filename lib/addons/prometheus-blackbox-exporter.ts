/**
 * The Prometheus blackbox exporter: runs the uptime Probes (lib/constructs/monitoring/probes.ts)
 * from the monitoring namespace, and reaches exactly the probed targets.
 */
import { ALERT_ACTIONS } from '../config/alerts';
import { PROBER_LABELS } from '../constructs/monitoring/names';
import { blackboxModules, probeEgress } from '../constructs/monitoring/probes';
import { podsPeer, tcp } from '../constructs/network-policy';
import { HelmResources, helmResources } from '../constructs/resources';
import { row, sized } from '../footprint';
import { parseDuration } from '../config/duration';
import { pair, configKey } from '../constructs/monitoring/alert-rules';
import { chartPin, HelmAddOn } from './addon';
import { KPS } from './kube-prometheus-stack';

export const BLACKBOX = {
  release: 'prometheus-blackbox-exporter',
  service: 'prometheus-blackbox-exporter',
  port: 9115,
  pods: { 'app.kubernetes.io/name': 'prometheus-blackbox-exporter' },
} as const;

export interface BlackboxValues {
  readonly config: { readonly modules: Record<string, unknown> };
  readonly resources: HelmResources;
  readonly pod: { readonly labels: Record<string, string> };
  readonly podSecurityContext: { readonly runAsNonRoot: true; readonly seccompProfile: { readonly type: 'RuntimeDefault' } };
  readonly serviceMonitor: { readonly selfMonitor: { readonly enabled: boolean } };
}

export function blackboxValues(resources: HelmResources, proberLabels: Record<string, string>): BlackboxValues {
  return {
    config: { modules: blackboxModules() },
    resources,
    pod: { labels: proberLabels },
    podSecurityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    serviceMonitor: { selfMonitor: { enabled: true } },
  };
}

export const blackboxExporter: HelmAddOn<BlackboxValues> = {
  id: 'blackbox-exporter', host: 'monitoring', ...chartPin('https://prometheus-community.github.io/helm-charts', 'prometheus-blackbox-exporter'), releaseName: BLACKBOX.release,
  kubernetes: { minimum: '1.21.0', reason: "Chart.yaml kubeVersion '>=1.21.0-0'" },
  namespace: (config) => config.namespaces.monitoring,
  crdGroups: [], clusterKinds: [], extraNamespaces: [],
  pods: { exporter: { labels: { ...BLACKBOX.pods, ...PROBER_LABELS }, ports: { http: BLACKBOX.port } } },
  resourceKey: () => 'monitoring.resources.blackbox',
  footprint: (v, _n, at) => [row('blackbox-exporter', v.replicas ?? 1, [sized(at('resources'), v.resources)])],
  // The Probes' results: targets down, certificates about to expire.
  alerts: (config) => {
    const t = config.alerts;
    const seconds = (d: string) => String(parseDuration(d));
    return [
      { area: 'uptime', rules: [
        ...pair('ProbeFailing', (level) => ({
          expr: 'min by (job, instance) (probe_success) == 0',
          for: t.probeFailure[level],
          summary: `{{ $labels.instance }} has failed its uptime probe for ${t.probeFailure[level]}`,
          description: `The blackbox probe {{ $labels.job }} fails. ${configKey('probeFailure')} (warning after ${t.probeFailure.warning}, critical after ${t.probeFailure.critical}).`,
          action: ALERT_ACTIONS.probeFailure,
        })),
        ...pair('CertificateExpiresSoon', (level) => ({
          expr: `min by (job, instance) (probe_ssl_earliest_cert_expiry) - time() < ${seconds(t.certificateExpiry[level])}`,
          summary: `The TLS certificate of {{ $labels.instance }} expires within ${t.certificateExpiry[level]}`,
          description: `Expires in {{ $value | humanizeDuration }}; cert-manager renews 30 days ahead, so renewal is failing. ${configKey('certificateExpiry')} (warning ${t.certificateExpiry.warning}, critical ${t.certificateExpiry.critical}).`,
          action: ALERT_ACTIONS.certificateExpiry,
        })),
      ] },
    ];
  },
  values: ({ config }) => blackboxValues(helmResources(config.monitoring.resources.blackbox), PROBER_LABELS),
  // Probers reach exactly the probed targets (the targets' namespaces admit PROBER_LABELS).
  flows: ({ probeTargets }) => [
    { name: 'blackbox-exporter', podLabels: BLACKBOX.pods, ingress: [{ peers: [podsPeer(KPS.prometheus.pods)], ports: tcp(BLACKBOX.port) }], egress: probeEgress(probeTargets ?? []) },
  ],
};
