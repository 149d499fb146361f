import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { IssuerName, PlatformConfig } from '../lib/config/schema';
import { CHARTS } from '../lib/config/versions';
import { CERT_MANAGER_WEBHOOK_PORT, CertManagerValues, certManagerValues, TRAEFIK_PORTS, TraefikValues, traefikValues } from '../lib/constructs/edge/chart-values';
import { ClusterIssuers } from '../lib/constructs/edge/cluster-issuers';
import { PlatformGateway } from '../lib/constructs/edge/gateway';
import { EdgeMiddlewares } from '../lib/constructs/edge/middlewares';
import { EdgeAttachment } from '../lib/constructs/edge/public-ingress';
import { HelmRelease, SYNC_WAVE_ANNOTATION } from '../lib/constructs/helm-release';
import { ACME_SOLVER_PORT, AllowFlows, anywhere, API_SERVER_PORTS, namespacePeer, tcp } from '../lib/constructs/network-policy';

/** Namespace roles that host public routes; each gets its own Middlewares (they are namespaced). */
const ROUTE_NAMESPACE_ROLES = ['app', 'data', 'monitoring'] as const;
export type RouteNamespaceRole = (typeof ROUTE_NAMESPACE_ROLES)[number];

export interface EdgeChartProps {
  readonly config: PlatformConfig;
}

/** CRD-bearing add-ons sync before everything that uses their kinds. */
const ADDON_WAVE = -10;
/** Objects of the add-ons' kinds: Argo CD retries them until the CRDs exist. */
const CUSTOM_RESOURCE_ANNOTATIONS = {
  [SYNC_WAVE_ANNOTATION]: '0',
  'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true',
};
/** MinIO API and console in the data namespace, published through Traefik. */
const MINIO_PORTS = [9000, 9001];

/**
 * The edge: Traefik (Ingress controller) and cert-manager as pinned Helm releases, the
 * ClusterIssuers, the Middlewares every Ingress uses, and the edge namespace's flows.
 * cert-manager runs in the edge namespace, which the base chart already creates restricted
 * and default-deny, instead of a namespace of its own outside that baseline.
 */
export class EdgeChart extends Chart {
  public readonly traefik: HelmRelease<TraefikValues>;
  public readonly certManager: HelmRelease<CertManagerValues>;
  /** IngressClass every Ingress names. */
  public readonly ingressClassName = 'traefik';
  /** Labels of the Traefik pods, for NetworkPolicies in other namespaces that admit or extend them. */
  public readonly traefikPodLabels: Readonly<Record<string, string>> = { 'app.kubernetes.io/name': 'traefik' };
  /** ClusterIssuer the platform's certificates use (`cert-manager.io/cluster-issuer`). */
  public readonly issuerName: IssuerName;
  /** Middleware sets by namespace role; Ingresses take `publicAnnotation` or `adminAnnotation`. */
  public readonly middlewares: Readonly<Record<RouteNamespaceRole, EdgeMiddlewares>>;
  /** The platform Gateway, in Gateway API mode (`edge.api: gateway`). */
  public readonly gateway?: PlatformGateway;

  constructor(scope: Construct, id: string, props: EdgeChartProps) {
    super(scope, id, { labels: { 'app.kubernetes.io/part-of': 'platform' } });
    const { config } = props;
    const namespace = config.namespaces.edge;
    this.issuerName = config.edge.issuer;

    this.traefik = new HelmRelease(this, 'traefik', {
      repository: CHARTS.traefik.repo, chart: CHARTS.traefik.chart, version: CHARTS.traefik.version,
      releaseName: 'traefik', namespace, values: traefikValues(config, this.ingressClassName), syncWave: ADDON_WAVE,
    });
    this.certManager = new HelmRelease(this, 'cert-manager', {
      repository: CHARTS.certManager.repo, chart: CHARTS.certManager.chart, version: CHARTS.certManager.version,
      releaseName: 'cert-manager', namespace, values: certManagerValues(config), syncWave: ADDON_WAVE,
      // The CRDs carry large OpenAPI schemas; client-side apply's last-applied annotation can overflow.
      serverSideApply: true,
    });

    if (config.edge.api === 'gateway') {
      this.gateway = new PlatformGateway(this, 'gateway', {
        name: 'platform',
        namespace,
        className: this.ingressClassName,
        issuerName: this.issuerName,
        routeNamespaces: [namespace, ...ROUTE_NAMESPACE_ROLES.map((role) => config.namespaces[role])],
        ports: { http: TRAEFIK_PORTS.web, https: TRAEFIK_PORTS.websecure },
        annotations: CUSTOM_RESOURCE_ANNOTATIONS,
      });
    }
    new ClusterIssuers(this, 'issuers', {
      acmeEmail: config.edge.acmeEmail,
      ingressClassName: this.ingressClassName,
      gateway: this.gateway ? { name: this.gateway.name, namespace, sectionName: PlatformGateway.HTTP_LISTENER } : undefined,
      annotations: CUSTOM_RESOURCE_ANNOTATIONS,
    });
    // Ingresses live in the app namespace; admin UIs in data (MinIO console) and monitoring (Grafana).
    this.middlewares = {
      app: new EdgeMiddlewares(this, 'app-middlewares', { config, namespace: config.namespaces.app, annotations: CUSTOM_RESOURCE_ANNOTATIONS }),
      data: new EdgeMiddlewares(this, 'data-middlewares', { config, namespace: config.namespaces.data, annotations: CUSTOM_RESOURCE_ANNOTATIONS }),
      monitoring: new EdgeMiddlewares(this, 'monitoring-middlewares', { config, namespace: config.namespaces.monitoring, annotations: CUSTOM_RESOURCE_ANNOTATIONS }),
    };

    this.flows(config);
  }

  /**
   * How a route in the namespace of `role` attaches to the edge: public (headers, limits) or
   * admin (the same plus the IP allow-list), as an Ingress or, in Gateway API mode, an HTTPRoute.
   */
  public attachment(role: RouteNamespaceRole, access: 'public' | 'admin'): EdgeAttachment {
    const set = this.middlewares[role];
    return {
      ingressClassName: this.ingressClassName,
      issuerName: this.issuerName,
      middlewares: access === 'admin' ? set.adminAnnotation : set.publicAnnotation,
      middlewareNames: access === 'admin' ? set.adminNames : set.publicNames,
      gateway: this.gateway,
    };
  }

  private flows(config: PlatformConfig): void {
    const namespace = config.namespaces.edge;
    const apiServer = { peers: anywhere(), ports: tcp(...API_SERVER_PORTS) };
    const appPorts = [...new Set(config.apps.filter((a) => a.kind === 'web').map((a) => a.port))].sort((a, b) => a - b);

    new AllowFlows(this, 'traefik-flows', {
      name: 'traefik',
      namespace,
      podLabels: { ...this.traefikPodLabels },
      ingress: [{ peers: anywhere(), ports: tcp(TRAEFIK_PORTS.web, TRAEFIK_PORTS.websecure) }],
      egress: [
        { peers: [namespacePeer(config.namespaces.app)], ports: tcp(...appPorts, ...(this.gateway ? [] : [ACME_SOLVER_PORT])) },
        ...(this.gateway ? [{ peers: [namespacePeer(namespace, { 'acme.cert-manager.io/http01-solver': 'true' })], ports: tcp(ACME_SOLVER_PORT) }] : []),
        { peers: [namespacePeer(config.namespaces.data)], ports: tcp(...MINIO_PORTS) },
        apiServer, // Traefik watches Ingresses, Services, EndpointSlices and its CRDs
      ],
    });
    // Every cert-manager pod (controller, webhook, cainjector, startupapicheck) talks to the API server.
    new AllowFlows(this, 'cert-manager-flows', {
      name: 'cert-manager',
      namespace,
      podLabels: { 'app.kubernetes.io/instance': 'cert-manager' },
      egress: [apiServer],
    });
    // The controller reaches Let's Encrypt (443) and self-checks each HTTP-01 challenge on port 80.
    new AllowFlows(this, 'cert-manager-acme', {
      name: 'cert-manager-acme',
      namespace,
      podLabels: { 'app.kubernetes.io/instance': 'cert-manager', 'app.kubernetes.io/component': 'controller' },
      egress: [{ peers: anywhere(), ports: tcp(80, 443) }],
    });
    // The API server calls the admission webhook from the control plane, not from a pod.
    new AllowFlows(this, 'cert-manager-webhook', {
      name: 'cert-manager-webhook',
      namespace,
      podLabels: { 'app.kubernetes.io/instance': 'cert-manager', 'app.kubernetes.io/component': 'webhook' },
      ingress: [{ peers: anywhere(), ports: tcp(CERT_MANAGER_WEBHOOK_PORT) }],
    });
    // HTTP-01 solver pods run beside the object that asked for the certificate, under that
    // namespace's default-deny: the app namespace's Ingresses, or the Gateway in the edge namespace.
    new AllowFlows(this, 'acme-solver-flows', {
      name: 'acme-http01-solver',
      namespace: this.solverNamespace(config),
      podLabels: { 'acme.cert-manager.io/http01-solver': 'true' },
      ingress: [{ peers: [namespacePeer(namespace, { ...this.traefikPodLabels })], ports: tcp(ACME_SOLVER_PORT) }],
    });
  }

  private solverNamespace(config: PlatformConfig): string {
    return this.gateway ? config.namespaces.edge : config.namespaces.app;
  }
}
