/**
 * Reads docker-compose files as the Compose specification defines them: several files merged in
 * order (services by name; mappings key by key, `ports`/`volumes`/`expose` appended, scalars and
 * `command`/`entrypoint` replaced), `environment` as a list or a map, `${VAR}` interpolation with
 * its `:-`/`-`/`:?`/`?`/`:+`/`+` forms and `$$` escapes, and `extends` (resolved, and reported).
 * Values are never read from the shell or a `.env` file: a variable the caller does not pass stays
 * unresolved and is reported, so a credential never travels from the compose stack into git.
 */
import * as fs from 'fs';
import * as path from 'path';
import YAML from 'yaml';

/** The outcome of interpolating one string. */
export interface Interpolated {
  /** The text with every resolvable variable replaced (an unresolved one is left as `${NAME}`). */
  readonly text: string;
  /** Variables that had neither a value nor a default. */
  readonly unresolved: string[];
  /** Variables that were replaced by their `:-` / `-` default. */
  readonly defaulted: string[];
  /** Every variable named (resolved or not). */
  readonly names: string[];
  /** Expressions that are not Compose syntax (`${VAR#pattern}` is a shell feature Compose refuses). */
  readonly invalid: string[];
}

/**
 * Compose interpolation of `text` with `vars` (compose spec, "Interpolation"): `$$` is a literal `$`,
 * `${NAME}`, `$NAME`, `${NAME:-default}` (unset or empty), `${NAME-default}` (unset),
 * `${NAME:?error}`/`${NAME?error}` (required), `${NAME:+replacement}`/`${NAME+replacement}`.
 * Defaults may themselves hold interpolations.
 */
export function interpolate(text: string, vars: ReadonlyMap<string, string>): Interpolated {
  const result: Interpolated = { text: '', unresolved: [], defaulted: [], names: [], invalid: [] };
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c !== '$') {
      out.push(c);
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out.push('$');
      i += 2;
      continue;
    }
    if (next === '{') {
      // Find the matching brace (defaults may nest ${...}).
      let depth = 1;
      let j = i + 2;
      while (j < text.length && depth > 0) {
        if (text[j] === '{') depth++;
        else if (text[j] === '}') depth--;
        if (depth > 0) j++;
      }
      if (depth > 0) {
        result.invalid.push(text.slice(i));
        out.push(text.slice(i));
        break;
      }
      const body = text.slice(i + 2, j);
      out.push(expand(body, vars, result));
      i = j + 1;
      continue;
    }
    const bare = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
    if (bare) {
      out.push(expand(bare[0], vars, result));
      i += 1 + bare[0].length;
      continue;
    }
    out.push('$');
    i++;
  }
  return { ...result, text: out.join('') };
}

function expand(body: string, vars: ReadonlyMap<string, string>, result: Interpolated): string {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(body);
  if (!match) {
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(body)?.[0];
    result.invalid.push(`\${${body}}`);
    if (name) {
      result.names.push(name);
      result.unresolved.push(name);
    }
    return `\${${name ?? body}}`;
  }
  const [, name, op, arg = ''] = match;
  result.names.push(name);
  const value = vars.get(name);
  const set = value !== undefined;
  const nonEmpty = set && value !== '';
  const nested = () => {
    const inner = interpolate(arg, vars);
    result.unresolved.push(...inner.unresolved);
    result.defaulted.push(...inner.defaulted);
    result.names.push(...inner.names);
    result.invalid.push(...inner.invalid);
    return inner.text;
  };
  switch (op) {
    case ':-':
    case '-':
      if (op === ':-' ? nonEmpty : set) return value!;
      result.defaulted.push(name);
      return nested();
    case ':+':
    case '+':
      return (op === ':+' ? nonEmpty : set) ? nested() : '';
    case ':?':
    case '?':
    case undefined:
    default:
      if (set) return value!;
      result.unresolved.push(name);
      return `\${${name}}`;
  }
}

/** One `environment` entry: the literal as written (before interpolation) or no value at all (`- NAME`). */
export interface EnvEntry {
  readonly raw: string | undefined;
}

/** A service after merging and `extends`, with its fields as the compose file wrote them (raw, not interpolated). */
export interface ComposeService {
  readonly name: string;
  /** Files that define it, in merge order. */
  readonly files: string[];
  readonly spec: Record<string, any>;
  readonly environment: Map<string, EnvEntry>;
  /** `extends` it had, as text (reported). */
  readonly extendsFrom?: string;
}

export interface ComposeProject {
  readonly files: string[];
  readonly services: Map<string, ComposeService>;
  /** Named volumes declared at the top level. */
  readonly volumes: string[];
  /** Top-level keys the importer does not use (networks, secrets, configs, x-*). */
  readonly otherTopLevel: { key: string; file: string }[];
  /** Problems of the files themselves (unreadable `extends`, unknown forms). */
  readonly notes: string[];
}

/** Reads and merges compose files in order (the later overrides the earlier, as `docker compose -f a -f b`). */
export function loadCompose(files: readonly string[]): ComposeProject {
  const services = new Map<string, ComposeService>();
  const volumes = new Set<string>();
  const otherTopLevel: { key: string; file: string }[] = [];
  const notes: string[] = [];
  for (const file of files) {
    const doc = readYaml(file);
    for (const [key, value] of Object.entries(doc)) {
      if (key === 'services' || key === 'version' || key === 'name') continue;
      if (key === 'volumes' && isMap(value)) Object.keys(value).forEach((v) => volumes.add(v));
      else otherTopLevel.push({ key, file });
    }
    const own = isMap(doc.services) ? doc.services : {};
    for (const [name, raw] of Object.entries(own)) {
      const spec = isMap(raw) ? raw : {};
      let resolved = spec;
      let extendsFrom: string | undefined;
      if (spec.extends !== undefined) {
        const ext = typeof spec.extends === 'string' ? { service: spec.extends } : spec.extends;
        extendsFrom = `${ext.file ? `${ext.file}:` : ''}${ext.service}`;
        const base = extendedService(file, ext, own, notes, name);
        const { extends: _ignored, ...rest } = spec;
        resolved = base ? mergeService(base, rest) : rest;
      }
      const previous = services.get(name);
      const merged = previous ? mergeService(previous.spec, resolved) : resolved;
      services.set(name, {
        name,
        files: [...(previous?.files ?? []), file],
        spec: merged,
        environment: environmentOf(merged.environment),
        extendsFrom: extendsFrom ?? previous?.extendsFrom,
      });
    }
  }
  return { files: [...files], services, volumes: [...volumes], otherTopLevel, notes };
}

function readYaml(file: string): Record<string, any> {
  const text = fs.readFileSync(file, 'utf8');
  // Merge keys (<<: *anchor) are common in compose files (x- extension fields); Compose reads YAML 1.2 otherwise.
  const doc = YAML.parse(text, { merge: true, maxAliasCount: 10000 });
  if (!isMap(doc)) throw new Error(`${file}: is not a compose file (the top level must be a mapping with services:)`);
  return doc;
}

function extendedService(file: string, ext: { service: string; file?: string }, own: Record<string, any>, notes: string[], name: string): Record<string, any> | undefined {
  if (ext.file === undefined) {
    const base = own[ext.service];
    if (!isMap(base)) notes.push(`service ${name}: extends ${ext.service}, which this file does not define; its fields are left out`);
    return isMap(base) ? base : undefined;
  }
  const other = path.resolve(path.dirname(file), ext.file);
  if (!fs.existsSync(other)) {
    notes.push(`service ${name}: extends ${ext.service} of ${ext.file}, which is not here (${other}); its fields are left out: pass that file too or copy them`);
    return undefined;
  }
  const base = readYaml(other).services?.[ext.service];
  if (!isMap(base)) notes.push(`service ${name}: extends ${ext.service}, which ${ext.file} does not define`);
  return isMap(base) ? base : undefined;
}

/** Keys whose lists are appended when files merge (compose spec, "Merge"); every other list is replaced. */
const APPENDED = new Set(['ports', 'expose', 'volumes', 'env_file', 'dns', 'extra_hosts', 'cap_add', 'cap_drop', 'devices', 'secrets', 'configs']);
/** Keys that are one command each, replaced as a whole. */
const REPLACED = new Set(['command', 'entrypoint', 'healthcheck.test']);

function mergeService(base: Record<string, any>, over: Record<string, any>, at = ''): Record<string, any> {
  const out: Record<string, any> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const keyPath = at ? `${at}.${key}` : key;
    const old = out[key];
    if (key === 'environment' && at === '') {
      out[key] = Object.fromEntries([...environmentOf(old), ...environmentOf(value)].map(([k, v]) => [k, v.raw ?? null]));
    } else if (key === 'depends_on' && at === '') {
      out[key] = [...new Set([...dependsOn(old), ...dependsOn(value)])];
    } else if (REPLACED.has(keyPath)) {
      out[key] = value;
    } else if (Array.isArray(old) && Array.isArray(value) && APPENDED.has(keyPath)) {
      out[key] = [...old, ...value];
    } else if (isMap(old) && isMap(value)) {
      out[key] = mergeService(old, value, keyPath);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** `environment` as a list (`KEY=VALUE`, `KEY`) or a map (`KEY: VALUE`, `KEY:` without value). */
export function environmentOf(value: unknown): Map<string, EnvEntry> {
  const env = new Map<string, EnvEntry>();
  if (Array.isArray(value)) {
    for (const item of value) {
      const text = String(item);
      const eq = text.indexOf('=');
      if (eq < 0) env.set(text.trim(), { raw: undefined });
      else env.set(text.slice(0, eq).trim(), { raw: text.slice(eq + 1) });
    }
  } else if (isMap(value)) {
    for (const [k, v] of Object.entries(value)) env.set(k, { raw: v === null || v === undefined ? undefined : String(v) });
  }
  return env;
}

/** `depends_on` as a list or a map of conditions: the service names. */
export function dependsOn(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (isMap(value)) return Object.keys(value);
  return [];
}

/** A command as Compose splits a string (shell-like words, quotes respected, no expansion). */
export function splitCommand(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map(String);
  const words: string[] = [];
  let word = '';
  let quote: string | undefined;
  let started = false;
  const text = String(value);
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) word += text[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      started = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      started = true;
    } else if (/\s/.test(c)) {
      if (started) words.push(word);
      word = '';
      started = false;
    } else {
      word += c;
      started = true;
    }
  }
  if (started) words.push(word);
  return words;
}

/** Compose byte values (`512m`, `1g`, `2gb`, `300M`, plain bytes): powers of 1024. */
export function composeBytes(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(String(value ?? '').trim());
  if (!match) return undefined;
  const power = ['', 'k', 'm', 'g', 't'].indexOf(match[2].toLowerCase());
  return Number(match[1]) * 1024 ** power;
}

/** Compose durations (`30s`, `1m30s`, `1h`, `500ms`) in seconds. */
export function composeSeconds(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  const text = String(value ?? '').trim();
  if (text === '') return undefined;
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6, ns: 1e-9 };
  let total = 0;
  let rest = text;
  while (rest.length > 0) {
    const match = /^(\d+(?:\.\d+)?)(h|ms|us|ns|m|s)/.exec(rest);
    if (!match) return undefined;
    total += Number(match[1]) * units[match[2]];
    rest = rest.slice(match[0].length);
  }
  return total;
}

export function isMap(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
