/**
 * An S3 server on loopback that speaks TLS, as pgBackRest requires: the real MinIO when it was
 * built into .tools/minio/bin/minio (scripts/minio/build.sh), else s3rver behind a TLS pipe (a
 * child process, so tests may run programs synchronously). The certificate is self-signed
 * (openssl) for 127.0.0.1; clients get its file (`certFile`) or skip verification in tests only.
 */
import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { findProjectRoot } from '../../lib/project';
import { freePort, ownForService, runAsService, serviceTempDir, stop, waitFor } from './programs';

/** The MinIO server binary built from its Go module, when present. */
export function minioBinary(): string | undefined {
  const bin = path.join(findProjectRoot(__dirname), '.tools', 'minio', 'bin', 'minio');
  return fs.existsSync(bin) ? bin : undefined;
}

/** Pipes TLS connections on argv[1] to plain TCP on argv[2] (s3rver has no TLS of its own). */
const TLS_PIPE = `
const tls = require('tls'), net = require('net'), fs = require('fs');
const [port, target, cert, key] = process.argv.slice(1);
tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (client) => {
  const upstream = net.connect(Number(target), '127.0.0.1');
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
}).listen(Number(port), '127.0.0.1');
`;

export class TlsS3Server {
  readonly dir = serviceTempDir('s3-tls-');
  readonly certFile = path.join(this.dir, 'certs', 'public.crt');
  readonly keyFile = path.join(this.dir, 'certs', 'private.key');
  readonly kind: 'minio' | 's3rver' = minioBinary() ? 'minio' : 's3rver';
  readonly accessKey = this.kind === 'minio' ? 'lab-root-user' : 'S3RVER';
  readonly secretKey = this.kind === 'minio' ? 'lab-root-password' : 'S3RVER';
  port = 0;
  private readonly children: ChildProcess[] = [];

  /** host:port for pgBackRest's repo1-s3-endpoint / repo1-storage-port. */
  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(buckets: string[]): Promise<void> {
    fs.mkdirSync(path.dirname(this.certFile), { recursive: true });
    const cert = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', this.keyFile, '-out', this.certFile, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    if (cert.status !== 0) throw new Error(`openssl req failed: ${cert.stderr}`);
    fs.chmodSync(this.keyFile, 0o644); // a throwaway test key, read by the server child
    ownForService(this.dir);
    this.port = await freePort();
    if (this.kind === 'minio') {
      const console = await freePort();
      fs.mkdirSync(path.join(this.dir, 'data'));
      this.children.push(spawn(minioBinary()!, ['server', path.join(this.dir, 'data'), '--address', this.hostPort, '--console-address', `127.0.0.1:${console}`, '--certs-dir', path.dirname(this.certFile), '--quiet'], {
        env: { PATH: process.env.PATH, HOME: this.dir, MINIO_ROOT_USER: this.accessKey, MINIO_ROOT_PASSWORD: this.secretKey, MINIO_BROWSER: 'off' }, stdio: 'ignore',
      }));
      await this.waitUntilListening();
      for (const bucket of buckets) {
        const made = this.rclone(['mkdir', `s3:${bucket}`]);
        if (made.status !== 0) throw new Error(`creating bucket ${bucket} on MinIO failed: ${made.stderr}`);
      }
    } else {
      const plain = await freePort();
      const bin = path.join(findProjectRoot(__dirname), 'node_modules', '.bin', 's3rver');
      fs.mkdirSync(path.join(this.dir, 'data'));
      this.children.push(spawn(bin, ['-d', path.join(this.dir, 'data'), '-a', '127.0.0.1', '-p', String(plain), '--silent', ...buckets.flatMap((b) => ['--configure-bucket', b])], { stdio: 'ignore' }));
      this.children.push(spawn(process.execPath, ['-e', TLS_PIPE, String(this.port), String(plain), this.certFile, this.keyFile], { stdio: 'ignore' }));
      await this.waitUntilListening();
    }
  }

  /** rclone with the remote "s3" on this server (raw objects), trusting its certificate. */
  rclone(args: string[]): SpawnSyncReturns<string> {
    return runAsService('rclone', args, {
      env: {
        PATH: '/usr/bin:/bin', HOME: '/tmp', RCLONE_CONFIG: '/dev/null', AWS_CA_BUNDLE: '', RCLONE_CA_CERT: this.certFile,
        RCLONE_CONFIG_S3_TYPE: 's3', RCLONE_CONFIG_S3_PROVIDER: this.kind === 'minio' ? 'Minio' : 'Other', RCLONE_CONFIG_S3_ENDPOINT: `https://${this.hostPort}`,
        RCLONE_CONFIG_S3_REGION: 'us-east-1', RCLONE_CONFIG_S3_ACCESS_KEY_ID: this.accessKey, RCLONE_CONFIG_S3_SECRET_ACCESS_KEY: this.secretKey,
        RCLONE_CONFIG_S3_FORCE_PATH_STYLE: 'true',
      },
    });
  }

  private async waitUntilListening(): Promise<void> {
    let up = false;
    const probe = () => {
      const socket = net.connect(this.port, '127.0.0.1', () => { up = true; socket.end(); });
      socket.on('error', () => socket.destroy());
    };
    await waitFor(`the ${this.kind} S3 server on ${this.hostPort}`, () => {
      if (!up) probe();
      return up || this.children.some((c) => c.exitCode !== null);
    }, 30_000);
    if (!up) throw new Error(`the ${this.kind} S3 server exited before listening on ${this.hostPort}`);
    // MinIO listens before it serves: wait for a signed request to succeed.
    if (this.kind === 'minio') await waitFor('MinIO to answer S3 requests', () => this.rclone(['lsd', 's3:']).status === 0, 30_000);
  }

  async stop(): Promise<void> {
    for (const child of [...this.children].reverse()) await stop(child);
  }
}
