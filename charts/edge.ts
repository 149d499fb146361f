import { ApiObject, Chart } from 'cdk8s';

/** Objects that route a host through the edge (and so ask cert-manager for its certificate). */
const ROUTE_KINDS = ['Ingress', 'HTTPRoute'];
import { Construct } from 'constructs';
import { IssuerName, PlatformConfig } from '../lib/config/schema';
import { HelmAddOn, installAddOns, releaseOf } from '../lib/addons/addon';
import { certManager, CertManagerValues } from '../lib/addons/cert-manager';
import { ADD_ONS } from '../lib/addons/registry';
import { traefik, TRAEFIK_INGRESS_CLASS, TRAEFIK_PORTS, TraefikValues } from '../lib/addons/traefik';
import { ClusterIssuers } from '../lib/constructs/edge/cluster-issuers';
import { clusterPeers, isSecondary } from '../lib/config/shared-cluster';
import { PlatformGateway } from '../lib/constructs/edge/gateway';
import { EdgeMiddlewares } from '../lib/constructs/edge/middlewares';
import { EdgeAttachment } from '../lib/constructs/edge/public-ingress';
import { HelmRelease, SYNC_WAVE_ANNOTATION } from '../lib/constructs/helm-release';
import { ACME_SOLVER_PORT, AllowFlows, connect } from '../lib/constructs/network-policy';

/** Namespace roles that host public routes; each gets its own Middlewares (they are namespaced). */
const ROUTE_NAMESPACE_ROLES = ['app', 'data', 'monitoring'] as const;
export type RouteNamespaceRole = (typeof ROUTE_NAMESPACE_ROLES)[number];

export interface EdgeChartProps {
  readonly config: PlatformConfig;
  /**
   * Helm add-ons; this chart installs those whose `host` is its id.
   * @default ADD_ONS (lib/addons/registry.ts)
   */
  readonly addOns?: readonly HelmAddOn[];
}

/** Objects of the add-ons' kinds: Argo CD retries them until the CRDs exist. */
const CUSTOM_RESOURCE_ANNOTATIONS = {
  [SYNC_WAVE_ANNOTATION]: '0',
  'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true',
};
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
  public readonly ingressClassName = TRAEFIK_INGRESS_CLASS;
  /** Labels of the Traefik pods, for NetworkPolicies in other namespaces that admit or extend them. */
  public readonly traefikPodLabels: Readonly<Record<string, string>> = traefik.pods.traefik.labels;
  /** ClusterIssuer the platform's certificates use (`cert-manager.io/cluster-issuer`). */
  public readonly issuerName: IssuerName;
  /** Middleware sets by namespace role; Ingresses take `publicAnnotation` or `adminAnnotation`. */
  public readonly middlewares: Readonly<Record<RouteNamespaceRole, EdgeMiddlewares>>;
  /** The Secret keys Traefik reads for the Middlewares (the admin UIs' basicAuth credential), by namespace. */
  public get secrets(): { namespace: string; name: string; key: string }[] {
    return Object.values(this.middlewares).flatMap((m) => m.secrets.map((s) => ({ ...s })));
  }
  /** The platform Gateway, in Gateway API mode (`edge.api: gateway`). */
  public readonly gateway?: PlatformGateway;
  private readonly edgeNamespace: string;
  /** Where Traefik runs: the edge namespace, or a secondary's primary's (lib/config/shared-cluster.ts). */
  private readonly traefikNamespace: string;
  private solverPathsOpened = false;

  constructor(scope: Construct, id: string, props: EdgeChartProps) {
    super(scope, id, { labels: { 'app.kubernetes.io/part-of': 'platform' } });
    const { config } = props;
    const namespace = config.namespaces.edge;
    this.edgeNamespace = namespace;
    this.traefikNamespace = clusterPeers(config).edge;
    this.issuerName = config.edge.issuer;

    // Traefik and cert-manager, with their NetworkPolicies (lib/addons/).
    const releases = installAddOns(this, props.addOns ?? ADD_ONS, { config });
    this.traefik = releaseOf(releases, traefik);
    this.certManager = releaseOf(releases, certManager);
    // A secondary's routes are served by its primary's Traefik: Traefik's egress to this environment's
    // namespaces, on Traefik's side (the platform prefixes its name, lib/config/shared-cluster.ts).
    if (isSecondary(config)) {
      for (const flow of traefik.flows?.({ config, namespace: this.traefikNamespace }) ?? []) {
        new AllowFlows(this, `cluster-${flow.name}`, { ...flow, namespace: this.traefikNamespace });
      }
    }

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
    // Cluster-scoped: a secondary environment uses its primary's issuers (lib/config/shared-cluster.ts).
    if (!isSecondary(config)) new ClusterIssuers(this, 'issuers', {
      acmeEmail: config.edge.acmeEmail,
      ingressClassName: this.ingressClassName,
      gateway: this.gateway ? { name: this.gateway.name, namespace, sectionName: PlatformGateway.HTTP_LISTENER } : undefined,
      annotations: CUSTOM_RESOURCE_ANNOTATIONS,
    });
    // Ingresses live in the app namespace; admin UIs in data (MinIO console) and monitoring (Grafana).
    this.middlewares = {
      // No admin UI in the app namespace: no admin Middlewares (nor a credential) there.
      app: new EdgeMiddlewares(this, 'app-middlewares', { config, namespace: config.namespaces.app, annotations: CUSTOM_RESOURCE_ANNOTATIONS, admin: false }),
      data: new EdgeMiddlewares(this, 'data-middlewares', { config, namespace: config.namespaces.data, annotations: CUSTOM_RESOURCE_ANNOTATIONS }),
      monitoring: new EdgeMiddlewares(this, 'monitoring-middlewares', { config, namespace: config.namespaces.monitoring, annotations: CUSTOM_RESOURCE_ANNOTATIONS }),
    };
  }

  /**
   * How a route in the namespace of `role` attaches to the edge: public (headers, limits) or admin (the same
   * plus the generated credential and/or the IP allow-list, edge.adminAccess), as an Ingress or, in Gateway API
   * mode, an HTTPRoute.
   */
  public attachment(role: RouteNamespaceRole, access: 'public' | 'admin'): EdgeAttachment {
    const set = this.middlewares[role];
    if (access === 'admin' && (set.adminAnnotation === undefined || set.adminNames === undefined)) {
      throw new Error(`EdgeChart.attachment('${role}', 'admin'): the ${role} namespace hosts no admin UIs, so it has no admin Middlewares nor credential; fix: put the admin UI in the data or monitoring namespace`);
    }
    return {
      ingressClassName: this.ingressClassName,
      issuerName: this.issuerName,
      middlewares: access === 'admin' ? set.adminAnnotation! : set.publicAnnotation,
      middlewareNames: access === 'admin' ? set.adminNames! : set.publicNames,
      gateway: this.gateway,
    };
  }

  /**
   * Lets Traefik reach cert-manager's HTTP-01 solver wherever a certificate is asked for: beside every route
   * (Ingress) in its namespace, or beside the Gateway (HTTPRoutes) in the edge namespace. Derived from the route
   * objects the charts rendered, so a namespace that gains a route gains its solver path. Call once, after every
   * chart that renders routes (charts/platform.ts).
   */
  public openSolverPaths(routes: readonly ApiObject[]): void {
    if (this.solverPathsOpened) throw new Error('EdgeChart.openSolverPaths called twice; fix: call it once, after every chart that renders routes');
    this.solverPathsOpened = true;
    const edgeNs = this.edgeNamespace;
    const traefikNs = this.traefikNamespace;
    const namespaces = new Set(routes.filter((r) => ROUTE_KINDS.includes(r.kind)).map((r) => (r.kind === 'HTTPRoute' ? edgeNs : r.metadata.namespace ?? edgeNs)));
    const traefikSide = new AllowFlows(this, 'traefik-acme-solvers', { name: 'traefik-acme-solvers', namespace: traefikNs, podLabels: { ...this.traefikPodLabels } });
    for (const ns of [...namespaces].sort()) {
      const solver = new AllowFlows(this, `acme-solver-${ns}`, { name: 'acme-http01-solver', namespace: ns, podLabels: { ...certManager.pods.solver.labels } });
      connect({ policy: traefikSide }, { policy: solver }, [ACME_SOLVER_PORT]);
    }
  }
}
