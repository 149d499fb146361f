/**
 * The edge objects of a synthesized environment (Traefik's Helm values, Middlewares and Ingresses), translated
 * to Traefik's file provider so that a real Traefik serves exactly them on loopback (test/edge-traefik.test.ts).
 * The translation is mechanical and checked against dist/ by that test: a Middleware's spec is copied as it is
 * (the CRD's spec is the file provider's middleware schema) except `basicAuth.secret`, which Traefik's CRD provider
 * resolves to `users` from the Secret in the cluster (here: the Secrets the test supplies, `ClusterSecrets`), an
 * Ingress rule becomes a router with the Ingress
 * annotations' entry points, TLS and middlewares (`<ns>-<name>@kubernetescrd` → `<ns>-<name>@file`), and the
 * entry points take `ports.<name>` of the Helm values (forwarded headers, redirection). Backends are the
 * test's own server, since Services do not exist outside a cluster.
 */
import * as crypto from 'crypto';
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
  /** Secrets that exist only in the cluster (generated there), which Middlewares read. @default none */
  readonly secrets?: ClusterSecrets;
}

/** A Secret as it exists in the cluster: its type and its decoded values. */
export interface ClusterSecret {
  readonly type: string;
  readonly data: Readonly<Record<string, string>>;
}
/** Cluster Secrets by `<namespace>/<name>`. */
export type ClusterSecrets = Readonly<Record<string, ClusterSecret>>;

/**
 * The `users` Traefik's Kubernetes CRD provider makes of a basicAuth Secret: for a `kubernetes.io/basic-auth`
 * Secret one user, `<username>:{SHA}<base64 of the SHA-1 of the password>` (htpasswd's SHA scheme); for any
 * other type, the htpasswd lines of its only key.
 */
export function basicAuthUsers(secret: ClusterSecret, where: string): string[] {
  if (secret.type === 'kubernetes.io/basic-auth') {
    const { username, password } = secret.data;
    if (username === undefined || password === undefined) throw new Error(`${where}: a basic-auth Secret needs both username and password`);
    return [`${username}:{SHA}${crypto.createHash('sha1').update(password).digest('base64')}`];
  }
  const values = Object.values(secret.data);
  if (values.length !== 1) throw new Error(`${where}: ${values.length} keys, Traefik reads exactly one`);
  return values[0].split('\n').filter(Boolean);
}

/** `<ns>-<name>@kubernetescrd` → `<ns>-<name>@file`. */
export const fileRef = (crdRef: string) => crdRef.replace(/@kubernetescrd$/, '@file');

/**
 * The file provider's middlewares of the Middleware objects. Without `secrets`, each spec exactly as the object
 * holds it (to compare objects); with them, as Traefik loads it: a basicAuth Secret resolved to its users.
 */
export function middlewaresOf(objects: any[], secrets?: ClusterSecrets): Record<string, any> {
  const resolve = (m: any) => {
    const auth = m.spec.basicAuth;
    if (secrets === undefined || auth === undefined) return m.spec;
    const id = `${m.metadata.namespace}/${auth.secret}`;
    const secret = secrets[id];
    if (secret === undefined) throw new Error(`Middleware ${m.metadata.namespace}/${m.metadata.name}: Secret ${id} not found (Traefik would drop the middleware)`);
    const { secret: _name, ...rest } = auth;
    return { ...m.spec, basicAuth: { ...rest, users: basicAuthUsers(secret, `Secret ${id}`) } };
  };
  return Object.fromEntries(objects.filter((o) => o.kind === 'Middleware').map((m) => [`${m.metadata.namespace}-${m.metadata.name}`, resolve(m)]));
}

/** Letters and digits, as a Password generator without symbols makes them. */
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const randomAlnum = (length: number) => Array.from(crypto.randomBytes(length), (b) => ALNUM[b % ALNUM.length]).join('');

/**
 * Stand-ins for the Secrets the synthesized ExternalSecrets produce in the cluster, in the shape they declare
 * (the real External Secrets Operator makes them in test/lab.real.test.ts): a generator-backed source gets the
 * template's type and fixed values and a fresh value of the generator's length per generated key; a copy
 * (a SecretStore of the Kubernetes provider) gets its source's values.
 */
export function clusterSecretsOf(objects: any[]): Record<string, ClusterSecret> {
  const out: Record<string, ClusterSecret> = {};
  const externalSecrets = objects.filter((o) => o.kind === 'ExternalSecret');
  const generator = (ns: string, name: string) => objects.find((o) => o.kind === 'Password' && o.metadata.namespace === ns && o.metadata.name === name);
  for (const es of externalSecrets.filter((e) => (e.spec.dataFrom ?? []).length > 0)) {
    const ns = es.metadata.namespace;
    const data: Record<string, string> = { ...(es.spec.target.template?.data ?? {}) };
    for (const from of es.spec.dataFrom) {
      const key = from.rewrite[0].regexp.target;
      data[key] = randomAlnum(generator(ns, from.sourceRef.generatorRef.name).spec.length);
    }
    out[`${ns}/${es.spec.target.name}`] = { type: es.spec.target.template?.type ?? 'Opaque', data };
  }
  for (const es of externalSecrets.filter((e) => (e.spec.data ?? []).length > 0)) {
    const ns = es.metadata.namespace;
    const store = objects.find((o) => o.kind === 'SecretStore' && o.metadata.namespace === ns && o.metadata.name === es.spec.secretStoreRef.name);
    const remote = store.spec.provider.kubernetes.remoteNamespace;
    const data = Object.fromEntries(es.spec.data.map((d: any) => [d.secretKey, out[`${remote}/${d.remoteRef.key}`].data[d.remoteRef.property]]));
    out[`${ns}/${es.spec.target.name}`] = { type: es.spec.target.template?.type ?? 'Opaque', data };
  }
  return out;
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
        middlewares: middlewaresOf(o.objects, o.secrets ?? {}),
        services: { [service]: { loadBalancer: { servers: [{ url: o.backendUrl }] } } },
      },
      tls: { certificates: [{ certFile: o.cert.certFile, keyFile: o.cert.keyFile }] },
    },
  };
}
