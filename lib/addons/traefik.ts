/**
 * Traefik, the Ingress controller (and Gateway API implementation) of the edge. Values typed with
 * only keys that exist in the chart's values.yaml (test/addons.test.ts validates them against the
 * chart's own schema). Security contexts are left at the chart defaults: Pod Security restricted already.
 */
import { PlatformConfig } from '../config/schema';
import { ACME_SOLVER_PORT, anywhere, API_SERVER_PORTS, namespacePeer, tcp } from '../constructs/network-policy';
import { HelmResources, helmResources } from '../constructs/resources';
import { row, sized } from '../footprint';
import { CRD, INGRESS_CLASS, RBAC } from '../gitops/helm-scope';
import { chartPin, HelmAddOn } from './addon';
import { certManager } from './cert-manager';

interface TraefikEntryPoint {
  readonly forwardedHeaders: { readonly trustedIPs: string[] };
  readonly http?: { readonly redirections: { readonly entryPoint: { readonly to: string; readonly scheme: 'https'; readonly permanent: boolean } } };
}

export interface TraefikValues {
  readonly deployment: { readonly replicas: number };
  readonly ingressClass: { readonly enabled: boolean; readonly isDefaultClass: boolean; readonly name: string };
  readonly providers: {
    readonly kubernetesCRD: { readonly enabled: boolean };
    readonly kubernetesIngress: { readonly enabled: boolean };
    readonly kubernetesGateway: { readonly enabled: boolean };
  };
  /** The chart's own Gateway and GatewayClass stay off: the edge chart renders both. */
  readonly gateway: { readonly enabled: boolean };
  readonly gatewayClass: { readonly enabled: boolean };
  readonly ports: { readonly web: TraefikEntryPoint; readonly websecure: TraefikEntryPoint };
  readonly metrics: {
    readonly prometheus: {
      readonly buckets: string;
      readonly disableAPICheck: boolean;
      readonly service: { readonly enabled: boolean };
      readonly serviceMonitor: { readonly enabled: boolean };
    };
  };
  readonly resources: HelmResources;
}

/** Container ports of the Traefik chart's entry points (values.yaml `ports.<name>.port`). */
export const TRAEFIK_PORTS = { web: 8000, websecure: 8443, metrics: 9100 } as const;
/** Request-duration histogram buckets (seconds): edges at the p95 alert thresholds 0.5 s and 2 s. */
export const TRAEFIK_LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5];
/** The IngressClass every Ingress names (Traefik's chart creates it in Ingress mode). */
export const TRAEFIK_INGRESS_CLASS = 'traefik';
/** MinIO API and console in the data namespace, published through Traefik. */
const MINIO_PORTS = [9000, 9001];

export function traefikValues(config: PlatformConfig, ingressClassName: string): TraefikValues {
  const trusted = { trustedIPs: config.edge.trustedProxyCidrs };
  const ingress = config.edge.api === 'ingress';
  return {
    deployment: { replicas: Math.min(config.node.count, 2) },
    ingressClass: { enabled: ingress, isDefaultClass: ingress, name: ingressClassName },
    providers: { kubernetesCRD: { enabled: true }, kubernetesIngress: { enabled: ingress }, kubernetesGateway: { enabled: !ingress } },
    gateway: { enabled: false },
    gatewayClass: { enabled: false },
    ports: {
      // With Ingresses the web entry point redirects everything; with the Gateway API an HTTPRoute
      // redirects instead, so that cert-manager's HTTP-01 solver routes on port 80 still answer.
      web: ingress
        ? { forwardedHeaders: trusted, http: { redirections: { entryPoint: { to: 'websecure', scheme: 'https', permanent: true } } } }
        : { forwardedHeaders: trusted },
      websecure: { forwardedHeaders: trusted },
    },
    // Request rate, errors and latency per service for the alerts and dashboards. The CRD comes with
    // kube-prometheus-stack: skip Helm's API check, Argo CD retries until it exists.
    metrics: {
      prometheus: { buckets: TRAEFIK_LATENCY_BUCKETS.join(','), disableAPICheck: true, service: { enabled: true }, serviceMonitor: { enabled: true } },
    },
    resources: helmResources(config.edge.resources.traefik),
  };
}

export const traefik: HelmAddOn<TraefikValues> = {
  id: 'traefik', host: 'edge', ...chartPin('https://traefik.github.io/charts', 'traefik'), releaseName: 'traefik',
  namespace: (config) => config.namespaces.edge,
  crdGroups: ['traefik.io'], clusterKinds: [CRD, ...RBAC, INGRESS_CLASS], extraNamespaces: [],
  pods: { traefik: { labels: { 'app.kubernetes.io/name': 'traefik' }, ports: TRAEFIK_PORTS } },
  footprint: (v, _n, at) => [row('traefik', v.deployment?.replicas ?? 1, [sized(at('resources'), v.resources)])],
  values: ({ config }) => traefikValues(config, TRAEFIK_INGRESS_CLASS),
  flows: ({ config, namespace }) => {
    const gateway = config.edge.api === 'gateway';
    const appPorts = [...new Set(config.apps.filter((a) => a.kind === 'web').map((a) => a.port))].sort((a, b) => a - b);
    return [{
      name: 'traefik',
      podLabels: { ...traefik.pods.traefik.labels },
      ingress: [{ peers: anywhere(), ports: tcp(TRAEFIK_PORTS.web, TRAEFIK_PORTS.websecure) }],
      egress: [
        // HTTP-01 solvers run beside the Ingresses (app namespace) or the Gateway (edge namespace).
        { peers: [namespacePeer(config.namespaces.app)], ports: tcp(...appPorts, ...(gateway ? [] : [ACME_SOLVER_PORT])) },
        ...(gateway ? [{ peers: [namespacePeer(namespace, { ...certManager.pods.solver.labels })], ports: tcp(ACME_SOLVER_PORT) }] : []),
        { peers: [namespacePeer(config.namespaces.data)], ports: tcp(...MINIO_PORTS) },
        { peers: anywhere(), ports: tcp(...API_SERVER_PORTS) }, // Traefik watches Ingresses, Services, EndpointSlices and its CRDs
      ],
    }];
  },
};
