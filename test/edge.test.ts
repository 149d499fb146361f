import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Ajv2020 from 'ajv/dist/2020';
import Ajv from 'ajv';
import { App, Chart, Testing } from 'cdk8s';
import * as yaml from 'js-yaml';
import { certManager as certManagerAddOn, certManagerValues } from '../lib/addons/cert-manager';
import { traefik as traefikAddOn, traefikValues } from '../lib/addons/traefik';
import { HelmRelease } from '../lib/constructs/helm-release';
import { EdgeMiddlewares } from '../lib/constructs/edge/middlewares';
import { CLOUDFLARE_CIDRS } from '../lib/config/cloudflare';
import { helmBinary } from '../scripts/lab/helm';
import { referenceDir } from '../lib/project';
import { helmResources } from '../lib/constructs/resources';
import { listEnvironments } from '../lib/config/load';
import { configFor, find, one, synth, synthEnv } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const ENVIRONMENT_NAMES = listEnvironments();
const VALUES_DIR = path.join(referenceDir(), 'helm-values');
const readJson = (file: string) => JSON.parse(fs.readFileSync(path.join(VALUES_DIR, file), 'utf8'));

describe.each([
  ['dev', 'letsencrypt-staging'],
  ['prod', 'letsencrypt-prod'],
  ['ha', 'letsencrypt-prod'],
])('GIVEN the %s environment', (env, issuer) => {
  const s = synthEnv(env);
  const edge = s.objects.filter((o) => o.chart === 'edge').map((o) => o.object);

  test('THEN Traefik and cert-manager are Argo CD Applications with the pinned chart versions, synced before the data services', () => {
    for (const [name, pin] of [['traefik', traefikAddOn], ['cert-manager', certManagerAddOn]] as const) {
      const app = one(s, 'Application', name);
      expect(app.metadata.namespace).toBe('argocd');
      // Among the CRD add-ons: cert-manager first (-10), Traefik once the monitoring CRDs exist (-2).
      expect(app.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe(name === 'traefik' ? '-2' : '-10');
      expect(app.spec.project).toBe('platform');
      expect(app.spec.source).toMatchObject({ repoURL: pin.repo, chart: pin.chart, targetRevision: pin.version, helm: { releaseName: name } });
      expect(app.spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: s.config.namespaces.edge });
      expect(app.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
      expect(app.spec.syncPolicy.syncOptions[0]).toBe('CreateNamespace=false');
    }
    expect(one(s, 'Application', 'cert-manager').spec.syncPolicy.syncOptions).toContain('ServerSideApply=true');
    expect(one(s, 'Application', 'cert-manager').spec.source.helm.valuesObject.crds.enabled).toBe(true);
  });

  test(`THEN the three ClusterIssuers exist and certificates use ${issuer}`, () => {
    expect(find(s, 'ClusterIssuer').map((i) => i.metadata.name).sort()).toEqual(['letsencrypt-prod', 'letsencrypt-staging', 'selfsigned']);
    expect(s.platform.edge.issuerName).toBe(issuer);
    for (const name of ['letsencrypt-staging', 'letsencrypt-prod']) {
      const acme = one(s, 'ClusterIssuer', name).spec.acme;
      expect(acme.email).toBe(s.config.edge.acmeEmail);
      expect(acme.server).toContain(name === 'letsencrypt-prod' ? 'acme-v02' : 'acme-staging-v02');
      expect(acme.privateKeySecretRef.name).toBe(`${name}-account-key`);
      expect(acme.solvers).toEqual([{ http01: { ingress: { ingressClassName: 'traefik' } } }]);
    }
  });

  test('THEN the middleware values equal the config, in every namespace that hosts Ingresses', () => {
    const e = s.config.edge;
    for (const ns of [s.config.namespaces.app, s.config.namespaces.data, s.config.namespaces.monitoring]) {
      const mw = (name: string) => find(s, 'Middleware', name).find((m) => m.metadata.namespace === ns)?.spec;
      expect(mw('security-headers').headers).toEqual({
        stsSeconds: 31536000, stsIncludeSubdomains: true, contentTypeNosniff: true, frameDeny: true,
        referrerPolicy: e.referrerPolicy, contentSecurityPolicy: e.contentSecurityPolicy, permissionsPolicy: e.permissionsPolicy,
      });
      expect(mw('rate-limit').rateLimit).toMatchObject({ average: 10, burst: 20 });
      expect(mw('body-limit').buffering.maxRequestBodyBytes).toBe(10 * 1024 * 1024);
      expect(mw('compress').compress).toEqual({});
      expect(mw('redirect-https').redirectScheme).toEqual({ scheme: 'https', permanent: true });
      // edge.adminAccess basicAuth (the default): the generated credential, no allow-list; none in the app namespace.
      expect(mw('admin-auth')?.basicAuth).toEqual(ns === s.config.namespaces.app ? undefined : { secret: 'edge-admin-auth', realm: 'admin', removeHeader: true });
      expect(mw('admin-allowlist')).toBeUndefined();
    }
  });

  test('THEN the annotation values name existing Middlewares; admin adds the generated credential after the rate limit', () => {
    const monitoring = s.platform.edge.middlewares.monitoring;
    const names = (value: string) => value.split(',').map((ref) => ref.replace(/@kubernetescrd$/, ''));
    const existing = find(s, 'Middleware').map((m) => `${m.metadata.namespace}-${m.metadata.name}`);
    for (const ref of [...names(monitoring.publicAnnotation), ...names(monitoring.adminAnnotation!)]) expect(existing).toContain(ref);
    expect(monitoring.publicAnnotation).not.toContain('admin-');
    expect(names(monitoring.adminAnnotation!)).toEqual(['redirect-https', 'rate-limit', 'admin-auth', 'body-limit', 'security-headers', 'compress'].map((n) => `${s.config.namespaces.monitoring}-${n}`));
    expect(() => s.platform.edge.attachment('app', 'admin')).toThrow(/the app namespace hosts no admin UIs.*fix:/);
    expect(s.platform.edge.ingressClassName).toBe('traefik');
  });

  test('THEN the credential every admin Middleware reads is generated in its namespace as a basic-auth Secret of user admin, copied from monitoring to data', () => {
    for (const ns of [s.config.namespaces.data, s.config.namespaces.monitoring]) {
      const es = find(s, 'ExternalSecret').find((o) => o.metadata.namespace === ns && o.metadata.name === 'edge-admin-auth');
      expect(es.spec.target.template.type).toBe('kubernetes.io/basic-auth');
      if (ns === s.config.namespaces.monitoring) {
        expect(es.spec.target.template).toMatchObject({ mergePolicy: 'Merge', data: { username: 'admin' } });
        expect(es.spec.dataFrom.map((d: any) => d.rewrite[0].regexp.target)).toEqual(['password']);
      } else {
        expect(es.spec.data.map((d: any) => [d.secretKey, d.remoteRef.key])).toEqual([['username', 'edge-admin-auth'], ['password', 'edge-admin-auth']]);
      }
    }
  });

  test('THEN Traefik trusts forwarded headers only from the configured proxies (Cloudflare)', () => {
    const ports = one(s, 'Application', 'traefik').spec.source.helm.valuesObject.ports;
    expect(ports.web.forwardedHeaders.trustedIPs).toEqual(s.config.edge.trustedProxyCidrs);
    expect(ports.websecure.forwardedHeaders.trustedIPs).toEqual(s.config.edge.trustedProxyCidrs);
    expect(s.config.edge.trustedProxyCidrs).toEqual(expect.arrayContaining(['173.245.48.0/20', '2606:4700::/32']));
    expect(ports.web.http.redirections.entryPoint).toEqual({ to: 'websecure', scheme: 'https', permanent: true });
  });

  test('THEN Traefik accepts 8000/8443 from anywhere and egresses only to apps, MinIO and the API server', () => {
    const policy = one(s, 'NetworkPolicy', 'traefik');
    expect(policy.metadata.namespace).toBe(s.config.namespaces.edge);
    expect(policy.spec.ingress).toEqual([{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }, { ipBlock: { cidr: '::/0' } }], ports: [{ protocol: 'TCP', port: 8000 }, { protocol: 'TCP', port: 8443 }] }]);
    const egress = policy.spec.egress.map((r: any) => [r.to[0].namespaceSelector?.matchLabels['kubernetes.io/metadata.name'] ?? r.to[0].ipBlock.cidr, r.ports.map((p: any) => p.port)]);
    expect(egress).toEqual([[s.config.namespaces.app, [3000, 3001]], [s.config.namespaces.data, [9000, 9001]], ['0.0.0.0/0', [443, 6443]]]);
    // HTTP-01 solvers: one egress per routed namespace (app, data, monitoring), each to the solver pods only.
    const solvers = one(s, 'NetworkPolicy', 'traefik-acme-solvers').spec.egress.map((r: any) => [r.to[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'], r.to[0].podSelector.matchLabels, r.ports[0].port]);
    const { app, data, monitoring } = s.config.namespaces;
    expect(solvers).toEqual([app, data, monitoring].map((n) => [n, { 'acme.cert-manager.io/http01-solver': 'true' }, 8089]));
    expect(one(s, 'NetworkPolicy', 'cert-manager-acme').spec.egress[0].ports.map((p: any) => p.port)).toEqual([80, 443]);
    expect(one(s, 'NetworkPolicy', 'cert-manager-webhook').spec.ingress[0].ports[0].port).toBe(10250);
  });

  test('THEN every edge object lands in the edge folder', () => {
    // 2 Helm Applications (Traefik, cert-manager), 3 ClusterIssuers, 17 Middlewares (5 per namespace, admin-auth in
    // data and monitoring), 4 NetworkPolicies of the add-ons, Traefik's to the solvers and one solver policy per
    // routed namespace (app, data, monitoring)
    expect(edge.length).toBe(2 + 3 + 17 + 4 + 1 + 3);
  });
});

describe('the chart values', () => {
  const ajvOptions = { strict: false, allErrors: true };
  const traefikSchema = readJson(`traefik-${traefikAddOn.version}.values.schema.json`);
  const certManagerSchema = readJson(`cert-manager-${certManagerAddOn.version}.values.schema.json`);

  test('GIVEN the reference schemas THEN they are the drafts we validate with', () => {
    expect(traefikSchema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(certManagerSchema.$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  test('GIVEN a misspelled key THEN the schema check catches it (the test is not vacuous)', () => {
    const certManager = new Ajv(ajvOptions).compile(certManagerSchema);
    expect(certManager({ ...certManagerValues(configFor('prod')), crd: { enabled: true } })).toBe(false);
    const traefik = new Ajv2020(ajvOptions).compile(traefikSchema);
    expect(traefik({ ...traefikValues(configFor('prod'), 'traefik'), ingressClass: { enabled: 'yes' } })).toBe(false);
  });

  test('GIVEN the chart defaults we keep THEN the pods are Pod Security restricted and listen on 8000/8443', () => {
    const traefik = yaml.load(fs.readFileSync(path.join(VALUES_DIR, `traefik-${traefikAddOn.version}.values.yaml`), 'utf8')) as any;
    expect(traefik.ports.web.port).toBe(8000);
    expect(traefik.ports.websecure.port).toBe(8443);
    expect(traefik.podSecurityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(traefik.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    const cm = yaml.load(fs.readFileSync(path.join(VALUES_DIR, `cert-manager-${certManagerAddOn.version}.values.yaml`), 'utf8')) as any;
    for (const part of [cm, cm.webhook, cm.cainjector, cm.startupapicheck]) {
      expect(part.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(part.containerSecurityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    }
    expect(cm.webhook.securePort).toBe(10250);
    // Our values never override a security context.
    expect(Object.keys(traefikValues(configFor('prod'), 'traefik'))).not.toEqual(expect.arrayContaining(['securityContext']));
    expect(Object.keys(certManagerValues(configFor('prod')))).not.toContain('securityContext');
  });
});

describe.each([
  ['cloudflare', {}],
  ['cloudflare with cloudflareOnly', { edge: { cloudflareOnly: true } }],
  ['direct', { edge: { clientIp: 'direct', trustedProxyCidrs: [] } }],
])('GIVEN edge.clientIp %s', (mode, overrides: { edge?: Record<string, unknown> }) => {
  // Both admin protections, on an admin network that is public (behind Cloudflare every client is).
  const config = configFor('prod', { edge: { ...overrides.edge, adminAccess: 'both', adminAllowCidrs: ['203.0.113.0/24'] } });
  const chart = Testing.chart();
  const mws = new EdgeMiddlewares(chart, 'mw', { config, namespace: 'app' });
  const spec = (name: string) => Testing.synth(chart).find((o: any) => o.kind === 'Middleware' && o.metadata.name === name)?.spec;
  const values = traefikValues(config, 'traefik');

  test('THEN the rate limit and the allow-list key on the mode\'s client address, and the entry points trust only its proxies', () => {
    const strategy = mode === 'direct' ? undefined : { excludedIPs: CLOUDFLARE_CIDRS };
    // No ipStrategy = Traefik's RemoteAddr strategy (the peer); excludedIPs = the last X-Forwarded-For entry outside Cloudflare.
    expect(spec('rate-limit').rateLimit.sourceCriterion?.ipStrategy).toEqual(strategy);
    expect(spec('admin-allowlist').ipAllowList.ipStrategy).toEqual(strategy);
    expect(values.ports.websecure.forwardedHeaders.trustedIPs).toEqual(mode === 'direct' ? [] : CLOUDFLARE_CIDRS);
    expect(values.ports.web.forwardedHeaders.trustedIPs).toEqual(values.ports.websecure.forwardedHeaders.trustedIPs);
    expect(values.service.spec.externalTrafficPolicy).toBe('Local');
  });

  test('THEN only cloudflareOnly puts a peer check on Cloudflare\'s ranges first in every chain', () => {
    const only = mode.includes('cloudflareOnly');
    expect(spec('cloudflare-only')?.ipAllowList).toEqual(only ? { sourceRange: CLOUDFLARE_CIDRS } : undefined);
    expect(mws.publicAnnotation.split(',')[1]).toBe(only ? 'app-cloudflare-only@kubernetescrd' : 'app-rate-limit@kubernetescrd');
    expect(mws.adminNames![0]).toBe(only ? 'cloudflare-only' : 'admin-allowlist');
  });
});

/** Every environment the team runs, and a two-node variant of prod (the smallest multi-node shape). */
const MULTI_NODE = [
  ...ENVIRONMENT_NAMES.map((env) => [env, configFor(env)] as const),
  ['prod on 2 nodes', configFor('prod', { node: { count: 2 } })] as const,
];

describe.each(MULTI_NODE)('GIVEN %s', (_name, config) => {
  const values = traefikValues(config, 'traefik');

  test('THEN Traefik runs on every node when there is more than one (a DaemonSet), else as one Deployment replica', () => {
    // ServiceLB sends a node's traffic only to Traefik pods on that node (externalTrafficPolicy Local):
    // a node without a Traefik pod would drop what it receives.
    expect(values.service.spec.externalTrafficPolicy).toBe('Local');
    if (config.node.count > 1) {
      expect(values.deployment).toEqual({ kind: 'DaemonSet' });
      // A surge pod on the same node before the old one stops: never a node without Traefik during a rollout.
      expect(values.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    } else {
      expect(values.deployment).toEqual({ kind: 'Deployment', replicas: 1 });
    }
    // No PodDisruptionBudget (a drain evicts no DaemonSet pod) and no HPA (a DaemonSet has no replicas to scale).
    expect(values.podDisruptionBudget).toEqual({ enabled: false });
    expect(values.autoscaling).toEqual({ enabled: false });
  });

  test('THEN the footprint counts one Traefik pod per node', () => {
    const rows = traefikAddOn.footprint(values, config.node.count, (part) => part);
    expect(rows.map((r) => [r.workload, r.pods, r.perNode])).toEqual([['traefik', config.node.count, config.node.count > 1]]);
  });
});

describeWithPrograms('GIVEN the packed Traefik chart rendered by the real helm with our values', { helm: helmBinary() }, () => {
  const chartFile = path.join(referenceDir(), 'charts', `traefik-${traefikAddOn.version}.tgz`);
  const render = (values: object) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'traefik-values-'));
    try {
      fs.writeFileSync(path.join(dir, 'values.json'), JSON.stringify(values));
      const out = execFileSync(helmBinary()!, ['template', 'traefik', chartFile, '--namespace', 'edge', '--values', path.join(dir, 'values.json')], { encoding: 'utf8', timeout: 120_000 });
      return (yaml.loadAll(out) as any[]).filter(Boolean);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  test.each(MULTI_NODE.filter(([, c]) => c.node.count > 1))('WHEN %s (more than one node) is rendered THEN Traefik is a DaemonSet, no Deployment, with the Local Service', (_name, config) => {
    // The values exactly as the synthesized Application carries them.
    const objects = render(one(synth(config), 'Application', 'traefik').spec.source.helm.valuesObject);
    const kinds = objects.map((o) => o.kind);
    expect(kinds).toContain('DaemonSet');
    expect(kinds).not.toContain('Deployment');
    expect(kinds).not.toContain('HorizontalPodAutoscaler');
    const ds = objects.find((o) => o.kind === 'DaemonSet');
    expect(ds.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect(ds.spec.template.spec.containers[0].resources).toEqual(helmResources(config.edge.resources.traefik));
    const service = objects.find((o) => o.kind === 'Service' && o.spec.type === 'LoadBalancer');
    expect(service.spec.externalTrafficPolicy).toBe('Local');
  });

  test('WHEN a one-node environment is rendered THEN Traefik stays one Deployment replica', () => {
    const objects = render(one(synthEnv('prod'), 'Application', 'traefik').spec.source.helm.valuesObject);
    expect(objects.filter((o) => o.kind === 'Deployment').map((o) => o.spec.replicas)).toEqual([1]);
    expect(objects.map((o) => o.kind)).not.toContain('DaemonSet');
  });
});

describe.each([
  ['basicAuth', ['rate-limit', 'admin-auth', 'body-limit']],
  ['allowList', ['admin-allowlist', 'rate-limit', 'body-limit']],
  ['both', ['admin-allowlist', 'rate-limit', 'admin-auth', 'body-limit']],
])('GIVEN edge.adminAccess %s', (access, chain) => {
  const config = configFor('prod', { edge: { adminAccess: access, adminAllowCidrs: ['203.0.113.0/24'] } });
  const chart = Testing.chart();
  const mws = new EdgeMiddlewares(chart, 'mw', { config, namespace: 'monitoring' });
  const names = Testing.synth(chart).filter((o: any) => o.kind === 'Middleware').map((o: any) => o.metadata.name);

  test('THEN the admin chain holds exactly its protections, the allow-list first and the credential after the rate limit', () => {
    expect(mws.adminNames).toEqual([...chain, 'security-headers', 'compress']);
    expect(names.includes('admin-auth')).toBe(chain.includes('admin-auth'));
    expect(names.includes('admin-allowlist')).toBe(chain.includes('admin-allowlist'));
    expect(mws.publicNames).toEqual(['rate-limit', 'body-limit', 'security-headers', 'compress']);
  });

  test('THEN the synthesized platform reads the credential only where a basicAuth Middleware names it', () => {
    const s = synth(config);
    const readers = find(s, 'Middleware').filter((m) => m.spec.basicAuth).map((m) => `${m.metadata.namespace}/${m.spec.basicAuth.secret}`);
    expect(readers.sort()).toEqual(chain.includes('admin-auth') ? ['data/edge-admin-auth', 'monitoring/edge-admin-auth'] : []);
  });
});

describe('GIVEN a bad edge section', () => {
  test.each([
    ['an unknown client-IP mode', { edge: { clientIp: 'proxy' } }, ['edge.clientIp = "proxy"', 'not a client-IP mode', 'fix: use direct']],
    ['direct mode that trusts proxies', { edge: { clientIp: 'direct' } }, ['edge.trustedProxyCidrs', 'while edge.clientIp is direct', 'fix: set it to []']],
    ['cloudflare mode without ranges', { edge: { trustedProxyCidrs: [] } }, ['edge.trustedProxyCidrs', 'is empty while edge.clientIp is cloudflare', 'fix:']],
    ['cloudflareOnly in direct mode', { edge: { clientIp: 'direct', trustedProxyCidrs: [], cloudflareOnly: true } }, ['edge.cloudflareOnly', 'would refuse every client', 'fix:']],
    ['a CIDR that does not parse', { edge: { adminAllowCidrs: ['10.0.0.300/8'] } }, ['edge.adminAllowCidrs.0 = "10.0.0.300/8"', 'is not a CIDR', 'fix:']],
    ['an IPv6 prefix too long', { edge: { trustedProxyCidrs: ['2606:4700::/129'] } }, ['edge.trustedProxyCidrs.0 = "2606:4700::/129"', 'is not a CIDR', 'fix:']],
    ['a rate limit of 0', { edge: { rateLimit: { average: 0, burst: 20 } } }, ['edge.rateLimit.average = 0', 'must be greater than 0', 'fix:']],
    ['a negative burst', { edge: { rateLimit: { average: 10, burst: -1 } } }, ['edge.rateLimit.burst = -1', 'must be greater than 0', 'fix:']],
    ['a burst below the average', { edge: { rateLimit: { average: 30, burst: 20 } } }, ['edge.rateLimit.burst = 20', 'below edge.rateLimit.average (30)', 'fix:']],
    ['an unknown issuer', { edge: { issuer: 'letsencrypt' } }, ['edge.issuer = "letsencrypt"', 'not a known issuer', 'letsencrypt-staging, letsencrypt-prod, selfsigned']],
    ['an unknown route API', { edge: { api: 'gateway-api' } }, ['edge.api = "gateway-api"', 'must be "ingress" or "gateway"', 'fix: use ingress']],
    ['a bad e-mail', { edge: { acmeEmail: 'ops' } }, ['edge.acmeEmail = "ops"', 'not an e-mail address', 'fix:']],
    ['an unknown admin access mode', { edge: { adminAccess: 'password' } }, ['edge.adminAccess = "password"', 'not an admin access mode', 'fix: use basicAuth']],
    ['an allow-list of private networks behind Cloudflare', { edge: { adminAccess: 'allowList' } }, ['edge.adminAllowCidrs', 'lists only private networks while edge.clientIp is cloudflare', 'fix: list your admins\' public networks', 'or set edge.adminAccess to basicAuth']],
    ['both protections with a private allow-list behind Cloudflare', { edge: { adminAccess: 'both', adminAllowCidrs: ['192.168.1.0/24', '100.64.0.0/10'] } }, ['edge.adminAllowCidrs', 'lists only private networks', 'fix:']],
    ['a basic-auth Secret without a password', { secrets: { monitoring: { 'edge-admin-auth': { keys: ['username'], mode: 'generated', type: 'kubernetes.io/basic-auth', generate: { username: { fixed: 'admin' } } } } } }, ['secrets.monitoring.edge-admin-auth.keys', 'lacks "password"', 'fix:']],
    ['a type on a copy', { secrets: { data: { 'edge-admin-auth': { keys: ['username', 'password'], mode: 'generated', copyOf: 'monitoring', type: 'kubernetes.io/basic-auth' } } } }, ['secrets.data.edge-admin-auth.type', 'is set on a copy', 'fix: remove type']],
  ])('%s WHEN loading THEN it fails naming key, value and fix', (_name, overrides, expected) => {
    expect(() => configFor('prod', overrides)).toThrow();
    let message = '';
    try {
      configFor('prod', overrides);
    } catch (e) {
      message = (e as Error).message;
    }
    for (const fragment of expected) expect(message).toContain(fragment);
  });

  test('GIVEN IPv4 and IPv6 admin networks THEN both are accepted', () => {
    expect(configFor('prod', { edge: { adminAllowCidrs: ['203.0.113.7/32', '2001:db8::/48'] } }).edge.adminAllowCidrs).toHaveLength(2);
  });

  test('GIVEN an allow-list of private networks THEN it loads where clients can have them: direct mode, or with the credential alone', () => {
    expect(configFor('prod', { edge: { clientIp: 'direct', trustedProxyCidrs: [], adminAccess: 'allowList' } }).edge.adminAccess).toBe('allowList');
    expect(configFor('prod').edge).toMatchObject({ adminAccess: 'basicAuth', clientIp: 'cloudflare' });
    // One public network among private ones is reachable through Cloudflare.
    expect(configFor('prod', { edge: { adminAccess: 'allowList', adminAllowCidrs: ['10.0.0.0/8', '203.0.113.0/24'] } }).edge.adminAllowCidrs).toHaveLength(2);
  });
});

describe('HelmRelease', () => {
  const release = (version: string) => {
    const chart = new Chart(Testing.app(), 'test');
    return () => new HelmRelease(chart, 'r', { repository: 'https://example.com/charts', chart: 'x', version, releaseName: 'x', namespace: 'edge', values: {}, syncWave: 0 });
  };

  test.each(['^41.0.0', '~1.2.3', '*', '1.x', '>=1.0.0', '41', 'latest'])('GIVEN the version %s THEN it is rejected as not exact', (version) => {
    expect(release(version)).toThrow(/is not an exact version; fix: pin one release/);
  });

  test.each(['41.3.0', 'v1.21.1', '1.0.0-rc.1'])('GIVEN the exact version %s THEN it is accepted', (version) => {
    expect(release(version)).not.toThrow();
  });

  test('GIVEN render inline without a local chart THEN it says what to set', () => {
    const chart = new Chart(Testing.app(), 'test');
    expect(() => new HelmRelease(chart, 'r', { repository: 'r', chart: 'x', version: '1.0.0', releaseName: 'x', namespace: 'n', values: {}, syncWave: 0, render: 'inline' }))
      .toThrow(/needs localChartPath/);
  });
});

const FIXTURE = path.join(__dirname, 'fixtures', 'charts', 'hello');
const helm = helmBinary();

describeWithPrograms('HelmRelease rendered inline with the real helm binary', { helm }, () => {
  const render = (values: Record<string, unknown>, version = '0.1.0') => {
    const app = new App();
    const chart = new Chart(app, 'inline');
    new HelmRelease(chart, 'hello', {
      repository: 'file://test/fixtures/charts', chart: 'hello', version, releaseName: 'demo', namespace: 'app',
      values, syncWave: 5, render: 'inline', localChartPath: FIXTURE, helmExecutable: helm,
    });
    return chart.toJson();
  };

  test('GIVEN our fixture chart and typed values WHEN synthesized THEN helm renders them with the release, namespace and sync wave', () => {
    const objects = render({ greeting: 'hi from cdk8s' });
    expect(objects).toHaveLength(1);
    expect(objects[0]).toMatchObject({
      kind: 'ConfigMap',
      metadata: { name: 'demo-hello', namespace: 'app', annotations: { 'argocd.argoproj.io/sync-wave': '5' }, labels: { 'app.kubernetes.io/managed-by': 'Helm' } },
      data: { greeting: 'hi from cdk8s', replicas: '1' },
    });
  });

  test('GIVEN a pin that differs from the local chart THEN it refuses to render', () => {
    expect(() => render({}, '0.2.0')).toThrow(/holds hello 0.1.0, not the pinned 0.2.0/);
  });
});
