/**
 * The real Traefik against a lab cluster (scripts/lab/traefik-lab.ts): the command line the pinned chart
 * gives its pod (held to `helm template` of the chart here), the Kubernetes providers reading the
 * platform's synthesized Namespaces, Services, Middlewares and Ingresses from a real API server, Traefik
 * writing each Ingress's status from its Service (what Argo CD's health check reads), and routes that
 * answer Traefik's own 404 while something they name does not exist yet (a first-install defect).
 * Every wait is bounded in time; every request too.
 */
import { helmBinary } from '../lib/helm-binary';
import { LabCluster, missingLabPrograms, nodesFor } from '../scripts/lab/cluster';
import {
  chartContainerArgs, isDerivedArg, LabTraefik, renderTraefikChart, TRAEFIK_ARGS_NOT_DERIVED, TRAEFIK_BIN,
  TRAEFIK_NOT_FOUND_BODY, traefikArgsFromValues, traefikBuilt, traefikValuesOf,
} from '../scripts/lab/traefik-lab';
import { deepMerge } from '../lib/config/merge';
import { configFor, ENVIRONMENTS, find, servicesWithHelm, synth, synthEnv } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const helm = helmBinary();
const missing = missingLabPrograms();

/** The environments that install Traefik (a secondary environment is served by its primary's). */
const withTraefik = ENVIRONMENTS.filter((env) => synthEnv(env).objects.some((o) => o.object.kind === 'Application' && o.object.spec?.source?.chart === 'traefik'));

/** Options the platform does not set today, each one a branch of the chart's argument template. */
const MANY_OPTIONS = {
  rbac: { namespaced: true },
  providers: {
    kubernetesCRD: { allowCrossNamespace: true, allowExternalNameServices: true, namespaces: ['app', 'data'], allowEmptyServices: false, labelSelector: 'edge=yes' },
    kubernetesIngress: { ingressClass: 'traefik', publishedService: { pathOverride: 'edge/lb' }, allowExternalNameServices: true, strictPrefixMatching: true, ingressEndpoint: { hostname: 'edge.example.com' } },
  },
  ports: {
    web: { asDefault: true, http: { sanitizePath: false, middlewares: ['edge-x@kubernetescrd'] } },
    websecure: {
      hostIP: '::1', http3: { enabled: true, advertisedPort: 443 }, proxyProtocol: { trustedIPs: ['10.0.0.0/8'] },
      transport: { respondingTimeouts: { readTimeout: '60s', idleTimeout: 0 }, keepAliveMaxRequests: 100 },
      http: { maxHeaderBytes: 65536, encodedCharacters: { allowEncodedSlash: true }, tls: { options: 'edge-modern@kubernetescrd', domains: [{ main: 'example.com', sans: ['www.example.com'] }] } },
    },
  },
  global: { checkNewVersion: false, sendAnonymousUsage: true },
  core: { defaultRuleSyntax: 'v2' },
  api: { dashboard: false, basePath: '/x' },
  log: { level: 'DEBUG', format: 'json' },
  additionalArguments: ['--serversTransport.insecureSkipVerify=true'],
};

describeWithPrograms('GIVEN the synthesized Traefik values and the pinned traefik chart', { helm }, () => {
  const cases: [string, () => { values: Record<string, any>; namespace: string }][] = [
    ...withTraefik.map((env): [string, () => { values: Record<string, any>; namespace: string }] => [env, () => {
      const s = synthEnv(env);
      return { values: traefikValuesOf(s.objects.map((o) => o.object)), namespace: s.config.namespaces.edge };
    }]),
    ['prod with edge.api: gateway', () => {
      const s = synth(configFor('prod', { edge: { api: 'gateway' } }));
      return { values: traefikValuesOf(s.objects.map((o) => o.object)), namespace: s.config.namespaces.edge };
    }],
    ['prod with options the platform does not set', () => {
      const s = synthEnv('prod');
      return { values: deepMerge(traefikValuesOf(s.objects.map((o) => o.object)), MANY_OPTIONS), namespace: s.config.namespaces.edge };
    }],
  ];

  test.each(cases)('WHEN helm renders the chart for %s THEN traefikArgsFromValues gives exactly its routing arguments, and no other argument escapes', (_name, values) => {
    const { values: v, namespace } = values();
    const chart = chartContainerArgs(renderTraefikChart(helm!, v, namespace));
    const ours = traefikArgsFromValues(v, { namespace });
    const extra: string[] = v.additionalArguments ?? [];
    expect([...ours].sort()).toEqual(chart.filter((a) => isDerivedArg(a) || extra.includes(a)).sort());
    // Anything the chart passes that is neither derived nor known not to route would be missed by the lab.
    expect(chart.filter((a) => !isDerivedArg(a) && !extra.includes(a) && !TRAEFIK_ARGS_NOT_DERIVED.test(a))).toEqual([]);
  });

  test('WHEN prod\'s values are read THEN the Ingress provider publishes the release\'s Service edge/traefik and allows Services without endpoints', () => {
    const s = synthEnv('prod');
    const ours = traefikArgsFromValues(traefikValuesOf(s.objects.map((o) => o.object)), { namespace: s.config.namespaces.edge });
    expect(ours).toEqual(expect.arrayContaining([
      '--providers.kubernetesingress', '--providers.kubernetescrd',
      `--providers.kubernetesingress.ingressendpoint.publishedservice=${s.config.namespaces.edge}/traefik`,
      '--providers.kubernetesingress.allowEmptyServices=true', '--providers.kubernetescrd.allowEmptyServices=true',
      '--entryPoints.websecure.http.tls=true',
    ]));
  });
});

const traefik = traefikBuilt() ? TRAEFIK_BIN : undefined;
const LB_IP = '192.0.2.10'; // TEST-NET-1: what k3s's ServiceLB would write (a node address)

describeWithPrograms('GIVEN a lab cluster with the prod edge, its Ingresses, Middlewares and Services, and the real Traefik', {
  traefik, helm, ...Object.fromEntries(missing.map((m) => [m, undefined])),
}, () => {
  const s = synthEnv('prod');
  const objects = s.objects.map((o) => o.object);
  const edge = s.config.namespaces.edge;
  const ingresses = find(s, 'Ingress');
  /** Every host and path of every Ingress, with the Ingress and the middlewares it names. */
  const routes = ingresses.flatMap((ing) => ing.spec.rules.flatMap((r: any) => r.http.paths.map((p: any) => ({
    ingress: `${ing.metadata.namespace}/${ing.metadata.name}`, host: r.host as string, path: p.path as string, service: `${ing.metadata.namespace}/${p.backend.service.name}`,
    middlewares: String(ing.metadata.annotations?.['traefik.ingress.kubernetes.io/router.middlewares'] ?? '').split(',').filter(Boolean),
  }))));
  let lab: LabCluster;
  let t: LabTraefik;
  const timings: Record<string, number> = {};
  const answers: Record<string, number> = {};

  const must = async (what: string, res: Promise<{ status: number; body: any }>) => {
    const r = await res;
    if (r.status >= 300 && r.status !== 404) throw new Error(`${what}: ${r.status} ${r.body?.message ?? ''}`);
  };
  const apply = (o: any) => must(`apply ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`, lab.apply(o));

  beforeAll(async () => {
    let t0 = Date.now();
    lab = await LabCluster.start({ nodes: nodesFor('prod', s.config.node), crds: true });
    timings.lab = Date.now() - t0;
    t0 = Date.now();
    const values = traefikValuesOf(objects);
    const rendered = renderTraefikChart(helm!, values, edge);
    // What the traefik Application applies first: the chart's CRDs (the lab's reference set has only three
    // of the ten traefik.io kinds the CRD provider waits for), its IngressClass and its LoadBalancer Service.
    const crds = rendered.filter((d) => d.kind === 'CustomResourceDefinition' && d.spec.group === 'traefik.io');
    for (const ns of find(s, 'Namespace')) await apply(ns);
    for (const crd of crds) await must(`CRD ${crd.metadata.name}`, lab.apply(crd, { fieldManager: 'lab' }));
    await lab.waitFor('the traefik.io CRDs to be established', async () => {
      const list = await lab.list('/apis/apiextensions.k8s.io/v1/customresourcedefinitions');
      return crds.every((c) => list.some((l) => l.metadata.name === c.metadata.name && l.status?.conditions?.some((x: any) => x.type === 'Established' && x.status === 'True')));
    }, 120_000);
    for (const o of rendered.filter((d) => d.kind === 'IngressClass' || (d.kind === 'Service' && d.metadata.name === 'traefik'))) await apply({ ...o, metadata: { ...o.metadata, namespace: o.kind === 'Service' ? edge : undefined } });
    // The platform's objects: Middlewares, every Service (Grafana's is rendered by kube-prometheus-stack:
    // a stand-in with its name and port), every Ingress.
    // The Secrets basic-auth Middlewares read are generated in the cluster (ExternalSecrets): stand-ins here,
    // shaped as the synthesized ExternalSecret makes them (kubernetes.io/basic-auth).
    for (const m of find(s, 'Middleware').filter((o) => o.spec.basicAuth?.secret)) {
      await apply({
        apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/basic-auth',
        metadata: { name: m.spec.basicAuth.secret, namespace: m.metadata.namespace }, stringData: { username: 'admin', password: 'lab-stand-in' },
      });
    }
    for (const o of find(s, 'Middleware')) await apply(o);
    for (const svc of servicesWithHelm(s)) {
      await apply(svc.apiVersion ? svc : { apiVersion: 'v1', kind: 'Service', metadata: svc.metadata, spec: { ports: svc.spec.ports.map((p: any) => ({ name: 'http', port: p.port })) } });
    }
    for (const o of ingresses) await apply(o);
    timings.objects = Date.now() - t0;
    t0 = Date.now();
    t = await LabTraefik.start(lab, { namespace: edge, values });
    timings.traefikPing = Date.now() - t0;
  }, 600_000);

  afterAll(async () => {
    await t?.stop();
    const problems = t?.problems() ?? [];
    console.log(`traefik-lab timings (ms): ${JSON.stringify(timings)}\nanswers: ${JSON.stringify(answers)}\ntraefik args:\n${t?.args.join('\n')}\nerror and warning lines Traefik logged (${problems.length}):\n${problems.join('\n')}`);
    await lab?.stop();
  }, 60_000);

  test('WHEN Traefik runs THEN every host and path of every Ingress is routed (a bad gateway, not its 404)', async () => {
    const t0 = Date.now();
    for (const r of routes) await t.waitForRoute(r.host, r.path, 'routed', 60_000);
    timings.allRouted = Date.now() - t0;
    for (const r of routes) answers[`${r.host}${r.path}`] = (await t.request(r.host, r.path)).status;
    const res = await t.request(routes[0].host, routes[0].path);
    // A bad gateway (nothing listens behind the lab's pod IPs), or the admin hosts' 401 (basic auth) / 403 (allow-list).
    expect([502, 503, 504, 401, 403]).toContain(res.status);
    // No router Traefik built from our objects is disabled.
    const routers = await t.routers();
    expect(routers.filter((r) => r.provider === 'kubernetes' && r.status !== 'enabled').map((r) => `${r.name}: ${r.error}`)).toEqual([]);
    expect(routers.filter((r) => r.provider === 'kubernetes').length).toBe(routes.length);
    // The TLS Secrets cert-manager issues later do not exist: the route still answers, with Traefik's default
    // certificate, and Traefik logs one error per Ingress; nothing else it logs is about our objects.
    expect(res.certificate).toBe('TRAEFIK DEFAULT CERT');
    const tlsSecrets = ingresses.flatMap((ing) => (ing.spec.tls ?? []).map((x: any) => `${ing.metadata.namespace}/${x.secretName}`));
    const expected = [
      ...tlsSecrets.map((secret) => new RegExp(`^ERR Error configuring TLS error="secret ${secret} does not exist"`)),
      /^WRN Traefik can reject some encoded characters in the request path/, // printed at every start by Traefik 3.6
      // At start the Ingress provider's first configuration can reach the router builder before the CRD
      // provider's: until the Middlewares arrive (a second or two), every router naming one is disabled
      // (the last middleware of the chain is the one named). The routers' state now is checked above.
      /^ERR error="middleware \\"[a-z0-9-]+@kubernetescrd\\" does not exist" entryPointName=websecure routerName=/,
    ];
    expect(t.problems().filter((l) => !expected.some((e) => e.test(l)))).toEqual([]);
    for (const secret of tlsSecrets) expect(t.problems().some((l) => l.includes(`secret ${secret} does not exist`))).toBe(true);
    // A host no Ingress names: Traefik's own 404.
    const none = await t.request('nobody.invalid');
    expect({ status: none.status, body: none.body }).toEqual({ status: 404, body: TRAEFIK_NOT_FOUND_BODY });
    expect(await t.routeStatus('nobody.invalid')).toBe('missing');
  });

  test('WHEN the Traefik Service has no load-balancer address THEN no Ingress has one; WHEN ServiceLB writes it THEN Traefik copies it into every Ingress', async () => {
    const statusOf = async (ing: any) => (await lab.request('GET', `/apis/networking.k8s.io/v1/namespaces/${ing.metadata.namespace}/ingresses/${ing.metadata.name}`)).body.status?.loadBalancer?.ingress;
    for (const ing of ingresses) expect(await statusOf(ing)).toBeUndefined();
    const t0 = Date.now();
    await must('Service status', lab.request('PATCH', `/api/v1/namespaces/${edge}/services/traefik/status`, { status: { loadBalancer: { ingress: [{ ip: LB_IP }] } } }, 'application/merge-patch+json'));
    await lab.waitFor('every Ingress to carry the Service\'s address', async () => {
      for (const ing of ingresses) if ((await statusOf(ing))?.[0]?.ip !== LB_IP) return false;
      return true;
    }, 30_000);
    timings.ingressStatus = Date.now() - t0;
    for (const ing of ingresses) expect(await statusOf(ing)).toEqual([{ ip: LB_IP }]);
  });

  test('WHEN a Middleware the app Ingresses name is deleted THEN their hosts answer Traefik\'s 404 and their routers are disabled; WHEN it is created again THEN they are routed', async () => {
    const victim = find(s, 'Middleware').find((m) => m.metadata.namespace === s.config.namespaces.app && m.metadata.name === 'compress')!;
    const ref = `${victim.metadata.namespace}-${victim.metadata.name}@kubernetescrd`;
    const hit = routes.filter((r) => r.middlewares.includes(ref));
    const spared = routes.filter((r) => !r.middlewares.includes(ref));
    expect(hit.length).toBeGreaterThan(0);
    let t0 = Date.now();
    await must('delete Middleware', lab.request('DELETE', await lab.objectUrl(victim)));
    for (const r of hit) await t.waitForRoute(r.host, r.path, 'missing', 30_000);
    timings.middlewareGone = Date.now() - t0;
    for (const r of spared) expect(await t.routeStatus(r.host, r.path)).toBe('routed');
    const res = await t.request(hit[0].host, hit[0].path);
    expect({ status: res.status, body: res.body, type: res.headers['content-type'] }).toEqual({ status: 404, body: TRAEFIK_NOT_FOUND_BODY, type: 'text/plain; charset=utf-8' });
    const disabled = (await t.routers()).filter((r) => r.provider === 'kubernetes' && r.status === 'disabled');
    expect(disabled.length).toBe(hit.length);
    for (const r of disabled) expect(r.error).toEqual([`middleware "${ref}" does not exist`]);
    for (const r of disabled) expect(t.problems()).toContain(`ERR error="middleware \\"${ref}\\" does not exist" entryPointName=websecure routerName=${r.name}`);

    t0 = Date.now();
    await apply(victim);
    for (const r of hit) await t.waitForRoute(r.host, r.path, 'routed', 30_000);
    timings.middlewareBack = Date.now() - t0;
  });

  test('WHEN the Service an Ingress routes to does not exist yet THEN its host answers Traefik\'s 404; WHEN it is created THEN it is routed', async () => {
    const route = routes.find((r) => r.service === `${s.config.namespaces.app}/web`)!;
    const svc = find(s, 'Service').find((x) => `${x.metadata.namespace}/${x.metadata.name}` === route.service)!;
    await must('delete Service', lab.request('DELETE', await lab.objectUrl(svc)));
    await t.waitForRoute(route.host, route.path, 'missing', 30_000);
    expect(t.problems().some((l) => l.includes('Cannot create service') && l.includes(`serviceName=${svc.metadata.name}`))).toBe(true);
    await apply(svc);
    await t.waitForRoute(route.host, route.path, 'routed', 30_000);
  });
});
