/**
 * Issue 15, first run: `npm run init` writes the team's environment file, checked like the synth
 * checks it; sample values left in a production environment fail the synth with the key and the
 * fix and leave dist/ untouched, while a development environment only warns.
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ConfigError } from '../lib/config/errors';
import { loadConfig, withDefaults } from '../lib/config/load';
import { init } from '../scripts/init';
import { bootstrapBlock } from '../scripts/lab/rehearsal';
import { offlineSealingKeyCommand } from '../lib/sealing';
import { MAIN, treeHash } from './helpers/bad-input';

const INIT = path.resolve(__dirname, '..', 'build', 'scripts', 'init.js');
const SEAL = path.resolve(__dirname, '..', 'build', 'scripts', 'seal.js');
const TEAM = [
  '--domain', 'mybiz.io', '--repo', 'git@github.com:acme/platform.git', '--email', 'ops@mybiz.io', '--size', '4x16',
  '--bucket', 'acme-platform-backups', '--smtp', 'smtp.postmarkapp.com:587',
  '--image', 'crm=ghcr.io/acme/crm:3.1.0', '--image', 'web=ghcr.io/acme/web:3.1.0', '--image', 'worker=ghcr.io/acme/worker:3.1.0',
];

const scratch = () => fs.mkdtempSync(path.join(os.tmpdir(), 'init-'));
const synth = (envDir: string, out: string, ...envs: string[]) =>
  spawnSync(process.execPath, [MAIN, '--environments', envDir, '--out', out, ...envs], { encoding: 'utf8' });
const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (err) {
    return err;
  }
  return undefined;
};

describe('GIVEN a team running npm run init with its own values', () => {
  const work = scratch();
  const envDir = path.join(work, 'environments');
  let run: ReturnType<typeof spawnSync>;

  const unsealedDir = path.join(work, 'unsealed');
  let sealRun: ReturnType<typeof spawnSync>;
  /** The outside secrets the defaults declare (mode existing): what a person supplies. */
  const outside = Object.entries((withDefaults({}) as any).secrets as Record<string, Record<string, { keys: string[]; mode: string }>>)
    .flatMap(([scope, declared]) => Object.entries(declared).filter(([, d]) => d.mode === 'existing').map(([name, d]) => ({ scope, name, keys: d.keys })));

  beforeAll(() => {
    run = spawnSync(process.execPath, [INIT, '--environments', envDir, ...TEAM], { encoding: 'utf8' });
    fs.mkdirSync(unsealedDir);
    fs.copyFileSync(path.join(envDir, 'prod.yaml'), path.join(unsealedDir, 'prod.yaml'));
    // The team seals its outside secrets with a key pair standing in for the cluster's controller.
    const { publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const cert = path.join(work, 'sealing.pem');
    fs.writeFileSync(cert, publicKey.export({ type: 'spki', format: 'pem' }));
    const values = path.join(work, 'outside.env');
    fs.writeFileSync(values, outside.flatMap((o) => o.keys.map((k) => `${o.scope}.${o.name}.${k}=value-of-${o.name}-${k}`)).join('\n') + '\n');
    sealRun = spawnSync(process.execPath, [SEAL, '--env', 'prod', '--cert', cert, '--from', values, '--environments', envDir], { encoding: 'utf8' });
  });

  test('THEN it writes environments/prod.yaml, a production environment with those values and no sample value left, and names the outside secrets with the seal command', () => {
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).not.toContain('Still sample values');
    expect(outside.length).toBeGreaterThan(0);
    for (const o of outside) expect(run.stdout).toContain(`secrets.${o.scope}.${o.name}`);
    expect(run.stdout).toContain('npm run seal -- --env prod --cert prod-sealing.pem --from <file>');
    expect(sealRun.stderr).toBe('');
    expect(sealRun.status).toBe(0);
    const written = yaml.load(fs.readFileSync(path.join(envDir, 'prod.yaml'), 'utf8')) as any;
    expect(written).toMatchObject({ stage: 'production', domain: 'mybiz.io', node: { cpu: 4, memory: '16Gi' }, gitops: { repoUrl: 'git@github.com:acme/platform.git' }, backup: { b2: { bucket: 'acme-platform-backups' } } });
    const config = loadConfig('prod', { environmentsDir: envDir });
    expect(config.edge.acmeEmail).toBe('ops@mybiz.io');
    expect(config.monitoring.alertmanager.receivers[0]).toMatchObject({ to: 'ops@mybiz.io', smarthost: 'smtp.postmarkapp.com:587' });
    expect(config.apps.map((a) => a.image)).toEqual(['ghcr.io/acme/crm:3.1.0', 'ghcr.io/acme/web:3.1.0', 'ghcr.io/acme/worker:3.1.0']);
  });

  test('WHEN the synth runs THEN it writes the environment without a warning', () => {
    const out = path.join(work, 'dist');
    const synthRun = synth(envDir, out);
    expect(synthRun.stderr).not.toContain('WARNING');
    expect(synthRun.status).toBe(0);
    expect(fs.readdirSync(out)).toEqual(['prod']);
    expect(fs.readFileSync(path.join(out, 'prod', 'app', 'Ingress.app.web.yaml'), 'utf8')).toContain('host: mybiz.io');
  });

  test('WHEN the synth runs before the outside secrets are sealed THEN it refuses, naming each with the command to run, and writes nothing', () => {
    const out = path.join(work, 'dist-unsealed');
    const synthRun = synth(unsealedDir, out);
    expect(synthRun.status).not.toBe(0);
    for (const o of outside) expect(synthRun.stderr).toMatch(new RegExp(`secrets\\.${o.scope}\\.${o.name} = "mode: existing" \\(not set in this file[^)]*\\): is an outside secret \\(${o.keys.join(', ')}\\)`));
    expect(synthRun.stderr).toContain('fix: put its values in a file outside git and run npm run seal -- --env prod --cert prod-sealing.pem --from <file> (prod-sealing.pem: the certificate of the key made offline in step 1 of the README\'s bootstrap runbook; kubeseal --fetch-cert > prod-sealing.pem only for a cluster whose controller already runs)');
    expect(fs.existsSync(out)).toBe(false);
  });

  test('WHEN init runs again THEN it refuses to overwrite the file without --force, and overwrites it with --force', () => {
    const before = fs.readFileSync(path.join(envDir, 'prod.yaml'), 'utf8');
    const again = thrown(() => init(['--environments', envDir, ...TEAM, '--domain', 'other.io']));
    expect(again).toBeInstanceOf(ConfigError);
    expect((again as ConfigError).message).toContain('(file) = "prod": already exists');
    expect((again as ConfigError).message).toContain('fix: pass --force to overwrite it, or choose another --env');
    expect(fs.readFileSync(path.join(envDir, 'prod.yaml'), 'utf8')).toBe(before);

    init(['--environments', envDir, ...TEAM, '--domain', 'other.io', '--force']);
    expect((yaml.load(fs.readFileSync(path.join(envDir, 'prod.yaml'), 'utf8')) as any).domain).toBe('other.io');
  });
});

describe('GIVEN npm run init with bad values', () => {
  test.each([
    ['a domain with spaces', ['--domain', 'My Shop!'], ['domain = "My Shop!"', 'is not a DNS name', 'fix:', '(--domain)']],
    ['a repository that is not a git URL', ['--repo', 'github.com/acme/platform'], ['gitops.repoUrl = "github.com/acme/platform"', 'is not a git URL', 'fix:', '(--repo)']],
    ['a size that is not <vCPU>x<GiB>', ['--size', '4 cores'], ['node = "4 cores"', 'fix: write it like --size 4x16']],
    ['an image of an app that does not exist', ['--image', 'shop=ghcr.io/acme/shop:1.0.0'], ['apps.shop.image = "shop=ghcr.io/acme/shop:1.0.0"', 'fix: write it like --image crm=']],
    ['an unpinned image', ['--image', 'crm=ghcr.io/acme/crm:latest'], ['apps.crm.image = "ghcr.io/acme/crm:latest"', 'not a pinned image', '(--image)']],
    ['a missing required flag', ['--email'], ['monitoring.alertmanager.receivers.0.to', '--email needs a value', 'fix:']],
    ['an address that is not one', ['--email', 'ops at mybiz'], ['"ops at mybiz"', '(--email)']],
  ])('%s THEN it names the key, the value and the fix, and writes nothing', (_name, flags, expected) => {
    const envDir = path.join(scratch(), 'environments');
    const error = thrown(() => init(['--environments', envDir, ...TEAM, ...flags]));
    expect(error).toBeInstanceOf(ConfigError);
    for (const fragment of expected) expect((error as ConfigError).message).toContain(fragment);
    expect((error as ConfigError).message).toContain('prod.yaml (written by npm run init)');
    expect(fs.existsSync(path.join(envDir, 'prod.yaml'))).toBe(false);
  });

  test('without --domain, --repo and --email THEN it names all three', () => {
    const error = thrown(() => init(['--environments', path.join(scratch(), 'environments')]));
    expect((error as ConfigError).problems.map((p) => p.key)).toEqual(['domain', 'gitops.repoUrl', 'monitoring.alertmanager.receivers.0.to']);
  });
});

describe('GIVEN npm run init -- --email ops@shop.example.org (issue 36: the address was only the ACME account)', () => {
  const envDir = path.join(scratch(), 'environments');
  const flags = ['--environments', envDir, '--domain', 'shop.example.org', '--repo', 'git@github.com:acme/platform.git', '--email', 'ops@shop.example.org'];
  let run: ReturnType<typeof spawnSync>;
  beforeAll(() => {
    run = spawnSync(process.execPath, [INIT, ...flags], { encoding: 'utf8' });
  });

  test('THEN the alert receiver sends to it and from it, and no alert or ACME key is left as a sample value', () => {
    expect(run.status).toBe(0);
    const written = yaml.load(fs.readFileSync(path.join(envDir, 'prod.yaml'), 'utf8')) as any;
    expect(written.edge.acmeEmail).toBe('ops@shop.example.org');
    expect(written.monitoring.alertmanager.receivers).toEqual([expect.objectContaining({ type: 'email', to: 'ops@shop.example.org', from: 'ops@shop.example.org', authUsername: 'ops@shop.example.org' })]);
    const { remaining } = init([...flags, '--force']);
    expect(remaining.map((p) => p.key).filter((k) => k.startsWith('monitoring.') || k.startsWith('edge.'))).toEqual([]);
    expect(String(run.stdout)).not.toMatch(/^\s+- (monitoring|edge)\./m);
  });

  test('THEN the mail server it derived from --domain is named, with the flag that changes it', () => {
    expect(run.stdout).toContain('Alerts are mailed through the server derived from --domain (smtp.shop.example.org:587); pass --smtp <host:port>');
  });

  test('THEN its sealing hint is the bootstrap\'s order: the offline key of step 1 first, kubeseal --fetch-cert only for a running cluster', () => {
    const hint = String(run.stdout).split('\n').find((l) => l.includes('-sealing.pem is the certificate'))!;
    expect(hint).toBeDefined();
    const bootstrap = bootstrapBlock(fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8'));
    // The key command of the hint is the README's step 1, character for character.
    expect(bootstrap).toContain(offlineSealingKeyCommand('prod'));
    expect(hint).toContain(offlineSealingKeyCommand('prod'));
    expect(hint.indexOf('openssl req')).toBeLessThan(hint.indexOf('kubeseal --fetch-cert'));
    expect(hint).toMatch(/only for a cluster whose sealed-secrets controller already runs, kubeseal --fetch-cert > prod-sealing\.pem/);
    expect(String(run.stdout)).not.toMatch(/kubeseal --fetch-cert > prod-sealing\.pem &&/);
  });
});

describe('GIVEN an environment that still holds sample values', () => {
  const work = scratch();
  const envDir = path.join(work, 'environments');
  const out = path.join(work, 'dist');
  let before = '';

  beforeAll(() => {
    // Only the three required flags: the bucket, the mail settings and the app images stay the samples.
    init(['--environments', envDir, '--domain', 'mybiz.io', '--repo', 'git@github.com:acme/platform.git', '--email', 'ops@mybiz.io']);
    init(['--environments', envDir, '--env', 'dev', '--stage', 'development', '--domain', 'dev.mybiz.io', '--repo', 'git@github.com:acme/platform.git', '--email', 'ops@mybiz.io']);
    const good = synth(envDir, out, 'dev');
    if (good.status !== 0) throw new Error(good.stderr);
    before = treeHash(out);
  });

  test('WHEN init wrote it THEN init listed what is left to set', () => {
    const run = spawnSync(process.execPath, [INIT, '--environments', envDir, '--env', 'other', '--domain', 'mybiz.io', '--repo', 'git@github.com:acme/platform.git', '--email', 'ops@mybiz.io'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Still sample values');
    expect(run.stdout).toContain('backup.b2.bucket = "example-platform-backups"');
    fs.rmSync(path.join(envDir, 'other.yaml'));
  });

  test.each([
    ['the sample app image', 'apps.crm.image = "ghcr.io/example/crm:1.4.2"', 'fix: set apps.crm.image to your app\'s image with a pinned tag'],
    ['the sample bucket', 'backup.b2.bucket = "example-platform-backups"', 'fix: set backup.b2.bucket to your Backblaze B2 bucket'],
  ])('WHEN the production environment is synthesized THEN %s fails it with the key and the fix, and dist/ is unchanged', (_name, key, fix) => {
    const run = synth(envDir, out, 'prod');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(key);
    expect(run.stderr).toContain(fix);
    expect(run.stderr).toContain('stage = "production": refuses the sample values above');
    expect(run.stderr).toContain('Nothing was written.');
    expect(treeHash(out)).toBe(before);
  });

  test.each([
    ['the sample repository', { gitops: { repoUrl: 'https://github.com/example/platform.git' } }, 'gitops.repoUrl = "https://github.com/example/platform.git"'],
    ['the sample domain', { domain: 'example.com' }, 'domain = "example.com"'],
    ['a host left on example.com', { extraHosts: ['shop.example.com'] }, 'extraHosts.0 = "shop.example.com"'],
  ])('WHEN it holds %s THEN the production synth names that key too', (_name, change, key) => {
    const file = path.join(envDir, 'prod.yaml');
    const original = fs.readFileSync(file, 'utf8');
    try {
      fs.writeFileSync(file, yaml.dump({ ...(yaml.load(original) as object), ...change }));
      const run = synth(envDir, out, 'prod');
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(key);
      expect(run.stderr).toMatch(/fix: set \S+ to/);
      expect(treeHash(out)).toBe(before);
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  test('WHEN the development environment is synthesized THEN it is written, with one warning naming the keys', () => {
    const run = synth(envDir, out, 'dev');
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('!!! WARNING: dev (stage: development) still holds');
    expect(run.stderr).toContain('backup.b2.bucket');
    expect(run.stderr).toContain('apps.crm.image');
  });
});
