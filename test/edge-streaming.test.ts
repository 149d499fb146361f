/**
 * Real traffic through the real Traefik (the one scripts/traefik/build.sh builds), in front of a loopback
 * server of our own, through the synthesized routes and Middlewares (translated by test/helpers/traefik-file.ts,
 * whose equivalence with dist/ test/edge-traefik.test.ts checks): server-sent events on a streaming path and on a
 * buffered one, the default body limit, a large upload to the S3 host, a WebSocket upgrade. Every request is
 * bounded in time and size; time bounds compare the streaming path with the buffered one, never the machine's speed.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { Edge, firstByte, HOLD_MS, MB, startBackend, startEdge, TRAEFIK, upgrade, upload } from './helpers/edge-traffic';
import { configFor, synth } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const traefikBinary = fs.existsSync(TRAEFIK) ? TRAEFIK : undefined;

describe('GIVEN an app with streamingPaths', () => {
  test('WHEN synthesized THEN the streaming paths get their own route without the body limit and compression, the rest keeps both', () => {
    const s = synth(configFor('prod', { apps: { web: { streamingPaths: ['/api/stream'] } } }));
    const ingress = (name: string) => s.objects.find((o) => o.object.kind === 'Ingress' && o.object.metadata.name === name)!.object;
    const chainOf = (name: string) => ingress(name).metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares'] as string;
    expect(ingress('web-streaming').spec.rules[0].http.paths.map((p: any) => p.path)).toEqual(['/api/stream']);
    expect(chainOf('web-streaming')).not.toMatch(/body-limit|compress/);
    expect(chainOf('web-streaming')).toMatch(/rate-limit.*security-headers/);
    expect(chainOf('web')).toMatch(/body-limit.*compress/);
    expect(chainOf('minio-api')).not.toMatch(/body-limit|compress/);
  });

  test.each([
    [['/elsewhere'], { paths: ['/app'] }, /streamingPaths\.0.*"\/elsewhere" is not under any of apps\.web\.paths.*fix:/],
    [['/'], {}, /streamingPaths\.0.*whole entry of apps\.web\.paths.*fix:/],
    [['/hooks/stripe'], { webhookPaths: ['/hooks'] }, /streamingPaths\.0.*overlaps apps\.web\.webhookPaths.*fix:/],
    [['/sse', '/sse'], {}, /streamingPaths\.1.*listed twice.*fix:/],
  ])('WHEN streamingPaths is %j THEN the config is refused naming the key, the value and the fix', (streamingPaths, extra, message) => {
    expect(() => configFor('prod', { apps: { web: { streamingPaths, ...extra } } })).toThrow(message);
  });
});

describeWithPrograms('GIVEN a real Traefik serving the prod edge, the web app streaming /api/stream', { traefik: traefikBinary }, () => {
  const s = synth(configFor('prod', { apps: { web: { streamingPaths: ['/api/stream'] } } }));
  const webHost = s.objects.find((o) => o.object.kind === 'Ingress' && o.object.metadata.name === 'web')!.object.spec.rules[0].host as string;
  const s3Host = s.config.minio.apiHost;
  let dir: string;
  let backend: { server: http.Server; port: number };
  let edge: Edge;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-streaming-'));
    backend = await startBackend();
    edge = await startEdge(s.objects.map((o) => o.object), dir, backend.port);
  }, 60000);
  afterAll(async () => {
    await edge?.stop();
    backend?.server.closeAllConnections();
    await new Promise((r) => backend?.server.close(r));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('WHEN an event stream is served THEN on the streaming path the first event arrives while the stream is open, on a buffered path only when it ends', async () => {
    const streamed = await firstByte({ port: edge.websecure, host: webHost, path: '/api/stream/events' });
    const buffered = await firstByte({ port: edge.websecure, host: webHost, path: '/events' });
    expect([streamed.status, buffered.status]).toEqual([200, 200]);
    expect(streamed.body).toContain('data: first');
    expect(streamed.body).toContain('data: last');
    // The streaming path delivers the first event long before the backend closes; the buffered one holds it to the end.
    expect(streamed.openAtFirstByte).toBe(true);
    expect(streamed.ttfbMs).toBeLessThan(HOLD_MS / 2);
    expect(buffered.ttfbMs).toBeGreaterThanOrEqual(HOLD_MS - 100);
    expect(buffered.ttfbMs).toBeGreaterThan(streamed.ttfbMs + HOLD_MS / 2);
  }, 60000);

  test('WHEN bodies of 9 MB and 11 MB are posted to the app THEN the first passes whole and the second gets 413 (edge.maxBodySize 10Mi)', async () => {
    const small = await upload({ port: edge.websecure, host: webHost, size: 9 * MB, method: 'POST' });
    expect(small.status).toBe(200);
    expect(JSON.parse(small.body)).toEqual({ bytes: 9 * MB, sha256: small.sha256 });
    expect((await upload({ port: edge.websecure, host: webHost, size: 11 * MB, method: 'POST' })).status).toBe(413);
  }, 120000);

  test('WHEN 200 MB are PUT to the S3 host THEN they reach the backend whole (sha256 equal), past the apps\' 10 MB limit', async () => {
    const big = await upload({ port: edge.websecure, host: s3Host, size: 200 * MB, path: '/documents/big.bin', timeoutMs: 300000 });
    expect(big.status).toBe(200);
    expect(JSON.parse(big.body)).toEqual({ bytes: 200 * MB, sha256: big.sha256 });
  }, 320000);

  test('WHEN a client upgrades to a WebSocket on the app route THEN it gets 101 and its messages reach the app and back', async () => {
    const ws = await upgrade({ port: edge.websecure, host: webHost, path: '/_next/webpack-hmr' });
    expect(ws.statusLine).toMatch(/^HTTP\/1\.1 101/);
    expect(ws.echoed).toContain('ping-through-edge');
  }, 30000);
});
