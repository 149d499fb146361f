/**
 * Gateway API mode (`edge.api: gateway`): a Gateway with one HTTPS listener per public host and
 * HTTPRoutes instead of Ingresses, with the same middlewares, certificates and isolation.
 */
import { TRAEFIK_GATEWAY_CONTROLLER } from '../lib/constructs/edge/gateway';
import { referenceDir } from '../lib/project';
import { loadCatalog } from '../lib/validation/schema-catalog';
import { validateObject } from '../lib/validation/validate-object';
import { KUBERNETES_VERSIONS } from '../lib/validation/validate-dist';
import { Endpoint, NetworkModel, workloadEndpoints } from '../lib/validation/reachability';
import { configFor, find, one, servicesWithHelm, synth } from './helpers/platform';

const GATEWAY = { edge: { api: 'gateway' } };

describe.each(['dev', 'prod', 'ha'])('GIVEN the %s environment with edge.api: gateway', (env) => {
  const overrides = env === 'prod' ? GATEWAY : {
    ...GATEWAY,
    // The shipped environments differ from the defaults only in sizing; gateway mode must hold for each shape.
    node: env === 'ha' ? { count: 3 } : { cpu: 2, memory: '4Gi' },
  };
  const s = synth(configFor(env, overrides));
  const objects = s.objects.map((o) => o.object);
  const gateway = one(s, 'Gateway', 'platform');
  const routes = find(s, 'HTTPRoute');
  const appRoutes = routes.filter((r) => r.metadata.name !== 'platform-https-redirect');

  test('THEN no Ingress is rendered, and every public host has an HTTPRoute instead', () => {
    expect(find(s, 'Ingress')).toEqual([]);
    const served = appRoutes.flatMap((r) => r.spec.hostnames).sort();
    const declared = [
      ...s.config.apps.filter((a) => a.kind === 'web').flatMap((a) => a.hosts),
      s.config.minio.consoleHost, s.config.minio.apiHost, s.config.minio.publicHost, s.config.monitoring.grafana.host, s.config.monitoring.statusPage.host, ...(s.config.glitchtip.enabled ? [s.config.glitchtip.host] : []),
    ].sort();
    expect(served).toEqual(declared);
  });

  test('THEN the Gateway has a plain-HTTP listener and one HTTPS listener per host, each with a certificate from an existing issuer', () => {
    const issuers = find(s, 'ClusterIssuer').map((i) => i.metadata.name);
    expect(issuers).toContain(gateway.metadata.annotations['cert-manager.io/cluster-issuer']);
    expect(gateway.metadata.annotations['cert-manager.io/cluster-issuer']).toBe(s.config.edge.issuer);
    const [http, ...https] = gateway.spec.listeners;
    expect(http).toMatchObject({ name: 'http', port: 8000, protocol: 'HTTP' });
    expect(http.hostname).toBeUndefined();
    expect(http.allowedRoutes).toEqual({ namespaces: { from: 'Same' } }); // no app route can serve plain HTTP
    expect(https.map((l: any) => l.hostname).sort()).toEqual(appRoutes.flatMap((r) => r.spec.hostnames).sort());
    for (const listener of https) {
      expect(listener).toMatchObject({ port: 8443, protocol: 'HTTPS', tls: { mode: 'Terminate' } });
      expect(listener.tls.certificateRefs).toHaveLength(1);
    }
    expect(new Set(https.map((l: any) => l.tls.certificateRefs[0].name)).size).toBe(https.length);
  });

  test('THEN the GatewayClass is claimed by Traefik and the chart does not render a second Gateway', () => {
    const cls = one(s, 'GatewayClass', gateway.spec.gatewayClassName);
    expect(cls.spec.controllerName).toBe(TRAEFIK_GATEWAY_CONTROLLER);
    const values = one(s, 'Application', 'traefik').spec.source.helm.valuesObject;
    expect(values.providers).toMatchObject({ kubernetesGateway: { enabled: true }, kubernetesIngress: { enabled: false } });
    expect(values.gateway).toEqual({ enabled: false });
    expect(values.gatewayClass).toEqual({ enabled: false });
    expect(values.ports.web.http).toBeUndefined(); // the redirect route does it, so ACME solvers answer on port 80
    expect(one(s, 'Application', 'cert-manager').spec.source.helm.valuesObject.config.enableGatewayAPI).toBe(true);
  });

  test('THEN every route attaches to a listener of its own host, and admitted from its namespace', () => {
    for (const route of appRoutes) {
      expect(route.spec.parentRefs).toHaveLength(route.spec.hostnames.length);
      for (const ref of route.spec.parentRefs) {
        expect(ref).toMatchObject({ name: 'platform', namespace: gateway.metadata.namespace });
        const listener = gateway.spec.listeners.find((l: any) => l.name === ref.sectionName);
        expect(route.spec.hostnames).toContain(listener.hostname);
        const allowed = listener.allowedRoutes.namespaces.selector.matchExpressions[0];
        expect(allowed).toMatchObject({ key: 'kubernetes.io/metadata.name', operator: 'In' });
        expect(allowed.values).toContain(route.metadata.namespace);
      }
    }
  });

  test('THEN every backend is a Service and port that exist in the route namespace', () => {
    const services = servicesWithHelm(s);
    for (const route of appRoutes) {
      for (const backend of route.spec.rules.flatMap((r: any) => r.backendRefs)) {
        const svc = services.find((x) => x.metadata.name === backend.name && x.metadata.namespace === route.metadata.namespace);
        expect(svc).toBeDefined();
        expect(svc.spec.ports.map((p: any) => p.port)).toContain(backend.port);
      }
    }
  });

  test('THEN every route passes the same middlewares as an Ingress would, and each exists in its namespace', () => {
    for (const route of appRoutes) {
      const names = route.spec.rules[0].filters.map((f: any) => {
        expect(f).toMatchObject({ type: 'ExtensionRef', extensionRef: { group: 'traefik.io', kind: 'Middleware' } });
        return f.extensionRef.name;
      });
      // The S3 host and the public files host stream (no buffering body limit, no compression: #32); every other
      // route has the whole chain.
      if (['minio-api', 'minio-public'].includes(route.metadata.name)) {
        expect(names).toEqual(expect.arrayContaining(['rate-limit', 'security-headers']));
        expect(names.filter((n: string) => n === 'body-limit' || n === 'compress')).toEqual([]);
      } else {
        expect(names).toEqual(expect.arrayContaining(['rate-limit', 'body-limit', 'security-headers', 'compress']));
      }
      // Admin UIs ask for the generated credential (edge.adminAccess basicAuth, the default).
      expect(names.includes('admin-auth')).toBe(['minio-console', 'grafana', 'glitchtip'].includes(route.metadata.name));
      for (const name of names) expect(find(s, 'Middleware', name).map((m) => m.metadata.namespace)).toContain(route.metadata.namespace);
    }
  });

  test('THEN plain HTTP for every host redirects to HTTPS, and ACME challenges are solved through the Gateway', () => {
    const redirect = one(s, 'HTTPRoute', 'platform-https-redirect');
    expect(redirect.spec.parentRefs).toEqual([{ name: 'platform', namespace: gateway.metadata.namespace, sectionName: 'http' }]);
    expect(redirect.spec.hostnames).toEqual(gateway.spec.listeners.slice(1).map((l: any) => l.hostname));
    expect(redirect.spec.rules[0].filters[0]).toEqual({ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } });
    for (const name of ['letsencrypt-staging', 'letsencrypt-prod']) {
      expect(one(s, 'ClusterIssuer', name).spec.acme.solvers).toEqual([
        { http01: { gatewayHTTPRoute: { parentRefs: [{ kind: 'Gateway', name: 'platform', namespace: gateway.metadata.namespace, sectionName: 'http' }] } } },
      ]);
    }
  });

  test('THEN Traefik reaches the HTTP-01 solver pods beside the Gateway, and nothing else reaches them', () => {
    const model = new NetworkModel(objects);
    const ns = s.config.namespaces;
    const traefik: Endpoint = { name: 'traefik', namespace: ns.edge, labels: { 'app.kubernetes.io/name': 'traefik' } };
    const solver: Endpoint = { name: 'solver', namespace: ns.edge, labels: { 'acme.cert-manager.io/http01-solver': 'true' } };
    const stranger: Endpoint = { name: 'stranger', namespace: ns.app, labels: { 'app.kubernetes.io/name': 'crm' } };
    expect(model.allows(traefik, solver, 8089)).toBe(true);
    expect(model.allows(stranger, solver, 8089)).toBe(false);
    const crm = workloadEndpoints(objects).find((e) => e.name === 'crm')!;
    expect(model.allows(traefik, crm, 3000)).toBe(true);
  });

  test.each(KUBERNETES_VERSIONS)('THEN every object validates strictly against Kubernetes %s and the CRDs', (version) => {
    const catalog = loadCatalog(referenceDir(), version);
    const problems = objects.flatMap((o) => validateObject(catalog, o).map((p) => `${o.kind}/${o.metadata.name}: ${p.path} ${p.message}`));
    expect(problems).toEqual([]);
  });
});

describe('GIVEN the default edge.api', () => {
  test('THEN Ingresses are rendered and no Gateway API object is', () => {
    const s = synth(configFor('prod'));
    expect(find(s, 'Ingress').length).toBeGreaterThan(0);
    for (const kind of ['Gateway', 'GatewayClass', 'HTTPRoute']) expect(find(s, kind)).toEqual([]);
  });
});
