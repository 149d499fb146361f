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
import { freePort, ownForService, runAsService, serviceTempDir, stop } from './programs';

/** s3rver's built-in account. */
export const S3_KEY = 'S3RVER';

export class S3Server {
  readonly dir = serviceTempDir('s3rver-');
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
    const env: Record<string, string> = {};
    for (const e of container.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.secretKeyRef) {
        const ref = `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`;
        const value = this.options.secrets[ref];
        if (value === undefined) throw new Error(`no test value for Secret ${ref}`);
        env[e.name] = value;
      }
    }
    return { ...env, ...overrides };
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
 * Runs rclone against the lab S3 server with the remote "s3" (raw objects, for setup and
 * inspection) and "enc", the crypt view with the lab key that the backup jobs write through.
 */
export function rcloneS3(endpoint: string, args: string[], input?: string): SpawnSyncReturns<string> {
  return runAsService('rclone', args, {
    input,
    env: {
      PATH: '/usr/bin:/bin', HOME: '/tmp', RCLONE_CONFIG: '/dev/null', AWS_CA_BUNDLE: '',
      RCLONE_CONFIG_ENC_TYPE: 'crypt', RCLONE_CONFIG_ENC_REMOTE: 's3:', RCLONE_CONFIG_ENC_FILENAME_ENCRYPTION: 'off', RCLONE_CONFIG_ENC_DIRECTORY_NAME_ENCRYPTION: 'false',
      RCLONE_CONFIG_ENC_PASSWORD: CRYPT.secrets['backup-encryption/rclone-password'], RCLONE_CONFIG_ENC_PASSWORD2: CRYPT.secrets['backup-encryption/rclone-salt'],
      RCLONE_CONFIG_S3_TYPE: 's3', RCLONE_CONFIG_S3_PROVIDER: 'Other', RCLONE_CONFIG_S3_ENDPOINT: endpoint, RCLONE_CONFIG_S3_REGION: 'us-east-1',
      RCLONE_CONFIG_S3_ACCESS_KEY_ID: S3_KEY, RCLONE_CONFIG_S3_SECRET_ACCESS_KEY: S3_KEY, RCLONE_CONFIG_S3_FORCE_PATH_STYLE: 'true', RCLONE_CONFIG_S3_NO_CHECK_BUCKET: 'true',
    },
  });
}
