import { Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import {
  Gateway, GatewayClass, GatewaySpecListenersAllowedRoutesNamespacesFrom, GatewaySpecListenersTlsMode, HttpRoute,
  HttpRouteSpecRulesFiltersRequestRedirectScheme, HttpRouteSpecRulesFiltersRequestRedirectStatusCode, HttpRouteSpecRulesFiltersType,
} from '../../../imports/gateway.networking.k8s.io';

/** Traefik's Gateway API controller name (its kubernetesGateway provider claims classes with it). */
export const TRAEFIK_GATEWAY_CONTROLLER = 'traefik.io/gateway-controller';

/** What a route needs to attach to the platform Gateway. */
export interface GatewayAttachment {
  readonly name: string;
  readonly namespace: string;
  /** Registers `hosts` on the Gateway and returns the HTTPS listener (section) name of each. */
  listenersFor(hosts: readonly string[]): string[];
}

export interface PlatformGatewayProps {
  readonly name: string;
  readonly namespace: string;
  /** GatewayClass to create and use. */
  readonly className: string;
  /** ClusterIssuer for cert-manager's Gateway support (one Certificate per HTTPS listener). */
  readonly issuerName: string;
  /** Namespaces whose HTTPRoutes may attach (kubernetes.io/metadata.name). */
  readonly routeNamespaces: readonly string[];
  /** Container ports of Traefik's entry points: a listener port must equal one of them. */
  readonly ports: { readonly http: number; readonly https: number };
  /** Annotations on every object (sync wave, sync options). @default none */
  readonly annotations?: Record<string, string>;
}

/**
 * The Gateway API edge: one GatewayClass for Traefik, one Gateway with a plain-HTTP listener
 * (ACME HTTP-01 challenges and the HTTPS redirect) and one HTTPS listener per public host,
 * each terminating TLS with a certificate cert-manager issues from the Gateway annotation.
 * Hosts are registered by the routes that serve them, so the listener list can never drift
 * from the routes.
 */
export class PlatformGateway extends Construct implements GatewayAttachment {
  /** Listener for plain HTTP: the redirect route and cert-manager's solver routes attach here. */
  public static readonly HTTP_LISTENER = 'http';
  public readonly name: string;
  public readonly namespace: string;
  private readonly hosts = new Set<string>();

  constructor(scope: Construct, id: string, props: PlatformGatewayProps) {
    super(scope, id);
    this.name = props.name;
    this.namespace = props.namespace;
    const annotations = props.annotations ?? {};
    const allowedRoutes = {
      namespaces: {
        from: GatewaySpecListenersAllowedRoutesNamespacesFrom.SELECTOR,
        selector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [...props.routeNamespaces] }] },
      },
    };

    new GatewayClass(this, 'Class', {
      metadata: { name: props.className, annotations },
      spec: { controllerName: TRAEFIK_GATEWAY_CONTROLLER },
    });
    new Gateway(this, 'Gateway', {
      metadata: { name: props.name, namespace: props.namespace, annotations: { ...annotations, 'cert-manager.io/cluster-issuer': props.issuerName } },
      spec: {
        gatewayClassName: props.className,
        listeners: Lazy.any({
          produce: () => [
            // Only the Gateway's own namespace (the redirect, cert-manager's solver routes) serves plain HTTP.
            { name: PlatformGateway.HTTP_LISTENER, port: props.ports.http, protocol: 'HTTP', allowedRoutes: { namespaces: { from: GatewaySpecListenersAllowedRoutesNamespacesFrom.SAME } } },
            ...this.sortedHosts().map((host) => ({
              name: listenerName(host),
              hostname: host,
              port: props.ports.https,
              protocol: 'HTTPS',
              allowedRoutes,
              tls: { mode: GatewaySpecListenersTlsMode.TERMINATE, certificateRefs: [{ kind: 'Secret', name: tlsSecretName(host) }] },
            })),
          ],
        }),
      },
    });
    // Every registered host answers plain HTTP with a permanent redirect; cert-manager's solver
    // routes match the exact challenge path, which takes precedence over this prefix match.
    new HttpRoute(this, 'HttpsRedirect', {
      metadata: { name: `${props.name}-https-redirect`, namespace: props.namespace, annotations },
      spec: {
        parentRefs: [{ name: props.name, namespace: props.namespace, sectionName: PlatformGateway.HTTP_LISTENER }],
        hostnames: Lazy.any({ produce: () => this.sortedHosts() }),
        rules: [{
          filters: [{
            type: HttpRouteSpecRulesFiltersType.REQUEST_REDIRECT,
            requestRedirect: { scheme: HttpRouteSpecRulesFiltersRequestRedirectScheme.HTTPS, statusCode: HttpRouteSpecRulesFiltersRequestRedirectStatusCode.VALUE_301 },
          }],
        }],
      },
    });
  }

  public listenersFor(hosts: readonly string[]): string[] {
    for (const host of hosts) {
      if (host.startsWith('*')) throw new Error(`Gateway ${this.name}: wildcard host ${host} cannot get an HTTP-01 certificate; fix: list each host`);
      this.hosts.add(host);
    }
    if (this.hosts.size > MAX_HTTPS_LISTENERS) {
      throw new Error(`Gateway ${this.name}: ${this.hosts.size} public hosts exceed the Gateway API limit of ${MAX_HTTPS_LISTENERS + 1} listeners; fix: serve fewer hosts or split the Gateway`);
    }
    return hosts.map(listenerName);
  }

  private sortedHosts(): string[] {
    return [...this.hosts].sort();
  }
}

/** Gateway API allows 64 listeners; one is the plain-HTTP listener. */
const MAX_HTTPS_LISTENERS = 63;
/** A host is a valid listener (section) name as it is. */
const listenerName = (host: string) => host;
const tlsSecretName = (host: string) => `${host.replace(/\./g, '-')}-tls`;
