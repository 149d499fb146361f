/**
 * Runs the backup chart's scripts, taken from the synthesized YAML, the way its CronJob pods do:
 * init containers first, each with the env of its container spec. Only host names, ports, the
 * S3 endpoint and container paths are rewritten; Secrets are filled from a test map.
 * The S3 server (s3rver) runs as a child process, so every script can run synchronously.
 */
import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BACKUP_PATHS } from '../../lib/constructs/backup/scripts';
import { findProjectRoot } from '../../lib/project';
import * as net from 'net';
import { containerEnv, freePort, ownForService, runAsService, serviceTempDir, stop } from './programs';

/** s3rver's built-in account. */
export const S3_KEY = 'S3RVER';

/** An S3 server of the lab: s3rver (S3Server) or the real MinIO (startMinio in minio-lab.ts). */
export interface S3Endpoint {
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
}

export class S3Server implements S3Endpoint {
  readonly dir = serviceTempDir('s3rver-');
  readonly accessKey = S3_KEY;
  readonly secretKey = S3_KEY;
  port = 0;
  private child?: ChildProcess;

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(buckets: string[]): Promise<void> {
    this.port = await freePort();
    const bin = path.join(findProjectRoot(__dirname), 'node_modules', '.bin', 's3rver');
    const args = ['-d', this.dir, '-a', '127.0.0.1', '-p', String(this.port), '--silent', ...buckets.flatMap((b) => ['--configure-bucket', b])];
    this.child = spawn(bin, args, { stdio: 'ignore' });
    await waitUntilListening(this.port);
  }

  stop(): Promise<void> {
    return stop(this.child);
  }
}

async function waitUntilListening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.end(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`s3rver did not listen on ${port}`);
}

export interface PodRun {
  /** Container name → result, in the order they ran; stops at the first failure like a pod. */
  readonly steps: { container: string; result: SpawnSyncReturns<string>; ms: number }[];
  readonly ok: boolean;
  readonly output: string;
}

export interface BackupLabOptions {
  /** ConfigMap data of backup-scripts. */
  readonly scripts: Record<string, string>;
  /** `name/key` → value for every secretKeyRef. */
  readonly secrets: Record<string, string>;
  /** Directory with pg_dump, pg_restore, psql, initdb, pg_ctl. */
  readonly pgBin: string;
}

/** Env and paths of the lab; each pod run gets a fresh scratch dir, as an emptyDir would be. */
export class BackupLab {
  readonly dir = serviceTempDir('backup-lab-');
  readonly scriptsDir = path.join(this.dir, 'scripts');

  constructor(private readonly options: BackupLabOptions) {
    fs.mkdirSync(this.scriptsDir);
    for (const [name, text] of Object.entries(options.scripts)) fs.writeFileSync(path.join(this.scriptsDir, name), text, { mode: 0o555 });
    ownForService(this.dir);
  }

  /** A new empty scratch dir (the pod's emptyDir). */
  scratch(): string {
    const dir = fs.mkdtempSync(path.join(this.dir, 'scratch-'));
    fs.chmodSync(dir, 0o777);
    ownForService(dir);
    return dir;
  }

  /** The env of one container spec: literal values kept, Secrets from the map, then `overrides`. */
  env(container: any, overrides: Record<string, string>): Record<string, string> {
    return containerEnv(container, this.options.secrets, overrides);
  }

  /** A container path (scripts, scratch, tmp) → its lab path; other values unchanged. */
  private relocate(value: string, scratch: string): string {
    const moves: [string, string][] = [[BACKUP_PATHS.scripts, this.scriptsDir], [BACKUP_PATHS.scratch, scratch], [BACKUP_PATHS.tmp, scratch]];
    for (const [from, to] of moves) if (value === from || value.startsWith(`${from}/`)) return to + value.slice(from.length);
    return value;
  }

  /**
   * Runs the pod of a CronJob: init containers, then containers, each `command` with its env.
   * `rewrite` maps env names to new values (host names, ports, endpoint); `wrap` may prefix the
   * shell command of one container (e.g. a file-size limit).
   */
  runPod(cronJob: any, options: { scratch?: string; rewrite?: Record<string, string>; only?: string[]; wrap?: Record<string, string>; pathPrefix?: string; timeoutMs?: number } = {}): PodRun {
    const scratch = options.scratch ?? this.scratch();
    const spec = cronJob.spec.jobTemplate.spec.template.spec;
    const containers = [...(spec.initContainers ?? []), ...spec.containers].filter((c: any) => !options.only || options.only.includes(c.name));
    const steps: PodRun['steps'] = [];
    for (const c of containers) {
      const env = this.env(c, {});
      for (const [k, v] of Object.entries(env)) env[k] = this.relocate(v, scratch);
      Object.assign(env, options.rewrite ?? {});
      const [shell, script] = c.command as string[];
      const scriptPath = this.relocate(script, scratch);
      const prefix = options.wrap?.[c.name] ?? '';
      const start = Date.now();
      const result = runAsService('/bin/sh', ['-c', `${prefix} exec ${shell} "$0"`, scriptPath], {
        env: { PATH: `${options.pathPrefix ? options.pathPrefix + ':' : ''}${this.options.pgBin}:/usr/sbin:/usr/bin:/bin`, ...env, AWS_CA_BUNDLE: '' },
        cwd: scratch,
        timeoutMs: options.timeoutMs,
      });
      steps.push({ container: c.name, result, ms: Date.now() - start });
      if (result.status !== 0) break;
    }
    const ok = steps.length === containers.length && steps.every((st) => st.result.status === 0);
    const output = steps.map((st) => `[${st.container}] exit ${st.result.status}\n${st.result.stdout}${st.result.stderr}`).join('\n');
    return { steps, ok, output };
  }
}

/** The test's backup-encryption key: plain, and obscured as the Secret holds it for rclone. */
export const CRYPT = (() => {
  const obscure = (plain: string) => spawnSync('rclone', ['obscure', plain], { encoding: 'utf8' }).stdout?.trim() ?? '';
  const password = 'lab crypt password';
  const salt = 'lab crypt salt';
  return { password, salt, secrets: { 'backup-encryption/rclone-password': obscure(password), 'backup-encryption/rclone-salt': obscure(salt) } };
})();

/**
 * Runs rclone with one remote per entry of `remotes` (e.g. "s3", "minio"), for test setup and inspection,
 * plus "enc", the crypt view of "s3" that the backup jobs write through.
 */
export function rcloneS3(remotes: Record<string, S3Endpoint>, args: string[], input?: string): SpawnSyncReturns<string> {
  const env: Record<string, string> = { PATH: '/usr/bin:/bin', HOME: '/tmp', RCLONE_CONFIG: '/dev/null', AWS_CA_BUNDLE: '' };
  // "enc": the crypt view of "s3" with the lab key, the way the backup jobs write through it.
  if (remotes.s3) {
    Object.assign(env, {
      RCLONE_CONFIG_ENC_TYPE: 'crypt', RCLONE_CONFIG_ENC_REMOTE: 's3:', RCLONE_CONFIG_ENC_FILENAME_ENCRYPTION: 'off', RCLONE_CONFIG_ENC_DIRECTORY_NAME_ENCRYPTION: 'false',
      RCLONE_CONFIG_ENC_PASSWORD: CRYPT.secrets['backup-encryption/rclone-password'], RCLONE_CONFIG_ENC_PASSWORD2: CRYPT.secrets['backup-encryption/rclone-salt'],
    });
  }
  for (const [name, server] of Object.entries(remotes)) {
    const settings = {
      TYPE: 's3', PROVIDER: 'Other', ENDPOINT: server.endpoint, REGION: 'us-east-1', ACCESS_KEY_ID: server.accessKey,
      SECRET_ACCESS_KEY: server.secretKey, FORCE_PATH_STYLE: 'true', NO_CHECK_BUCKET: 'true',
    };
    for (const [k, v] of Object.entries(settings)) env[`RCLONE_CONFIG_${name.toUpperCase()}_${k}`] = v;
  }
  return runAsService('rclone', args, { input, env });
}
