import { Construct } from 'constructs';
import { Middleware } from '../../../imports/traefik.io';
import { AdminAccessMode, PlatformConfig } from '../../config/schema';
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

/** The Secret (`kubernetes.io/basic-auth`, generated: secrets.<role>.edge-admin-auth) the admin routes' basicAuth reads. */
export const ADMIN_AUTH_SECRET = 'edge-admin-auth';
const ADMIN_ALLOWLIST = 'admin-allowlist';
const ADMIN_AUTH = 'admin-auth';

/** Middleware names, in the order a request passes them (`cloudflare-only` first when edge.cloudflareOnly). */
const PUBLIC = ['redirect-https', 'rate-limit', 'body-limit', 'security-headers', 'compress'] as const;
/**
 * The admin chain per edge.adminAccess: the allow-list before anything else, the credential after the rate limit
 * (guesses are rate-limited per client) and before the body is buffered (no upload before authentication).
 */
function adminChain(access: AdminAccessMode): string[] {
  const allowList = access === 'allowList' || access === 'both';
  const basicAuth = access === 'basicAuth' || access === 'both';
  return ['redirect-https', ...(allowList ? [ADMIN_ALLOWLIST] : []), 'rate-limit', ...(basicAuth ? [ADMIN_AUTH] : []), 'body-limit', 'security-headers', 'compress'];
}
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
  /**
   * Whether the namespace hosts admin UIs: then it gets the admin Middlewares (allow-list, basicAuth on
   * ADMIN_AUTH_SECRET, which must be declared there, per edge.adminAccess). @default true
   */
  readonly admin?: boolean;
}

/**
 * The edge policy as Traefik Middlewares in one namespace: HTTPS redirect, per-client rate limit,
 * body size limit, security headers, compression and, for admin UIs, the generated credential
 * (basicAuth) and/or an IP allow-list (edge.adminAccess).
 */
export class EdgeMiddlewares extends Construct {
  public readonly namespace: string;
  /** Value of MIDDLEWARES_ANNOTATION for a public app's Ingress in this namespace. */
  public readonly publicAnnotation: string;
  /** Value of MIDDLEWARES_ANNOTATION for an admin UI's Ingress in this namespace (undefined: no admin UIs here). */
  public readonly adminAnnotation?: string;
  /** Middleware names for a public HTTPRoute (the Gateway's HTTP listener redirects instead). */
  public readonly publicNames: readonly string[];
  /** Middleware names for an admin UI's HTTPRoute (undefined: no admin UIs here). */
  public readonly adminNames?: readonly string[];
  /** The Secret keys Traefik reads for these Middlewares (the basicAuth credential), for Platform.declaredSecrets. */
  public readonly secrets: readonly { readonly namespace: string; readonly name: string; readonly key: string }[];

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
    const admin = props.admin === false ? undefined : adminChain(edge.adminAccess);
    if (admin?.includes(ADMIN_ALLOWLIST)) {
      new Middleware(this, ADMIN_ALLOWLIST, {
        metadata: metadata(ADMIN_ALLOWLIST),
        spec: { ipAllowList: { sourceRange: edge.adminAllowCidrs, ...(ipStrategy ? { ipStrategy } : {}) } },
      });
    }
    this.secrets = admin?.includes(ADMIN_AUTH) ? ['username', 'password'].map((key) => ({ namespace: props.namespace, name: ADMIN_AUTH_SECRET, key })) : [];
    if (admin?.includes(ADMIN_AUTH)) {
      // Traefik reads username and password of the basic-auth Secret; removeHeader keeps the edge credential
      // from the UI behind it (Grafana would try it as a login of its own).
      new Middleware(this, ADMIN_AUTH, {
        metadata: metadata(ADMIN_AUTH),
        spec: { basicAuth: { secret: ADMIN_AUTH_SECRET, realm: 'admin', removeHeader: true } },
      });
    }
    if (cloudflareOnly) {
      // The peer itself (no ipStrategy) must be Cloudflare: direct requests to the origin get 403.
      new Middleware(this, CLOUDFLARE_ONLY, { metadata: metadata(CLOUDFLARE_ONLY), spec: { ipAllowList: { sourceRange: edge.trustedProxyCidrs } } });
    }
    const chain = (names: readonly string[]) => (cloudflareOnly ? [names[0], CLOUDFLARE_ONLY, ...names.slice(1)] : [...names]);

    this.publicAnnotation = this.annotationFor(chain(PUBLIC));
    this.publicNames = chain(PUBLIC).filter((n) => n !== 'redirect-https');
    if (admin) {
      this.adminAnnotation = this.annotationFor(chain(admin));
      this.adminNames = chain(admin).filter((n) => n !== 'redirect-https');
    }
  }

  private annotationFor(names: readonly string[]): string {
    return names.map((name) => `${this.namespace}-${name}@kubernetescrd`).join(',');
  }
}
