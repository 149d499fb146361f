/**
 * The real MinIO server and mc client (built from their Go modules by scripts/minio/build.sh into
 * .tools/minio/bin) on loopback, for tests: `startMinio()` runs one server on 127.0.0.x with a fresh
 * data dir and random root keys, over plain http or, with `{ tls: true }`, over https with a
 * self-signed CA made by openssl (its certificate is `caFile`, for clients such as pgBackRest).
 * Requires `bash scripts/minio/build.sh` (CI runs it); tests check MINIO_BIN / MC_BIN first.
 */
import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { findProjectRoot } from '../../lib/project';
import { containerEnv, stop } from './programs';

const BIN = path.join(findProjectRoot(__dirname), '.tools', 'minio', 'bin');
/** The built server and client, or undefined when scripts/minio/build.sh has not run. */
export const MINIO_BIN = fs.existsSync(path.join(BIN, 'minio')) ? path.join(BIN, 'minio') : undefined;
export const MC_BIN = fs.existsSync(path.join(BIN, 'mc')) ? path.join(BIN, 'mc') : undefined;
/** The directory of minio and mc, for PATH. */
export const MINIO_BIN_DIR = BIN;

export interface MinioOptions {
  /** Serve https with a self-signed CA (written to `caFile`). @default false */
  readonly tls?: boolean;
  /** Loopback address to listen on. @default a random 127.0.0.x */
  readonly host?: string;
  /** Data directory, kept by stop(). @default a fresh temp dir, removed by stop() */
  readonly dataDir?: string;
}

export interface MinioServer {
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly dataDir: string;
  /** The CA certificate clients must trust (tls only). */
  readonly caFile?: string;
  /** Runs the real mc with alias `root` set to this server (own config dir). */
  mc(args: string[], env?: NodeJS.ProcessEnv): SpawnSyncReturns<string>;
  /** Ends the server and removes its temp dir (certificates, log, mc config, the default data dir). */
  stop(): Promise<void>;
}

/** A free TCP port on `host`. */
function freePortOn(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** A CA and a server certificate for `host` (IP SAN), in MinIO's certs-dir layout. */
function makeCerts(dir: string, host: string): string {
  const certs = path.join(dir, 'certs');
  fs.mkdirSync(path.join(certs, 'CAs'), { recursive: true });
  const ca = path.join(dir, 'ca.crt');
  const caKey = path.join(dir, 'ca.key');
  const run = (args: string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=minio-lab-ca',
    '-keyout', caKey, '-out', ca]);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${host}`,
    '-keyout', path.join(certs, 'private.key'), '-out', path.join(dir, 'server.csr')]);
  fs.writeFileSync(path.join(dir, 'san.ext'), `subjectAltName=IP:${host},DNS:localhost\nextendedKeyUsage=serverAuth\n`);
  run(['x509', '-req', '-in', path.join(dir, 'server.csr'), '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-days', '2',
    '-extfile', path.join(dir, 'san.ext'), '-out', path.join(certs, 'public.crt')]);
  return ca;
}

async function waitLive(endpoint: string, caFile: string | undefined, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  const url = `${endpoint}/minio/health/live`;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`minio exited (${child.exitCode}):\n${fs.readFileSync(log, 'utf8')}`);
    const ok = await new Promise<boolean>((resolve) => {
      const get = caFile ? https.get(url, { ca: fs.readFileSync(caFile) }) : http.get(url);
      get.on('response', (res) => { res.resume(); resolve(res.statusCode === 200); });
      get.on('error', () => resolve(false));
      get.setTimeout(2000, () => get.destroy());
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`minio at ${endpoint} not live after 60 s:\n${fs.readFileSync(log, 'utf8')}`);
}

/** Starts a real MinIO server on loopback (see MinioOptions). */
export async function startMinio(options: MinioOptions = {}): Promise<MinioServer> {
  if (!MINIO_BIN || !MC_BIN) throw new Error(`minio/mc not built in ${BIN}; fix: bash scripts/minio/build.sh`);
  const host = options.host ?? `127.0.0.${2 + crypto.randomInt(250)}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minio-lab-'));
  const dataDir = options.dataDir ?? path.join(dir, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const caFile = options.tls ? makeCerts(dir, host) : undefined;
  const [port, consolePort] = [await freePortOn(host), await freePortOn(host)];
  const endpoint = `${options.tls ? 'https' : 'http'}://${host}:${port}`;
  const accessKey = `root${crypto.randomBytes(4).toString('hex')}`;
  const secretKey = crypto.randomBytes(16).toString('hex');
  const log = path.join(dir, 'minio.log');
  const out = fs.openSync(log, 'a');
  const args = ['server', dataDir, '--address', `${host}:${port}`, '--console-address', `${host}:${consolePort}`, '--quiet',
    ...(caFile ? ['--certs-dir', path.join(dir, 'certs')] : [])];
  const child = spawn(MINIO_BIN, args, {
    stdio: ['ignore', out, out],
    env: { PATH: process.env.PATH, HOME: dir, MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey, MINIO_UPDATE: 'off', MINIO_BROWSER: 'off' },
  });
  await waitLive(endpoint, caFile, child, log);
  const mcDir = path.join(dir, 'mc');
  const mc = (mcArgs: string[], env: NodeJS.ProcessEnv = {}) => spawnSync(MC_BIN!, ['--config-dir', mcDir, '--no-color', ...mcArgs], {
    encoding: 'utf8', timeout: 60_000,
    env: { PATH: `${BIN}:/usr/bin:/bin`, HOME: dir, ...(caFile ? { SSL_CERT_FILE: caFile } : {}), ...env },
  });
  if (caFile) {
    fs.mkdirSync(path.join(mcDir, 'certs', 'CAs'), { recursive: true });
    fs.copyFileSync(caFile, path.join(mcDir, 'certs', 'CAs', 'ca.crt'));
  }
  // The live probe answers before the object layer is up: mc then says "Server not initialized yet, please
  // try again" (seen on a loaded machine). Retried for a bounded time; any other error fails at once.
  let alias = mc(['alias', 'set', 'root', endpoint, accessKey, secretKey]);
  for (const deadline = Date.now() + 60_000; alias.status !== 0 && /not initialized yet/i.test(`${alias.stderr}${alias.stdout}`) && Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 500));
    alias = mc(['alias', 'set', 'root', endpoint, accessKey, secretKey]);
  }
  if (alias.status !== 0) throw new Error(`mc alias set failed: ${alias.stderr}${alias.stdout}`);
  const stopAndClean = async () => {
    await stop(child);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { endpoint, host, port, accessKey, secretKey, dataDir, caFile, mc, stop: stopAndClean };
}

/**
 * Runs the synthesized MinIO provisioning Job's container as its pod would, against `server`: the
 * ConfigMap's files written to `dir`, which stands in for the scripts' mount path (the only rewrite,
 * also inside the scripts), the container's command with its env (Secrets from `secrets`, `name/key` →
 * value), S3_ENDPOINT pointed at the server and HOME at a temp dir; mc and minio first on PATH.
 */
export function runProvisionJob(objects: any[], server: MinioServer, secrets: Record<string, string>, dir: string): SpawnSyncReturns<string> {
  const pick = (kind: string) => objects.find((o) => o.kind === kind && o.metadata.name === 'minio-provision');
  const container = pick('Job').spec.template.spec.containers[0];
  const mountPath: string = container.volumeMounts.find((m: any) => m.name === 'scripts').mountPath;
  const relocate = (text: string) => text.split(`${mountPath}/`).join(`${dir}/`);
  for (const [name, text] of Object.entries(pick('ConfigMap').data as Record<string, string>)) fs.writeFileSync(path.join(dir, name), relocate(text));
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'provision-home-'));
  const env = containerEnv(container, secrets, { S3_ENDPOINT: server.endpoint, HOME: home });
  const [shell, ...args] = (container.command as string[]).map(relocate);
  return spawnSync(shell, args, { env: { PATH: `${BIN}:/usr/bin:/bin`, ...env }, encoding: 'utf8', timeout: 120_000 });
}
