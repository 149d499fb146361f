/**
 * The four real stacks of examples/ (issue 16): each synthesizes into a temp folder (never dist/),
 * validates strictly, passes the network matrix and fits its VPS (test/helpers/invariants.ts), and
 * shows what its team documents.
 */
import * as path from 'path';
import * as yaml from 'js-yaml';
import { loadConfig } from '../lib/config/load';
import { budgetProblems, footprint } from '../lib/footprint';
import { ADD_ONS } from '../lib/addons/registry';
import { renderPlatform } from '../lib/synth';
import { Platform } from '../charts/platform';
import { describeInvariants } from './helpers/invariants';

const EXAMPLES_DIR = path.join(__dirname, '..', 'examples');
const MW = 'traefik.ingress.kubernetes.io/router.middlewares';

describeInvariants('GIVEN the examples in examples/', EXAMPLES_DIR);

function example(name: string) {
  const config = loadConfig(name, { environmentsDir: EXAMPLES_DIR });
  const objects = [...renderPlatform(new Platform(config))].map(([file, text]) => ({ chart: file.split('/')[1], file, object: yaml.load(text) as any }));
  const all = objects.map((o) => o.object);
  // Objects of the app namespace (and cluster-scoped ones): the edge Middlewares exist once per namespace.
  const get = (kind: string, name: string) => {
    const found = all.filter((o) => o.kind === kind && o.metadata?.name === name && [undefined, config.namespaces.app, config.namespaces.data].includes(o.metadata?.namespace))
      .filter((o, _, list) => list.length === 1 || o.metadata?.namespace !== config.namespaces.data);
    if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
    return found[0];
  };
  const container = (app: string) => get('Deployment', app).spec.template.spec.containers[0];
  const chain = (ingress: string) => get('Ingress', ingress).metadata.annotations[MW].split(',').map((r: string) => r.replace(/@kubernetescrd$/, '').replace(/^app-/, ''));
  const rules = (ingress: string) => get('Ingress', ingress).spec.rules.map((r: any) => `${r.host}${r.http.paths.map((p: any) => p.path).join('|')}`);
  const fp = footprint(objects, config, ADD_ONS);
  return { config, objects, all, get, container, chain, rules, fp, d: config.domain };
}

const secretKeyRef = (c: any, name: string) => c.env.find((e: any) => e.name === name)?.valueFrom?.secretKeyRef;

describe('GIVEN tour-CRM (4 vCPU / 16 GB)', () => {
  const x = example('tour-crm');

  test('THEN crm, web and the Inngest worker serve their hosts and ports; Inngest and the Stripe/Clerk webhooks skip the rate limit', () => {
    expect(x.config.apps.map((a) => [a.name, a.port])).toEqual([['crm', 3000], ['web', 3001], ['worker', 3002]]);
    expect(x.rules('crm')).toEqual([`crm.${x.d}/`]);
    expect(x.rules('web')).toEqual([`book.${x.d}/`]);
    expect(x.rules('worker-webhooks')).toEqual([`crm.${x.d}/api/inngest`]);
    expect(x.chain('worker-webhooks')).not.toContain('rate-limit');
    expect(x.rules('crm-webhooks')).toEqual([`crm.${x.d}/api/webhooks`]);
    expect(x.container('crm').readinessProbe.httpGet.path).toBe('/api/health');
    expect(x.container('crm').livenessProbe.httpGet).toBeUndefined();
  });

  test('THEN the apps get the data env, files.<domain> for public images, and their secrets from the declared Secret; public values stay plain', () => {
    const crm = x.container('crm');
    const env = Object.fromEntries(crm.env.map((e: any) => [e.name, e.value]));
    expect(env.DATABASE_URL).toMatch(/@pgbouncer\./);
    expect(env.REDIS_URL).toMatch(/^redis:\/\//);
    expect(env.S3_ENDPOINT).toMatch(/^http:\/\/minio\./);
    expect(env.S3_BUCKET).toBe('tour-images');
    expect(env.S3_PUBLIC_URL).toBe(`https://files.${x.d}`);
    expect(env.NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY).toBeDefined();
    expect(env.NEXT_PUBLIC_APP_URL).toBe(`https://crm.${x.d}`);
    expect(crm.envFrom).toEqual([{ secretRef: { name: 'tour-crm-env' } }]);
    const declared = x.config.secrets.app['tour-crm-env'].keys;
    for (const key of ['CLERK_SECRET_KEY', 'STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'RESEND_API_KEY', 'INNGEST_EVENT_KEY', 'INNGEST_SIGNING_KEY', 'SENTRY_AUTH_TOKEN', 'TWILIO_AUTH_TOKEN']) expect(declared).toContain(key);
    expect(secretKeyRef(x.container('worker'), 'INNGEST_SIGNING_KEY')).toEqual({ name: 'tour-crm-env', key: 'INNGEST_SIGNING_KEY' });
    const migrate = x.get('Job', 'crm-migrate').spec.template.spec.containers[0];
    expect(migrate.env.map((e: any) => e.name)).toContain('DIRECT_URL');
    expect(migrate.command).toEqual(['npx', 'prisma', 'migrate', 'deploy']);
  });

  test('THEN tour-images is public on files.<domain>, documents private, and the status page is on status.<domain>', () => {
    expect(x.rules('minio-public')).toEqual([`files.${x.d}/tour-images/`]);
    expect(x.config.minio.buckets.map((b) => [b.name, b.access])).toEqual([['tour-images', 'public-download'], ['documents', 'private']]);
    expect(x.all.some((o) => o.kind === 'Ingress' && o.spec.rules.some((r: any) => r.host === `status.${x.d}`))).toBe(true);
  });
});

describe('GIVEN SmartMoney (2 vCPU / 4 GB)', () => {
  const x = example('smartmoney');

  test('THEN one host: the frontend at /, the backend at /api with the prefix stripped, basic auth on both, HSTS, nosniff, DENY and gzip', () => {
    expect(x.rules('frontend')).toEqual([`finance.${x.d}/`]);
    expect(x.rules('backend')).toEqual([`finance.${x.d}/api`]);
    expect(x.get('Middleware', 'backend-strip-prefix').spec.stripPrefix.prefixes).toEqual(['/api']);
    for (const app of ['frontend', 'backend']) {
      expect(x.chain(app)).toEqual(expect.arrayContaining([`${app}-basic-auth`, 'security-headers', 'compress']));
      expect(x.get('Middleware', `${app}-basic-auth`).spec.basicAuth.secret).toBe('smartmoney-basic-auth');
    }
    expect(x.get('Middleware', 'security-headers').spec.headers).toMatchObject({ stsSeconds: 31536000, stsIncludeSubdomains: true, contentTypeNosniff: true, frameDeny: true });
  });

  test('THEN Alembic migrates, SECRET_KEY and ADMIN_PASSWORD_HASH come from a Secret, uploads go to a private bucket', () => {
    expect(x.get('Job', 'backend-migrate').spec.template.spec.containers[0].command).toEqual(['alembic', 'upgrade', 'head']);
    expect(secretKeyRef(x.container('backend'), 'SECRET_KEY')).toEqual({ name: 'smartmoney', key: 'secret-key' });
    expect(secretKeyRef(x.container('backend'), 'ADMIN_PASSWORD_HASH')).toEqual({ name: 'smartmoney', key: 'admin-password-hash' });
    expect(x.config.minio.buckets).toEqual([{ name: 'uploads', access: 'private', versioning: true }]);
    expect(x.all.filter((o) => o.kind === 'Ingress' && o.metadata.name === 'minio-public')).toEqual([]);
  });
});

describe('GIVEN MintBean (4 vCPU / 8 GB)', () => {
  const x = example('mintbean');

  test('THEN the SPA at /, the API at /api and on api.<domain>, two API replicas, /health and scraped /metrics', () => {
    expect(x.rules('spa')).toEqual([`mintbean.${x.d}/`]);
    expect(x.rules('api')).toEqual([`mintbean.${x.d}/api`, `api.${x.d}/api`]);
    expect(x.get('HorizontalPodAutoscaler', 'api').spec.minReplicas).toBe(2);
    expect(x.container('api').readinessProbe.httpGet.path).toBe('/health');
    expect(x.get('ServiceMonitor', 'api').spec.endpoints[0].port).toBe('http');
  });

  test('THEN the edge allows 10 r/s per client and the four secrets come from a Secret', () => {
    expect(x.get('Middleware', 'rate-limit').spec.rateLimit.average).toBe(10);
    for (const name of ['ENCRYPTION_KEY', 'SECRET_KEY', 'PLAID_SECRET', 'SENTRY_DSN']) expect(secretKeyRef(x.container('api'), name)?.name).toBe('mintbean');
  });
});

describe('GIVEN Akount (4 vCPU / 8 GB assumed)', () => {
  const x = example('akount');

  test('THEN app.<domain> sends / to Next.js and /api to Fastify, with a CSP for Clerk, Sentry and the API origin, a Permissions-Policy denying camera, microphone and geolocation, and 10 MB bodies for the API', () => {
    expect(x.rules('web')).toEqual([`app.${x.d}/`]);
    expect(x.rules('api')).toEqual([`app.${x.d}/api`]);
    const headers = x.get('Middleware', 'api-security-headers').spec.headers;
    for (const origin of ['clerk.accounts.dev', 'ingest.sentry.io', `https://app.${x.d}`]) expect(headers.contentSecurityPolicy).toContain(origin);
    expect(headers.permissionsPolicy).toBe('camera=(), microphone=(), geolocation=()');
    expect(x.get('Middleware', 'api-body-limit').spec.buffering.maxRequestBodyBytes).toBe(10 * 2 ** 20);
    expect(x.chain('api')).toEqual(expect.arrayContaining(['api-security-headers', 'api-body-limit']));
  });

  test('THEN the BullMQ worker has an exec liveness and time to drain on SIGTERM; Prisma migrates; secrets come from a Secret and CORS_ORIGINS stays plain', () => {
    const spec = x.get('Deployment', 'worker').spec.template.spec;
    expect(spec.containers[0].livenessProbe.exec.command).toEqual(['node', 'dist/alive.js']);
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(120);
    expect(x.get('Job', 'api-migrate').spec.template.spec.containers[0].command).toEqual(['npx', 'prisma', 'migrate', 'deploy']);
    // The dump before `prisma migrate deploy` (a PreSync hook of an earlier wave).
    expect(x.all.filter((o) => o.kind === 'Job' && o.metadata.name === 'api-pre-migration-dump').map((o) => o.metadata.annotations['argocd.argoproj.io/hook'])).toEqual(['PreSync']);
    for (const name of ['CLERK_SECRET_KEY', 'CLERK_WEBHOOK_SECRET', 'SENTRY_DSN']) expect(secretKeyRef(x.container('api'), name)?.name).toBe('akount');
    expect(secretKeyRef(x.container('worker'), 'MISTRAL_API_KEY')?.name).toBe('akount');
    expect(x.container('api').env).toContainEqual({ name: 'CORS_ORIGINS', value: `https://app.${x.d}` });
    expect(x.config.minio.buckets).toEqual([{ name: 'documents', access: 'private', versioning: true }]);
  });
});

describe('GIVEN each example WHEN its requests are summed against its VPS', () => {
  // The figures of README "Examples". Every example must meet the budget of its node size
  // (lib/config/sizing.ts): `npm run synth` refuses an environment that does not.
  test.each(['tour-crm', 'smartmoney', 'mintbean', 'akount'])('THEN %s meets the budget of its size', (name) => {
    const { fp, config } = example(name);
    const share = Math.max(fp.cpu / fp.capacity.cpu, fp.memory / fp.capacity.memory);
    expect(share).toBeLessThanOrEqual(1);
    expect(budgetProblems(fp, config).map((p) => p.message)).toEqual([]);
  });
});
