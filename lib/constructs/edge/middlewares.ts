import { Construct } from 'constructs';
import { Middleware } from '../../../imports/traefik.io';
import { PlatformConfig } from '../../config/schema';
import { parseQuantity } from '../../config/quantity';

/** The Ingress annotation through which Traefik applies Middlewares to a router. */
export const MIDDLEWARES_ANNOTATION = 'traefik.ingress.kubernetes.io/router.middlewares';

/** Per-route changes to the edge's security headers (an app's CSP, Permissions-Policy, framing). */
export interface SecurityHeaderOverrides {
  /** @default edge.contentSecurityPolicy */
  readonly contentSecurityPolicy?: string;
  /** @default edge.permissionsPolicy */
  readonly permissionsPolicy?: string;
  /** @default 'DENY' */
  readonly frameOptions?: 'DENY' | 'SAMEORIGIN';
}

/** The `headers` of a security-headers Middleware: HSTS (1 year, subdomains), nosniff, framing, referrer, CSP, permissions. */
export function securityHeaders(edge: PlatformConfig['edge'], overrides: SecurityHeaderOverrides = {}) {
  const frame = overrides.frameOptions ?? 'DENY';
  return {
    stsSeconds: 31536000,
    stsIncludeSubdomains: true,
    contentTypeNosniff: true,
    ...(frame === 'DENY' ? { frameDeny: true } : { customFrameOptionsValue: frame }),
    referrerPolicy: edge.referrerPolicy,
    contentSecurityPolicy: overrides.contentSecurityPolicy ?? edge.contentSecurityPolicy,
    permissionsPolicy: overrides.permissionsPolicy ?? edge.permissionsPolicy,
  };
}

/** Middleware names, in the order a request passes them (`cloudflare-only` first when edge.cloudflareOnly). */
const PUBLIC = ['redirect-https', 'rate-limit', 'body-limit', 'security-headers', 'compress'] as const;
const ADMIN = ['redirect-https', 'admin-allowlist', 'rate-limit', 'body-limit', 'security-headers', 'compress'] as const;
const CLOUDFLARE_ONLY = 'cloudflare-only';

/**
 * The source the rate limit and the admin allow-list key on, per edge.clientIp mode. `direct`: no
 * ipStrategy, so Traefik uses the peer address (its Service keeps it: externalTrafficPolicy Local) and
 * never reads X-Forwarded-For. `cloudflare`: the last X-Forwarded-For entry outside Cloudflare's ranges;
 * the entry points trust the header only from those ranges and drop it from anyone else.
 */
export function clientIpStrategy(edge: PlatformConfig['edge']): { readonly excludedIPs: string[] } | undefined {
  return edge.clientIp === 'cloudflare' ? { excludedIPs: edge.trustedProxyCidrs } : undefined;
}

export interface EdgeMiddlewaresProps {
  readonly config: PlatformConfig;
  /** Middlewares are namespaced: one set per namespace that hosts Ingresses. */
  readonly namespace: string;
  /** Annotations on every Middleware (sync wave, sync options). @default none */
  readonly annotations?: Record<string, string>;
}

/**
 * The edge policy as Traefik Middlewares in one namespace: HTTPS redirect, per-client rate limit,
 * body size limit, security headers, compression and, for admin UIs, an IP allow-list.
 */
export class EdgeMiddlewares extends Construct {
  public readonly namespace: string;
  /** Value of MIDDLEWARES_ANNOTATION for a public app's Ingress in this namespace. */
  public readonly publicAnnotation: string;
  /** Value of MIDDLEWARES_ANNOTATION for an admin UI's Ingress in this namespace. */
  public readonly adminAnnotation: string;
  /** Middleware names for a public HTTPRoute (the Gateway's HTTP listener redirects instead). */
  public readonly publicNames: readonly string[];
  /** Middleware names for an admin UI's HTTPRoute. */
  public readonly adminNames: readonly string[];

  constructor(scope: Construct, id: string, props: EdgeMiddlewaresProps) {
    super(scope, id);
    const { edge } = props.config;
    this.namespace = props.namespace;
    const metadata = (name: string) => ({ name, namespace: props.namespace, ...(props.annotations ? { annotations: props.annotations } : {}) });
    const ipStrategy = clientIpStrategy(edge);
    const cloudflareOnly = edge.clientIp === 'cloudflare' && edge.cloudflareOnly;

    new Middleware(this, 'redirect-https', { metadata: metadata('redirect-https'), spec: { redirectScheme: { scheme: 'https', permanent: true } } });
    new Middleware(this, 'rate-limit', {
      metadata: metadata('rate-limit'),
      spec: { rateLimit: { average: edge.rateLimit.average, burst: edge.rateLimit.burst, ...(ipStrategy ? { sourceCriterion: { ipStrategy } } : {}) } },
    });
    new Middleware(this, 'body-limit', {
      metadata: metadata('body-limit'),
      spec: { buffering: { maxRequestBodyBytes: parseQuantity(edge.maxBodySize) } },
    });
    new Middleware(this, 'security-headers', { metadata: metadata('security-headers'), spec: { headers: securityHeaders(edge) } });
    new Middleware(this, 'compress', { metadata: metadata('compress'), spec: { compress: {} } });
    new Middleware(this, 'admin-allowlist', {
      metadata: metadata('admin-allowlist'),
      spec: { ipAllowList: { sourceRange: edge.adminAllowCidrs, ...(ipStrategy ? { ipStrategy } : {}) } },
    });
    if (cloudflareOnly) {
      // The peer itself (no ipStrategy) must be Cloudflare: direct requests to the origin get 403.
      new Middleware(this, CLOUDFLARE_ONLY, { metadata: metadata(CLOUDFLARE_ONLY), spec: { ipAllowList: { sourceRange: edge.trustedProxyCidrs } } });
    }
    const chain = (names: readonly string[]) => (cloudflareOnly ? [names[0], CLOUDFLARE_ONLY, ...names.slice(1)] : [...names]);

    this.publicAnnotation = this.annotationFor(chain(PUBLIC));
    this.adminAnnotation = this.annotationFor(chain(ADMIN));
    this.publicNames = chain(PUBLIC).filter((n) => n !== 'redirect-https');
    this.adminNames = chain(ADMIN).filter((n) => n !== 'redirect-https');
  }

  private annotationFor(names: readonly string[]): string {
    return names.map((name) => `${this.namespace}-${name}@kubernetescrd`).join(',');
  }
}
