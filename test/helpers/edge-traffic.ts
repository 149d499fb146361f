/**
 * Real traffic through a real Traefik fed the synthesized routes (translated by ./traefik-file.ts), in front of a
 * loopback app of our own: event streams, uploads with their sha256, downloads, WebSocket upgrades. Shared by
 * test/edge-streaming.test.ts and `npm run bench -- edge`. Every request is bounded in time.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as path from 'path';
import * as tls from 'tls';
import * as yaml from 'js-yaml';
import { findProjectRoot } from '../../lib/project';
import { freePort } from '../../scripts/lab/programs';
import { clusterSecretsOf, translate } from './traefik-file';

export const TRAEFIK = path.join(findProjectRoot(__dirname), '.tools', 'traefik', 'bin', 'traefik');
/** How long the backend keeps an event stream open after its first event. */
export const HOLD_MS = 4000;
export const MB = 1024 * 1024;

/**
 * The loopback app: SSE on any path with /events or /stream, /download/<MiB> streams that many MiB, the sha256 of
 * uploads, WebSocket-style upgrades echoed.
 */
export function startBackend(): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && /events|stream/.test(req.url ?? '')) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: first\n\n');
      setTimeout(() => res.end('data: last\n\n'), HOLD_MS);
      return;
    }
    const download = /^\/download\/(\d+)$/.exec(req.url ?? '');
    if (req.method === 'GET' && download) {
      const chunk = Buffer.alloc(MB, 120);
      let left = Number(download[1]);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left * MB) });
      const pump = () => { while (left > 0) { left--; if (!res.write(chunk)) { res.once('drain', pump); return; } } res.end(); };
      pump();
      return;
    }
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    req.on('data', (c: Buffer) => { hash.update(c); bytes += c.length; });
    req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })); });
  });
  server.on('upgrade', (req, socket: net.Socket) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: ${req.headers.upgrade}\r\nconnection: Upgrade\r\n\r\n`);
    socket.pipe(socket); // echo
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as net.AddressInfo).port })));
}

export interface Edge { websecure: number; pid: number; stop(): Promise<void> }

/** A real Traefik fed the translated routes of `objects`, in front of one loopback backend. */
export interface TraefikEdge { web: number; websecure: number; metrics: number; pid: number; stop(): Promise<void> }

/**
 * Starts the real Traefik on the synthesized routes (translated by ./traefik-file.ts) with a self-signed
 * certificate for example.com, and waits (bounded: `tries` × 100 ms) until `ready(websecure)` says a router
 * answers. Access logging goes to `accessLogFile` where the static config has it, and is off without one.
 */
export async function startTraefikEdge(o: {
  objects: any[]; dir: string; backendPort: number; secrets: ReturnType<typeof clusterSecretsOf>;
  accessLogFile?: string; tries: number; ready: (websecure: number) => Promise<boolean>;
}): Promise<TraefikEdge> {
  const [web, websecure, metrics] = [await freePort(), await freePort(), await freePort()];
  const certFile = path.join(o.dir, 'tls.crt');
  const keyFile = path.join(o.dir, 'tls.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=example.com',
    '-addext', 'subjectAltName=DNS:example.com,DNS:*.example.com', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  const dynamicFile = path.join(o.dir, 'dynamic.yaml');
  const cfg = translate({ objects: o.objects, addresses: { web: `127.0.0.1:${web}`, websecure: `127.0.0.1:${websecure}`, metrics: `127.0.0.1:${metrics}` }, backendUrl: `http://127.0.0.1:${o.backendPort}`, dynamicFile, cert: { certFile, keyFile }, secrets: o.secrets });
  fs.writeFileSync(dynamicFile, yaml.dump(cfg.dynamic));
  const staticFile = path.join(o.dir, 'traefik.yaml');
  const { accessLog, ...rest } = cfg.static;
  fs.writeFileSync(staticFile, yaml.dump(o.accessLogFile && accessLog ? { ...rest, accessLog: { ...accessLog, filePath: o.accessLogFile } } : rest));
  const child: ChildProcess = spawn(TRAEFIK, [`--configFile=${staticFile}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => { stderr += d; });
  for (let i = 0; ; i++) {
    if (await o.ready(websecure).catch(() => false)) break;
    if (i >= o.tries || child.exitCode !== null) throw new Error(`Traefik did not come up: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    web, websecure, metrics, pid: child.pid!,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

export async function startEdge(objects: any[], dir: string, backendPort: number): Promise<Edge> {
  // Ready when an app router answers an upload (bounded: 150 tries).
  return startTraefikEdge({
    objects, dir, backendPort, secrets: clusterSecretsOf(objects), tries: 150,
    ready: async (websecure) => { const up = await upload({ port: websecure, host: 'example.com', size: 1 }); return up.status !== 404; },
  });
}

const tlsOptions = (host: string) => ({ servername: host, rejectUnauthorized: false, agent: false as const });

/** Time to the first body byte of a GET, whether the response had ended by then, and the whole body. */
export function firstByte(o: { port: number; host: string; path: string; timeoutMs?: number }): Promise<{ status: number; ttfbMs: number; openAtFirstByte: boolean; body: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let ttfbMs = -1;
    let ended = false;
    let openAtFirstByte = false;
    let body = '';
    const req = https.request({ host: '127.0.0.1', port: o.port, path: o.path, headers: { host: o.host, accept: 'text/event-stream', 'accept-encoding': 'gzip' }, timeout: o.timeoutMs ?? 30000, ...tlsOptions(o.host) }, (res) => {
      res.on('data', (c: Buffer) => {
        if (ttfbMs < 0) { ttfbMs = Number(process.hrtime.bigint() - t0) / 1e6; openAtFirstByte = !ended && !res.complete; }
        body += c.toString();
      });
      res.on('end', () => { ended = true; resolve({ status: res.statusCode ?? 0, ttfbMs, openAtFirstByte, body }); });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${o.host}${o.path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Streams `size` bytes (deterministic, generated in 1 MiB chunks) as a PUT; the status, the body and the sent sha256. */
export function upload(o: { port: number; host: string; size: number; path?: string; method?: string; timeoutMs?: number }): Promise<{ status: number; body: string; sha256: string }> {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    let sent = 0;
    const req = https.request({
      host: '127.0.0.1', port: o.port, path: o.path ?? '/upload', method: o.method ?? 'PUT', timeout: o.timeoutMs ?? 120000,
      // Like curl for large bodies: the body follows "100 Continue", so a refusal (413) is read before anything is sent.
      headers: { host: o.host, 'content-type': 'application/octet-stream', 'content-length': String(o.size), expect: '100-continue' }, ...tlsOptions(o.host),
    }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sha256: hash.digest('hex') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`upload to ${o.host} timed out`)));
    // A refused upload is answered (413) and the connection closed while the body is still being written: the
    // status still counts, the reset that follows it does not.
    let answered: number | undefined;
    req.on('response', (res) => { answered = res.statusCode; sent = o.size; });
    req.on('error', (e) => (answered !== undefined ? resolve({ status: answered, body: '', sha256: '' }) : reject(e)));
    const chunk = Buffer.alloc(MB);
    let n = 0;
    const pump = () => {
      while (sent < o.size) {
        chunk.fill(n++ % 251);
        const part = chunk.subarray(0, Math.min(MB, o.size - sent));
        sent += part.length;
        hash.update(part);
        if (!req.write(part)) { req.once('drain', pump); return; }
      }
      req.end();
    };
    req.on('continue', pump);
  });
}

/** A WebSocket-style upgrade through the edge: the status line and what the backend echoes of a message. */
export function upgrade(o: { port: number; host: string; path: string }): Promise<{ statusLine: string; echoed: string }> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port: o.port, servername: o.host, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      sock.write(`GET ${o.path} HTTP/1.1\r\nhost: ${o.host}\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: ${crypto.randomBytes(16).toString('base64')}\r\n\r\n`);
    });
    let got = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`upgrade: no echo within 15 s, got ${JSON.stringify(got)}`)); }, 15000);
    sock.on('data', (d) => {
      got += d.toString();
      if (got.includes('\r\n\r\n') && !got.includes('ping-through-edge')) sock.write('ping-through-edge');
      if (got.includes('ping-through-edge')) { clearTimeout(timer); sock.destroy(); resolve({ statusLine: got.split('\r\n')[0], echoed: got.slice(got.indexOf('\r\n\r\n') + 4) }); }
    });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}
