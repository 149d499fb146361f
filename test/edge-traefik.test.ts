/**
 * The edge proven with a real Traefik (built from its Go module by scripts/traefik/build.sh): the Middlewares,
 * Ingresses and entry points the platform synthesizes, translated to Traefik's file provider (test/helpers/
 * traefik-file.ts, checked against dist/ below), served on loopback to clients bound to distinct source
 * addresses (127.0.0.2, 127.0.0.3, ...). Every request loop is bounded in count, every request in time.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as tls from 'tls';
import * as zlib from 'zlib';
import * as yaml from 'js-yaml';
import { listEnvironments, loadConfig } from '../lib/config/load';
import { configFor, synth } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';
import { ClusterSecrets, clusterSecretsOf, fileRef, middlewaresOf, routersOf } from './helpers/traefik-file';
import { startTraefikEdge } from './helpers/edge-traffic';

const ROOT = path.join(__dirname, '..');
const TRAEFIK = path.join(ROOT, '.tools', 'traefik', 'bin', 'traefik');
const traefikBinary = fs.existsSync(TRAEFIK) ? TRAEFIK : undefined;
const REQUEST_TIMEOUT_MS = 5000;

describe('GIVEN the translation to the file provider', () => {
  test.each(listEnvironments())('WHEN translating %s THEN every Middleware of dist/ is the synthesized one and every router names its Ingress\'s middlewares', (env) => {
    // The team's environment, as `npm run synth` renders it into dist/.
    const objects = synth(loadConfig(env)).objects.map((o) => o.object);
    const distDir = path.join(ROOT, 'dist', env);
    const onDisk = fs.readdirSync(distDir).filter((chart) => fs.statSync(path.join(distDir, chart)).isDirectory()).flatMap((chart) => fs.readdirSync(path.join(distDir, chart))
      .filter((f) => /^(Middleware|Ingress)\./.test(f)).map((f) => yaml.load(fs.readFileSync(path.join(distDir, chart, f), 'utf8')) as any));
    // The objects the tests feed Traefik are the objects in dist/.
    expect(middlewaresOf(objects)).toEqual(middlewaresOf(onDisk));
    expect(routersOf(objects, 'b')).toEqual(routersOf(onDisk, 'b'));
    expect(Object.keys(middlewaresOf(onDisk)).length).toBeGreaterThan(0);
    for (const ing of onDisk.filter((o) => o.kind === 'Ingress')) {
      const crdRefs = ing.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares'].split(',');
      const router = routersOf([ing], 'b')[`${ing.metadata.namespace}-${ing.metadata.name}-0`];
      expect(router.middlewares).toEqual(crdRefs.map(fileRef));
      expect(router.rule).toBe(`Host(\`${ing.spec.rules[0].host}\`) && PathPrefix(\`${ing.spec.rules[0].http.paths[0].path}\`)`);
      for (const ref of router.middlewares) expect(middlewaresOf(onDisk)).toHaveProperty(ref.replace(/@file$/, ''));
    }
  });

  test('WHEN a basicAuth Middleware is loaded THEN its Secret becomes the users Traefik\'s CRD provider makes of it, the rest of the spec unchanged', () => {
    const objects = synth(loadConfig('prod')).objects.map((o) => o.object);
    const secrets = { 'monitoring/edge-admin-auth': { type: 'kubernetes.io/basic-auth', data: { username: 'admin', password: 'secret' } } };
    const mw = objects.filter((o) => o.kind === 'Middleware' && o.metadata.namespace === 'monitoring');
    // htpasswd's SHA scheme: base64 of the SHA-1 of "secret".
    expect(middlewaresOf(mw, secrets)['monitoring-admin-auth']).toEqual({ basicAuth: { realm: 'admin', removeHeader: true, users: ['admin:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ='] } });
    expect(middlewaresOf(mw, secrets)['monitoring-rate-limit']).toEqual(middlewaresOf(mw)['monitoring-rate-limit']);
    expect(() => middlewaresOf(mw, {})).toThrow(/Secret monitoring\/edge-admin-auth not found/);
  });
});

// --- loopback plumbing -------------------------------------------------------------------------------

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

/** One request from `from` (a loopback source address), bounded by REQUEST_TIMEOUT_MS. */
function request(o: {
  from: string; port: number; host: string; path?: string; tls?: boolean; method?: string;
  headers?: Record<string, string>; body?: Buffer;
}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const opts: https.RequestOptions = {
      host: '127.0.0.1', port: o.port, path: o.path ?? '/', method: o.method ?? 'GET', localAddress: o.from,
      headers: { host: o.host, ...(o.headers ?? {}) }, agent: false, timeout: REQUEST_TIMEOUT_MS,
      ...(o.tls ? { servername: o.host, rejectUnauthorized: false } : {}),
    };
    const req = (o.tls ? https : http).request(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request to ${o.host} from ${o.from} timed out`)));
    req.on('error', reject);
    // A refused upload may close the connection before the body is written: the status still counts.
    if (o.body) req.write(o.body, () => undefined);
    req.end();
  });
}

interface Edge {
  readonly metrics: number;
  readonly web: number;
  readonly websecure: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

/** Echoes the request headers as JSON, padded past the compress middleware's 1 KiB minimum. */
function startBackend(): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ headers: req.headers, padding: 'x'.repeat(4096) }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as net.AddressInfo).port })));
}

async function startEdge(objects: any[], dir: string, backendPort: number, secrets: ClusterSecrets): Promise<Edge> {
  const logFile = path.join(dir, 'access.log');
  // Ready when a public router answers (bounded: 100 tries, 100 ms apart).
  const edge = await startTraefikEdge({
    objects, dir, backendPort, secrets, accessLogFile: logFile, tries: 100,
    // 200, or 403 where only Cloudflare may ask: the router is loaded
    ready: async (websecure) => (await request({ from: '127.0.0.1', port: websecure, host: 'example.com', tls: true })).status !== 404,
  });
  return { web: edge.web, websecure: edge.websecure, metrics: edge.metrics, logFile, stop: edge.stop };
}

/**
 * Sends up to `max` requests from one address as fast as it can; returns the statuses and how long it took.
 * Bounded in count and, per request, in time.
 */
/**
 * `max` requests from one client at once (concurrently, so that they land within a short window even on a
 * loaded machine), with the wall time they took: the bucket refills at 10 r/s meanwhile, so what a test
 * expects is derived from that time, never from the machine being fast.
 */
async function burst(edge: Edge, from: string, max: number, headers?: (i: number) => Record<string, string>) {
  const t0 = Date.now();
  const statuses = await Promise.all(Array.from({ length: max }, (_, i) =>
    request({ from, port: edge.websecure, host: 'example.com', tls: true, headers: headers?.(i) }).then((r) => r.status)));
  return { statuses, ms: Date.now() - t0 };
}

/** The rate limit's refill: 10 requests a second, i.e. one token per 100 ms of wall time. */
const refilled = (ms: number) => Math.ceil(ms / 100);

/**
 * One client's own bucket: burst 20 at 10 r/s. At least the 20 of the burst pass; at most the burst plus
 * what refilled while the requests ran; everything beyond that is refused with 429, nothing else answers.
 */
function expectOwnBucket(b: { statuses: number[]; ms: number }) {
  const passed = b.statuses.filter((s) => s === 200).length;
  const refused = b.statuses.filter((s) => s === 429).length;
  expect(passed + refused).toBe(b.statuses.length);
  expect(passed).toBeGreaterThanOrEqual(20);
  expect(passed).toBeLessThanOrEqual(20 + refilled(b.ms));
  expect(refused).toBeGreaterThanOrEqual(b.statuses.length - 20 - refilled(b.ms));
}

/** A public address of the documentation range (RFC 5737) where a test needs one allowed admin network behind Cloudflare. */
const ADMIN_NET = '203.0.113.0/24';
const MODES = {
  // The defaults (edge.adminAccess: basicAuth): admin UIs ask for the generated credential, wherever the client is.
  'direct, default admin access': { clientIp: 'direct', trustedProxyCidrs: [] },
  'cloudflare, default admin access': { clientIp: 'cloudflare', trustedProxyCidrs: ['127.0.0.2/32'] },
  // The allow-list alone: admins on 127.0.0.20 (direct), or on ADMIN_NET behind Cloudflare (127.0.0.2 plays Cloudflare).
  direct: { clientIp: 'direct', trustedProxyCidrs: [], adminAccess: 'allowList', adminAllowCidrs: ['127.0.0.20/32'] },
  cloudflare: { clientIp: 'cloudflare', trustedProxyCidrs: ['127.0.0.2/32'], adminAccess: 'allowList', adminAllowCidrs: [ADMIN_NET] },
  'cloudflare-only': { clientIp: 'cloudflare', cloudflareOnly: true, trustedProxyCidrs: ['127.0.0.2/32'], adminAccess: 'allowList', adminAllowCidrs: [ADMIN_NET] },
  // Both: the allow-list, then the credential.
  'cloudflare, allow-list and credential': { clientIp: 'cloudflare', trustedProxyCidrs: ['127.0.0.2/32'], adminAccess: 'both', adminAllowCidrs: [ADMIN_NET] },
} as const;

for (const [mode, edgeOverrides] of Object.entries(MODES)) {
  describeWithPrograms(`GIVEN a real Traefik serving the prod edge in ${mode} mode`, { traefik: traefikBinary }, () => {
    const s = synth(configFor('prod', { edge: edgeOverrides }));
    const direct = edgeOverrides.clientIp === 'direct';
    const grafanaHost = s.objects.find((o) => o.object.kind === 'Ingress' && o.object.metadata.name === 'grafana')!.object.spec.rules[0].host;
    // Every admin UI (Grafana and GlitchTip in monitoring, the MinIO console in data): the Ingresses whose chain is the admin one.
    const adminHosts = s.objects.filter((o) => o.object.kind === 'Ingress' && /-admin-/.test(o.object.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares']))
      .map((o) => o.object.spec.rules[0].host as string);
    // The generated Secrets, as the synthesized ExternalSecrets shape them (values exist only in the cluster).
    const secrets = clusterSecretsOf(s.objects.map((o) => o.object));
    /** The Authorization header of the admin credential Traefik reads in `namespace` (from `<namespace>/edge-admin-auth`). */
    const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
    const credential = (namespace = s.config.namespaces.monitoring) => {
      const secret = secrets[`${namespace}/edge-admin-auth`];
      if (!secret) throw new Error(`no generated Secret ${namespace}/edge-admin-auth among ${Object.keys(secrets).join(', ')}`);
      return basic(secret.data.username, secret.data.password);
    };
    let dir: string;
    let backend: { server: http.Server; port: number };
    let edge: Edge;
    /** Client number n: its own loopback address (direct), or its own forwarded address through "Cloudflare". */
    const client = (n: number): { from: string; headers: Record<string, string> } => (direct ? { from: `127.0.0.${n}`, headers: {} } : { from: '127.0.0.2', headers: { 'x-forwarded-for': `198.51.100.${n}` } });

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `edge-traefik-${mode}-`));
      backend = await startBackend();
      edge = await startEdge(s.objects.map((o) => o.object), dir, backend.port, secrets);
    }, 30000);
    afterAll(async () => {
      await edge?.stop();
      await new Promise((r) => backend?.server.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    });

    if (mode.endsWith('default admin access')) {
      test('WHEN a client outside every private network asks for an admin UI THEN without credentials it gets 401, with the generated credential it reaches the UI (without the header), with a wrong one 401', async () => {
        // A visitor with a public address: through "Cloudflare" (forwarded), or connecting directly.
        const visitors = direct ? [{ from: '127.0.0.30', headers: {} }] : [client(30), { from: '127.0.0.31', headers: {} }];
        expect(adminHosts.length).toBe(3);
        for (const host of adminHosts) {
          for (const v of visitors) {
            const ask = (headers: Record<string, string>) => request({ from: v.from, port: edge.websecure, host, tls: true, headers: { ...v.headers, ...headers } });
            const anonymous = await ask({});
            expect([host, v.from, anonymous.status]).toEqual([host, v.from, 401]);
            expect(anonymous.headers['www-authenticate']).toMatch(/^Basic realm=/);
            const namespace = s.objects.find((o) => o.object.kind === 'Ingress' && o.object.spec.rules[0].host === host)!.object.metadata.namespace;
            const ok = await ask(credential(namespace));
            expect([host, v.from, ok.status]).toEqual([host, v.from, 200]);
            // The backend answered (it echoes what it got), and the UI never sees the edge credential.
            const seen = JSON.parse(ok.body.toString()).headers;
            expect(seen.host).toBe(host);
            expect(seen).not.toHaveProperty('authorization');
            const wrong = await ask(basic('admin', 'not-the-generated-password'));
            expect([host, v.from, wrong.status]).toEqual([host, v.from, 401]);
          }
        }
        // Public routes ask for nothing.
        expect((await request({ from: visitors[0].from, port: edge.websecure, host: 'example.com', tls: true, headers: visitors[0].headers })).status).toBe(200);
      });
    } else if (mode === 'cloudflare, allow-list and credential') {
      test('WHEN an admin UI is requested THEN an address outside the allow-list is refused even with the credential, and one inside needs the credential', async () => {
        const from = (addr: string, headers: Record<string, string> = {}) => request({ from: '127.0.0.2', port: edge.websecure, host: grafanaHost, tls: true, headers: { 'x-forwarded-for': addr, ...headers } });
        expect((await from('198.51.100.40', credential())).status).toBe(403);
        expect((await from('203.0.113.40')).status).toBe(401);
        expect((await from('203.0.113.40', credential())).status).toBe(200);
      });
    } else if (mode === 'direct') {
      test('WHEN two clients burst THEN each has its own 10 r/s, burst 20 bucket: the 21st request of one gets 429, the other is unaffected', async () => {
        const first = await burst(edge, '127.0.0.3', 60);
        const drained = Date.now();
        expectOwnBucket(first);
        expect((await request({ from: '127.0.0.4', port: edge.websecure, host: 'example.com', tls: true })).status).toBe(200);
        // A forged X-Forwarded-For does not buy a new bucket: nobody is trusted in direct mode. 127.0.0.3's
        // bucket holds only what refilled since it was drained (a new bucket would let 20 pass).
        const forged = await burst(edge, '127.0.0.3', 40, (i) => ({ 'x-forwarded-for': `198.51.100.${i + 1}` }));
        expect(forged.statuses.filter((x) => x === 200).length).toBeLessThanOrEqual(refilled(Date.now() - drained) + 1);
        expectOwnBucket(await burst(edge, '127.0.0.6', 60, (i) => ({ 'x-forwarded-for': `198.51.100.${i + 1}` })));
      });

      test('WHEN an admin UI is requested THEN the allow-list admits the peer in its ranges and refuses one outside, whatever it forwards', async () => {
        expect((await request({ from: '127.0.0.20', port: edge.websecure, host: grafanaHost, tls: true })).status).toBe(200);
        expect((await request({ from: '127.0.0.21', port: edge.websecure, host: grafanaHost, tls: true })).status).toBe(403);
        expect((await request({ from: '127.0.0.21', port: edge.websecure, host: grafanaHost, tls: true, headers: { 'x-forwarded-for': '127.0.0.20' } })).status).toBe(403);
      });
    } else if (mode === 'cloudflare-only') {
      test('WHEN a peer outside Cloudflare\'s ranges asks, even forging X-Forwarded-For, THEN it is refused; through Cloudflare it passes', async () => {
        for (const host of ['example.com', grafanaHost]) {
          expect((await request({ from: '127.0.0.3', port: edge.websecure, host, tls: true })).status).toBe(403);
          expect((await request({ from: '127.0.0.3', port: edge.websecure, host, tls: true, headers: { 'x-forwarded-for': '203.0.113.3' } })).status).toBe(403);
        }
        expect((await request({ from: '127.0.0.2', port: edge.websecure, host: 'example.com', tls: true, headers: { 'x-forwarded-for': '198.51.100.30' } })).status).toBe(200);
        expect((await request({ from: '127.0.0.2', port: edge.websecure, host: grafanaHost, tls: true, headers: { 'x-forwarded-for': '203.0.113.3' } })).status).toBe(200);
      });
    } else {
      test('WHEN two visitors come through Cloudflare THEN each has its own bucket, keyed on the forwarded client address', async () => {
        const via = (client: string) => () => ({ 'x-forwarded-for': client });
        expectOwnBucket(await burst(edge, '127.0.0.2', 60, via('198.51.100.7')));
        expect((await request({ from: '127.0.0.2', port: edge.websecure, host: 'example.com', tls: true, headers: { 'x-forwarded-for': '198.51.100.8' } })).status).toBe(200);
      });

      test('WHEN a non-Cloudflare peer forges X-Forwarded-For THEN the forged address does not change its bucket', async () => {
        // 30 different forged addresses: were any trusted, every request would get a fresh bucket and none a 429.
        const b = await burst(edge, '127.0.0.3', 60, (i) => ({ 'x-forwarded-for': `203.0.113.${i + 1}` }));
        expectOwnBucket(b);
      });

      test('WHEN an admin UI is requested THEN the allow-list admits a forwarded address in its ranges and refuses one outside or forged', async () => {
        expect((await request({ from: '127.0.0.2', port: edge.websecure, host: grafanaHost, tls: true, headers: { 'x-forwarded-for': '203.0.113.3' } })).status).toBe(200);
        expect((await request({ from: '127.0.0.2', port: edge.websecure, host: grafanaHost, tls: true, headers: { 'x-forwarded-for': '198.51.100.9' } })).status).toBe(403);
        expect((await request({ from: '127.0.0.5', port: edge.websecure, host: grafanaHost, tls: true, headers: { 'x-forwarded-for': '203.0.113.3' } })).status).toBe(403);
      });
    }

    test('WHEN a page is served THEN the security headers are present and the body is gzipped', async () => {
      const c = client(10);
      const r = await request({ from: c.from, port: edge.websecure, host: 'example.com', tls: true, headers: { ...c.headers, 'accept-encoding': 'gzip' } });
      expect(r.status).toBe(200);
      expect(r.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['referrer-policy']).toBe(s.config.edge.referrerPolicy);
      expect(r.headers['permissions-policy']).toBe(s.config.edge.permissionsPolicy);
      expect(r.headers['content-security-policy']).toBe(s.config.edge.contentSecurityPolicy);
      expect(r.headers['content-encoding']).toBe('gzip');
      expect(JSON.parse(zlib.gunzipSync(r.body).toString()).headers.host).toBe('example.com');
    });

    test('WHEN a request is served THEN the access log has a JSON line with client IP, host, path, status, duration and the request IDs', async () => {
      const c = client(14);
      const id = `req-${mode}-${Date.now()}`;
      const r = await request({ from: c.from, port: edge.websecure, host: 'example.com', path: '/audit?x=1', tls: true, headers: { ...c.headers, 'x-request-id': id, cookie: 'session=secret' } });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body.toString()).headers['x-request-id']).toBe(id); // the app gets the same ID
      let line: any;
      for (let i = 0; i < 50 && !line; i++) { // bounded: 50 × 100 ms
        line = fs.existsSync(edge.logFile) ? fs.readFileSync(edge.logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l['request_X-Request-Id'] === id) : undefined;
        if (!line) await new Promise((res) => setTimeout(res, 100));
      }
      expect(line).toMatchObject({ ClientHost: direct ? c.from : c.headers['x-forwarded-for'], RequestHost: 'example.com', RequestPath: '/audit?x=1', DownstreamStatus: 200 });
      expect(typeof line.Duration).toBe('number');
      expect(line).not.toHaveProperty('request_Cookie');
    });

    test('WHEN requests were served THEN Traefik exposes the per-app metrics the edge alerts and dashboard row query', async () => {
      const text = (await request({ from: '127.0.0.1', port: edge.metrics, host: '127.0.0.1', path: '/metrics' })).body.toString();
      // The file provider names the service `backend@file`; the Kubernetes providers `<ns>-<service>-<port>@kubernetes`.
      expect(text).toMatch(/^traefik_service_requests_total\{code="200",method="GET",protocol="http",service="backend@file"\} \d+/m);
      // Answers of the middlewares (429, 403) are not the app's: service metrics count what reached the backend.
      for (const le of ['0.5', '2']) expect(text).toMatch(new RegExp(`^traefik_service_request_duration_seconds_bucket\\{code="200",method="GET",protocol="http",service="backend@file",le="${le}"\\}`, 'm'));
    });

    test('WHEN a body is over 10 MB THEN it is refused with 413, and one under passes', async () => {
      const limit = 10 * 1024 * 1024;
      const c = client(11);
      const post = (size: number) => request({ from: c.from, port: edge.websecure, host: 'example.com', tls: true, method: 'POST', body: Buffer.alloc(size, 97), headers: { ...c.headers, 'content-type': 'application/octet-stream' } });
      expect((await post(limit + 1)).status).toBe(413);
      expect((await post(1024)).status).toBe(200);
    });

    test('WHEN a client asks for plain HTTP THEN it is redirected to HTTPS', async () => {
      const c = client(12);
      const r = await request({ from: c.from, port: edge.web, host: 'example.com', path: '/pricing', headers: c.headers });
      expect([301, 308]).toContain(r.status);
      expect(r.headers.location).toBe(`https://example.com:${edge.websecure}/pricing`);
    });

    test('WHEN a client offers only TLS 1.0 or 1.1 THEN the handshake is refused; TLS 1.2 is accepted', async () => {
      const handshake = (maxVersion: tls.SecureVersion) => new Promise<string>((resolve) => {
        const raw = net.connect({ host: '127.0.0.1', port: edge.websecure, localAddress: '127.0.0.13' });
        const sock = tls.connect({
          socket: raw, servername: 'example.com', rejectUnauthorized: false,
          minVersion: 'TLSv1', maxVersion, ciphers: 'DEFAULT@SECLEVEL=0', timeout: REQUEST_TIMEOUT_MS,
        }, () => { resolve(sock.getProtocol() ?? 'unknown'); sock.end(); });
        sock.on('error', (e) => resolve(`refused: ${e.message}`));
        sock.on('timeout', () => { sock.destroy(); resolve('refused: timeout'); });
      });
      expect(await handshake('TLSv1.2')).toBe('TLSv1.2');
      for (const v of ['TLSv1', 'TLSv1.1'] as const) {
        const result = await handshake(v);
        expect(result).toMatch(/^refused: .*(protocol version|unsupported protocol)/i);
      }
    });
  });
}
