import { Construct } from 'constructs';
import { HttpRoute, HttpRouteSpecRulesFiltersType, HttpRouteSpecRulesMatchesPathType } from '../../../imports/gateway.networking.k8s.io';
import { KubeIngress } from '../../k8s';
import { GatewayAttachment } from './gateway';

/** What a route needs from the edge chart (attributes, not strings). */
export interface EdgeAttachment {
  readonly ingressClassName: string;
  /** ClusterIssuer that signs the certificate. */
  readonly issuerName: string;
  /** Value of `traefik.ingress.kubernetes.io/router.middlewares` (headers, limits, ...), for Ingresses. */
  readonly middlewares: string;
  /** The same Middlewares by name (in the route's namespace), for HTTPRoute ExtensionRef filters. */
  readonly middlewareNames: readonly string[];
  /** Set in Gateway API mode (`edge.api: gateway`): an HTTPRoute on this Gateway replaces the Ingress. */
  readonly gateway?: GatewayAttachment;
}

export interface PublicIngressProps {
  readonly name: string;
  readonly namespace: string;
  readonly hosts: string[];
  /** @default ['/'] */
  readonly paths?: string[];
  readonly serviceName: string;
  readonly servicePort: number;
  readonly edge: EdgeAttachment;
  /**
   * Serve with the certificate of another route of exactly these hosts (its TLS Secret) instead of
   * asking cert-manager for one more. @default a certificate of its own, `<name>-tls`
   */
  readonly reuseTlsSecret?: string;
}

/**
 * A public HTTPS route on Traefik with TLS from cert-manager and the edge middlewares: an
 * Ingress (websecure entrypoint only; web redirects to it), or in Gateway API mode an HTTPRoute
 * on the platform Gateway's HTTPS listeners with the same Middlewares as ExtensionRef filters.
 */
export class PublicIngress extends Construct {
  /** Secret of the certificate (Ingress mode; in Gateway mode the Gateway owns the certificates). */
  public readonly tlsSecretName: string;

  constructor(scope: Construct, id: string, props: PublicIngressProps) {
    super(scope, id);
    if (props.hosts.length === 0) throw new Error(`Ingress ${props.name}: needs at least one host`);
    this.tlsSecretName = props.reuseTlsSecret ?? `${props.name}-tls`;
    const paths = props.paths ?? ['/'];
    if (props.edge.gateway) {
      this.route(props, paths, props.edge.gateway);
      return;
    }
    new KubeIngress(this, 'Ingress', {
      metadata: {
        name: props.name,
        namespace: props.namespace,
        annotations: {
          ...(props.reuseTlsSecret ? {} : { 'cert-manager.io/cluster-issuer': props.edge.issuerName }),
          'traefik.ingress.kubernetes.io/router.entrypoints': 'websecure',
          'traefik.ingress.kubernetes.io/router.tls': 'true',
          'traefik.ingress.kubernetes.io/router.middlewares': props.edge.middlewares,
        },
      },
      spec: {
        ingressClassName: props.edge.ingressClassName,
        tls: [{ hosts: props.hosts, secretName: this.tlsSecretName }],
        rules: props.hosts.map((host) => ({
          host,
          http: {
            paths: paths.map((path) => ({
              path,
              pathType: 'Prefix',
              backend: { service: { name: props.serviceName, port: { number: props.servicePort } } },
            })),
          },
        })),
      },
    });
  }

  private route(props: PublicIngressProps, paths: string[], gateway: GatewayAttachment): void {
    const listeners = gateway.listenersFor(props.hosts);
    new HttpRoute(this, 'HTTPRoute', {
      metadata: { name: props.name, namespace: props.namespace },
      spec: {
        parentRefs: listeners.map((sectionName) => ({ name: gateway.name, namespace: gateway.namespace, sectionName })),
        hostnames: props.hosts,
        rules: [{
          matches: paths.map((value) => ({ path: { type: HttpRouteSpecRulesMatchesPathType.PATH_PREFIX, value } })),
          filters: props.edge.middlewareNames.map((name) => ({
            type: HttpRouteSpecRulesFiltersType.EXTENSION_REF,
            extensionRef: { group: 'traefik.io', kind: 'Middleware', name },
          })),
          backendRefs: [{ name: props.serviceName, port: props.servicePort }],
        }],
      },
    });
  }
}
