/**
 * Checks on an environment file as the user wrote it, before it is merged or validated:
 * YAML aliases may not blow it up, and every key is plain ASCII (look-alike letters from other
 * scripts are shown with their code point and the key they were probably meant to be).
 */
import { ConfigProblem } from './errors';

/**
 * The most values an environment file may hold once its YAML aliases (*name) are expanded. A real
 * file holds a few hundred; an "alias bomb" of a few hundred bytes expands to billions, which
 * merging and validation would otherwise walk for minutes.
 */
export const MAX_EXPANDED_VALUES = 10_000;

/**
 * The number of values `root` holds with every shared (aliased) node counted each time it is used,
 * computed once per distinct node; stops counting as soon as the sum exceeds `limit`.
 */
export function expandedSize(root: unknown, limit: number = MAX_EXPANDED_VALUES): number {
  const sizes = new Map<object, number>();
  const size = (value: unknown): number => {
    if (typeof value !== 'object' || value === null) return 1;
    const known = sizes.get(value);
    if (known !== undefined) return known;
    let total = 1;
    for (const child of Object.values(value)) {
      total += size(child);
      if (total > limit) break;
    }
    sizes.set(value, total);
    return total;
  };
  return size(root);
}

/** A problem when `root` expands beyond MAX_EXPANDED_VALUES values. */
export function aliasProblems(root: unknown): ConfigProblem[] {
  if (expandedSize(root) <= MAX_EXPANDED_VALUES) return [];
  return [{
    key: '(yaml)',
    value: undefined,
    message:
      `expands to more than ${MAX_EXPANDED_VALUES} values through YAML aliases (*name), far more than any environment needs; ` +
      `refused before expanding it; fix: write the repeated values out, or alias each block once instead of aliases of aliases`,
  }];
}

/** Letters of other scripts that look like ASCII ones (the common homoglyphs in keys). */
const LOOK_ALIKES: Record<string, string> = {
  а: 'a', в: 'b', е: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x', ѕ: 's', і: 'i', ј: 'j', ԁ: 'd', ԛ: 'q', ԝ: 'w', ӏ: 'l',
  А: 'A', В: 'B', Е: 'E', К: 'K', М: 'M', Н: 'H', О: 'O', Р: 'P', С: 'C', Т: 'T', Х: 'X', І: 'I', Ј: 'J', Ѕ: 'S',
  α: 'a', ο: 'o', ρ: 'p', ν: 'v', ι: 'i', κ: 'k', τ: 't', υ: 'u', χ: 'x', ϲ: 'c',
  Α: 'A', Β: 'B', Ε: 'E', Ζ: 'Z', Η: 'H', Ι: 'I', Κ: 'K', Μ: 'M', Ν: 'N', Ο: 'O', Ρ: 'P', Τ: 'T', Υ: 'Y', Χ: 'X',
  ı: 'i', '‐': '-', '‑': '-', '–': '-', '—': '-', '−': '-',
};

/**
 * `key` as the ASCII it was probably meant to be: Unicode-normalized (NFKC: full-width and other
 * compatibility forms become their plain letters), invisible characters dropped, look-alike
 * letters replaced. Undefined when something non-ASCII remains.
 */
export function asciiLookAlike(key: string): string | undefined {
  const plain = [...key.normalize('NFKC').replace(/\p{Cf}/gu, '')].map((c) => LOOK_ALIKES[c] ?? c).join('');
  return /^[\x20-\x7e]*$/.test(plain) ? plain : undefined;
}

/** Every key below `root` that is not plain ASCII, with the first offending character shown. */
export function nonAsciiKeyProblems(root: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<object>();
  const walk = (value: unknown, at: string[]): void => {
    if (typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    const keys = Object.keys(value);
    keys.forEach((key) => {
      const path = [...at, key];
      const offending = [...key].find((c) => !/[\x20-\x7e]/.test(c));
      if (offending !== undefined) {
        const codePoint = `U+${offending.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
        const meant = asciiLookAlike(key);
        const looksLike = LOOK_ALIKES[offending] ?? asciiLookAlike(offending);
        const collides = meant !== undefined && keys.includes(meant) ? ` (the file also sets "${meant}" here: keep one of the two)` : '';
        problems.push({
          key: path.map(printable).join('.'),
          value: (value as Record<string, unknown>)[key],
          message:
            `contains the non-ASCII character "${offending}" (${codePoint}${looksLike ? `, which looks like "${looksLike}"` : ''}); keys are plain ASCII; ` +
            (meant !== undefined ? `fix: retype the key as "${meant}"${collides}` : 'fix: retype the key with ASCII letters, digits, "-" and "_"'),
        });
      }
      walk((value as Record<string, unknown>)[key], path);
    });
  };
  walk(root, []);
  return problems;
}

/** A key with invisible characters made visible (zero-width spaces would otherwise print as nothing). */
function printable(key: string): string {
  return key.replace(/[\p{Cf}\p{Cc}]/gu, (c) => `<U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}>`);
}
