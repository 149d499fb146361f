/**
 * Prometheus durations (`90s`, `5m`, `1h30m`, `14d`, `500ms`), as rule files and the
 * prometheus-operator CRDs accept them: units from largest to smallest, each at most once.
 */
import { z } from './zod';

const UNIT_SECONDS: Record<string, number> = { y: 365 * 86400, w: 7 * 86400, d: 86400, h: 3600, m: 60, s: 1, ms: 0.001 };
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];

/** Seconds in a Prometheus duration, or undefined when it does not parse. `0` is zero. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const match = DURATION.exec(text);
  if (!match || text === '') return undefined;
  return ORDER.reduce((sum, unit, i) => sum + Number(match[i + 1] ?? 0) * UNIT_SECONDS[unit], 0);
}

export const isDuration = (text: string): boolean => parseDuration(text) !== undefined;

/** A Prometheus duration such as 5m or 26h. */
export const duration = () =>
  z.string().refine(isDuration, 'is not a Prometheus duration; fix: write a number and a unit, largest unit first, like 30s, 5m, 1h30m, 26h or 14d (units: ms s m h d w y)');
