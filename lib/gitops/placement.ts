/**
 * Which Argo CD Application syncs which file. Every file stays in its chart's folder
 * (`<Kind>.<namespace>.<name>.yaml`); two kinds are synced by another Application than their
 * chart's, selected by file-name globs:
 * - `Application` files (Helm add-ons) by the root, so their waves count at the root level;
 * - `NetworkPolicy` files by `base`, so every allow rule lands together with default-deny,
 *   before the add-ons that need them start.
 */
export const ARGOCD_CHART = 'argocd';
export const BASE_CHART = 'base';
/** Name of the app-of-apps Application; it syncs the argocd chart's folder. */
export const ROOT_APPLICATION = 'root';

/** Kind → chart id whose Application syncs files of that kind from every folder. */
export const HOISTED_KINDS: Readonly<Record<string, string>> = {
  Application: ARGOCD_CHART,
  NetworkPolicy: BASE_CHART,
};

/** The chart id whose Application syncs an object of `kind` written by chart `chartId`. */
export function syncOwner(chartId: string, kind: string): string {
  return HOISTED_KINDS[kind] ?? chartId;
}

/** File-name glob of one kind in a chart folder (files are `<Kind>.<...>.yaml`). */
export const kindGlob = (kind: string): string => `${kind}.*.yaml`;

/** Argo CD's glob syntax for one or more patterns. */
export const globOf = (patterns: string[]): string => (patterns.length === 1 ? patterns[0] : `{${patterns.join(',')}}`);

/** `*` within a name and `{a,b}` alternatives, as Argo CD's directory include/exclude uses them. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  let depth = 0;
  for (const c of glob) {
    if (c === '*') {
      out += '[^/]*';
    } else if (c === '{') {
      out += '(?:';
      depth++;
    } else if (c === '}' && depth > 0) {
      out += ')';
      depth--;
    } else if (c === ',' && depth > 0) {
      out += '|';
    } else {
      out += c.replace(/[.+?^$()|[\]{}\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${out}$`);
}

/** API group of an apiVersion (`apps/v1` → `apps`, `v1` → ``). */
export const groupOf = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '');
