/**
 * The MinIO provisioning Job, run EXACTLY as synthesized against the real MinIO server with the real
 * mc (both built from their Go modules, scripts/minio/build.sh): the ConfigMap's files are written to
 * a temp dir standing in for the mount path (/opt/provision, the only rewrite, in the scripts too),
 * the container's command runs with the container's env, Secrets filled from test values and
 * S3_ENDPOINT/HOME pointed at the loopback server and a temp dir.
 */
import * as crypto from 'crypto';
import { SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { BACKUP_READER } from '../lib/services/minio/minio-provisioning';
import { MC_BIN, MINIO_BIN, MinioServer, runProvisionJob, startMinio } from '../scripts/lab/minio-lab';
import { synthEnv } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const s = synthEnv('prod');
const objects = s.objects.map((o) => o.object);
const buckets = s.config.minio.buckets;
const apps = Object.entries(s.config.minio.appAccess).map(([app, a]) => ({ app, buckets: a.buckets }));
const key = () => crypto.randomBytes(12).toString('hex');

/** Anonymous GET (no signature): the HTTP status. */
function anonymousGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject);
  });
}

describeWithPrograms('GIVEN the synthesized prod MinIO provisioning Job WHEN it runs twice against the real MinIO with the real mc', { minio: MINIO_BIN, mc: MC_BIN }, () => {
  let server: MinioServer;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provision-'));
  const keys: Record<string, { access: string; secret: string }> = Object.fromEntries(
    [...apps.map((a) => a.app), 'backup'].map((who) => [who, { access: `${who}-${key()}`, secret: key() }]),
  );
  const secrets = () => ({
    'minio-root/root-user': server.accessKey,
    'minio-root/root-password': server.secretKey,
    ...Object.fromEntries(apps.flatMap((a) => [[`minio-app-${a.app}/access-key`, keys[a.app].access], [`minio-app-${a.app}/secret-key`, keys[a.app].secret]])),
    'minio-backup/access-key': keys.backup.access,
    'minio-backup/secret-key': keys.backup.secret,
  });
  let first: SpawnSyncReturns<string>;
  let second: SpawnSyncReturns<string>;
  const file = path.join(dir, 'upload.txt');
  fs.writeFileSync(file, 'an object\n');

  /** The real mc as `who` (an alias with that key pair). */
  const as = (who: string, ...args: string[]) => {
    // mc takes an alias's URL and keys from MC_HOST_<alias> (no "alias set", which refuses unknown keys).
    const url = new URL(server.endpoint);
    return server.mc(args, { [`MC_HOST_${who}`]: `${url.protocol}//${keys[who].access}:${keys[who].secret}@${url.host}` });
  };
  const put = (who: string, bucket: string, name: string) => as(who, 'cp', file, `${who}/${bucket}/${name}`);

  beforeAll(async () => {
    server = await startMinio();
    first = runProvisionJob(objects, server, secrets(), dir);
    // An object written between the runs: a second run must leave it alone.
    server.mc(['cp', file, `root/${buckets[0].name}/kept.txt`]);
    second = runProvisionJob(objects, server, secrets(), dir);
  }, 180_000);
  afterAll(() => server?.stop(), 30_000);

  test('THEN both runs succeed (every step is idempotent)', () => {
    expect(first.stderr).toBe('');
    expect(first.stdout).toContain('provision: done');
    expect(first.status).toBe(0);
    expect(second.stderr).toBe('');
    expect(second.status).toBe(0);
  });

  test('THEN exactly the configured buckets exist, and the object written between the runs is kept', () => {
    const listed = server.mc(['ls', '--json', 'root']).stdout.trim().split('\n').map((l) => JSON.parse(l).key.replace(/\/$/, ''));
    expect(listed.sort()).toEqual(buckets.map((b) => b.name).sort());
    expect(server.mc(['cat', `root/${buckets[0].name}/kept.txt`]).stdout).toBe('an object\n');
  });

  test('THEN anonymous GET works on public-download buckets only, and no bucket can be listed anonymously', async () => {
    expect(buckets.some((b) => b.access === 'public-download') && buckets.some((b) => b.access === 'private')).toBe(true);
    for (const b of buckets) {
      expect(server.mc(['cp', file, `root/${b.name}/public-test.txt`]).status).toBe(0);
      const get = await anonymousGet(`${server.endpoint}/${b.name}/public-test.txt`);
      const list = await anonymousGet(`${server.endpoint}/${b.name}?list-type=2`);
      expect({ bucket: b.name, get, list }).toEqual({ bucket: b.name, get: b.access === 'public-download' ? 200 : 403, list: 403 });
    }
  });

  test('THEN versioning is on exactly where configured', () => {
    for (const b of buckets) {
      const info = JSON.parse(server.mc(['version', 'info', '--json', `root/${b.name}`]).stdout);
      expect({ bucket: b.name, status: info.versioning?.status ?? '' }).toEqual({ bucket: b.name, status: b.versioning ? 'Enabled' : '' });
    }
  });

  test.each(apps.map((a) => [a.app, a.buckets] as [string, string[]]))('THEN the key of app %s reads, writes, lists and deletes in its buckets %j and is refused on every other bucket', (app, own) => {
    for (const b of buckets) {
      const mine = own.includes(b.name);
      expect(server.mc(['cp', file, `root/${b.name}/probe.txt`]).status).toBe(0);
      const results = {
        bucket: b.name,
        put: put(app, b.name, `${app}.txt`).status === 0,
        get: as(app, 'cat', `${app}/${b.name}/probe.txt`).status === 0,
        list: as(app, 'ls', `${app}/${b.name}`).status === 0,
      };
      expect(results).toEqual({ bucket: b.name, put: mine, get: mine, list: mine });
      if (mine) expect(as(app, 'rm', `${app}/${b.name}/${app}.txt`).status).toBe(0);
    }
    const other = buckets.find((b) => !own.includes(b.name));
    if (other) expect(put(app, other.name, 'x.txt').stderr).toMatch(/Insufficient permissions|Access Denied/);
  });

  test(`THEN the backup reader (${BACKUP_READER.policy}) lists and reads every bucket and may not write or delete`, () => {
    for (const b of buckets) {
      expect(server.mc(['cp', file, `root/${b.name}/reader.txt`]).status).toBe(0);
      const results = {
        bucket: b.name,
        list: as('backup', 'ls', `backup/${b.name}`).status === 0,
        get: as('backup', 'cat', `backup/${b.name}/reader.txt`).stdout,
        put: put('backup', b.name, 'nope.txt').status === 0,
        rm: as('backup', 'rm', `backup/${b.name}/reader.txt`).status === 0,
      };
      expect(results).toEqual({ bucket: b.name, list: true, get: 'an object\n', put: false, rm: false });
      expect(server.mc(['cat', `root/${b.name}/reader.txt`]).stdout).toBe('an object\n');
    }
  });

  test('THEN a URL presigned with an app key downloads a private object of its bucket anonymously, one presigned for another app\'s bucket is refused', async () => {
    const privateBucket = buckets.find((b) => b.access === 'private')!.name;
    expect(server.mc(['cp', file, `root/${privateBucket}/presigned.txt`]).status).toBe(0);
    for (const a of apps) {
      // mc stats the object before it signs: for another app's bucket the server refuses already that.
      const share = as(a.app, 'share', 'download', '--json', '--expire', '5m', `${a.app}/${privateBucket}/presigned.txt`);
      const status = share.status === 0 ? await anonymousGet(JSON.parse(share.stdout).share) : /Access Denied|Insufficient permissions/.exec(share.stdout + share.stderr)?.[0];
      expect({ app: a.app, status }).toEqual({ app: a.app, status: a.buckets.includes(privateBucket) ? 200 : expect.stringMatching(/Access Denied|Insufficient permissions/) });
    }
    expect(await anonymousGet(`${server.endpoint}/${privateBucket}/presigned.txt`)).toBe(403);
  });

  test('THEN an app key uploads a large file in parts (multipart) to its bucket', () => {
    const app = apps[0];
    const big = path.join(dir, 'big.bin');
    fs.writeFileSync(big, crypto.randomBytes(40 << 20));
    const upload = as(app.app, 'cp', '--json', big, `${app.app}/${app.buckets[0]}/big.bin`);
    expect(upload.stderr).toBe('');
    const stat = JSON.parse(as(app.app, 'stat', '--json', `${app.app}/${app.buckets[0]}/big.bin`).stdout);
    expect(stat.size).toBe(40 << 20);
    expect(stat.etag).toMatch(/-\d+$/); // the ETag of a multipart object ends in -<parts>
  });

  test('THEN a key that matches no user is refused everywhere', () => {
    keys.stranger = { access: `stranger-${key()}`, secret: key() };
    for (const b of buckets) {
      const run = as('stranger', 'ls', `stranger/${b.name}`);
      expect({ bucket: b.name, status: run.status, error: /does not exist in our records/.test(run.stderr) }).toEqual({ bucket: b.name, status: 1, error: true });
    }
  });

  test('WHEN an app secret key is rotated and the Job runs again THEN the new key works and the old one is refused', () => {
    const app = apps[0];
    const old = { ...keys[app.app] };
    keys[app.app] = { access: old.access, secret: key() };
    const third = runProvisionJob(objects, server, secrets(), dir);
    expect(third.stderr).toBe('');
    expect(third.status).toBe(0);
    expect(as(app.app, 'ls', `${app.app}/${app.buckets[0]}`).status).toBe(0);
    keys.old = old;
    expect(as('old', 'ls', `old/${app.buckets[0]}`).status).not.toBe(0);
  });
});

describeWithPrograms('GIVEN the lab MinIO started with { tls: true } (the https S3 server of the pgBackRest tests)', { minio: MINIO_BIN, mc: MC_BIN }, () => {
  let server: MinioServer;
  const get = (url: string, ca?: Buffer) => new Promise<string>((resolve) => {
    https.get(url, ca ? { ca } : {}, (res) => { res.resume(); resolve(`HTTP ${res.statusCode}`); }).on('error', (e: any) => resolve(e.code));
  });
  beforeAll(async () => {
    server = await startMinio({ tls: true });
  }, 120_000);
  afterAll(() => server?.stop(), 30_000);

  test('THEN it serves https on its loopback address with a certificate that verifies against caFile only', async () => {
    expect(server.endpoint).toMatch(/^https:\/\/127\.0\.0\.\d+:\d+$/);
    const live = `${server.endpoint}/minio/health/live`;
    expect(await get(live, fs.readFileSync(server.caFile!))).toBe('HTTP 200');
    expect(await get(live)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  test('THEN mc, trusting caFile, creates a bucket and round-trips an object over https', () => {
    expect(server.mc(['mb', 'root/pgbackrest']).status).toBe(0);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tls-')), 'o.txt');
    fs.writeFileSync(file, 'over tls\n');
    expect(server.mc(['cp', file, 'root/pgbackrest/o.txt']).status).toBe(0);
    expect(server.mc(['cat', 'root/pgbackrest/o.txt']).stdout).toBe('over tls\n');
  });
});
