/**
 * The monitoring namespace's flows besides those of its Helm add-ons (each add-on's file in
 * lib/addons/ declares its own), and the admits other namespaces need for them: probes into the
 * data and app namespaces, Traefik into Grafana and the status page.
 */
import { Construct } from 'constructs';
import { KPS } from '../../addons/kube-prometheus-stack';
import { AllowFlows, FlowRule, namespacePeer, tcp } from '../network-policy';
import { probeEgress, ProbeTarget } from './probes';

export interface MonitoringFlowsProps {
  readonly namespace: string;
  readonly edgeNamespace: string;
  /** Pods of the ingress controller. */
  readonly traefikPodLabels: Record<string, string>;
  /** Port of Traefik's Prometheus metrics. */
  readonly traefikMetricsPort: number;
  readonly targets: readonly ProbeTarget[];
  readonly proberLabels: Record<string, string>;
  /**
   * Namespaces whose probers (pods with `proberLabels`) reach the probed targets.
   * @default [namespace]
   */
  readonly proberNamespaces?: readonly string[];
  readonly statusPage: { readonly podLabels: Record<string, string>; readonly port: number };
}

export class MonitoringFlows extends Construct {
  constructor(scope: Construct, id: string, props: MonitoringFlowsProps) {
    super(scope, id);
    const ns = props.namespace;
    const traefik = namespacePeer(props.edgeNamespace, props.traefikPodLabels);
    const flows = (name: string, podLabels: Record<string, string>, rules: { ingress?: FlowRule[]; egress?: FlowRule[] }) =>
      new AllowFlows(this, name, { name, namespace: ns, podLabels, ...rules });

    // The status page, like the blackbox exporter, reaches exactly the probed targets.
    flows('status-page', props.statusPage.podLabels, { ingress: [{ peers: [traefik], ports: tcp(props.statusPage.port) }], egress: probeEgress(props.targets) });
    const probers = (props.proberNamespaces ?? [ns]).map((n) => namespacePeer(n, props.proberLabels));
    const admitted = new Set<string>();
    for (const t of props.targets) {
      if (!t.backend) continue;
      const key = `${t.backend.namespace}/${JSON.stringify(t.backend.podLabels)}/${t.backend.port}`;
      if (admitted.has(key)) continue;
      admitted.add(key);
      new AllowFlows(this, `probe-${t.name}`, {
        name: `probes-${t.name}`,
        namespace: t.backend.namespace,
        podLabels: t.backend.podLabels,
        ingress: [{ peers: probers, ports: tcp(t.backend.port) }],
      });
    }

    // Traefik serves Grafana and the status page (the edge chart opens the HTTP-01 solvers of every routed namespace).
    new AllowFlows(this, 'traefik-to-monitoring', {
      name: 'traefik-to-monitoring',
      namespace: props.edgeNamespace,
      podLabels: props.traefikPodLabels,
      egress: [{ peers: [namespacePeer(ns)], ports: tcp(KPS.grafana.containerPort, props.statusPage.port) }],
    });
    new AllowFlows(this, 'traefik-metrics', {
      name: 'traefik-metrics',
      namespace: props.edgeNamespace,
      podLabels: props.traefikPodLabels,
      ingress: [{ peers: [namespacePeer(ns, KPS.prometheus.pods)], ports: tcp(props.traefikMetricsPort) }],
    });
  }
}
