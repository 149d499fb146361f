import { Construct } from 'constructs';
import { ClusterIssuer } from '../../../imports/cert-manager.io';
import { IssuerName } from '../../config/schema';

/** Let's Encrypt directories; staging has generous limits and untrusted certificates. */
const ACME_SERVERS = {
  'letsencrypt-staging': 'https://acme-staging-v02.api.letsencrypt.org/directory',
  'letsencrypt-prod': 'https://acme-v02.api.letsencrypt.org/directory',
} as const;

export interface ClusterIssuersProps {
  /** ACME account e-mail. */
  readonly acmeEmail: string;
  /** IngressClass that serves the HTTP-01 challenge (Ingress mode). */
  readonly ingressClassName: string;
  /**
   * In Gateway API mode: the Gateway and plain-HTTP listener the solver's HTTPRoute attaches to.
   * @default - challenges are served through an Ingress of `ingressClassName`
   */
  readonly gateway?: { readonly name: string; readonly namespace: string; readonly sectionName: string };
  /** Annotations on every issuer (sync wave, sync options). @default none */
  readonly annotations?: Record<string, string>;
}

/**
 * letsencrypt-staging, letsencrypt-prod (ACME HTTP-01 through the ingress class) and selfsigned.
 * All three always exist, so switching `edge.issuer` never waits for a new issuer to register.
 */
export class ClusterIssuers extends Construct {
  public readonly names: readonly IssuerName[];

  constructor(scope: Construct, id: string, props: ClusterIssuersProps) {
    super(scope, id);
    const metadata = (name: IssuerName) => ({ name, ...(props.annotations ? { annotations: props.annotations } : {}) });
    for (const name of ['letsencrypt-staging', 'letsencrypt-prod'] as const) {
      new ClusterIssuer(this, name, {
        metadata: metadata(name),
        spec: {
          acme: {
            server: ACME_SERVERS[name],
            email: props.acmeEmail,
            // The ACME account key; cert-manager creates it in its own namespace.
            privateKeySecretRef: { name: `${name}-account-key` },
            solvers: [{
              http01: props.gateway
                ? { gatewayHttpRoute: { parentRefs: [{ kind: 'Gateway', ...props.gateway }] } }
                : { ingress: { ingressClassName: props.ingressClassName } },
            }],
          },
        },
      });
    }
    new ClusterIssuer(this, 'selfsigned', { metadata: metadata('selfsigned'), spec: { selfSigned: {} } });
    this.names = ['letsencrypt-staging', 'letsencrypt-prod', 'selfsigned'];
  }
}
