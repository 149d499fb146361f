import { Construct } from 'constructs';
import { Middleware } from '../../../imports/traefik.io';
import { parseQuantity } from '../../config/quantity';
import { AppConfig, PlatformConfig } from '../../config/schema';
import { securityHeaders } from './middlewares';
import { STREAM_BLOCKERS, withMiddlewares } from './edge-chains';
import { EdgeAttachment, PublicIngress } from './public-ingress';

export { streamingEdge } from './edge-chains';

export interface AppRoutesProps {
  readonly app: AppConfig;
  readonly namespace: string;
  /** The edge settings the app's own Middlewares start from (headers, body size). */
  readonly edgeConfig: PlatformConfig['edge'];
  readonly serviceName: string;
  readonly servicePort: number;
  /** The edge's public Middlewares in the app namespace. */
  readonly edge: EdgeAttachment;
}

/** The Secret key of a basic-auth Secret: bcrypt htpasswd lines, as Traefik reads them. */
export const BASIC_AUTH_KEY = 'users';

/**
 * The public routes of one web app: its path prefixes on its hosts (another app may serve other
 * prefixes of the same host), with the app's own Middlewares where it asks for them: prefix
 * stripping, basic auth (whole host), security headers and CSP, body size; and its webhook paths
 * in a second route without the rate limit and basic auth, on the same certificate.
 */
export class AppRoutes extends Construct {
  /** Secrets the routes read (basic auth), for the secret declarations check. */
  public readonly secrets: { namespace: string; name: string; key: string }[] = [];

  constructor(scope: Construct, id: string, props: AppRoutesProps) {
    super(scope, id);
    const { app, namespace } = props;
    const own = (name: string, spec: Record<string, unknown>): string => {
      new Middleware(this, name, { metadata: { name: `${app.name}-${name}`, namespace }, spec });
      return `${app.name}-${name}`;
    };
    const replace: Record<string, string> = {};
    if (app.headers) replace['security-headers'] = own('security-headers', { headers: securityHeaders(props.edgeConfig, app.headers) });
    if (app.maxBodySize) replace['body-limit'] = own('body-limit', { buffering: { maxRequestBodyBytes: parseQuantity(app.maxBodySize) } });
    const basicAuth = app.basicAuth ? own('basic-auth', { basicAuth: { secret: app.basicAuth.secret, removeHeader: true } }) : undefined;
    if (app.basicAuth) this.secrets.push({ namespace, name: app.basicAuth.secret, key: BASIC_AUTH_KEY });
    const strip = app.stripPrefix ? own('strip-prefix', { stripPrefix: { prefixes: app.paths } }) : undefined;

    const chain = (webhook: boolean) => (names: readonly string[]): string[] => {
      const out = names.filter((n) => !(webhook && n === 'rate-limit')).map((n) => replace[n] ?? n);
      // Basic auth after the rate limit (guessing is rate limited), before anything else.
      if (basicAuth && !webhook) out.splice(Math.max(0, out.indexOf('rate-limit') + 1), 0, basicAuth);
      if (strip) out.push(strip);
      return out;
    };
    // An app may serve webhooks only (an Inngest worker): then the webhook route has its own certificate.
    const main = app.paths.length === 0 ? undefined : new PublicIngress(this, 'Ingress', {
      name: app.name, namespace, hosts: app.hosts, paths: app.paths,
      serviceName: props.serviceName, servicePort: props.servicePort, edge: withMiddlewares(props.edge, namespace, chain(false)),
    });
    if (app.streamingPaths.length > 0) {
      // Traefik's buffering middleware (the body limit) holds the whole response until it is complete, and compress
      // may hold chunks: streaming paths go without both (longer prefixes win in Traefik, so they take precedence).
      new PublicIngress(this, 'StreamingIngress', {
        name: `${app.name}-streaming`, namespace, hosts: app.hosts, paths: app.streamingPaths, reuseTlsSecret: main?.tlsSecretName,
        serviceName: props.serviceName, servicePort: props.servicePort,
        edge: withMiddlewares(props.edge, namespace, (names) => chain(false)(names.filter((n) => !STREAM_BLOCKERS.has(n)))),
      });
    }
    if (app.webhookPaths.length > 0) {
      new PublicIngress(this, 'WebhookIngress', {
        name: `${app.name}-webhooks`, namespace, hosts: app.hosts, paths: app.webhookPaths, reuseTlsSecret: main?.tlsSecretName,
        serviceName: props.serviceName, servicePort: props.servicePort, edge: withMiddlewares(props.edge, namespace, chain(true)),
      });
    }
  }
}

