/**
 * `npm run seal` against the real kubeseal, built from its Go module (scripts/kubeseal/build.sh, run by
 * .ci/run): kubeseal's own recovery path decrypts the SealedSecrets exactly as the synth renders them,
 * and what kubeseal seals our format reads back. The key pair is a throwaway one made with openssl,
 * shaped like the controller's (RSA 4096, self-signed certificate).
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { isSealedValue } from '../lib/config/fields';
import { ENVIRONMENTS_DIR, loadConfig } from '../lib/config/load';
import { findProjectRoot } from '../lib/project';
import { unsealValue } from '../lib/sealing';
import { findProgram } from '../scripts/lab/programs';
import { sealEnvironment } from '../scripts/seal';
import { find, synth } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const kubesealPath = path.join(findProjectRoot(__dirname), '.tools', 'kubeseal', 'bin', 'kubeseal');
const kubeseal = fs.existsSync(kubesealPath) ? kubesealPath : undefined;

describeWithPrograms('GIVEN outside secrets sealed by npm run seal and the real kubeseal', { kubeseal, openssl: findProgram('openssl') }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seal-real-'));
  const keyFile = path.join(dir, 'sealing.key');
  const certFile = path.join(dir, 'sealing.crt');
  const values = new Map([
    ['backup.b2-backup.key-id', '0051f2e3d4c5b6a'],
    ['backup.b2-backup.application-key', 'K005+/mixed=chars and spaces\nand a second line'],
    ['monitoring.alertmanager-smtp.password', 'ünïcode smtp pässword'],
    ['argocd.argocd-notifications-secret.ops-email', 'smtp-for-argocd'],
  ]);

  beforeAll(async () => {
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:4096', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '30', '-subj', '/CN=sealed-secret/O=sealed-secret'], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`);
    fs.copyFileSync(path.join(ENVIRONMENTS_DIR, 'prod.yaml'), path.join(dir, 'prod.yaml'));
    await sealEnvironment({ env: 'prod', cert: fs.readFileSync(certFile, 'utf8'), values, environmentsDir: dir });
  }, 60_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('WHEN kubeseal --recovery-unseal reads the synthesized SealedSecrets THEN every Secret value equals the input', () => {
    const s = synth(loadConfig('prod', { environmentsDir: dir }));
    const sealed = find(s, 'SealedSecret');
    expect(sealed.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual(['argocd/argocd-notifications-secret', 'backup/b2-backup', 'monitoring/alertmanager-smtp']);
    // One object per call: kubeseal's recovery reads one SealedSecret from its input.
    const secrets = sealed.map((o, i) => {
      const input = path.join(dir, `sealed-${i}.yaml`);
      fs.writeFileSync(input, yaml.dump(o));
      const run = spawnSync(kubeseal!, ['--recovery-unseal', '--recovery-private-key', keyFile, '-o', 'yaml', '-f', input], { encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      return yaml.load(run.stdout) as any;
    });
    const unsealed = new Map(secrets.flatMap((secret) => {
      const scope = Object.entries({ backup: 'backup', monitoring: 'monitoring', argocd: 'argocd' }).find(([, ns]) => ns === secret.metadata.namespace)![0];
      return Object.entries(secret.data as Record<string, string>).map(([key, b64]) => [`${scope}.${secret.metadata.name}.${key}`, Buffer.from(b64, 'base64').toString('utf8')] as const);
    }));
    expect(unsealed).toEqual(values);
  });

  test('WHEN a value sealed for one namespace is presented as another THEN kubeseal refuses it (strict scope)', () => {
    const s = synth(loadConfig('prod', { environmentsDir: dir }));
    const moved = { ...find(s, 'SealedSecret', 'b2-backup')[0] };
    moved.metadata = { ...moved.metadata, namespace: 'data' };
    moved.spec = { ...moved.spec, template: { ...moved.spec.template, metadata: { ...moved.spec.template.metadata, namespace: 'data' } } };
    const input = path.join(dir, 'moved.yaml');
    fs.writeFileSync(input, yaml.dump(moved));
    const run = spawnSync(kubeseal!, ['--recovery-unseal', '--recovery-private-key', keyFile, '-o', 'yaml', '-f', input], { encoding: 'utf8' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/decryption error|no key could decrypt/);
  });

  test('WHEN kubeseal --raw seals a value THEN the config accepts it and our format decrypts it', () => {
    fs.writeFileSync(path.join(dir, 'value'), 'sk_live_from_kubeseal');
    const run = spawnSync(kubeseal!, ['--raw', '--cert', certFile, '--namespace', 'app', '--name', 'crm-stripe', `--from-file=${path.join(dir, 'value')}`], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(isSealedValue(run.stdout)).toBe(true);
    const privateKey = crypto.createPrivateKey(fs.readFileSync(keyFile));
    expect(unsealValue(privateKey, 'app', 'crm-stripe', run.stdout)).toBe('sk_live_from_kubeseal');
  });
});
