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
import { findProjectRoot, referenceDir } from '../lib/project';
import { unsealValue } from '../lib/sealing';
import { LabCluster, missingLabPrograms } from '../scripts/lab/cluster';
import { findProgram } from '../scripts/lab/programs';
import { LabSealedSecrets, SEALED_SECRETS_CONTROLLER } from '../scripts/lab/sealed-secrets';
import { sealEnvironment } from '../scripts/seal';
import { find, synth } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const kubesealPath = path.join(findProjectRoot(__dirname), '.tools', 'kubeseal', 'bin', 'kubeseal');
const kubeseal = fs.existsSync(kubesealPath) ? kubesealPath : undefined;

describeWithPrograms('GIVEN outside secrets sealed by npm run seal and the real kubeseal', { kubeseal, openssl: findProgram('openssl'), script: findProgram('script') }, () => {
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

  test('WHEN a value sealed for one Secret is presented as another Secret name in the same namespace THEN kubeseal refuses it (strict, not namespace-wide, scope)', () => {
    const s = synth(loadConfig('prod', { environmentsDir: dir }));
    const original = find(s, 'SealedSecret', 'b2-backup')[0];
    const renamed = {
      ...original,
      metadata: { ...original.metadata, name: 'b2-backup-copy' },
      spec: { ...original.spec, template: { ...original.spec.template, metadata: { ...original.spec.template.metadata, name: 'b2-backup-copy' } } },
    };
    const unseal = (o: any, file: string) => {
      fs.writeFileSync(path.join(dir, file), yaml.dump(o));
      return spawnSync(kubeseal!, ['--recovery-unseal', '--recovery-private-key', keyFile, '-o', 'yaml', '-f', path.join(dir, file)], { encoding: 'utf8' });
    };
    // The same object under its own name decrypts (so the refusal below is the name's doing).
    expect(unseal(original, 'original.yaml').status).toBe(0);
    const run = unseal(renamed, 'renamed.yaml');
    expect({ failed: run.status !== 0, stdout: run.stdout, refused: /decryption error|no key could decrypt/.test(run.stderr) }).toEqual({ failed: true, stdout: '', refused: true });
  });

  test('WHEN npm run seal runs in a terminal without a values file for a new certificate THEN it asks for each value without echoing it, and kubeseal recovers what was typed', () => {
    const other = path.join(dir, 'prompted');
    fs.mkdirSync(other);
    fs.copyFileSync(path.join(dir, 'prod.yaml'), path.join(other, 'prod.yaml'));
    spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(other, 'k.pem'), '-out', path.join(other, 'c.pem'), '-days', '30', '-subj', '/CN=prompted'], { encoding: 'utf8' });
    // util-linux `script` gives the command a terminal (and logs it); each value is typed once its prompt is
    // in the log (at most 30 s each), as a person would: typed earlier, the terminal itself would echo it.
    const typed = ['typed-ops-email', 'typed-key-id', 'typed application key', 'typed-smtp']; // the prompts' order
    const log = path.join(other, 'terminal.log');
    const feed = typed.map((t, i) => `n=0; until [ "$(grep -o 'not echoed' '${log}' 2>/dev/null | wc -l)" -ge ${i + 1} ] || [ $n -ge 300 ]; do sleep 0.1; n=$((n+1)); done; printf '%s\\r' '${t}';`).join(' ');
    const cli = `node ${path.join(findProjectRoot(__dirname), 'build', 'scripts', 'seal.js')} --env prod --cert ${path.join(other, 'c.pem')} --environments ${other}`;
    const run = spawnSync('sh', ['-c', `(${feed} sleep 2) | script -qfec "${cli}" '${log}' >/dev/null`], { encoding: 'utf8', timeout: 150_000 });
    const terminal = fs.readFileSync(log, 'utf8');
    expect(run.status).toBe(0);
    expect(terminal.match(/\S+ \(not echoed\)/g)).toEqual(['argocd.argocd-notifications-secret.ops-email (not echoed)', 'backup.b2-backup.key-id (not echoed)', 'backup.b2-backup.application-key (not echoed)', 'monitoring.alertmanager-smtp.password (not echoed)']);
    expect(terminal).toMatch(/4 sealed, 0 unchanged, 0 kept/);
    for (const t of typed) expect(terminal).not.toContain(t);
    const b2 = find(synth(loadConfig('prod', { environmentsDir: other })), 'SealedSecret', 'b2-backup')[0];
    fs.writeFileSync(path.join(other, 'b2.yaml'), yaml.dump(b2));
    const recovered = spawnSync(kubeseal!, ['--recovery-unseal', '--recovery-private-key', path.join(other, 'k.pem'), '-o', 'yaml', '-f', path.join(other, 'b2.yaml')], { encoding: 'utf8' });
    const data = (yaml.load(recovered.stdout) as any).data;
    expect(Buffer.from(data['application-key'], 'base64').toString('utf8')).toBe('typed application key');
  }, 180_000);

  test('WHEN kubeseal --raw seals a value THEN the config accepts it and our format decrypts it', () => {
    fs.writeFileSync(path.join(dir, 'value'), 'sk_live_from_kubeseal');
    const run = spawnSync(kubeseal!, ['--raw', '--cert', certFile, '--namespace', 'app', '--name', 'crm-stripe', `--from-file=${path.join(dir, 'value')}`], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(isSealedValue(run.stdout)).toBe(true);
    const privateKey = crypto.createPrivateKey(fs.readFileSync(keyFile));
    expect(unsealValue(privateKey, 'app', 'crm-stripe', run.stdout)).toBe('sk_live_from_kubeseal');
  });
});

/**
 * The real sealed-secrets controller (built from the same Go module) against the lab API server: the
 * SealedSecrets exactly as synthesized become Secrets holding the input values. The controller only
 * knows in-cluster configuration, so it runs in a private mount namespace (unshare, root) where
 * /run/secrets/kubernetes.io/serviceaccount holds the lab's token and CA, and listens on loopback.
 */
describeWithPrograms('GIVEN the synthesized SealedSecrets and the real sealed-secrets controller on the lab API server', {
  controller: fs.existsSync(SEALED_SECRETS_CONTROLLER) ? SEALED_SECRETS_CONTROLLER : undefined, openssl: findProgram('openssl'), unshare: findProgram('unshare'),
  'root (for unshare --mount)': process.getuid?.() === 0 ? 'root' : undefined, 'lab programs': missingLabPrograms().length === 0 ? 'built' : undefined,
}, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seal-controller-'));
  const values = new Map([
    ['backup.b2-backup.key-id', '005controllerkey'],
    ['backup.b2-backup.application-key', 'K005/controller+key=='],
    ['monitoring.alertmanager-smtp.password', 'smtp: "quoted" pässword'],
  ]);
  let lab: LabCluster;
  let controller: LabSealedSecrets;
  let sealed: any[];

  beforeAll(async () => {
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:4096', '-nodes', '-keyout', path.join(dir, 'tls.key'), '-out', path.join(dir, 'tls.crt'), '-days', '30', '-subj', '/CN=sealed-secret/O=sealed-secret'], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`);
    fs.copyFileSync(path.join(ENVIRONMENTS_DIR, 'prod.yaml'), path.join(dir, 'prod.yaml'));
    await sealEnvironment({ env: 'prod', cert: fs.readFileSync(path.join(dir, 'tls.crt'), 'utf8'), values, environmentsDir: dir });
    const s = synth(loadConfig('prod', { environmentsDir: dir }));
    sealed = find(s, 'SealedSecret');

    // Only the SealedSecret CRD (not all of ../shared/reference/crds): a lighter lab next to the others.
    lab = await LabCluster.start({ nodes: [], crds: false });
    const crd = yaml.load(fs.readFileSync(path.join(referenceDir(), 'crds', 'sealed-secrets', 'bitnami.com_sealedsecrets.yaml'), 'utf8')) as any;
    const created = await lab.apply(crd);
    if (created.status >= 300) throw new Error(`SealedSecret CRD: ${created.body?.message}`);
    await lab.waitFor('the SealedSecret CRD to be Established', async () => {
      const got = await lab.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
      return (got.body?.status?.conditions ?? []).some((c: any) => c.type === 'Established' && c.status === 'True');
    }, 60_000);
    // The sealing key, as the controller stores its own: a TLS Secret labelled active in its namespace.
    const tls = (f: string) => fs.readFileSync(path.join(dir, f)).toString('base64');
    const key = await lab.apply({
      apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
      metadata: { name: 'sealed-secrets-key-lab', namespace: 'kube-system', labels: { 'sealedsecrets.bitnami.com/sealed-secrets-key': 'active' } },
      data: { 'tls.crt': tls('tls.crt'), 'tls.key': tls('tls.key') },
    });
    if (key.status >= 300) throw new Error(`sealing key: ${key.body?.message}`);
    for (const ns of new Set(sealed.map((o) => o.metadata.namespace as string))) await lab.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });

    controller = await LabSealedSecrets.start(lab);
    for (const o of sealed) {
      const res = await lab.apply(o);
      if (res.status >= 300) throw new Error(`${o.metadata.namespace}/${o.metadata.name}: ${res.body?.message}`);
    }
  }, 240_000);
  afterAll(async () => {
    await controller?.stop();
    await lab?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('WHEN the controller unseals them THEN each Secret holds exactly the input values, owned by its SealedSecret', async () => {
    const secretOf = async (o: any) => (await lab.request('GET', `/api/v1/namespaces/${o.metadata.namespace}/secrets/${o.metadata.name}`));
    try {
      await lab.waitFor('the controller to create every Secret', async () => (await Promise.all(sealed.map(secretOf))).every((r) => r.status === 200), 120_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\ncontroller log:\n${controller.tail()}`);
    }
    const unsealed = new Map<string, string>();
    for (const o of sealed) {
      const secret = (await secretOf(o)).body;
      const scope = o.metadata.namespace === 'backup' ? 'backup' : 'monitoring';
      for (const [key, b64] of Object.entries(secret.data as Record<string, string>)) unsealed.set(`${scope}.${o.metadata.name}.${key}`, Buffer.from(b64, 'base64').toString('utf8'));
      expect(secret.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'SealedSecret', name: o.metadata.name, controller: true })]);
      expect(secret.metadata.labels).toMatchObject({ 'app.kubernetes.io/part-of': 'platform' });
    }
    expect(unsealed).toEqual(values);
  }, 150_000);

  test('WHEN a SealedSecret is applied under another name in the same namespace THEN the controller refuses to unseal it and makes no Secret (strict scope)', async () => {
    const original = sealed.find((o) => o.metadata.name === 'b2-backup');
    const renamed = {
      ...original,
      metadata: { ...original.metadata, name: 'b2-backup-copy' },
      spec: { ...original.spec, template: { ...original.spec.template, metadata: { ...original.spec.template.metadata, name: 'b2-backup-copy' } } },
    };
    const res = await lab.apply(renamed);
    expect(res.status).toBeLessThan(300);
    const url = `/apis/bitnami.com/v1alpha1/namespaces/${original.metadata.namespace}/sealedsecrets/b2-backup-copy`;
    let synced: any;
    try {
      await lab.waitFor('the controller to report on b2-backup-copy', async () => {
        synced = ((await lab.request('GET', url)).body?.status?.conditions ?? []).find((c: any) => c.type === 'Synced');
        return synced !== undefined;
      }, 90_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\ncontroller log:\n${controller.tail()}`);
    }
    const secret = await lab.request('GET', `/api/v1/namespaces/${original.metadata.namespace}/secrets/b2-backup-copy`);
    expect({ synced: synced.status, refused: /no key could decrypt|decryption error/.test(synced.message ?? ''), secret: secret.status }).toEqual({ synced: 'False', refused: true, secret: 404 });
  }, 150_000);
});
