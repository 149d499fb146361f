/**
 * The monitoring namespace's flows on top of its default-deny, and the admits other namespaces
 * need for them: probes into the data and app namespaces, Traefik into Grafana and the status page.
 */
import { Construct } from 'constructs';
import { ACME_SOLVER_PORT, AllowFlows, anywhere, API_SERVER_PORTS, FlowRule, namespacePeer, podsPeer, tcp } from '../network-policy';
import { ALLOY, BLACKBOX, KPS, LOKI } from './names';
import { ProbeBackend, ProbeTarget } from './probes';

export interface MonitoringFlowsProps {
  readonly namespace: string;
  readonly edgeNamespace: string;
  /** Pods of the ingress controller. */
  readonly traefikPodLabels: Record<string, string>;
  /** Port of Traefik's Prometheus metrics. */
  readonly traefikMetricsPort: number;
  readonly targets: readonly ProbeTarget[];
  readonly proberLabels: Record<string, string>;
  readonly statusPage: { readonly podLabels: Record<string, string>; readonly port: number };
  /** TCP ports Alertmanager's receivers connect to on the internet (443 webhooks, SMTP). */
  readonly alertmanagerEgressPorts: number[];
  /** Loki's object store when it is the platform's S3. @default filesystem, no egress */
  readonly lokiS3?: ProbeBackend;
}

export class MonitoringFlows extends Construct {
  constructor(scope: Construct, id: string, props: MonitoringFlowsProps) {
    super(scope, id);
    const ns = props.namespace;
    const apiServer: FlowRule = { peers: anywhere(), ports: tcp(...API_SERVER_PORTS) };
    const prometheus = podsPeer(KPS.prometheus.pods);
    const grafana = podsPeer(KPS.grafana.pods);
    const traefik = namespacePeer(props.edgeNamespace, props.traefikPodLabels);
    const flows = (name: string, podLabels: Record<string, string>, rules: { ingress?: FlowRule[]; egress?: FlowRule[] }) =>
      new AllowFlows(this, name, { name, namespace: ns, podLabels, ...rules });

    flows('grafana', KPS.grafana.pods, {
      ingress: [{ peers: [traefik], ports: tcp(KPS.grafana.containerPort) }, { peers: [prometheus], ports: tcp(KPS.grafana.containerPort) }],
      egress: [
        { peers: [prometheus], ports: tcp(KPS.prometheus.port) },
        { peers: [podsPeer(KPS.alertmanager.pods)], ports: tcp(KPS.alertmanager.port) },
        { peers: [podsPeer(LOKI.pods)], ports: tcp(LOKI.port) },
        apiServer, // the dashboard and datasource sidecars watch ConfigMaps
      ],
    });
    // Prometheus' egress (every namespace, the API server) is in the base chart; here the nodes.
    flows('prometheus', KPS.prometheus.pods, {
      ingress: [
        { peers: [grafana], ports: tcp(KPS.prometheus.port) },
        { peers: [prometheus], ports: tcp(KPS.prometheus.port, KPS.prometheus.reloaderPort) },
      ],
      // kubelet/cAdvisor (10250) and node-exporter (9100, host network) listen on node addresses.
      egress: [{ peers: anywhere(), ports: tcp(9100, 10250) }],
    });
    flows('alertmanager', KPS.alertmanager.pods, {
      ingress: [
        { peers: [prometheus], ports: tcp(KPS.alertmanager.port, KPS.alertmanager.reloaderPort) },
        { peers: [grafana], ports: tcp(KPS.alertmanager.port) },
      ],
      egress: props.alertmanagerEgressPorts.length > 0 ? [{ peers: anywhere(), ports: tcp(...props.alertmanagerEgressPorts) }] : [],
    });
    // The operator, kube-state-metrics and the admission Jobs of the release talk to the API server.
    flows('kube-prometheus-stack-api', { release: KPS.release }, { egress: [apiServer] });
    // The API server calls the operator's admission webhook from the control plane; Prometheus scrapes the same port.
    flows('prometheus-operator', KPS.operator.pods, { ingress: [{ peers: anywhere(), ports: tcp(KPS.operator.port) }] });
    flows('kube-state-metrics', KPS.kubeStateMetrics.pods, { ingress: [{ peers: [prometheus], ports: tcp(KPS.kubeStateMetrics.port) }], egress: [apiServer] });

    flows('loki', LOKI.pods, {
      ingress: [
        { peers: [podsPeer(LOKI.pods)], ports: [] }, // the single binary and its caches (memberlist, gRPC, memcached)
        { peers: [podsPeer(ALLOY.pods), grafana], ports: tcp(LOKI.port) },
        { peers: [prometheus], ports: tcp(LOKI.port, LOKI.cacheExporterPort) },
      ],
      egress: [
        { peers: [podsPeer(LOKI.pods)], ports: [] },
        ...(props.lokiS3 ? [{ peers: [namespacePeer(props.lokiS3.namespace, props.lokiS3.podLabels)], ports: tcp(props.lokiS3.port) }] : []),
      ],
    });
    flows('alloy', ALLOY.pods, {
      ingress: [{ peers: [prometheus], ports: tcp(ALLOY.port) }],
      egress: [{ peers: [podsPeer(LOKI.pods)], ports: tcp(LOKI.port) }, apiServer],
    });

    // Probers: the blackbox exporter and the status page reach exactly the probed targets.
    const probeEgress: FlowRule[] = [
      ...props.targets.filter((t) => t.backend).map((t) => ({ peers: [namespacePeer(t.backend!.namespace, t.backend!.podLabels)], ports: tcp(t.backend!.port) })),
      ...(props.targets.some((t) => !t.backend) ? [{ peers: anywhere(), ports: tcp(443) }] : []), // public hosts, through their public address
    ];
    flows('blackbox-exporter', BLACKBOX.pods, { ingress: [{ peers: [prometheus], ports: tcp(BLACKBOX.port) }], egress: probeEgress });
    flows('status-page', props.statusPage.podLabels, { ingress: [{ peers: [traefik], ports: tcp(props.statusPage.port) }], egress: probeEgress });
    const probers = namespacePeer(ns, props.proberLabels);
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
        ingress: [{ peers: [probers], ports: tcp(t.backend.port) }],
      });
    }

    // Traefik serves Grafana and the status page, and cert-manager's HTTP-01 solvers for their hosts.
    new AllowFlows(this, 'traefik-to-monitoring', {
      name: 'traefik-to-monitoring',
      namespace: props.edgeNamespace,
      podLabels: props.traefikPodLabels,
      egress: [{ peers: [namespacePeer(ns)], ports: tcp(KPS.grafana.containerPort, props.statusPage.port, ACME_SOLVER_PORT) }],
    });
    new AllowFlows(this, 'traefik-metrics', {
      name: 'traefik-metrics',
      namespace: props.edgeNamespace,
      podLabels: props.traefikPodLabels,
      ingress: [{ peers: [namespacePeer(ns, KPS.prometheus.pods)], ports: tcp(props.traefikMetricsPort) }],
    });
    flows('acme-http01-solver', { 'acme.cert-manager.io/http01-solver': 'true' }, { ingress: [{ peers: [traefik], ports: tcp(ACME_SOLVER_PORT) }] });
  }
}
