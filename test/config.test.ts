import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ConfigError } from '../lib/config/errors';
import { listEnvironments, loadConfig } from '../lib/config/load';
import { BadInput, describeBadInputs } from './helpers/bad-input';

describe('the shipped environments', () => {
  test('are dev, ha, prod and prod-8gb, each one file', () => {
    expect(listEnvironments()).toEqual(['dev', 'ha', 'prod', 'prod-8gb']);
  });

  test.each([
    ['dev', 0, 1],
    ['prod-8gb', 0, 2],
    ['prod', 0, 2],
    ['ha', 2, 3],
  ])('%s runs %d Postgres replicas and %d PgBouncer pods', (env, pgReplicas, bouncers) => {
    const config = loadConfig(env);
    expect(config.postgres.replicas).toBe(pgReplicas);
    expect(config.pgbouncer.replicas).toBe(bouncers);
  });

  test('GIVEN prod THEN it carries the tuning our users run today', () => {
    expect(loadConfig('prod').postgres.tuning).toMatchObject({
      sharedBuffers: '1Gi', effectiveCacheSize: '3Gi', workMem: '32Mi', maintenanceWorkMem: '256Mi', maxConnections: 100, walBuffers: '32Mi',
    });
  });

  test('GIVEN a host written with {domain} THEN it is expanded per environment', () => {
    expect(loadConfig('dev').apps.find((a) => a.name === 'crm')?.hosts).toEqual(['crm.dev.example.com']);
    expect(loadConfig('prod').apps.find((a) => a.name === 'crm')?.hosts).toEqual(['crm.example.com']);
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
  ['a pool larger than max_connections allows', { pgbouncer: { defaultPoolSize: 60 } }, ['pgbouncer.defaultPoolSize = 60', '130 server connections', 'maxConnections', 'fix:']],
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
    { minio: { appAccess: { worker: { buckets: ['documents'] } } } },
    ['secrets.app.minio-app-worker', 'is read by Deployment app/worker', 'but never declared', "fix: add to secrets.app in lib/config/defaults.ts 'minio-app-worker': { keys: ['access-key', 'secret-key'], mode: 'existing' }", 'secrets.data.minio-app-worker'],
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
  ['an unknown secret mode', { secrets: { data: { 'postgres-app': { keys: ['password'], mode: 'vault' } } } }, ['secrets.data.postgres-app.mode = "vault"', 'must be "sealed" or "existing"']],
  ['an app grant of an unknown bucket', { minio: { appAccess: { crm: { buckets: ['invoices'] } } } }, ['minio.appAccess.crm.buckets.0 = "invoices"', 'not in minio.buckets', 'fix:']],
];

describeBadInputs('GIVEN a bad environment file WHEN synthesizing', BAD, (ctx) => {
  test('two apps with the same name THEN the YAML is refused with the line of the duplicate', () => {
    const run = ctx.synthFile('domain: example.com\napps:\n  crm: { port: 3000 }\n  crm: { port: 3005 }\n');
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/duplicated mapping key \(4:3\)/);
    expect(run.stderr).toContain('fix:');
    expect(ctx.distUnchanged()).toBe(true);
  });

  test('a secret declared twice THEN the YAML is refused with the line of the duplicate', () => {
    const twice = "secrets:\n  data:\n    postgres-app: { keys: [password], mode: existing }\n    postgres-app: { keys: [password], mode: existing }\n";
    const run = ctx.synthFile(`domain: example.com\n${twice}`);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/duplicated mapping key \(5:5\)/);
    expect(ctx.distUnchanged()).toBe(true);
  });

  test('a plain password where kubeseal output belongs THEN it is refused without echoing the value', () => {
    const run = ctx.synthFile(yaml.dump({ domain: 'example.com', secrets: { data: { 'postgres-app': { keys: ['password'], mode: 'sealed', encryptedData: { password: 'correct-horse-battery' } } } } }));
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('secrets.data.postgres-app.encryptedData.password = "(not shown)": is not a kubeseal-encrypted value; fix:');
    expect(run.stderr).not.toContain('correct-horse-battery');
    expect(ctx.distUnchanged()).toBe(true);
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

/** Bytes shaped like kubeseal output (2-byte length 256, then 256 + 16 + 8 bytes), for config-only tests. */
function sealedLike(): string {
  const bytes = crypto.randomBytes(2 + 256 + 24);
  bytes.writeUInt16BE(256, 0);
  return bytes.toString('base64');
}

