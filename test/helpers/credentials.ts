/**
 * Finds literals that look like credentials in rendered objects. Patterns: private keys, cloud
 * access key ids, passwords inside URLs, `password = ...`-style settings in config files, literal
 * values of env vars named like secrets, and long high-entropy tokens. SealedSecret ciphertext is
 * the one place long random strings are expected.
 */
export interface CredentialFinding {
  readonly path: string;
  readonly reason: string;
  readonly excerpt: string;
}

const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)$/i;
/** Values that are references or algorithm names, not credentials (`$key-name` alone: Argo CD notifications' Secret reference). */
const NOT_A_VALUE = /^(\$\(|\$\{|\$[A-Z_]|\$[a-z][\w-]*$|scram-sha-256|md5|trust|peer|<|\/)/;

export function findCredentials(object: any, where = ''): CredentialFinding[] {
  const findings: CredentialFinding[] = [];
  const visit = (node: unknown, path: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => visit(n, `${path}[${i}]`));
    if (node !== null && typeof node === 'object') {
      const n = node as Record<string, any>;
      if (typeof n.name === 'string' && typeof n.value === 'string' && SECRET_NAME.test(n.name) && n.value !== '' && !NOT_A_VALUE.test(n.value)) {
        findings.push({ path, reason: `env ${n.name} has a literal value`, excerpt: n.value });
      }
      for (const [k, v] of Object.entries(n)) {
        if (k === 'encryptedData' && object.kind === 'SealedSecret') continue;
        visit(v, `${path}.${k}`);
      }
      return;
    }
    if (typeof node === 'string') findings.push(...scanText(node).map((f) => ({ ...f, path })));
  };
  visit(object, where);
  return findings;
}

export function scanText(text: string): Omit<CredentialFinding, 'path'>[] {
  const found: Omit<CredentialFinding, 'path'>[] = [];
  const add = (reason: string, excerpt: string) => found.push({ reason, excerpt });
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) add('a private key', 'BEGIN PRIVATE KEY');
  for (const m of text.matchAll(/\b(AKIA|ASIA)[0-9A-Z]{16}\b/g)) add('an AWS access key id', m[0]);
  for (const m of text.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^\s:@/]+:([^\s@/]+)@/gi)) {
    if (!NOT_A_VALUE.test(m[1])) add('a password inside a URL', m[0]);
  }
  for (const m of text.matchAll(/(^|[\s"',{;])(password|passwd|secret|token|api[_-]?key)\s*(=|:\s)\s*["']?([^\s"',;}]+)/gim)) {
    if (!NOT_A_VALUE.test(m[4])) add(`a literal ${m[2]} setting`, m[0].trim());
  }
  for (const m of text.matchAll(/^\s*(requirepass|masterauth)\s+(\S+)/gim)) {
    if (!NOT_A_VALUE.test(m[2])) add(`a literal ${m[1]} directive`, m[0].trim());
  }
  for (const m of text.matchAll(/[A-Za-z0-9+/_=-]{32,}/g)) {
    if (!/^[a-f0-9]{64}$/.test(m[0]) && entropy(m[0]) >= 4.5) add('a long high-entropy token', m[0]);
  }
  return found;
}

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  return -[...counts.values()].reduce((sum, n) => sum + (n / s.length) * Math.log2(n / s.length), 0);
}
