import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ConfigError } from '../lib/config/errors';
import { listEnvironments, loadConfig } from '../lib/config/load';
import { BadInput, describeBadInputs } from './helpers/bad-input';
import { FIXTURE_ENVIRONMENTS_DIR, loadFixture } from './helpers/platform';

describe('the sample environments of the tests', () => {
  test('are dev, ha, prod and prod-8gb, each one file', () => {
    expect(listEnvironments(FIXTURE_ENVIRONMENTS_DIR)).toEqual(['dev', 'ha', 'prod', 'prod-8gb']);
  });

  test.each([
    ['dev', 0, 1],
    ['prod-8gb', 0, 2],
    ['prod', 0, 2],
    ['ha', 2, 3],
  ])('%s runs %d Postgres replicas and %d PgBouncer pods', (env, pgReplicas, bouncers) => {
    const config = loadFixture(env);
    expect(config.postgres.replicas).toBe(pgReplicas);
    expect(config.pgbouncer.replicas).toBe(bouncers);
  });

  test('GIVEN prod THEN it carries the tuning our users run today', () => {
    expect(loadFixture('prod').postgres.tuning).toMatchObject({
      sharedBuffers: '1Gi', effectiveCacheSize: '3Gi', workMem: '32Mi', maintenanceWorkMem: '256Mi', maxConnections: 100, walBuffers: '32Mi',
    });
  });

  test('GIVEN a host written with {domain} THEN it is expanded per environment', () => {
    expect(loadFixture('dev').apps.find((a) => a.name === 'crm')?.hosts).toEqual(['crm.dev.example.com']);
    expect(loadFixture('prod').apps.find((a) => a.name === 'crm')?.hosts).toEqual(['crm.example.com']);
  });
});

/** Bad environment files: each must fail with the key, the value and a fix, and leave dist/ untouched. */
const BAD: BadInput[] = [
  ['negative replicas', { postgres: { replicas: -1 } }, ['postgres.replicas = -1', 'must not be negative', 'fix:']],
  ['a non-DNS domain', { domain: 'My Shop!' }, ['domain = "My Shop!"', 'is not a DNS name', 'fix:']],
  ['an unparsable size', { postgres: { storage: { size: '20 gigs' } } }, ['postgres.storage.size = "20 gigs"', 'not a Kubernetes quantity', 'fix:']],
  ['an unparsable cron expression', { backup: { schedules: [{ name: 'daily', cron: '0 25 * * *', retentionDays: 30 }] } }, ['backup.schedules.0.cron = "0 25 * * *"', 'cron', 'fix:']],
  ['a latest image tag', { images: { redis: 'redis:latest' } }, ['images.redis = "redis:latest"', 'not a pinned image', 'fix:']],
  ['an untagged image', { apps: { web: { image: 'ghcr.io/example/web' } } }, ['apps.web.image = "ghcr.io/example/web"', 'not a pinned image']],
  ['a duplicate host', { apps: { web: { hosts: ['crm.{domain}'] } } }, ['apps.web.hosts.0 = "crm.example.com"', 'already served by app "crm"', 'fix:']],
  ['min > max replicas', { apps: { crm: { replicas: { min: 4, max: 2 } } } }, ['apps.crm.replicas.min = 4', 'greater than', 'fix:']],
  ['a pool larger than max_connections allows', { pgbouncer: { defaultPoolSize: 90 } }, ['pgbouncer.defaultPoolSize = 90', '2 PgBouncer pod(s) × (45 + 2 reserve, their share of 90 + 5) = 94 server connections', 'maxConnections', 'fix:']],
  ['synchronous replication without a replica', { postgres: { replication: 'synchronous' } }, ['postgres.replication = "synchronous"', 'postgres.replicas is 0: no replica could confirm a commit', 'fix:']],
  ['a replication mode that does not exist', { postgres: { replication: 'sync' } }, ['postgres.replication', 'is not a replication mode', 'fix: use synchronous']],
  ['a Postgres image of another major', { images: { postgres: 'postgres:17.2' } }, ['images.postgres = "postgres:17.2"', 'carries PostgreSQL 17 but postgres.major is 16', 'fix:']],
  ['a worker with hosts', { apps: { worker: { hosts: ['jobs.{domain}'] } } }, ['apps.worker.hosts', 'is set on a worker', 'fix:']],
  ['a memory limit below the request', { apps: { crm: { resources: { requests: { cpu: '100m', memory: '1Gi' }, limits: { memory: '512Mi' } } } } }, ['apps.crm.resources.limits.memory = "512Mi"', 'below the memory request 1Gi', 'fix:']],
  ['a health path without a leading slash', { apps: { web: { healthPath: 'api/health' } } }, ['apps.web.healthPath = "api/health"', 'must start with "/"', 'fix:']],
  ['a misspelled key', { postgres: { replica: 2 } }, ['postgres.replica = 2', 'not a known setting']],
  ['Redis maxmemory above its memory limit', { redis: { maxmemory: '2Gi' } }, ['redis.maxmemory = "2Gi"', 'redis.resources.limits.memory is 1Gi', 'fix: lower maxmemory or raise the memory limit']],
  ['a bucket name S3 forbids', { minio: { buckets: [{ name: 'Tour_Images', access: 'private' }] } }, ['minio.buckets.0.name = "Tour_Images"', 'not a valid S3 bucket name', 'fix:']],
  [
    'public links to a bucket marked private',
    { minio: { buckets: [{ name: 'tour-images', access: 'private' }, { name: 'documents', access: 'private' }] } },
    ['minio.appAccess.web.publicLinks.0 = "tour-images"', 'which minio.buckets marks private', 'fix: make the bucket public-download or remove it from publicLinks'],
  ],
  [
    'a duplicate bucket name',
    { minio: { buckets: [{ name: 'tour-images', access: 'public-download' }, { name: 'documents', access: 'private' }, { name: 'documents', access: 'public-download' }] } },
    ['minio.buckets.2.name = "documents"', 'is listed twice', 'fix:'],
  ],
  [
    'a critical CPU level below its warning level',
    { alerts: { cpu: { warning: 90, critical: 70 } } },
    ['alerts.cpu.critical = 70', 'must be above alerts.cpu.warning (90)', 'fix: raise alerts.cpu.critical above 90 or lower alerts.cpu.warning'],
  ],
  ['equal warning and critical restart counts', { alerts: { podRestarts: { warning: 5, critical: 5 } } }, ['alerts.podRestarts.critical = 5', 'must be above alerts.podRestarts.warning (5)', 'fix:']],
  [
    'a certificate-expiry critical level above its warning level (less time left is worse)',
    { alerts: { certificateExpiry: { warning: '7d', critical: '14d' } } },
    ['alerts.certificateExpiry.critical = "14d"', 'must be below alerts.certificateExpiry.warning ("7d")', 'fix: lower alerts.certificateExpiry.critical below "7d" or raise alerts.certificateExpiry.warning'],
  ],
  ['a p95 critical level equal to the warning in other units', { alerts: { responseTimeP95: { warning: '2s', critical: '2000ms' } } }, ['alerts.responseTimeP95.critical = "2000ms"', 'must be above alerts.responseTimeP95.warning ("2s")', 'fix:']],
  ['a backup age that does not parse', { alerts: { backupAge: { warning: '26 hours' } } }, ['alerts.backupAge.warning = "26 hours"', 'is not a Prometheus duration', 'fix:']],
  ['a `for` duration that does not parse', { alerts: { cpu: { for: '5min' } } }, ['alerts.cpu.for = "5min"', 'is not a Prometheus duration', 'fix:']],
  ['a percentage above 100', { alerts: { memory: { warning: 120 } } }, ['alerts.memory.warning = 120', 'at most 100 %', 'fix:']],
  ['a backup endpoint without https', { backup: { b2: { endpoint: 'http://s3.eu-central-003.backblazeb2.com' } } }, ['backup.b2.endpoint = "http://s3.eu-central-003.backblazeb2.com"', 'is not https', 'fix: use https://s3.<region>.backblazeb2.com, or set backup.b2.local: true']],
  ['a Helm mirror that is not an http(s) URL', { helm: { mirror: 'oci://registry.example.org/charts' } }, ['helm.mirror = "oci://registry.example.org/charts"', 'is not an http(s) URL of a Helm repository', 'fix:']],
  ['a backup retention of 0 days', { backup: { schedules: [{ name: 'daily', cron: '0 3 * * *', retentionDays: 0 }] } }, ['backup.schedules.0.retentionDays = 0', 'must be greater than 0', 'fix:']],
  ['a negative mirror retention', { backup: { minioMirror: { retentionDays: -3 } } }, ['backup.minioMirror.retentionDays = -3', 'must be greater than 0', 'fix:']],
  ['an unparsable drill schedule', { backup: { drill: { cron: 'every sunday' } } }, ['backup.drill.cron = "every sunday"', 'not a five-field cron expression', 'fix:']],
  ['a backup client of another major than the server', { backup: { clientImage: 'postgres:15.8-bookworm' } }, ['backup.clientImage = "postgres:15.8-bookworm"', 'carries PostgreSQL 15 but the server is 16', 'fix:']],
  ['an unknown backup time zone', { backup: { timeZone: 'Europe/Atlantis' } }, ['backup.timeZone = "Europe/Atlantis"', 'not an IANA time zone', 'fix:']],
  // --- GitOps and secrets ---
  ['a repository URL that is not a git URL', { gitops: { repoUrl: 'github.com/example/platform' } }, ['gitops.repoUrl = "github.com/example/platform"', 'is not a git URL', 'fix:']],
  ['a target revision with spaces', { gitops: { targetRevision: 'release 2' } }, ['gitops.targetRevision = "release 2"', 'is not a git branch, tag or commit', 'fix:']],
  ['a path prefix climbing out of the repository', { gitops: { pathPrefix: '../dist' } }, ['gitops.pathPrefix = "../dist"', 'not a relative folder', 'fix:']],
  [
    'a secret read but never declared',
    // (A MinIO key pair is no longer such a case: it follows from minio.appAccess, lib/config/derived-secrets.ts.)
    { apps: { worker: { secretEnv: { STRIPE_SECRET_KEY: { secret: 'stripe', key: 'secret-key' } } } } },
    ['secrets.app.stripe', 'is read by Deployment app/worker', 'but never declared', "fix: add to secrets.app in ", "prod.yaml (or in lib/config/defaults.ts for every environment) 'stripe': { keys: ['secret-key'], mode: 'existing' }"],
  ],
  [
    'a sealed secret without its ciphertext',
    { secrets: { data: { 'postgres-app': { keys: ['password'], mode: 'sealed' } } } },
    ['secrets.data.postgres-app.encryptedData.password', 'is missing in sealed mode', 'kubeseal'],
  ],
  [
    'ciphertext for an existing secret',
    { secrets: { app: { 'redis-auth': { keys: ['app-password'], mode: 'existing', encryptedData: { 'app-password': sealedLike() } } } } },
    ['secrets.app.redis-auth.encryptedData', 'mode is "existing"', 'fix: set mode: sealed or remove encryptedData'],
  ],
  [
    'a key listed twice',
    { secrets: { data: { 'minio-root': { keys: ['root-user', 'root-password', 'root-user'], mode: 'existing' } } } },
    ['secrets.data.minio-root.keys.2 = "root-user"', 'declares key "root-user" twice', 'fix:'],
  ],
  ['an unknown secret mode', { secrets: { data: { 'postgres-app': { keys: ['password'], mode: 'vault' } } } }, ['secrets.data.postgres-app.mode = "vault"', 'must be "sealed", "existing" or "generated"']],
  ['an app grant of an unknown bucket', { minio: { appAccess: { crm: { buckets: ['invoices'] } } } }, ['minio.appAccess.crm.buckets.0 = "invoices"', 'not in minio.buckets', 'fix:']],
  // --- every count has an upper bound, and the error says why ---
  ['a Postgres replica count with an extra zero', { postgres: { replicas: 20 } }, ['postgres.replicas = 20', 'is more than 5 replicas', 'because every streaming replica is a full copy of the database', 'fix: use at most 5']],
  ['an app replica count pasted from a timestamp', { apps: { crm: { replicas: { min: 1, max: 1700000000 } } } }, ['apps.crm.replicas.max = 1700000000', 'is more than 50 replicas', 'because every replica reserves its resource requests', 'fix: use at most 50']],
  ['a cluster of a thousand nodes', { node: { count: 1000 } }, ['node.count = 1000', 'is more than 50 nodes', 'because the platform runs one Postgres primary', 'fix: use at most 50']],
  ['more Postgres connections than processes it can hold', { postgres: { tuning: { maxConnections: 100000 } } }, ['postgres.tuning.maxConnections = 100000', 'is more than 5000 connections', 'because every Postgres connection is a server process', 'fix: use at most 5000']],
  ['a backup kept for a century', { backup: { schedules: [{ name: 'daily', cron: '0 3 * * *', retentionDays: 36500 }] } }, ['backup.schedules.0.retentionDays = 36500', 'is more than 3650 days', 'because ten years', 'fix: use at most 3650']],
  ['a pod-restart threshold no pod reaches', { alerts: { podRestarts: { warning: 3, critical: 100000 } } }, ['alerts.podRestarts.critical = 100000', 'is more than 1000', 'fix:']],
  // --- memory settings against their container's limit ---
  [
    'Postgres shared buffers as large as its memory limit',
    { postgres: { tuning: { sharedBuffers: '4Gi' } } },
    ['postgres.tuning.sharedBuffers = "4Gi"', 'plus walBuffers (32Mi) and maintenanceWorkMem (256Mi) is 4384Mi', 'not below postgres.resources.limits.memory (4Gi)', 'OOM-killed', 'fix: lower sharedBuffers'],
  ],
  ['a Postgres work_mem above its memory limit', { postgres: { tuning: { workMem: '8Gi' } } }, ['postgres.tuning.workMem = "8Gi"', 'is not below postgres.resources.limits.memory (4Gi)', 'fix: lower workMem']],
  ['a LimitRange default limit below its default request', { limitRange: { defaultLimit: { memory: '32Mi' } } }, ['limitRange.defaultLimit.memory = "32Mi"', 'is below limitRange.defaultRequest.memory (64Mi)', 'fix:']],
  // --- requests against the node ---
  [
    'an app requesting more memory than a node has',
    { apps: { crm: { resources: { requests: { cpu: '250m', memory: '32Gi' }, limits: { memory: '32Gi' } } } } },
    ['apps.crm.resources.requests.memory = "32Gi"', 'is more than one node has (node.memory = 16Gi)', 'could never be scheduled', 'fix: lower apps.crm.resources.requests.memory or raise node.memory'],
  ],
  ['Postgres requesting more CPU than a node has', { postgres: { resources: { requests: { cpu: '6', memory: '1Gi' }, limits: { memory: '4Gi' } } } }, ['postgres.resources.requests.cpu = "6"', 'is more than one node has (node.cpu = 4)', 'fix:']],
  // --- type errors name the expected form and an example ---
  ['a count written in quotes', { postgres: { replicas: '2' } }, ['postgres.replicas = "2"', 'must be a number, not the text "2"', 'fix: write it without quotes, like replicas: 0']],
  ['a node memory written as a number', { node: { memory: 16 } }, ['node.memory = 16', 'must be a text (string), not the number 16', 'fix: put it in quotes, like memory: 16Gi']],
  ['a list written as a mapping', { edge: { adminAllowCidrs: { office: '10.0.0.0/8' } } }, ['edge.adminAllowCidrs = {"office":"10.0.0.0/8"}', 'must be a list, not a mapping', 'fix: write a list, like adminAllowCidrs: [10.0.0.0/8']],
  ['an app kind that does not exist', { apps: { crm: { kind: 'job' } } }, ['apps.crm.kind = "job"', 'is not one of "web", "worker"', 'fix: use one of them, like kind: web']],
  ['an empty value', { postgres: { replicas: null } }, ['postgres.replicas = null', 'is required but empty', 'fix: set it to a number under postgres, like replicas: 0']],
  // --- required fields say what to add ---
  [
    'a new app without an image and health path',
    { apps: { shop: { kind: 'web', port: 3010, hosts: ['shop.{domain}'], replicas: { min: 1, max: 2 }, resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } } } } },
    ['apps.shop.image = (not set)', 'is required; fix: set it to a text (string) under apps.shop, like image: ', 'apps.shop.healthPath = (not set)', 'like healthPath: /api/health'],
  ],
  ['an app name Kubernetes refuses', { apps: { Shop_App: { kind: 'worker' } } }, ['apps.Shop_App', 'is not a valid name here: "Shop_App" is not a valid Kubernetes name', 'fix:']],
  // --- the error names the key the file sets, not the default it was compared with ---
  [
    'a lowered Redis memory limit',
    { redis: { resources: { requests: { cpu: '50m', memory: '256Mi' }, limits: { memory: '512Mi' } } } },
    ['redis.resources.limits.memory = "512Mi"', 'needs a memory limit of at least 1.25 × maxmemory (640Mi)', 'fix: lower maxmemory or raise the memory limit', '(compared with redis.maxmemory = "512Mi" from lib/config/defaults.ts)'],
  ],
  [
    'a node too small for k3s and the platform',
    { node: { memory: '1Gi' } },
    ['node.memory = "1Gi"', 'is less than 2Gi, too small for k3s and the platform', 'fix: use at least 4Gi'],
  ],
  // --- keys are plain ASCII; look-alikes are shown with their code point and the key meant ---
  ['a key with a Cyrillic look-alike letter', { postgres: { 'replic\u0430s': 2 } }, ['postgres.replic\u0430s = 2', 'contains the non-ASCII character "\u0430" (U+0430, which looks like "a")', 'fix: retype the key as "replicas"']],
  ['a key typed in full-width letters', { postgres: { '\uff52\uff45\uff50\uff4c\uff49\uff43\uff41\uff53': 2 } }, ['U+FF52', 'fix: retype the key as "replicas"']],
  ['a key with a zero-width space', { postgres: { 'repli\u200bcas': 2 } }, ['postgres.repli<U+200B>cas = 2', 'U+200B', 'fix: retype the key as "replicas"']],
  ['a Greek look-alike next to the real key', { apps: { crm: { port: 3000, 'p\u03bfrt': 3000 } } }, ['apps.crm.p\u03bfrt', 'U+03BF, which looks like "o"', 'fix: retype the key as "port" (the file also sets "port" here: keep one of the two)']],
];

// End to end, one case per kind of failure: a schema error, a cross-check in the config, and a
// check that needs the rendered platform (a Secret read but not declared).
const END_TO_END = [
  'negative replicas',
  'a pool larger than max_connections allows',
  'a secret read but never declared',
  // one per class of issue 15
  'a Postgres replica count with an extra zero',
  'Postgres shared buffers as large as its memory limit',
  'an app requesting more memory than a node has',
  'a count written in quotes',
  'a new app without an image and health path',
  'a lowered Redis memory limit',
  'a key with a Cyrillic look-alike letter',
];

describeBadInputs('GIVEN a bad environment file WHEN synthesizing', BAD, { endToEnd: END_TO_END }, (ctx) => {
  test('two apps with the same name THEN the YAML is refused with the line of the duplicate, end to end, and dist/ is unchanged', () => {
    const run = ctx.synthFile('domain: example.com\napps:\n  crm: { port: 3000 }\n  crm: { port: 3005 }\n');
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/duplicated mapping key \(4:3\)/);
    expect(run.stderr).toContain('fix:');
    expect(ctx.distUnchanged()).toBe(true);
  });

  test('a secret declared twice THEN the YAML is refused with the line of the duplicate', () => {
    const twice = "secrets:\n  data:\n    postgres-app: { keys: [password], mode: existing }\n    postgres-app: { keys: [password], mode: existing }\n";
    const error = ctx.synthInProcess(`domain: example.com\n${twice}`);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/duplicated mapping key \(5:5\)/);
  });

  test('a plain password where kubeseal output belongs THEN it is refused without echoing the value', () => {
    const error = ctx.synthInProcess(yaml.dump({ domain: 'example.com', secrets: { data: { 'postgres-app': { keys: ['password'], mode: 'sealed', encryptedData: { password: 'correct-horse-battery' } } } } }));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('secrets.data.postgres-app.encryptedData.password = "(not shown)": is not a kubeseal-encrypted value; fix:');
    expect((error as ConfigError).message).not.toContain('correct-horse-battery');
  });

  test('a YAML alias bomb THEN it is refused before expansion, end to end, and dist/ is unchanged', () => {
    // 9 levels of 9 aliases: under 500 bytes, 9^9 (387 million) values once expanded.
    const names = 'abcdefghi';
    const levels = [...names].map((n, i) => `${n}: &${n} [${Array(9).fill(i === 0 ? 'x' : `*${names[i - 1]}`).join(',')}]`);
    const bomb = `domain: example.com\n${levels.join('\n')}\napps: { crm: { args: *i } }\n`;
    expect(bomb.length).toBeLessThan(500);

    const error = ctx.synthInProcess(bomb);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('(yaml) = (not set): expands to more than 10000 values through YAML aliases (*name)');
    expect((error as ConfigError).message).toContain('fix: write the repeated values out');

    const run = ctx.synthFile(bomb);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('expands to more than 10000 values through YAML aliases');
    expect(run.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(ctx.distUnchanged()).toBe(true);
  });

  test('GIVEN aliases a person writes (one block reused) THEN they are accepted', () => {
    const text = 'stage: sample\ndomain: example.com\napps:\n  crm:\n    resources: &small { requests: { cpu: 50m, memory: 128Mi }, limits: { memory: 256Mi } }\n  web:\n    resources: *small\n';
    expect(ctx.synthInProcess(text)).toBeUndefined();
  });

  test('GIVEN an environment file outside lib/config/environments THEN errors at load and at render name that file', () => {
    const envDir = fs.mkdtempSync(path.join(ctx.workdir(), 'elsewhere-'));
    const file = path.join(envDir, 'prod.yaml');
    fs.writeFileSync(file, yaml.dump({ domain: 'example.com', postgres: { replicas: -1 } }));
    expect(() => loadConfig('prod', { environmentsDir: envDir })).toThrow(`Invalid configuration in ${path.relative(process.cwd(), file)}:`);

    // Render-time check (a Secret read but not declared): the same file, and the fix points at it.
    fs.writeFileSync(file, yaml.dump({ stage: 'sample', domain: 'example.com', apps: { worker: { secretEnv: { STRIPE_SECRET_KEY: { secret: 'stripe', key: 'secret-key' } } } } }));
    const error = ctx.synthInProcess(fs.readFileSync(file, 'utf8'));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).not.toContain('lib/config/environments/prod.yaml');
    expect((error as ConfigError).source).toMatch(new RegExp(`^${escapeRegExp(path.relative(process.cwd(), ctx.workdir()))}/env-[^/]+/prod\\.yaml \\(secrets`));
  });

  test('the error is a ConfigError listing every problem at once', () => {
    const envDir = fs.mkdtempSync(path.join(ctx.workdir(), 'env-'));
    fs.writeFileSync(path.join(envDir, 'x.yaml'), yaml.dump({ domain: 'bad domain', postgres: { replicas: -2 } }));
    let error: unknown;
    try {
      loadConfig('x', { environmentsDir: envDir });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.key)).toEqual(expect.arrayContaining(['domain', 'postgres.replicas']));
  });
});

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('the config schemas', () => {
  test('GIVEN the sources WHEN they use zod THEN they import it from lib/config/zod.ts, which configures it before any schema is built', () => {
    const root = path.join(__dirname, '..');
    const sources = ['lib', 'charts', 'scripts']
      .flatMap((dir) => fs.readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f)))
      .filter((f) => f.endsWith('.ts') && f !== path.join('lib', 'config', 'zod.ts'));
    const direct = sources.filter((f) => /from 'zod(\/[^']*)?'/.test(fs.readFileSync(path.join(root, f), 'utf8')));
    expect(direct).toEqual([]);
  });
});

/** Bytes shaped like kubeseal output (2-byte length 256, then 256 + 16 + 8 bytes), for config-only tests. */
function sealedLike(): string {
  const bytes = crypto.randomBytes(2 + 256 + 24);
  bytes.writeUInt16BE(256, 0);
  return bytes.toString('base64');
}

