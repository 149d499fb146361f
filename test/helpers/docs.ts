/**
 * The README and docs/*.md as data, for the executable-documentation tests (issue 36): headings,
 * fenced blocks with the marker comment right above them, inline code spans, paragraphs and table
 * rows, each with its file and line so a failure points at the text to fix.
 */
import * as fs from 'fs';
import * as path from 'path';
import { findProjectRoot } from '../../lib/project';

export const ROOT = findProjectRoot(__dirname);

export interface DocFile {
  /** Path from the repository root: README.md, docs/<page>.md. */
  readonly file: string;
  readonly text: string;
}

export interface Fence {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  readonly body: string;
  /** The `<!-- ... -->` comment on the last non-blank line above the fence, without the comment markers. */
  readonly marker?: string;
  /** The heading the block sits under. */
  readonly section: string;
}

export interface Span {
  readonly file: string;
  readonly line: number;
  readonly code: string;
  readonly section: string;
}

export interface Paragraph {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly section: string;
}

export interface Heading {
  readonly file: string;
  readonly line: number;
  readonly level: number;
  /** The heading text without markdown (backticks dropped). */
  readonly title: string;
}

/** README.md, then every docs/*.md page, sorted. */
export function docFiles(root: string = ROOT): DocFile[] {
  const docs = path.join(root, 'docs');
  const pages = fs.existsSync(docs) ? fs.readdirSync(docs).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`) : [];
  return ['README.md', ...pages].map((file) => ({ file, text: fs.readFileSync(path.join(root, file), 'utf8') }));
}

interface Line { readonly n: number; readonly text: string; readonly inFence: boolean; readonly section: string }

/** Lines with their fence state and section; fences are ``` or ```lang lines at any indentation. */
function lines(doc: DocFile): Line[] {
  const out: Line[] = [];
  let inFence = false;
  let section = '(top)';
  doc.text.split('\n').forEach((text, i) => {
    const fence = /^\s*```/.test(text);
    if (!inFence && !fence) {
      const h = /^(#{1,6})\s+(.*)$/.exec(text);
      if (h) section = plainTitle(h[2]);
    }
    out.push({ n: i + 1, text, inFence: inFence || fence, section });
    if (fence) inFence = !inFence;
  });
  return out;
}

export const plainTitle = (markdown: string): string => markdown.replace(/`/g, '').trim();

export function headings(docs: readonly DocFile[]): Heading[] {
  return docs.flatMap((doc) =>
    lines(doc).flatMap((l) => {
      const h = !l.inFence && /^(#{1,6})\s+(.*)$/.exec(l.text);
      return h ? [{ file: doc.file, line: l.n, level: h[1].length, title: plainTitle(h[2]) }] : [];
    }),
  );
}

export function fences(docs: readonly DocFile[]): Fence[] {
  const out: Fence[] = [];
  for (const doc of docs) {
    const all = doc.text.split('\n');
    const ls = lines(doc);
    for (let i = 0; i < all.length; i++) {
      const open = /^(\s*)```(\S*)\s*$/.exec(all[i]);
      if (!open) continue;
      const indent = open[1].length;
      let j = i + 1;
      while (j < all.length && !/^\s*```\s*$/.test(all[j])) j++;
      const body = all.slice(i + 1, j).map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length))).join('\n');
      let k = i - 1;
      while (k >= 0 && all[k].trim() === '') k--;
      const m = k >= 0 ? /^\s*<!--\s*(.*?)\s*-->\s*$/.exec(all[k]) : null;
      out.push({ file: doc.file, line: i + 1, lang: open[2], body, ...(m ? { marker: m[1] } : {}), section: ls[i].section });
      i = j;
    }
  }
  return out;
}

/** Inline code spans outside fences (single backticks; a span does not cross lines). */
export function spans(docs: readonly DocFile[]): Span[] {
  return docs.flatMap((doc) =>
    lines(doc).flatMap((l) => (l.inFence ? [] : [...l.text.matchAll(/(?<!`)`([^`\n]+)`(?!`)/g)].map((m) => ({ file: doc.file, line: l.n, code: m[1], section: l.section })))),
  );
}

/** Blank-line separated blocks of prose outside fences; every table row is a paragraph of its own. */
export function paragraphs(docs: readonly DocFile[]): Paragraph[] {
  const out: Paragraph[] = [];
  for (const doc of docs) {
    let current: Line[] = [];
    const flush = () => {
      if (current.length > 0) out.push({ file: doc.file, line: current[0].n, text: current.map((l) => l.text).join('\n'), section: current[0].section });
      current = [];
    };
    for (const l of lines(doc)) {
      if (l.inFence || l.text.trim() === '') { flush(); continue; }
      if (/^\s*\|/.test(l.text)) { flush(); current = [l]; flush(); continue; }
      // A list item starts a paragraph of its own.
      if (/^ ?(- |\d+\. )/.test(l.text)) flush();
      current.push(l);
    }
    flush();
  }
  return out;
}

/** Commands written in the docs: the lines of bash fences (continuations joined, comments dropped) and inline spans. */
export function commandLines(docs: readonly DocFile[]): Span[] {
  const fromFences = fences(docs)
    .filter((f) => f.lang === 'bash' || f.lang === 'sh')
    .flatMap((f) => {
      const joined = f.body.replace(/\\\n\s*/g, ' ').split('\n');
      return joined.map((text, i) => ({ file: f.file, line: f.line + 1 + i, code: text.replace(/(^|\s)#.*$/, '').trim(), section: f.section })).filter((c) => c.code !== '');
    });
  return [...fromFences, ...spans(docs)];
}

/** `where` for failure messages. */
export const at = (x: { file: string; line: number }): string => `${x.file}:${x.line}`;

/**
 * The text of the first section, in the README or a docs/ page, whose heading starts with `title`
 * (its subsections included), without the heading line; '' when there is none.
 */
export function docSection(title: string, docs: readonly DocFile[] = docFiles()): string {
  const all = headings(docs);
  for (const h of all) {
    if (!h.title.startsWith(title)) continue;
    const lines = docs.find((d) => d.file === h.file)!.text.split('\n');
    const end = all.find((n) => n.file === h.file && n.line > h.line && n.level <= h.level)?.line ?? lines.length + 1;
    return '\n' + lines.slice(h.line, end - 1).join('\n');
  }
  return '';
}
