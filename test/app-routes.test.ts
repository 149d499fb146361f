import { configFor, find, one, synth } from './helpers/platform';

const MW = 'traefik.ingress.kubernetes.io/router.middlewares';
const chain = (ingress: any): string[] => ingress.metadata.annotations[MW].split(',').map((r: string) => r.replace(/^app-/, '').replace(/@kubernetescrd$/, ''));

/** A frontend at / and a backend at /api on one host (SmartMoney's shape), plus overrides. */
function sharedHost(extra: { frontend?: object; backend?: object; secrets?: object; edge?: object } = {}) {
  return configFor('prod', {
    ...(extra.edge ? { edge: extra.edge } : {}),
    apps: {
      frontend: { image: 'ghcr.io/example/frontend:1.0.0', kind: 'web', port: 3000, hosts: ['finance.{domain}'], paths: ['/'], healthPath: '/', replicas: { min: 1, max: 1 }, resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '64Mi' } }, ...extra.frontend },
      backend: { image: 'ghcr.io/example/backend:1.0.0', kind: 'web', port: 8000, hosts: ['finance.{domain}'], paths: ['/api'], stripPrefix: true, healthPath: '/health', replicas: { min: 1, max: 1 }, resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } }, ...extra.backend },
    },
    secrets: { app: extra.secrets ?? {} },
  });
}

describe('GIVEN a frontend at / and a backend at /api with the prefix stripped, on one host', () => {
  const s = synth(sharedHost());

  test('THEN each app has its own route on the shared host, and only the backend strips /api (last, after the edge Middlewares)', () => {
    const host = `finance.${s.config.domain}`;
    const frontend = one(s, 'Ingress', 'frontend');
    const backend = one(s, 'Ingress', 'backend');
    expect(frontend.spec.rules.map((r: any) => [r.host, r.http.paths.map((p: any) => p.path)])).toEqual([[host, ['/']]]);
    expect(backend.spec.rules.map((r: any) => [r.host, r.http.paths.map((p: any) => p.path)])).toEqual([[host, ['/api']]]);
    expect(chain(backend)).toEqual(['redirect-https', 'rate-limit', 'body-limit', 'security-headers', 'compress', 'backend-strip-prefix']);
    expect(chain(frontend)).not.toContain('backend-strip-prefix');
    expect(one(s, 'Middleware', 'backend-strip-prefix').spec).toEqual({ stripPrefix: { prefixes: ['/api'] } });
  });

  test('WHEN two apps claim the same host and path THEN the config is refused; a prefix to strip on "/" is refused too', () => {
    expect(() => sharedHost({ backend: { paths: ['/'], stripPrefix: false } })).toThrow(/apps\.backend\.hosts\.0 .*with path \/ is already served by app "frontend"/);
    expect(() => sharedHost({ backend: { webhookPaths: ['/'] } })).toThrow('already served by app "frontend"');
    expect(() => sharedHost({ frontend: { stripPrefix: true } })).toThrow('apps.frontend.stripPrefix');
    // A platform host stays one owner's.
    expect(() => sharedHost({ backend: { hosts: ['grafana.{domain}'] } })).toThrow(/already served by|grafana/);
  });

  test('WHEN a Gateway carries the routes THEN the HTTPRoute of the backend strips the prefix through the same Middleware', () => {
    const g = synth(sharedHost({ edge: { api: 'gateway' } }));
    const route = one(g, 'HTTPRoute', 'backend');
    expect(route.spec.rules[0].filters.map((f: any) => f.extensionRef.name)).toContain('backend-strip-prefix');
  });
});

describe('GIVEN basic auth on the whole host', () => {
  const auth = { basicAuth: { secret: 'finance-basic-auth' } };
  const declared = { 'finance-basic-auth': { keys: ['users'], mode: 'existing' } };

  test('WHEN both apps name the declared htpasswd Secret THEN both routes pass basic auth after the rate limit', () => {
    const s = synth(sharedHost({ frontend: auth, backend: auth, secrets: declared }));
    expect(one(s, 'Middleware', 'frontend-basic-auth').spec.basicAuth).toEqual({ secret: 'finance-basic-auth', removeHeader: true });
    for (const name of ['frontend', 'backend']) {
      const c = chain(one(s, 'Ingress', name));
      expect(c.indexOf(`${name}-basic-auth`)).toBe(c.indexOf('rate-limit') + 1);
    }
  });

  test('WHEN the Secret is not declared THEN the synth fails with the line to add', () => {
    expect(() => synth(sharedHost({ frontend: auth, backend: auth }))).toThrow("'finance-basic-auth': { keys: ['users'], mode: 'existing' }");
  });

  test('WHEN only one app of the host sets it THEN the config is refused (the backend would be open)', () => {
    expect(() => sharedHost({ frontend: auth, secrets: declared })).toThrow(/apps\.backend\.basicAuth .*basic auth covers the whole host/);
  });
});

describe('GIVEN per-app headers, a body size and a webhook path', () => {
  const csp = "default-src 'self'; script-src 'self' https://*.clerk.accounts.dev https://js.stripe.com; connect-src 'self' https://*.ingest.sentry.io https://api.example.com";
  const s = synth(sharedHost({
    backend: { headers: { contentSecurityPolicy: csp, permissionsPolicy: 'camera=(), microphone=(), geolocation=()' }, maxBodySize: '10Mi', webhookPaths: ['/api/webhooks'], basicAuth: { secret: 'a' } },
    frontend: { basicAuth: { secret: 'a' } },
    secrets: { a: { keys: ['users'], mode: 'existing' } },
  }));

  test('THEN the app gets its own security headers and body limit in place of the shared ones; other apps keep the shared ones', () => {
    const backend = chain(one(s, 'Ingress', 'backend'));
    expect(backend).toEqual(expect.arrayContaining(['backend-security-headers', 'backend-body-limit']));
    expect(backend).not.toContain('security-headers');
    const headers = one(s, 'Middleware', 'backend-security-headers').spec.headers;
    expect(headers).toMatchObject({ contentSecurityPolicy: csp, permissionsPolicy: 'camera=(), microphone=(), geolocation=()', stsSeconds: 31536000, stsIncludeSubdomains: true, contentTypeNosniff: true, frameDeny: true });
    expect(one(s, 'Middleware', 'backend-body-limit').spec.buffering.maxRequestBodyBytes).toBe(10 * 2 ** 20);
    expect(chain(one(s, 'Ingress', 'frontend'))).toContain('security-headers');
  });

  test('THEN the webhook path has its own route without the rate limit and basic auth, on the app\'s certificate', () => {
    const hook = one(s, 'Ingress', 'backend-webhooks');
    expect(hook.spec.rules[0].http.paths.map((p: any) => p.path)).toEqual(['/api/webhooks']);
    const c = chain(hook);
    expect(c).not.toContain('rate-limit');
    expect(c).not.toContain('backend-basic-auth');
    expect(c).toEqual(expect.arrayContaining(['backend-security-headers', 'backend-strip-prefix']));
    expect(hook.spec.tls).toEqual(one(s, 'Ingress', 'backend').spec.tls);
    expect(hook.metadata.annotations['cert-manager.io/cluster-issuer']).toBeUndefined();
    expect(find(s, 'Certificate')).toEqual([]);
  });
});
