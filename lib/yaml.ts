/**
 * The YAML text of plain JSON data (maps, arrays, strings, numbers, booleans, null), byte for byte
 * what js-yaml's `dump(value, YAML_OPTIONS)` writes: block style, two-space indentation with
 * sequences indented under their key, no line folding, single quotes where a plain scalar would be
 * misread, literal blocks (`|`, `|-`, `|+`, `|2`) for multi-line strings, double quotes with escapes
 * for strings holding characters YAML cannot print.
 *
 * Writing dist/ is a large part of a synth and js-yaml is general (tags, anchors, custom types); this
 * writer handles only what a rendered Kubernetes object holds and hands anything else (a Date, a
 * class instance, a key over 1024 characters, ...) to js-yaml. test/yaml.test.ts holds it to
 * js-yaml's output on generated and edge-case values and on every file of dist/.
 */
import * as yaml from 'js-yaml';

/** The dump options of every YAML file this project writes. */
export const YAML_OPTIONS: yaml.DumpOptions = { noRefs: true, lineWidth: -1 };

/** `yaml.dump(value, YAML_OPTIONS)`, faster for plain JSON data. */
export function toYaml(value: unknown): string {
  // Pieces joined once at the end: one flat string, where concatenating them would leave a deep
  // rope that costs more to flatten later (when the file is compared or written) than to build.
  const out: string[] = [];
  try {
    if (!write(out, value, 0)) return '';
  } catch (err) {
    if (err === NOT_PLAIN) return yaml.dump(value, YAML_OPTIONS);
    throw err;
  }
  out.push('\n');
  return out.join('');
}

/** Thrown (and caught in toYaml) when a value needs js-yaml. */
const NOT_PLAIN = Symbol('not plain JSON data');

const SPACE = 0x20;
const COLON = 0x3a;

const newlines: string[] = [];
/** A line break and the indentation of nesting level `level`. */
function newline(level: number): string {
  return (newlines[level] ??= '\n' + '  '.repeat(level));
}

/**
 * Appends the text of one value at nesting `level`; false for `undefined` (a map leaves such a key
 * out). A map or sequence starts on the current line: a map puts a block value on the next line itself.
 */
function write(out: string[], value: unknown, level: number): boolean {
  switch (typeof value) {
    case 'string':
      out.push(scalar(value, level, false));
      return true;
    case 'number':
      out.push(number(value));
      return true;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return true;
    case 'undefined':
      return false;
    case 'object':
      if (value === null) {
        out.push('null');
      } else if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) throw NOT_PLAIN;
        if (value.length === 0) out.push('[]');
        else sequence(out, value, level);
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) throw NOT_PLAIN;
        mapping(out, value as Record<string, unknown>, level);
      }
      return true;
    default:
      throw NOT_PLAIN; // functions, symbols, bigints: js-yaml decides (it refuses them)
  }
}

/** `{}` for a map without keys (or with undefined values only), else its `key: value` lines. */
function mapping(out: string[], map: Record<string, unknown>, level: number): void {
  let empty = true;
  for (const key of Object.keys(map)) {
    const value = map[key];
    if (value === undefined) continue;
    const keyText = scalar(key, level + 1, true);
    if (keyText.length > 1024) throw NOT_PLAIN; // js-yaml writes an explicit `? key`
    if (!empty) out.push(newline(level));
    empty = false;
    out.push(keyText, hasEntries(value) ? ':' + newline(level + 1) : ': ');
    write(out, value, level + 1);
  }
  if (empty) out.push('{}');
}

function sequence(out: string[], items: unknown[], level: number): void {
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out.push(newline(level));
    out.push('- ');
    if (!write(out, items[i], level + 1)) out.push('null');
  }
}

/** A sequence with items or a map with a defined value: written as a block, below its key. */
function hasEntries(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  for (const key of Object.keys(value)) if ((value as Record<string, unknown>)[key] !== undefined) return true;
  return false;
}

function number(value: number): string {
  if (value % 1 === 0 && !Object.is(value, -0)) return String(value);
  if (Number.isNaN(value)) return '.nan';
  if (value === Infinity) return '.inf';
  if (value === -Infinity) return '-.inf';
  if (Object.is(value, -0)) return '-0.0';
  const text = String(value);
  // YAML wants a dot before the exponent: 5e-7 is written 5.e-7.
  return /^[-+]?[0-9]+e/.test(text) ? text.replace('e', '.e') : text;
}

/** YAML 1.1 booleans: a YAML 1.1 reader would take them for true/false, so they are quoted. */
const YAML11_BOOLEANS = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);
/** YAML 1.1 base-60 numbers (`1:30`), quoted for the same reason. */
const SEXAGESIMAL = /^[-+]?[0-9_]+(?::[0-9_]+)+(?:\.[0-9_]*)?$/;

/**
 * A string as a plain, single-quoted, literal block or double-quoted scalar. A key never takes a
 * block: a key with a line break is double-quoted. (Native string searches, not a loop over the
 * characters: most of dist/ is in long strings, and they are scanned once, before any JIT.)
 */
function scalar(text: string, level: number, isKey: boolean): string {
  let out = oneLine.get(text);
  if (out !== undefined) return out;
  if (text.includes('\n')) return isKey || UNPRINTABLE.test(text) ? doubleQuoted(text) : literalBlock(text, level);
  out = oneLineScalar(text);
  if (text.length <= 128 && oneLine.size < 100_000) oneLine.set(text, out);
  return out;
}

/**
 * Short one-line strings already written, and how: keys and values repeat across objects (`name`,
 * `TCP`, label values), and a one-line string is written alike as a key or a value, at any level.
 */
const oneLine = new Map<string, string>();

function oneLineScalar(text: string): string {
  if (text.length === 0) return "''";
  if (YAML11_BOOLEANS.has(text) || SEXAGESIMAL.test(text)) return `'${text}'`;
  if (UNPRINTABLE.test(text)) return doubleQuoted(text);
  // "#" after a space starts a comment, ": " separates a key from its value.
  const plain = canStartPlain(text.codePointAt(0)!) && canEndPlain(text.charCodeAt(text.length - 1)) && !text.includes(' #') && !text.includes(': ');
  return plain && !readsAsOtherType(text) ? text : `'${text.replace(/'/g, "''")}'`;
}

/** A character other than a line feed that YAML does not print as it is (see printable). */
const UNPRINTABLE = /[^\n\x20-\x7e\xa1-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\u{10000}-\u{10ffff}]/u;

/** Characters YAML prints as they are (c-printable without tab, line breaks, NEL, NBSP, LS, PS, BOM). */
function printable(c: number): boolean {
  if (c <= 0x7e) return c >= 0x20;
  if (c <= 0xd7ff) return c >= 0xa1 && c !== 0x2028 && c !== 0x2029;
  if (c <= 0xfffd) return c >= 0xe000 && c !== 0xfeff;
  return c >= 0x10000 && c <= 0x10ffff;
}

const INDICATORS = new Set([...'-?:,[]{}#&*!|=>\'"%@`'].map((c) => c.charCodeAt(0)));
/** First character of a plain scalar: printable, no space and no indicator (`-?:,[]{}#&*!|=>'"%@` and backquote). */
function canStartPlain(c: number): boolean {
  return printable(c) && c !== SPACE && !INDICATORS.has(c);
}

/** Last character of a plain scalar: no space, tab or colon. */
function canEndPlain(c: number): boolean {
  return c !== SPACE && c !== 0x09 && c !== COLON;
}

/**
 * The types a plain scalar could be read as (null, bool, int, float, timestamp, merge): the list
 * js-yaml's dumper itself tests (js-yaml is pinned in package.json); only first characters are pre-checked here.
 */
const OTHER_TYPES = (yaml.DEFAULT_SCHEMA as unknown as { compiledImplicit: yaml.Type[] }).compiledImplicit;
if (!Array.isArray(OTHER_TYPES) || OTHER_TYPES.length === 0) throw new Error('js-yaml has no DEFAULT_SCHEMA.compiledImplicit; lib/yaml.ts needs its implicit types');
/** First characters of null (`~`, `null`), booleans, numbers (`.inf` too), timestamps and the merge key `<<`. */
const OTHER_TYPE_FIRST = new Set('~nNtTfF-+.0123456789<');

function readsAsOtherType(text: string): boolean {
  return OTHER_TYPE_FIRST.has(text[0]) && OTHER_TYPES.some((type) => type.resolve(text));
}

/** The start of each non-empty line (a literal block holds no line separator other than "\\n"). */
const LINE_START = /^(?=.)/gm;

/** `|` block: indentation indicator when the text starts with a space, chomping by its trailing line breaks. */
function literalBlock(text: string, level: number): string {
  let header = '|';
  if (/^\n* /.test(text)) header += '2';
  if (text.endsWith('\n')) {
    if (text === '\n' || text[text.length - 2] === '\n') header += '+';
  } else {
    header += '-';
  }
  // Every non-empty line indented; the text's own final line break is the one the enclosing
  // document writes after the value.
  const body = text.replace(LINE_START, '  '.repeat(Math.max(1, level)));
  return header + '\n' + (body.endsWith('\n') ? body.slice(0, -1) : body);
}

const ESCAPES: Record<number, string> = {
  0x00: '\\0', 0x07: '\\a', 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0b: '\\v', 0x0c: '\\f', 0x0d: '\\r',
  0x1b: '\\e', 0x22: '\\"', 0x5c: '\\\\', 0x85: '\\N', 0xa0: '\\_', 0x2028: '\\L', 0x2029: '\\P',
};

function doubleQuoted(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.codePointAt(i)!;
    const escape = ESCAPES[c];
    if (escape !== undefined) out += escape;
    else if (printable(c)) out += String.fromCodePoint(c);
    else out += hexEscape(c);
    if (c >= 0x10000) i++;
  }
  return out + '"';
}

function hexEscape(c: number): string {
  const hex = c.toString(16).toUpperCase();
  if (c <= 0xff) return '\\x' + hex.padStart(2, '0');
  if (c <= 0xffff) return '\\u' + hex.padStart(4, '0');
  return '\\U' + hex.padStart(8, '0');
}
