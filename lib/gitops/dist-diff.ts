/**
 * The per-object difference between two renderings of dist/ (a git ref and a fresh synth), as
 * markdown for a pull-request comment: grouped by environment, then kind.
 */
import * as yaml from 'js-yaml';
import { unifiedDiff } from './unified-diff';

/** Files of a dist/ tree: `<env>/<chart>/<file>.yaml` → YAML text. */
export type DistFiles = ReadonlyMap<string, string>;

export interface ObjectChange {
  readonly env: string;
  readonly kind: string;
  /** `<namespace>/<name>`, or the name of a cluster-scoped object. */
  readonly id: string;
  readonly status: 'added' | 'removed' | 'changed';
  /** The chart (folder) it is in now, or was in when removed. */
  readonly chart: string;
  /** Set when the object moved to another chart folder. */
  readonly fromChart?: string;
  readonly patch: string;
}

interface Entry {
  readonly env: string;
  readonly chart: string;
  readonly kind: string;
  readonly id: string;
  readonly text: string;
}

function entries(files: DistFiles): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const [file, text] of files) {
    const [env, chart] = file.split('/');
    const object = (yaml.load(text) ?? {}) as any;
    const kind = String(object.kind ?? '(unknown kind)');
    const { name, namespace } = object.metadata ?? {};
    const id = namespace ? `${namespace}/${name}` : String(name ?? file);
    out.set(`${env}|${kind}|${id}`, { env, chart, kind, id, text });
  }
  return out;
}

/** Objects are matched by environment, kind, namespace and name, so a move between charts is a change. */
export function diffDist(before: DistFiles, after: DistFiles): ObjectChange[] {
  const a = entries(before);
  const b = entries(after);
  const changes: ObjectChange[] = [];
  for (const [key, old] of a) {
    const now = b.get(key);
    if (now === undefined) changes.push({ env: old.env, kind: old.kind, id: old.id, chart: old.chart, status: 'removed', patch: unifiedDiff(old.text, '') });
    else if (now.text !== old.text || now.chart !== old.chart) {
      changes.push({ env: now.env, kind: now.kind, id: now.id, chart: now.chart, status: 'changed', patch: unifiedDiff(old.text, now.text), ...(now.chart !== old.chart ? { fromChart: old.chart } : {}) });
    }
  }
  for (const [key, now] of b) {
    if (!a.has(key)) changes.push({ env: now.env, kind: now.kind, id: now.id, chart: now.chart, status: 'added', patch: unifiedDiff('', now.text) });
  }
  return changes.sort((x, y) => x.env.localeCompare(y.env) || x.kind.localeCompare(y.kind) || x.id.localeCompare(y.id));
}

export interface MarkdownOptions {
  /** What the old side is, e.g. "origin/main (3f2c1ab)". */
  readonly base: string;
  /** Every environment, so unchanged ones show as 0/0/0. */
  readonly envs: readonly string[];
  /** Patch lines shown per object before it is cut. @default 200 */
  readonly maxPatchLines?: number;
  /** GitHub refuses comments above 65536 characters. @default 60000 */
  readonly maxChars?: number;
}

const SIGN = { added: '+', removed: '-', changed: '~' } as const;

export function formatMarkdown(changes: readonly ObjectChange[], options: MarkdownOptions): string {
  const maxLines = options.maxPatchLines ?? 200;
  const maxChars = options.maxChars ?? 60000;
  const count = (env: string, status: ObjectChange['status']) => changes.filter((c) => c.env === env && c.status === status).length;
  const out: string[] = [`### Platform diff: \`dist/\` at ${options.base} → this change`, ''];
  if (changes.length === 0) return [...out, 'No object changes in any environment.', ''].join('\n');
  out.push('| env | added | changed | removed |', '|---|---:|---:|---:|');
  for (const env of options.envs) out.push(`| ${env} | ${count(env, 'added')} | ${count(env, 'changed')} | ${count(env, 'removed')} |`);
  out.push('');
  for (const env of options.envs.filter((e) => changes.some((c) => c.env === e))) {
    out.push(`#### ${env}`, '');
    const ofEnv = changes.filter((c) => c.env === env);
    for (const kind of [...new Set(ofEnv.map((c) => c.kind))]) {
      const ofKind = ofEnv.filter((c) => c.kind === kind);
      out.push(`**${kind}** (${ofKind.length})`, '');
      for (const c of ofKind) {
        const lines = c.patch.split('\n');
        const shown = lines.length > maxLines ? [...lines.slice(0, maxLines), `… ${lines.length - maxLines} more lines`] : lines;
        const where = c.fromChart ? `${c.fromChart} → ${c.chart}` : c.chart;
        out.push(`<details><summary>${SIGN[c.status]} <code>${c.id}</code> (${c.status}, ${where})</summary>`, '', '```diff', ...shown, '```', '</details>', '');
      }
    }
  }
  const text = out.join('\n');
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}\n\n… output cut at ${maxChars} characters; run \`npm run diff\` locally for the rest.\n`;
}
