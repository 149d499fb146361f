/**
 * Throwaway sealing key pairs for tests, and the project's kubeseal format (lib/sealing.ts) bound to
 * them, so the config sees values shaped exactly like real kubeseal output.
 */
import * as crypto from 'crypto';
import { sealValue, unsealValue } from '../../lib/sealing';

export interface SealingKey {
  readonly publicKey: crypto.KeyObject;
  readonly privateKey: crypto.KeyObject;
}

export const newSealingKey = (bits = 2048): SealingKey => crypto.generateKeyPairSync('rsa', { modulusLength: bits });

export const seal = (key: SealingKey, namespace: string, name: string, value: string): string => sealValue(key.publicKey, namespace, name, value);

export const unseal = (key: SealingKey, namespace: string, name: string, sealed: string): string => unsealValue(key.privateKey, namespace, name, sealed);
