/**
 * The values we set on the Traefik and cert-manager charts, typed with only keys that exist in
 * each chart's values.yaml (test/edge.test.ts validates them against the chart's own schema).
 * Security contexts are left at the chart defaults: both are Pod Security restricted already.
 */
import { PlatformConfig } from '../../config/schema';
import { HelmResources, helmResources } from '../resources';

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

export interface CertManagerValues {
  readonly crds: { readonly enabled: boolean; readonly keep: boolean };
  readonly resources: HelmResources;
  readonly webhook: { readonly resources: HelmResources };
  readonly cainjector: { readonly resources: HelmResources };
  readonly startupapicheck: { readonly resources: HelmResources };
  readonly prometheus: { readonly servicemonitor: { readonly enabled: boolean } };
  /** Controller configuration file; set in Gateway API mode to turn on cert-manager's Gateway support. */
  readonly config?: { readonly apiVersion: string; readonly kind: string; readonly enableGatewayAPI: boolean };
}

/** Container ports of the Traefik chart's entry points (values.yaml `ports.<name>.port`). */
export const TRAEFIK_PORTS = { web: 8000, websecure: 8443, metrics: 9100 } as const;
/** Request-duration histogram buckets (seconds): edges at the p95 alert thresholds 0.5 s and 2 s. */
export const TRAEFIK_LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5];
/** cert-manager's webhook listens here (values.yaml `webhook.securePort`); the API server calls it. */
export const CERT_MANAGER_WEBHOOK_PORT = 10250;

export function traefikValues(config: PlatformConfig, ingressClassName: string): TraefikValues {
  const trusted = { trustedIPs: config.edge.trustedProxyCidrs };
  const ingress = config.edge.api === 'ingress';
  return {
    deployment: { replicas: Math.min(config.cluster.nodes, 2) },
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

export function certManagerValues(config: PlatformConfig): CertManagerValues {
  const small = helmResources(config.edge.resources.certManager);
  return {
    // keep: deleting the release must not cascade-delete every Certificate in the cluster.
    crds: { enabled: true, keep: true },
    resources: small,
    webhook: { resources: small },
    cainjector: { resources: small },
    startupapicheck: { resources: small },
    prometheus: { servicemonitor: { enabled: false } },
    ...(config.edge.api === 'gateway'
      ? { config: { apiVersion: 'controller.config.cert-manager.io/v1alpha1', kind: 'ControllerConfiguration', enableGatewayAPI: true } }
      : {}),
  };
}
