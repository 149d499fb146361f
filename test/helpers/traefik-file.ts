/**
 * The edge objects of a synthesized environment (Traefik's Helm values, Middlewares and Ingresses), translated
 * to Traefik's file provider so that a real Traefik serves exactly them on loopback (test/edge-traefik.test.ts).
 * The translation is mechanical and checked against dist/ by that test: a Middleware's spec is copied as it is
 * (the CRD's spec is the file provider's middleware schema), an Ingress rule becomes a router with the Ingress
 * annotations' entry points, TLS and middlewares (`<ns>-<name>@kubernetescrd` → `<ns>-<name>@file`), and the
 * entry points take `ports.<name>` of the Helm values (forwarded headers, redirection). Backends are the
 * test's own server, since Services do not exist outside a cluster.
 */
import { MIDDLEWARES_ANNOTATION } from '../../lib/constructs/edge/middlewares';

export const ENTRYPOINTS_ANNOTATION = 'traefik.ingress.kubernetes.io/router.entrypoints';
export const TLS_ANNOTATION = 'traefik.ingress.kubernetes.io/router.tls';

export interface TraefikFileConfig {
  /** Traefik's static configuration (entry points, providers, logs). */
  readonly static: Record<string, any>;
  /** The file provider's dynamic configuration (routers, middlewares, services, TLS). */
  readonly dynamic: Record<string, any>;
}

export interface TranslateOptions {
  /** Every object of the environment (Application traefik, Middlewares, Ingresses). */
  readonly objects: any[];
  /** Listen addresses per entry point name (web, websecure, metrics). */
  readonly addresses: Record<'web' | 'websecure' | 'metrics', string>;
  /** The URL every router's service forwards to. */
  readonly backendUrl: string;
  /** The dynamic configuration file Traefik watches. */
  readonly dynamicFile: string;
  /** Certificate and key files for the routers' TLS. */
  readonly cert: { readonly certFile: string; readonly keyFile: string };
}

/** `<ns>-<name>@kubernetescrd` → `<ns>-<name>@file`. */
export const fileRef = (crdRef: string) => crdRef.replace(/@kubernetescrd$/, '@file');

export function middlewaresOf(objects: any[]): Record<string, any> {
  return Object.fromEntries(objects.filter((o) => o.kind === 'Middleware').map((m) => [`${m.metadata.namespace}-${m.metadata.name}`, m.spec]));
}

export function routersOf(objects: any[], service: string): Record<string, any> {
  const routers: Record<string, any> = {};
  for (const ing of objects.filter((o) => o.kind === 'Ingress')) {
    const a = ing.metadata.annotations ?? {};
    ing.spec.rules.forEach((rule: any, i: number) => {
      for (const p of rule.http.paths) {
        const match = p.pathType === 'Exact' ? `Path(\`${p.path}\`)` : `PathPrefix(\`${p.path}\`)`;
        routers[`${ing.metadata.namespace}-${ing.metadata.name}-${i}`] = {
          rule: `Host(\`${rule.host}\`) && ${match}`,
          entryPoints: (a[ENTRYPOINTS_ANNOTATION] ?? 'web,websecure').split(','),
          ...(a[TLS_ANNOTATION] === 'true' ? { tls: {} } : {}),
          middlewares: (a[MIDDLEWARES_ANNOTATION] ?? '').split(',').filter(Boolean).map(fileRef),
          service,
        };
      }
    });
  }
  return routers;
}

/** Traefik's static entry point of a chart `ports.<name>` value (the keys the chart passes on). */
function entryPoint(addresses: Record<string, string>, name: 'web' | 'websecure', port: any): Record<string, any> {
  const redirect = port.http?.redirections?.entryPoint;
  // The chart turns `to: <entry point>` into `to: :<its exposed port>` (443 in a cluster; here its loopback port).
  const exposed = (to: string) => `:${addresses[to].split(':').pop()}`;
  return {
    address: addresses[name],
    forwardedHeaders: { trustedIPs: port.forwardedHeaders?.trustedIPs ?? [] },
    ...(redirect ? { http: { redirections: { entryPoint: { to: exposed(redirect.to), scheme: redirect.scheme, permanent: redirect.permanent } } } } : {}),
  };
}

export function translate(o: TranslateOptions): TraefikFileConfig {
  const app = o.objects.find((x) => x.kind === 'Application' && x.metadata.name === 'traefik');
  const values = app.spec.source.helm.valuesObject;
  const service = 'backend';
  return {
    static: {
      entryPoints: {
        web: entryPoint(o.addresses, 'web', values.ports.web),
        websecure: entryPoint(o.addresses, 'websecure', values.ports.websecure),
        metrics: { address: o.addresses.metrics },
      },
      // The chart's metrics.prometheus: its buckets (a comma list in the values) on the metrics entry point.
      metrics: { prometheus: { entryPoint: 'metrics', buckets: String(values.metrics.prometheus.buckets).split(',').map(Number) } },
      providers: { file: { filename: o.dynamicFile, watch: false } },
      log: { level: 'ERROR' },
      ...(values.accessLog?.enabled ? { accessLog: { format: values.accessLog.format, fields: values.accessLog.fields } } : {}),
      global: { checkNewVersion: false, sendAnonymousUsage: false },
    },
    dynamic: {
      http: {
        routers: routersOf(o.objects, service),
        middlewares: middlewaresOf(o.objects),
        services: { [service]: { loadBalancer: { servers: [{ url: o.backendUrl }] } } },
      },
      tls: { certificates: [{ certFile: o.cert.certFile, keyFile: o.cert.keyFile }] },
    },
  };
}
