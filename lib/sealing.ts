/**
 * kubeseal's value format, written from its description (sealed-secrets' hybrid encryption): a fresh
 * 32-byte session key wrapped with RSA-OAEP-SHA256 under the controller's public key, with the label
 * `<namespace>/<name>` (strict scope: the value only decrypts as that Secret in that namespace), the
 * wrapped key's length as 2 bytes big-endian, then AES-256-GCM of the value with a zero nonce (each
 * session key is used once). `npm run seal` writes these; test/seal.real.test.ts checks them against
 * the real kubeseal and the real controller.
 *
 * Sealing is randomized, so "is this committed value still the one I hold?" cannot be answered by
 * resealing. `sealFingerprint` answers it without revealing the value: scrypt (a slow, salted hash)
 * of the value with a random per-entry salt, bound to the sealing certificate and to
 * `<namespace>/<name>/<key>` (README "Secrets", "npm run seal").
 */
import * as crypto from 'crypto';

/**
 * Step 1 of the README's bootstrap runbook: the cluster's sealing key, made offline before the cluster
 * exists (a production synth refuses unsealed outside secrets, and it runs before Argo CD installs the
 * controller). Its certificate, `<env>-sealing.pem`, is what `npm run seal` seals with.
 */
export const offlineSealingKeyCommand = (env: string): string =>
  `openssl req -x509 -days 3650 -nodes -newkey rsa:4096 -keyout ~/${env}-sealing.key -out ${env}-sealing.pem -subj "/CN=sealed-secret/O=sealed-secret"`;

/** The command that seals an environment's outside secrets (README "Secrets"), as errors print it. */
export const sealCommand = (env: string): string => `npm run seal -- --env ${env} --cert ${env}-sealing.pem`;

/** The short form of `sealingCertHint`, for error lists that repeat it per Secret. */
export const sealingCertNote = (env: string): string =>
  `${env}-sealing.pem: the certificate of the key made offline in step 1 of the README's bootstrap runbook; kubeseal --fetch-cert > ${env}-sealing.pem only for a cluster whose controller already runs`;

/**
 * Where `<env>-sealing.pem` comes from, in the bootstrap's order: the offline key first (a new cluster);
 * `kubeseal --fetch-cert` only for a cluster whose controller already runs.
 */
export const sealingCertHint = (env: string): string =>
  `${env}-sealing.pem is the certificate of the cluster's sealing key: for a new cluster make the key offline first, as step 1 of the README's bootstrap runbook does (${offlineSealingKeyCommand(env)}); only for a cluster whose sealed-secrets controller already runs, kubeseal --fetch-cert > ${env}-sealing.pem`;

/** The controller's public key, from its certificate (`kubeseal --fetch-cert`) or a PEM public key. */
export function sealingPublicKey(pem: string): crypto.KeyObject {
  const key = /-----BEGIN CERTIFICATE-----/.test(pem) ? new crypto.X509Certificate(pem).publicKey : crypto.createPublicKey(pem);
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`the sealing certificate holds a ${key.asymmetricKeyType} key; kubeseal needs the controller's RSA certificate (kubeseal --fetch-cert)`);
  return key;
}

/** SHA-256 of the public key (DER, SubjectPublicKeyInfo), hex: names the certificate a value was sealed for. */
export function sealingKeyId(publicKey: crypto.KeyObject): string {
  return crypto.createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

const label = (namespace: string, name: string) => Buffer.from(`${namespace}/${name}`);

/** `kubeseal --raw --scope strict --namespace <namespace> --name <name>` of `value`. */
export function sealValue(publicKey: crypto.KeyObject, namespace: string, name: string, value: string | Buffer): string {
  const sessionKey = crypto.randomBytes(32);
  const wrapped = crypto.publicEncrypt({ key: publicKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label(namespace, name) }, sessionKey);
  const cipher = crypto.createCipheriv('aes-256-gcm', sessionKey, Buffer.alloc(12));
  const body = Buffer.concat([cipher.update(value), cipher.final(), cipher.getAuthTag()]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(wrapped.length);
  return Buffer.concat([length, wrapped, body]).toString('base64');
}

/** The inverse of `sealValue`, with the controller's private key (tests and recovery only). */
export function unsealValue(privateKey: crypto.KeyObject, namespace: string, name: string, sealed: string): string {
  const bytes = Buffer.from(sealed, 'base64');
  const n = bytes.readUInt16BE(0);
  const sessionKey = crypto.privateDecrypt({ key: privateKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label(namespace, name) }, bytes.subarray(2, 2 + n));
  const body = bytes.subarray(2 + n);
  const decipher = crypto.createDecipheriv('aes-256-gcm', sessionKey, Buffer.alloc(12));
  decipher.setAuthTag(body.subarray(body.length - 16));
  return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
}

/** scrypt cost: 2^15 × 8 × 128 bytes = 32 MiB and ~0.1 s per guess, per entry (its own salt). */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 2 ** 20 } as const;
const FINGERPRINT = /^scrypt1:([0-9a-f]{16}):([A-Za-z0-9_-]{22}):([A-Za-z0-9_-]{43})$/;

export const isSealFingerprint = (text: string): boolean => FINGERPRINT.test(text);

/** The sealing key a fingerprint was made for (the first 16 hex digits of `sealingKeyId`: public, not secret). */
export const fingerprintKeyId = (fingerprint: string | undefined): string | undefined =>
  fingerprint === undefined ? undefined : FINGERPRINT.exec(fingerprint)?.[1];

function fingerprintHash(salt: Buffer, keyId: string, entry: string, value: string): Buffer {
  return crypto.scryptSync(value, Buffer.concat([salt, Buffer.from(`\0${keyId.slice(0, 16)}\0${entry}`)]), 32, SCRYPT);
}

/** `scrypt1:<key id>:<salt>:<hash>` of `value` for `entry` (`<namespace>/<name>/<key>`) sealed under `keyId`. */
export function sealFingerprint(keyId: string, entry: string, value: string, salt: Buffer = crypto.randomBytes(16)): string {
  return `scrypt1:${keyId.slice(0, 16)}:${salt.toString('base64url')}:${fingerprintHash(salt, keyId, entry, value).toString('base64url')}`;
}

/** True when `fingerprint` was made from this value, entry and sealing key (constant-time compare). */
export function fingerprintMatches(fingerprint: string | undefined, keyId: string, entry: string, value: string): boolean {
  const m = fingerprint === undefined ? null : FINGERPRINT.exec(fingerprint);
  if (!m || m[1] !== keyId.slice(0, 16)) return false;
  return crypto.timingSafeEqual(fingerprintHash(Buffer.from(m[2], 'base64url'), keyId, entry, value), Buffer.from(m[3], 'base64url'));
}
