/**
 * Rotating a MinIO app key without downtime (README "Rotating credentials"), with the real MinIO server
 * and client (.tools/minio/bin, built from their Go modules) on loopback and the synthesized provisioning
 * scripts (ConfigMap minio-provision, only its mount path moved to a temp dir). Clients write and read as
 * the app in a bounded loop while the rotation runs: the Secret gets a new key pair and the provisioning
 * Job runs again (adding that user next to the old one), the pods roll one at a time, the old key is
 * removed. No request may fail; afterwards the old key is refused and the new one is limited to the app's
 * buckets.
 */
import { ChildProcess, execFile, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findProjectRoot } from '../lib/project';
import { freePort, stop } from '../scripts/lab/programs';
import { one, synthEnv } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const binDir = path.join(findProjectRoot(__dirname), '.tools', 'minio', 'bin');
const program = (name: string) => (fs.existsSync(path.join(binDir, name)) ? path.join(binDir, name) : undefined);
const CLIENTS = 4;
const MAX_REQUESTS_PER_CLIENT = 120;
const DEADLINE_MS = 90_000;
const ROOT = { user: 'lab-root', password: 'lab-root-password-1' };
const OLD = { accessKey: 'crm-2026q2', secretKey: 'old-secret-key-q2-0123456789' };
const NEW = { accessKey: 'crm-2026q3', secretKey: 'new-secret-key-q3-9876543210' };
const OTHER = { accessKey: 'web-key', secretKey: 'web-secret-key-0123456789' };
const READER = { accessKey: 'backup-reader', secretKey: 'backup-reader-secret-0123' };

interface KeyPair { readonly accessKey: string; readonly secretKey: string }

describeWithPrograms('GIVEN the prod MinIO provisioning scripts on a real MinIO, and an app writing with its key', { minio: program('minio'), mc: program('mc') }, () => {
  const s = synthEnv('prod');
  const scripts = one(s, 'ConfigMap', 'minio-provision').data as Record<string, string>;
  const crm = s.config.minio.appAccess.crm;
  const bucket = crm.buckets.find((b) => s.config.minio.buckets.find((x) => x.name === b)?.access !== 'public-download')!;
  /** A bucket outside the app's policy, made by root: the new key must not reach it. */
  const otherBucket = 'not-for-crm';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minio-rotation-'));
  const scriptDir = path.join(dir, 'provision');
  let endpoint = '';
  let server: ChildProcess;
  const env = (extra: Record<string, string>) => ({ PATH: `${binDir}:/usr/bin:/bin`, HOME: dir, MC_CONFIG_DIR: path.join(dir, 'mc'), ...extra });
  const hostEnv = (k: KeyPair) => ({ MC_HOST_app: `${endpoint.replace('://', `://${encodeURIComponent(k.accessKey)}:${encodeURIComponent(k.secretKey)}@`)}` });

  /**
   * The synthesized provision.sh, with the app key pairs its Job would get from the Secrets. Asynchronous:
   * the clients' callbacks (and their timeouts) must keep running while it does.
   */
  const provision = (crmKey: KeyPair) => new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile('sh', [path.join(scriptDir, 'provision.sh')], {
      timeout: 120_000,
      env: env({
        S3_ENDPOINT: endpoint, S3_ACCESS_KEY: ROOT.user, S3_SECRET_KEY: ROOT.password,
        APP_CRM_ACCESS_KEY: crmKey.accessKey, APP_CRM_SECRET_KEY: crmKey.secretKey,
        APP_WEB_ACCESS_KEY: OTHER.accessKey, APP_WEB_SECRET_KEY: OTHER.secretKey,
        BACKUP_READER_ACCESS_KEY: READER.accessKey, BACKUP_READER_SECRET_KEY: READER.secretKey,
      }),
    }, (err, stdout, stderr) => resolve({ status: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
  });
  const asApp = (k: KeyPair, args: string[], input?: string) => spawnSync(program('mc')!, args, { encoding: 'utf8', input, env: env(hostEnv(k)), timeout: 30_000 });

  beforeAll(async () => {
    fs.mkdirSync(scriptDir);
    for (const [name, text] of Object.entries(scripts)) fs.writeFileSync(path.join(scriptDir, name), text.split('/opt/provision').join(scriptDir));
    const [api, consolePort] = [await freePort(), await freePort()];
    endpoint = `http://127.0.0.1:${api}`;
    server = spawn(program('minio')!, ['server', path.join(dir, 'data'), '--address', `127.0.0.1:${api}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'], {
      env: { ...env({}), MINIO_ROOT_USER: ROOT.user, MINIO_ROOT_PASSWORD: ROOT.password, MINIO_BROWSER: 'off' },
      stdio: ['ignore', fs.openSync(path.join(dir, 'minio.log'), 'a'), fs.openSync(path.join(dir, 'minio.log'), 'a')],
    });
    const first = await provision(OLD); // s3_connect waits until the server is ready
    if (first.status !== 0) throw new Error(`provision: ${first.stdout}\n${first.stderr}`);
    const made = spawnSync(program('mc')!, ['mb', `root/${otherBucket}`], { encoding: 'utf8', env: env({ MC_HOST_root: endpoint.replace('://', `://${ROOT.user}:${ROOT.password}@`) }) });
    if (made.status !== 0) throw new Error(`mc mb: ${made.stderr}`);
  }, 180_000);
  afterAll(async () => {
    if (server) await stop(server);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('WHEN the app key is rotated while clients write and read THEN no request fails, the old key is refused afterwards and the new one only reaches the app\'s buckets', async () => {
    const pods: KeyPair[] = Array.from({ length: CLIENTS }, () => OLD);
    const failures: string[] = [];
    const used = new Map<string, number>();
    let total = 0;
    let stop = false;
    const deadline = Date.now() + DEADLINE_MS;
    // One request: write an object, or read back the one written before (alternating).
    const request = (k: KeyPair, client: number, n: number) => new Promise<void>((resolve) => {
      const object = `app/${bucket}/rotation/${client}-${n - (n % 2)}`;
      const child = execFile(program('mc')!, n % 2 === 0 ? ['pipe', object] : ['cat', object], { env: env(hostEnv(k)), timeout: 15_000 }, (err, stdout, stderr) => {
        total++;
        if (err) failures.push(`client ${client} as ${k.accessKey}: ${stderr.trim() || err.message}`);
        else if (n % 2 === 1 && stdout !== `payload ${client}-${n - 1}`) failures.push(`client ${client}: read back "${stdout}"`);
        else used.set(k.accessKey, (used.get(k.accessKey) ?? 0) + 1);
        resolve();
      });
      if (n % 2 === 0) child.stdin!.end(`payload ${client}-${n}`);
      else child.stdin!.end();
    });
    const clients = pods.map(async (_pod, i) => {
      for (let n = 0; n < MAX_REQUESTS_PER_CLIENT && !stop && Date.now() < deadline; n++) await request(pods[i], i, n);
    });
    const until = async (count: number) => {
      while (total < count && Date.now() < deadline && failures.length === 0) await new Promise((r) => setTimeout(r, 20));
    };

    await until(30);
    const reprovisioned = await provision(NEW); // step 1: the Secret holds the new pair; the sync's Job adds it
    await until(total + 30);
    for (let i = 0; i < CLIENTS; i += 2) { // step 2: every even client first (a rolling update), then the rest
      pods[i] = NEW;
      await until(total + 10);
    }
    for (let i = 1; i < CLIENTS; i += 2) { // (odd clients keep the old key until now: both keys in use)
      pods[i] = NEW;
      await until(total + 10);
    }
    const removed = await new Promise<{ status: number }>((resolve) => { // step 3, asynchronous like step 1
      execFile(program('mc')!, ['admin', 'user', 'remove', 'root', OLD.accessKey], {
        env: env({ MC_HOST_root: endpoint.replace('://', `://${ROOT.user}:${ROOT.password}@`) }), timeout: 30_000,
      }, (err) => resolve({ status: err ? Number(err.code ?? 1) : 0 }));
    });
    await until(total + 30);
    stop = true;
    await Promise.all(clients);
    console.log(`MinIO key rotation: ${total} requests by ${CLIENTS} clients, ${failures.length} failed (${[...used].map(([k, v]) => `${k}: ${v}`).join(', ')})`);

    expect(reprovisioned.stderr).not.toMatch(/ERROR|error/);
    expect(reprovisioned.status).toBe(0);
    expect(removed.status).toBe(0);
    expect(failures).toEqual([]);
    expect(total).toBeGreaterThanOrEqual(30 + 30 + CLIENTS * 10 + 30);
    expect([...used.keys()].sort()).toEqual([OLD.accessKey, NEW.accessKey].sort());

    const old = asApp(OLD, ['cat', `app/${bucket}/rotation/0-0`]);
    expect(old.status).not.toBe(0);
    expect(old.stderr).toMatch(/Access Key Id you provided does not exist|InvalidAccessKeyId|signature/i);
    expect(asApp(NEW, ['cat', `app/${bucket}/rotation/0-0`]).stdout).toBe('payload 0-0');
    const outside = asApp(NEW, ['ls', `app/${otherBucket}`]);
    expect(outside.status).not.toBe(0);
    expect(outside.stderr).toMatch(/Access Denied/i);
  }, 150_000);
});
