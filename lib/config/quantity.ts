/** Kubernetes resource quantities ("500m", "1Gi", "512Mi") and PostgreSQL/Redis sizes. */

const SUFFIX: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** True when `value` is a quantity the Kubernetes API accepts (non-negative, decimal or binary suffix). */
export function isQuantity(value: string): boolean {
  return QUANTITY.test(value);
}

/** The numeric value of a quantity: bytes for memory, cores for CPU. Throws on a malformed quantity. */
export function parseQuantity(value: string): number {
  const match = QUANTITY.exec(value);
  if (!match) {
    throw new Error(`"${value}" is not a Kubernetes quantity (examples: 500m, 2, 512Mi, 10Gi)`);
  }
  return Number(match[1]) * SUFFIX[match[2] ?? ''];
}

/** Bytes as a PostgreSQL memory setting in whole MB ("1024MB"), valid on every major. */
export function toPostgresMemory(bytes: number): string {
  return `${Math.max(1, Math.floor(bytes / 2 ** 20))}MB`;
}

/** Bytes as a redis.conf memory setting in whole mebibytes ("512mb"; Redis treats mb as 1024*1024). */
export function toRedisMemory(bytes: number): string {
  return `${Math.max(1, Math.floor(bytes / 2 ** 20))}mb`;
}
