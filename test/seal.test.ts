/**
 * `npm run seal`: outside secrets sealed into a copy of an environment file, read back through the
 * config loader and the synth. The real kubeseal checks the same output in test/seal.real.test.ts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { ENVIRONMENTS_DIR, loadConfig } from '../lib/config/load';
import { fingerprintMatches, sealingKeyId } from '../lib/sealing';
import { checkOutsideGit, parseValuesFile, sealEnvironment, SecretValues } from '../scripts/seal';
import { newSealingKey, unseal } from './helpers/kubeseal';
import { find, one, synth } from './helpers/platform';

const certOf = (key: ReturnType<typeof newSealingKey>) => key.publicKey.export({ type: 'spki', format: 'pem' }).toString();

function tempEnvironments(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seal-env-'));
  fs.copyFileSync(path.join(ENVIRONMENTS_DIR, 'prod.yaml'), path.join(dir, 'prod.yaml'));
  return dir;
}

const OUTSIDE: SecretValues = new Map([
  ['backup.b2-backup.key-id', '005b2keyid'],
  ['backup.b2-backup.application-key', 'K005-application/key=='],
  ['monitoring.alertmanager-smtp.password', 'smtp pass: with "quotes"'],
]);

describe('GIVEN the prod environment file and the outside secrets in a values file', () => {
  const key = newSealingKey();
  const dir = tempEnvironments();
  const file = path.join(dir, 'prod.yaml');
  const before = fs.readFileSync(file, 'utf8');
  let first: Awaited<ReturnType<typeof sealEnvironment>>;

  beforeAll(async () => {
    first = await sealEnvironment({ env: 'prod', cert: certOf(key), values: OUTSIDE, environmentsDir: dir });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('WHEN sealed THEN every value is sealed, the comments and keys before stay byte for byte, and no plain value is in the file', () => {
    expect([...first.sealed].sort()).toEqual([...OUTSIDE.keys()].sort());
    expect(first.written).toBe(true);
    const after = fs.readFileSync(file, 'utf8');
    expect(after.startsWith(before.trimEnd())).toBe(true);
    for (const value of OUTSIDE.values()) expect(after).not.toContain(value);
  });

  test('THEN the file loads, and the synth renders SealedSecrets that decrypt to the values only as their own name and namespace', () => {
    const config = loadConfig('prod', { environmentsDir: dir });
    expect(config.secrets.backup['b2-backup'].mode).toBe('sealed');
    const s = synth(config);
    expect(find(s, 'SealedSecret').map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual(['backup/b2-backup', 'monitoring/alertmanager-smtp']);
    const b2 = one(s, 'SealedSecret', 'b2-backup');
    expect(unseal(key, 'backup', 'b2-backup', b2.spec.encryptedData['application-key'])).toBe('K005-application/key==');
    expect(() => unseal(key, 'data', 'b2-backup', b2.spec.encryptedData['application-key'])).toThrow();
    expect(unseal(key, 'monitoring', 'alertmanager-smtp', one(s, 'SealedSecret', 'alertmanager-smtp').spec.encryptedData.password)).toBe('smtp pass: with "quotes"');
  });

  test('THEN the fingerprint recognizes its value and no other, for this certificate only', () => {
    const fp = loadConfig('prod', { environmentsDir: dir }).secrets.backup['b2-backup'].fingerprints!['key-id'];
    const id = sealingKeyId(key.publicKey);
    expect(fingerprintMatches(fp, id, 'backup/b2-backup/key-id', '005b2keyid')).toBe(true);
    expect(fingerprintMatches(fp, id, 'backup/b2-backup/key-id', '005b2keyie')).toBe(false);
    expect(fingerprintMatches(fp, sealingKeyId(newSealingKey().publicKey), 'backup/b2-backup/key-id', '005b2keyid')).toBe(false);
  });

  test('WHEN sealed again with the same values THEN nothing changes', async () => {
    const text = fs.readFileSync(file, 'utf8');
    const again = await sealEnvironment({ env: 'prod', cert: certOf(key), values: OUTSIDE, environmentsDir: dir });
    expect(again).toMatchObject({ sealed: [], written: false });
    expect(again.unchanged).toHaveLength(OUTSIDE.size);
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
  });

  test('WHEN run without a values file THEN what is sealed for this certificate is kept and nothing changes', async () => {
    const text = fs.readFileSync(file, 'utf8');
    const again = await sealEnvironment({ env: 'prod', cert: certOf(key), values: new Map(), environmentsDir: dir });
    expect(again).toMatchObject({ sealed: [], written: false });
    expect(again.kept).toHaveLength(OUTSIDE.size);
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
  });

  test('WHEN one value changes THEN only that entry is resealed', async () => {
    const changed = new Map(OUTSIDE).set('monitoring.alertmanager-smtp.password', 'a new smtp password');
    const run = await sealEnvironment({ env: 'prod', cert: certOf(key), values: changed, environmentsDir: dir });
    expect(run.sealed).toEqual(['monitoring.alertmanager-smtp.password']);
    const config = loadConfig('prod', { environmentsDir: dir });
    expect(unseal(key, 'monitoring', 'alertmanager-smtp', config.secrets.monitoring['alertmanager-smtp'].encryptedData!.password)).toBe('a new smtp password');
  });

  test('WHEN the cluster has a new sealing key and no values are given THEN every entry is reported missing, and nothing is written', async () => {
    const text = fs.readFileSync(file, 'utf8');
    await expect(sealEnvironment({ env: 'prod', cert: certOf(newSealingKey()), values: new Map(), environmentsDir: dir })).rejects.toThrow(
      /backup\.b2-backup\.application-key = \(not set\): has no value and is not sealed for this certificate yet; fix: add `backup\.b2-backup\.application-key=\.\.\.` to the --from file/,
    );
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
  });
});

describe('GIVEN bad input to npm run seal', () => {
  const dir = tempEnvironments();
  const cert = certOf(newSealingKey());
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test.each([
    ['a Secret nobody declared', 'app.stripe-keys.secret-key', /names a Secret not declared under secrets\.app; fix: declare secrets\.app\.stripe-keys/],
    ['a key the Secret does not hold', 'backup.b2-backup.secret', /is not one of the keys of secrets\.backup\.b2-backup \(key-id, application-key\)/],
    ['an unknown scope', 'vault.b2-backup.key-id', /names no secret scope; fix: start it with one of app, data, .*argocd/],
  ])('WHEN the values name %s THEN the error names the entry and the fix, and the file is untouched', async (_name, entry, message) => {
    const text = fs.readFileSync(path.join(dir, 'prod.yaml'), 'utf8');
    await expect(sealEnvironment({ env: 'prod', cert, values: new Map([[entry, 'x']]), environmentsDir: dir })).rejects.toThrow(message);
    expect(fs.readFileSync(path.join(dir, 'prod.yaml'), 'utf8')).toBe(text);
  });

  test('WHEN the certificate is not one THEN the error says what to pass', async () => {
    await expect(sealEnvironment({ env: 'prod', cert: 'hunter2', values: OUTSIDE, environmentsDir: dir })).rejects.toThrow(/--cert = \(not set\): is not a sealing certificate .*offline <env>-sealing\.pem; for a cluster whose controller already runs, what `kubeseal --fetch-cert` prints/);
  });

  test('WHEN the values file is YAML or dotenv THEN both read the same entries; a nested non-string is refused', () => {
    const yamlValues = parseValuesFile('backup:\n  b2-backup:\n    key-id: "005"\n    application-key: K/005==\n', 'v.yaml');
    const envValues = parseValuesFile('# outside secrets\nbackup.b2-backup.key-id="005"\nbackup.b2-backup.application-key=K/005==\n', 'v.env');
    expect([...yamlValues]).toEqual([...envValues]);
    expect(() => parseValuesFile('backup:\n  b2-backup:\n    key-id: [a]\n', 'v.yaml')).toThrow(/backup\.b2-backup\.key-id = \(not set\): is not a string/);
  });

  test('WHEN the values file is inside a git work tree and not ignored, or tracked THEN it is refused; when ignored THEN it is read', () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'seal-git-'));
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd: repo, stdio: 'pipe' });
    git('init', '-q');
    fs.writeFileSync(path.join(repo, '.gitignore'), 'secrets.env\n');
    fs.writeFileSync(path.join(repo, 'secrets.env'), 'x');
    fs.writeFileSync(path.join(repo, 'loose.env'), 'x');
    fs.writeFileSync(path.join(repo, 'tracked.env'), 'x');
    git('add', 'tracked.env');
    expect(() => checkOutsideGit(path.join(repo, 'secrets.env'))).not.toThrow();
    expect(() => checkOutsideGit(path.join(repo, 'loose.env'))).toThrow(/not ignored, so `git add` would commit the plain values/);
    expect(() => checkOutsideGit(path.join(repo, 'tracked.env'))).toThrow(/is tracked by git/);
    fs.rmSync(repo, { recursive: true, force: true });
  });
});

describe('GIVEN an environment that declares an outside secret sealed but has no ciphertext for it', () => {
  test('THEN loading it fails naming the key and the exact command to run', () => {
    const dir = tempEnvironments();
    fs.appendFileSync(path.join(dir, 'prod.yaml'), 'secrets:\n  app:\n    crm-stripe: { keys: [secret-key], mode: sealed }\n');
    expect(() => loadConfig('prod', { environmentsDir: dir })).toThrow(
      'is missing in sealed mode (app/crm-stripe is supplied by a person); fix: run `npm run seal -- --env prod --cert prod-sealing.pem` with app.crm-stripe.secret-key in the values file (or at the prompt; prod-sealing.pem is the certificate of the cluster\'s sealing key: for a new cluster make the key offline first',
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
