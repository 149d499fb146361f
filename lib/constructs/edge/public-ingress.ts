import { Construct } from 'constructs';
import { KubeIngress } from '../../k8s';

/** What an Ingress needs from the edge chart (attributes, not strings). */
export interface EdgeAttachment {
  readonly ingressClassName: string;
  /** ClusterIssuer that signs the certificate. */
  readonly issuerName: string;
  /** Value of `traefik.ingress.kubernetes.io/router.middlewares` (headers, limits, ...). */
  readonly middlewares: string;
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
}

/**
 * An HTTPS-only Ingress on Traefik: TLS from cert-manager (one certificate for all hosts),
 * served on the websecure entrypoint only (web redirects to it), with the edge middlewares.
 */
export class PublicIngress extends Construct {
  public readonly tlsSecretName: string;

  constructor(scope: Construct, id: string, props: PublicIngressProps) {
    super(scope, id);
    if (props.hosts.length === 0) throw new Error(`Ingress ${props.name}: needs at least one host`);
    this.tlsSecretName = `${props.name}-tls`;
    const paths = props.paths ?? ['/'];
    new KubeIngress(this, 'Ingress', {
      metadata: {
        name: props.name,
        namespace: props.namespace,
        annotations: {
          'cert-manager.io/cluster-issuer': props.edge.issuerName,
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
}
