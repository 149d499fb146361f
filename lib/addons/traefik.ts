/**
 * Traefik, the Ingress controller (and Gateway API implementation) of the edge. Values typed with
 * only keys that exist in the chart's values.yaml (test/addons.test.ts validates them against the
 * chart's own schema). Security contexts are left at the chart defaults: Pod Security restricted already.
 */
import { MINIO_ROUTED_PORTS } from '../services/minio/minio';
import { PlatformConfig } from '../config/schema';
import { anywhere, API_SERVER_PORTS, namespacePeer, tcp } from '../constructs/network-policy';
import { HelmResources, helmResources } from '../constructs/resources';
import { perNodeRow, row, sized } from '../footprint';
import { CRD, INGRESS_CLASS, RBAC } from '../gitops/helm-scope';
import { ALERT_ACTIONS } from '../config/alerts';
import { parseDuration } from '../config/duration';
import { configKey, pair } from '../constructs/monitoring/alert-rules';
import { chartPin, HelmAddOn } from './addon';

interface TraefikEntryPoint {
  readonly forwardedHeaders: { readonly trustedIPs: string[] };
  readonly http?: { readonly redirections: { readonly entryPoint: { readonly to: string; readonly scheme: 'https'; readonly permanent: boolean } } };
}

/**
 * How Traefik's pods are placed: one per node (a DaemonSet) on more than one node, since ServiceLB with
 * externalTrafficPolicy Local hands a node's traffic only to a Traefik pod on that node; one Deployment
 * replica on a single node (a DaemonSet there is the same pod, the Deployment keeps the chart's simpler default).
 */
export type TraefikWorkload = { readonly kind: 'DaemonSet' } | { readonly kind: 'Deployment'; readonly replicas: number };

export interface TraefikValues {
  readonly deployment: TraefikWorkload;
  /** Roll a node's pod only after its replacement on the same node is ready (maxSurge 1, maxUnavailable 0). */
  readonly updateStrategy: { readonly type: 'RollingUpdate'; readonly rollingUpdate: { readonly maxUnavailable: 0; readonly maxSurge: 1 } };
  /** Off: a node drain evicts no DaemonSet pod, and one replica on one node has nothing to keep available. */
  readonly podDisruptionBudget: { readonly enabled: false };
  /** Off: a DaemonSet has no replica count to scale; the pod count follows the nodes. */
  readonly autoscaling: { readonly enabled: false };
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
  /** externalTrafficPolicy Local: k3s's ServiceLB and kube-proxy keep the client's address (no SNAT). */
  readonly service: { readonly spec: { readonly externalTrafficPolicy: 'Local' } };
  readonly metrics: {
    readonly prometheus: {
      readonly buckets: string;
      readonly disableAPICheck: boolean;
      readonly service: { readonly enabled: boolean };
      /** honorLabels: Traefik's own `service` label (the routed app) wins over the scrape target's. */
      readonly serviceMonitor: { readonly enabled: boolean; readonly honorLabels: boolean };
    };
  };
  /** JSON access logs on stdout (Alloy ships them to Loki): client IP, host, path, status, duration, request IDs. */
  readonly accessLog: {
    readonly enabled: boolean;
    readonly format: 'json';
    readonly fields: { readonly defaultMode: 'keep'; readonly headers: { readonly defaultMode: 'drop'; readonly names: Record<string, 'keep'> } };
  };
  readonly resources: HelmResources;
}

/**
 * Request headers the access log keeps (all others dropped: cookies and tokens stay out of Loki). Request IDs:
 * X-Request-Id when a client or proxy sets one, Cloudflare's Cf-Ray (both reach the app unchanged).
 */
export const ACCESS_LOG_HEADERS = ['X-Request-Id', 'Cf-Ray', 'User-Agent', 'Referer'] as const;

/** Container ports of the Traefik chart's entry points (values.yaml `ports.<name>.port`). */
export const TRAEFIK_PORTS = { web: 8000, websecure: 8443, metrics: 9100 } as const;
/** Request-duration histogram buckets (seconds): edges at the p95 alert thresholds 0.5 s and 2 s. */
export const TRAEFIK_LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5];
/** The IngressClass every Ingress names (Traefik's chart creates it in Ingress mode). */
export const TRAEFIK_INGRESS_CLASS = 'traefik';

/**
 * RED per routed app from the edge: Traefik labels its service metrics with the router's backend
 * (`<namespace>-<service>-<port>@kubernetes`), so every app with a route has them, /metrics or not.
 */
const ROUTED = 'service!~".+@internal"';
export const EDGE_RED = {
  requests: (range: string) => `sum by (service) (rate(traefik_service_requests_total{${ROUTED}}${range}))`,
  errorPercent: (range: string) =>
    `100 * sum by (service) (rate(traefik_service_requests_total{${ROUTED}, code=~"5.."}${range})) / sum by (service) (rate(traefik_service_requests_total{${ROUTED}}${range}))`,
  p95: (range: string) => `histogram_quantile(0.95, sum by (service, le) (rate(traefik_service_request_duration_seconds_bucket{${ROUTED}}${range})))`,
};

/** A DaemonSet (a pod on every node that receives traffic) on two nodes or more; one Deployment replica on one node. */
export const traefikWorkload = (nodes: number): TraefikWorkload => (nodes > 1 ? { kind: 'DaemonSet' } : { kind: 'Deployment', replicas: 1 });

export function traefikValues(config: PlatformConfig, ingressClassName: string): TraefikValues {
  // X-Forwarded-* is trusted only in cloudflare mode and only from Cloudflare (direct mode: from nobody).
  const trusted = { trustedIPs: config.edge.clientIp === 'cloudflare' ? config.edge.trustedProxyCidrs : [] };
  const ingress = config.edge.api === 'ingress';
  return {
    deployment: traefikWorkload(config.node.count),
    updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
    podDisruptionBudget: { enabled: false },
    autoscaling: { enabled: false },
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
    // Both modes need the peer address: direct keys on it, cloudflare checks it against Cloudflare's ranges.
    service: { spec: { externalTrafficPolicy: 'Local' } },
    // Request rate, errors and latency per service for the alerts and dashboards. The CRD comes with
    // kube-prometheus-stack: skip Helm's API check; the CRD exists before this syncs (rendersMonitoringObjects).
    metrics: {
      prometheus: { buckets: TRAEFIK_LATENCY_BUCKETS.join(','), disableAPICheck: true, service: { enabled: true }, serviceMonitor: { enabled: true, honorLabels: true } },
    },
    accessLog: {
      enabled: true,
      format: 'json',
      fields: { defaultMode: 'keep', headers: { defaultMode: 'drop', names: Object.fromEntries(ACCESS_LOG_HEADERS.map((h) => [h, 'keep' as const])) } },
    },
    resources: helmResources(config.edge.resources.traefik),
  };
}

export const traefik: HelmAddOn<TraefikValues> = {
  id: 'traefik', host: 'edge', ...chartPin('https://traefik.github.io/charts', 'traefik'), releaseName: 'traefik',
  kubernetes: { minimum: '1.25.0', reason: "Chart.yaml kubeVersion '>=1.25.0-0'" },
  namespace: (config) => config.namespaces.edge,
  crdGroups: ['traefik.io'], clusterKinds: [CRD, ...RBAC, INGRESS_CLASS], extraNamespaces: [],
  // Its ServiceMonitor (metrics.prometheus.serviceMonitor) needs kube-prometheus-stack's CRDs.
  rendersMonitoringObjects: true,
  pods: { traefik: { labels: { 'app.kubernetes.io/name': 'traefik' }, ports: TRAEFIK_PORTS } },
  resourceKey: () => 'edge.resources.traefik',
  footprint: (v, nodes, at) => {
    const parts = [sized(at('resources'), v.resources)];
    return [v.deployment?.kind === 'DaemonSet' ? perNodeRow('traefik', nodes, parts) : row('traefik', v.deployment?.replicas ?? 1, parts)];
  },
  values: ({ config }) => traefikValues(config, TRAEFIK_INGRESS_CLASS),
  alerts: (config) => {
    const t = config.alerts;
    return [{ area: 'edge', rules: [
      ...pair('EdgeResponseTimeHigh', (level) => ({
        expr: `${EDGE_RED.p95('[5m]')} > ${parseDuration(t.responseTimeP95[level])}`,
        for: t.responseTimeP95.for,
        summary: `p95 response time of {{ $labels.service }} at the edge above ${t.responseTimeP95[level]}`,
        description: `p95 {{ $value | humanizeDuration }} for ${t.responseTimeP95.for}, measured by Traefik. ${configKey('responseTimeP95')} (warning ${t.responseTimeP95.warning}, critical ${t.responseTimeP95.critical}).`,
        action: ALERT_ACTIONS.responseTimeP95,
      })),
      ...pair('EdgeErrorRateHigh', (level) => ({
        expr: `${EDGE_RED.errorPercent('[5m]')} > ${t.errorRate[level]}`,
        for: t.errorRate.for,
        summary: `{{ $labels.service }} answers more than ${t.errorRate[level]} % of requests with 5xx at the edge`,
        description: `5xx rate {{ $value | printf "%.2f" }} % for ${t.errorRate.for}, measured by Traefik. ${configKey('errorRate')} (warning ${t.errorRate.warning} %, critical ${t.errorRate.critical} %).`,
        action: ALERT_ACTIONS.errorRate,
      })),
    ] }];
  },
  // Every routed app, from the edge: rate, errors and latency whether or not the app exposes /metrics.
  dashboardRows: ({ graph, rate, thresholds: t, seconds }) => [{
    title: 'Edge: rate, errors, duration per routed app', order: 5, panels: [
      graph('Requests per second', 'reqps', [[EDGE_RED.requests(rate), '{{service}}']]),
      graph('5xx responses (% of requests)', 'percent', [[EDGE_RED.errorPercent(rate), '{{service}}']], t.errorRate),
      graph('p95 response time', 's', [[EDGE_RED.p95(rate), '{{service}}']], seconds(t.responseTimeP95)),
    ],
  }],
  flows: ({ config }) => {
    const appPorts = [...new Set(config.apps.filter((a) => a.kind === 'web').map((a) => a.port))].sort((a, b) => a - b);
    return [{
      name: 'traefik',
      podLabels: { ...traefik.pods.traefik.labels },
      ingress: [{ peers: anywhere(), ports: tcp(TRAEFIK_PORTS.web, TRAEFIK_PORTS.websecure) }],
      egress: [
        // HTTP-01 solvers: the edge chart opens them for every namespace that holds a route (EdgeChart.openSolverPaths).
        { peers: [namespacePeer(config.namespaces.app)], ports: tcp(...appPorts) },
        { peers: [namespacePeer(config.namespaces.data)], ports: tcp(...MINIO_ROUTED_PORTS) }, // MinIO's API and console (its attribute)
        { peers: anywhere(), ports: tcp(...API_SERVER_PORTS) }, // Traefik watches Ingresses, Services, EndpointSlices and its CRDs
      ],
    }];
  },
};
