/**
 * The provisioning scripts of the MinIO Job, taken FROM THE SYNTHESIZED YAML.
 * - Real: shellcheck on every shell script that any chart puts in a ConfigMap.
 * - Real: the S3-generic part (buckets.sh) runs, twice, with the AWS CLI (test/fixtures/
 *   client-aws.sh instead of client-mc.sh: mc cannot be installed here) against s3rver on
 *   loopback. s3rver does not implement bucket policies or versioning, so the test records
 *   those two calls itself (a small middleware) and checks what the script asked for.
 * - The exact text of the MinIO-only `mc admin` commands; test/minio.real.test.ts runs the whole
 *   Job against the real MinIO with the real mc (built by scripts/minio/build.sh).
 */
import { execFile, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { requireBinary } from './helpers/real-programs';
import { ENVIRONMENTS, find, one, synthEnv } from './helpers/platform';

const s = synthEnv('prod');
const scripts = one(s, 'ConfigMap', 'minio-provision').data as Record<string, string>;

function writeTemp(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provision-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const shellcheck = requireBinary('shellcheck');
(shellcheck ? describe : describe.skip)('GIVEN every shell script in a ConfigMap of any environment WHEN the real shellcheck reads it', () => {
  const all = ENVIRONMENTS.flatMap((env) =>
    find(synthEnv(env), 'ConfigMap').flatMap((cm) =>
      Object.entries(cm.data ?? {})
        .filter(([key]) => key.endsWith('.sh'))
        .map(([key, text]) => [`${env}/${cm.metadata.name}/${key}`, text as string] as const),
    ),
  );

  test('THEN there are scripts to check (Redis start, MinIO provisioning)', () => {
    expect(all.map(([name]) => name)).toEqual(expect.arrayContaining(['prod/redis-config/start.sh', 'prod/minio-provision/buckets.sh', 'prod/minio-provision/admin.sh']));
  });

  // One shellcheck run over every distinct script (most are the same in every environment).
  const distinct = [...new Set(all.map(([, text]) => text))];
  let findings: Map<string, unknown[]>;
  beforeAll(() => {
    const dir = writeTemp(Object.fromEntries(distinct.map((text, i) => [`script-${i}.sh`, text])));
    const files = distinct.map((_, i) => path.join(dir, `script-${i}.sh`));
    const run = spawnSync(shellcheck!, ['--shell=sh', '--severity=style', '--format=json1', ...files], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const comments: { file: string }[] = JSON.parse(run.stdout).comments;
    findings = new Map(distinct.map((text, i) => [text, comments.filter((c) => c.file === files[i])]));
  });

  test.each(all)('THEN %s has no findings', (_name, text) => {
    expect(findings.get(text)).toEqual([]);
  });

  test('THEN the test-only AWS CLI client has no findings either', () => {
    const run = spawnSync(shellcheck!, ['--shell=sh', path.join(__dirname, 'fixtures', 'client-aws.sh')], { encoding: 'utf8' });
    expect(run.stdout).toBe('');
  });
});

const aws = requireBinary('aws');
(aws ? describe : describe.skip)('GIVEN buckets.sh from the synthesized prod YAML WHEN run twice with the AWS CLI against s3rver on loopback', () => {
  let server: any;
  let endpoint: string;
  const recorded = { policies: new Map<string, string>(), versioning: new Map<string, string>() };
  const workdir = writeTemp({ 'buckets.sh': scripts['buckets.sh'], 'client-aws.sh': fs.readFileSync(path.join(__dirname, 'fixtures', 'client-aws.sh'), 'utf8') });
  const env = (): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = {
      ...process.env,
      S3_ENDPOINT: endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: path.join(workdir, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(workdir, 'no-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    delete e.AWS_CA_BUNDLE; // set on this machine for https; the local server speaks plain http
    delete e.AWS_PROFILE;
    return e;
  };
  // Asynchronous on purpose: s3rver runs in this process, a blocking spawnSync would deadlock it.
  const run = (file: string, args: string[]) =>
    new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
      execFile(file, args, { cwd: workdir, env: env(), encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });
  const provision = () => run('sh', ['-c', 'set -eu; . ./client-aws.sh; . ./buckets.sh']);
  const s3api = (...args: string[]) => run(aws!, ['--endpoint-url', endpoint, 's3api', ...args]);

  beforeAll(async () => {
    const S3rver = require('s3rver');
    server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: fs.mkdtempSync(path.join(os.tmpdir(), 's3rver-')) });
    // Records PutBucketPolicy / DeleteBucketPolicy / PutBucketVersioning, which s3rver lacks.
    server.middleware.unshift(async (ctx: any, next: () => Promise<void>) => {
      const bucket = ctx.path.split('/')[1];
      if ('policy' in ctx.query && ctx.method === 'PUT') {
        recorded.policies.set(bucket, await readBody(ctx.req));
        ctx.status = 204;
      } else if ('policy' in ctx.query && ctx.method === 'DELETE') {
        recorded.policies.delete(bucket);
        ctx.status = 204;
      } else if ('versioning' in ctx.query && ctx.method === 'PUT') {
        recorded.versioning.set(bucket, /<Status>(\w+)<\/Status>/.exec(await readBody(ctx.req))?.[1] ?? '');
        ctx.status = 200;
      } else {
        await next();
      }
    });
    const address = await server.run();
    endpoint = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    await server?.close();
  });

  test('THEN the first run creates every configured bucket (real CreateBucket calls)', async () => {
    const first = await provision();
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const listed = JSON.parse((await s3api('list-buckets')).stdout).Buckets.map((b: any) => b.Name).sort();
    expect(listed).toEqual(s.config.minio.buckets.map((b) => b.name).sort());
  });

  test('THEN a second run succeeds and changes nothing (idempotent)', async () => {
    const objectKey = ['put-object', '--bucket', 'documents', '--key', 'contract.pdf', '--body', path.join(workdir, 'buckets.sh')];
    expect((await s3api(...objectKey)).status).toBe(0);
    const second = await provision();
    expect(second.stderr).toBe('');
    expect(second.status).toBe(0);
    expect(JSON.parse((await s3api('list-objects-v2', '--bucket', 'documents')).stdout).Contents.map((o: any) => o.Key)).toEqual(['contract.pdf']);
  });

  test('THEN tour-images got an anonymous-GetObject policy and documents none (as recorded by the test)', () => {
    const policy = JSON.parse(recorded.policies.get('tour-images')!);
    expect(policy.Statement).toEqual([
      { Effect: 'Allow', Principal: { AWS: ['*'] }, Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::tour-images/*'] },
    ]);
    expect(recorded.policies.has('documents')).toBe(false);
  });

  test('THEN versioning was requested for documents only (as recorded by the test)', () => {
    expect(Object.fromEntries(recorded.versioning)).toEqual({ documents: 'Enabled' });
  });
});

describe('GIVEN the synthesized prod provisioning scripts THEN the MinIO-only parts are exactly (as text; run for real in minio.real.test.ts)', () => {
  test('client-mc.sh maps the generic calls to mc, idempotently', () => {
    expect(scripts['client-mc.sh']).toContain('mc mb --ignore-existing "target/$1"');
    expect(scripts['client-mc.sh']).toContain('mc anonymous set-json "$policy" "target/$1"');
    expect(scripts['client-mc.sh']).toContain('mc anonymous set none "target/$1"');
    expect(scripts['client-mc.sh']).toContain('mc version enable "target/$1"');
  });

  test('admin.sh creates one policy, user and attachment per app, keys from env (never literal)', () => {
    const commands = scripts['admin.sh'].split('\n').filter((l) => /^(mc |attach_policy )/.test(l));
    expect(commands).toEqual([
      'mc admin policy create target app-crm /opt/provision/app-crm.json',
      'mc admin user add target "$APP_CRM_ACCESS_KEY" "$APP_CRM_SECRET_KEY"',
      'attach_policy app-crm "$APP_CRM_ACCESS_KEY"',
      'mc admin policy create target app-web /opt/provision/app-web.json',
      'mc admin user add target "$APP_WEB_ACCESS_KEY" "$APP_WEB_SECRET_KEY"',
      'attach_policy app-web "$APP_WEB_ACCESS_KEY"',
      'mc admin policy create target backup-read /opt/provision/backup-read.json',
      'mc admin user add target "$BACKUP_READER_ACCESS_KEY" "$BACKUP_READER_SECRET_KEY"',
      'attach_policy backup-read "$BACKUP_READER_ACCESS_KEY"',
    ]);
    expect(scripts['admin.sh']).toContain('mc admin policy attach target "$1" --user "$2"');
  });

  test('the backup reader may only list and get, in every bucket', () => {
    const reader = JSON.parse(scripts['backup-read.json']);
    expect(reader.Statement.flatMap((st: any) => st.Action).sort()).toEqual(['s3:GetBucketLocation', 's3:GetObject', 's3:ListBucket']);
    expect(reader.Statement.flatMap((st: any) => st.Resource).sort()).toEqual(
      ['arn:aws:s3:::documents', 'arn:aws:s3:::documents/*', 'arn:aws:s3:::tour-images', 'arn:aws:s3:::tour-images/*'],
    );
  });

  test('each app policy names only its own buckets', () => {
    const web = JSON.parse(scripts['app-web.json']);
    expect(web.Statement.flatMap((st: any) => st.Resource)).toEqual(['arn:aws:s3:::tour-images', 'arn:aws:s3:::tour-images/*']);
    const crm = JSON.parse(scripts['app-crm.json']);
    expect(crm.Statement.flatMap((st: any) => st.Resource).sort()).toEqual(
      ['arn:aws:s3:::documents', 'arn:aws:s3:::documents/*', 'arn:aws:s3:::tour-images', 'arn:aws:s3:::tour-images/*'],
    );
  });
});

function readBody(req: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}
