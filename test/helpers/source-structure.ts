/**
 * The structure of the TypeScript sources, read with the compiler's own parser: which file imports
 * which (type imports included), the import cycles, who imports a name, and how long each
 * constructor is. Used by test/structure.test.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

export const ROOT = path.resolve(__dirname, '..', '..');

/** Every .ts file below `dir` (relative to the repository root), sorted. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const child = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(child);
    }
  };
  walk(dir);
  return out.sort();
}

const parsed = new Map<string, ts.SourceFile>();
function parse(file: string): ts.SourceFile {
  let source = parsed.get(file);
  if (!source) {
    source = ts.createSourceFile(file, fs.readFileSync(path.join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
    parsed.set(file, source);
  }
  return source;
}

/** The relative imports of a file (import, import type, export from, import()), resolved to repository paths. */
export function importsOf(file: string): string[] {
  const info = ts.preProcessFile(fs.readFileSync(path.join(ROOT, file), 'utf8'), true, true);
  const targets = info.importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => {
      const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      return [`${base}.ts`, `${base}/index.ts`].find((candidate) => fs.existsSync(path.join(ROOT, candidate)));
    })
    .filter((f): f is string => f !== undefined);
  return [...new Set(targets)];
}

/** The import cycles among `files` (strongly connected components of more than one file, or a file importing itself). */
export function importCycles(files: readonly string[]): string[][] {
  const inSet = new Set(files);
  const edges = new Map(files.map((f) => [f, importsOf(f).filter((t) => inSet.has(t))]));
  // Tarjan's algorithm.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || edges.get(v)!.includes(v)) cycles.push(component.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return cycles;
}

/** Does the file import `name` (by any import form, type imports included) from a module? */
export function importsName(file: string, name: string): boolean {
  let found = false;
  const visit = (node: ts.Node) => {
    if (ts.isImportSpecifier(node) || ts.isExportSpecifier(node)) {
      if ((node.propertyName ?? node.name).text === name) found = true;
    } else if (ts.isImportTypeNode(node) && node.qualifier && ts.isIdentifier(node.qualifier) && node.qualifier.text === name) found = true;
    ts.forEachChild(node, visit);
  };
  visit(parse(file));
  return found;
}

/** Every constructor of the file: its class and its length in lines (from `constructor` to its closing brace). */
export function constructorLengths(file: string): { className: string; lines: number }[] {
  const source = parse(file);
  const out: { className: string; lines: number }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isConstructorDeclaration(node) && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const owner = node.parent as ts.ClassLikeDeclaration;
      out.push({ className: owner.name?.text ?? '(anonymous)', lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}
