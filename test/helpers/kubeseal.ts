/**
 * kubeseal's value format, written from its description (sealed-secrets' HybridEncrypt): a 32-byte
 * session key wrapped with RSA-OAEP-SHA256 (label `<namespace>/<name>` in strict scope), its length as
 * 2 bytes big-endian, then AES-256-GCM of the value with a zero nonce. Tests seal with a throwaway key
 * pair, so the config sees values shaped exactly like real kubeseal output.
 */
import * as crypto from 'crypto';

export interface SealingKey {
  readonly publicKey: crypto.KeyObject;
  readonly privateKey: crypto.KeyObject;
}

export const newSealingKey = (bits = 2048): SealingKey => crypto.generateKeyPairSync('rsa', { modulusLength: bits });

export function seal(key: SealingKey, namespace: string, name: string, value: string): string {
  const sessionKey = crypto.randomBytes(32);
  const wrapped = crypto.publicEncrypt({ key: key.publicKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from(`${namespace}/${name}`) }, sessionKey);
  const cipher = crypto.createCipheriv('aes-256-gcm', sessionKey, Buffer.alloc(12));
  const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(wrapped.length);
  return Buffer.concat([length, wrapped, body]).toString('base64');
}

export function unseal(key: SealingKey, namespace: string, name: string, sealed: string): string {
  const bytes = Buffer.from(sealed, 'base64');
  const n = bytes.readUInt16BE(0);
  const sessionKey = crypto.privateDecrypt({ key: key.privateKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from(`${namespace}/${name}`) }, bytes.subarray(2, 2 + n));
  const body = bytes.subarray(2 + n);
  const decipher = crypto.createDecipheriv('aes-256-gcm', sessionKey, Buffer.alloc(12));
  decipher.setAuthTag(body.subarray(body.length - 16));
  return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
}
