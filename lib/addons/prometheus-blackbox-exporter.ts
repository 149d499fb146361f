/**
 * The Prometheus blackbox exporter: runs the uptime Probes (lib/constructs/monitoring/probes.ts)
 * from the monitoring namespace, and reaches exactly the probed targets.
 */
import { CHART_VERSIONS } from '../config/versions';
import { PROBER_LABELS } from '../constructs/monitoring/names';
import { blackboxModules, probeEgress } from '../constructs/monitoring/probes';
import { podsPeer, tcp } from '../constructs/network-policy';
import { HelmResources, helmResources } from '../constructs/resources';
import { row, sized } from '../footprint';
import { HelmAddOn } from './addon';
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
  id: 'blackbox-exporter',
  host: 'monitoring',
  repo: 'https://prometheus-community.github.io/helm-charts',
  chart: 'prometheus-blackbox-exporter',
  version: CHART_VERSIONS['prometheus-blackbox-exporter'],
  releaseName: BLACKBOX.release,
  namespace: (config) => config.namespaces.monitoring,
  crdGroups: [],
  clusterKinds: [],
  extraNamespaces: [],
  pods: { exporter: { labels: { ...BLACKBOX.pods, ...PROBER_LABELS }, ports: { http: BLACKBOX.port } } },
  footprint: (v, _n, at) => [row('blackbox-exporter', v.replicas ?? 1, [sized(at('resources'), v.resources)])],
  values: ({ config }) => blackboxValues(helmResources(config.monitoring.resources.blackbox), PROBER_LABELS),
  // Probers reach exactly the probed targets (the targets' namespaces admit PROBER_LABELS).
  flows: ({ probeTargets }) => [
    { name: 'blackbox-exporter', podLabels: BLACKBOX.pods, ingress: [{ peers: [podsPeer(KPS.prometheus.pods)], ports: tcp(BLACKBOX.port) }], egress: probeEgress(probeTargets ?? []) },
  ],
};
