/**
 * loadConfig(env): defaults ← environments/<env>.yaml, then strict validation.
 * Pure apart from reading the environment file: nothing here reads process.env.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { findProjectRoot } from '../project';
import { DEFAULTS, defaultsFor } from './defaults';
import { ConfigError, ConfigProblem } from './errors';
import { aliasProblems, nonAsciiKeyProblems } from './input-guards';
import { placeholderProblems, placeholdersFail } from './placeholders';
import { prefixedNamespaces } from './shared-cluster';
import { deepMerge, isPlainObject } from './merge';
import { derivedSecrets } from './derived-secrets';
import { crossCheck, looksLikeCredential, nodeSchema, PlatformConfig, platformConfigSchema } from './schema';
import { withoutUrlPassword } from './fields';
import { SERVICES } from '../services/registry';

export { deepMerge };

/** lib/config/environments in the source tree (also when running from the compiled build/). */
export const ENVIRONMENTS_DIR = path.join(findProjectRoot(__dirname), 'lib', 'config', 'environments');

export interface LoadConfigOptions {
  /**
   * Folder that holds the `<env>.yaml` files.
   * @default ENVIRONMENTS_DIR
   */
  readonly environmentsDir?: string;
}

/** Environment names, one per `<env>.yaml` file, sorted. */
export function listEnvironments(environmentsDir: string = ENVIRONMENTS_DIR): string[] {
  return fs
    .readdirSync(environmentsDir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

export function loadConfig(env: string, options: LoadConfigOptions = {}): PlatformConfig {
  const file = path.join(options.environmentsDir ?? ENVIRONMENTS_DIR, `${env}.yaml`);
  const source = path.relative(process.cwd(), file) || file;
  if (!fs.existsSync(file)) {
    throw new ConfigError(source, [{ key: '(file)', value: env, message: `no such environment; fix: create ${source}` }]);
  }
  let overrides: unknown;
  try {
    overrides = yaml.load(fs.readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    throw new ConfigError(source, [{ key: '(yaml)', value: undefined, message: `${(err as Error).message}; fix: correct the YAML syntax` }]);
  }
  if (!isPlainObject(overrides)) {
    throw new ConfigError(source, [{ key: '(root)', value: overrides, message: 'must be a mapping of keys to values; fix: start the file with a key like "domain: example.com"' }]);
  }
  // Before anything walks the file: a bounded size (YAML aliases) and plain-ASCII keys.
  const aliases = aliasProblems(overrides);
  if (aliases.length > 0) throw new ConfigError(source, aliases);
  const keys = nonAsciiKeyProblems(overrides);
  if (keys.length > 0) throw new ConfigError(source, keys);
  const merged = withDefaults(overrides);
  const primary = sharedClusterPrimary(overrides, env, options.environmentsDir ?? ENVIRONMENTS_DIR, source);
  if (primary !== undefined) {
    merged.namespaces = deepMerge(prefixedNamespaces(env), overrides.namespaces);
    // The primary's Traefik and Prometheus serve and scrape this environment too.
    merged.cluster = deepMerge({ edgeNamespace: primary.namespaces.edge, monitoringNamespace: primary.namespaces.monitoring }, merged.cluster);
  }
  const config = parseConfig({ ...merged, name: env }, source, { written: overrides });
  SOURCES.set(config, source);
  // Sample values left in the file: refused for production, a warning otherwise (placeholders.ts).
  const placeholders = placeholderProblems(config, (at) => hasPath(overrides, [...at]));
  if (placeholders.length > 0 && placeholdersFail(config.stage)) throw new ConfigError(source, [...placeholders, STAGE_HINT]);
  PLACEHOLDERS.set(config, placeholders);
  return config;
}

/** The environment `cluster.sharedWith` names, checked to exist and to run its own cluster. */
function sharedClusterPrimary(overrides: Record<string, unknown>, env: string, environmentsDir: string, source: string): { name: string; namespaces: Record<string, string> } | undefined {
  const primary = isPlainObject(overrides.cluster) ? overrides.cluster.sharedWith : undefined;
  if (typeof primary !== 'string') return undefined;
  const problem = (message: string) => new ConfigError(source, [{ key: 'cluster.sharedWith', value: primary, message }]);
  if (primary === env) throw problem('names this environment itself; fix: name the environment whose cluster this one shares, or remove cluster.sharedWith');
  const file = path.join(environmentsDir, `${primary}.yaml`);
  if (!fs.existsSync(file)) throw problem(`names no environment (${path.relative(process.cwd(), file) || file} does not exist); fix: name one of ${listEnvironments(environmentsDir).join(', ')}`);
  const other = yaml.load(fs.readFileSync(file, 'utf8'));
  if (isPlainObject(other) && isPlainObject(other.cluster) && other.cluster.sharedWith !== undefined) {
    throw problem(`names ${primary}, which itself shares the cluster of ${String(other.cluster.sharedWith)}; fix: name the environment that owns the cluster`);
  }
  return { name: primary, namespaces: deepMerge(DEFAULTS.namespaces, isPlainObject(other) ? other.namespaces : undefined) };
}

const STAGE_HINT: ConfigProblem = {
  key: 'stage', value: 'production',
  message: 'refuses the sample values above (the default stage); fix: replace them, or set stage: development for an environment that is not production (they then only warn)',
};

const PLACEHOLDERS = new WeakMap<object, ConfigProblem[]>();

/** The sample values a loaded development or sample environment still holds (a production one holds none). */
export function placeholdersOf(config: PlatformConfig): readonly ConfigProblem[] {
  return PLACEHOLDERS.get(config) ?? [];
}

/**
 * `overrides` over the defaults of its node shape: defaults ← sizing.ts (from `node`) ← overrides.
 * A `node` that does not parse falls back to the default node here; the schema then reports it.
 */
export function withDefaults(overrides: Record<string, unknown>): Record<string, unknown> {
  const node = nodeSchema.safeParse(deepMerge(DEFAULTS.node, overrides.node));
  const defaults = node.success ? defaultsFor(node.data) : DEFAULTS;
  // Declarations that follow from the merged settings (derived-secrets.ts) sit between the defaults and the file.
  return withServiceSecrets(deepMerge(deepMerge(defaults, derivedSecrets(deepMerge(defaults, overrides))), overrides));
}

/**
 * The Secrets a built-in service declares while it is on (`<key>.enabled: true`; its section's
 * `secrets`, lib/services/registry.ts), under those the defaults and the file declare: the file may
 * seal or replace them. A service that is off declares none.
 */
function withServiceSecrets(merged: Record<string, unknown>): Record<string, unknown> {
  let secrets: Record<string, unknown> = {};
  for (const service of SERVICES) {
    const declared = (service.section as { readonly secrets?: Record<string, unknown> } | undefined)?.secrets;
    const section = merged[service.key];
    if (declared && isPlainObject(section) && section.enabled === true) secrets = deepMerge(secrets, declared);
  }
  return Object.keys(secrets).length === 0 ? merged : { ...merged, secrets: deepMerge(secrets, merged.secrets) };
}

/** The file each loaded configuration came from, for errors raised later (at render time). */
const SOURCES = new WeakMap<object, string>();

/** The environment file `config` was loaded from, as errors name it. */
export function configSource(config: PlatformConfig): string {
  return SOURCES.get(config) ?? path.join('lib', 'config', 'environments', `${config.name}.yaml`);
}

export interface ParseConfigOptions {
  /**
   * What the environment file itself set (before merging the defaults). An error on a key the file
   * does not set says that its value comes from lib/config/defaults.ts, and a rule comparing two keys
   * names the one the file sets.
   * @default everything counts as written in `source`
   */
  readonly written?: unknown;
}

/** Validates an already merged configuration object (used by loadConfig and by tests). */
export function parseConfig(raw: Record<string, unknown>, source: string, options: ParseConfigOptions = {}): PlatformConfig {
  const expanded = expandDomain(raw, typeof raw.domain === 'string' ? raw.domain : '');
  const result = platformConfigSchema.safeParse(expanded);
  const issues: { path: PropertyKey[]; message: string; related?: PropertyKey[][]; zod?: ZodIssue }[] = result.success
    ? crossCheck(result.data)
    : result.error.issues.map((issue) => ({ path: issue.path, message: issue.message, zod: issue }));
  if (result.success && issues.length === 0) return result.data;
  const written = (at: PropertyKey[]) => options.written === undefined || hasPath(options.written, at);
  const problems: ConfigProblem[] = issues.flatMap((issue) => {
    if (issue.zod?.code === 'unrecognized_keys') {
      return issue.zod.keys.map((key) => ({
        key: [...issue.path, key].map(String).join('.'),
        value: valueAt(expanded, [...issue.path, key]),
        message: 'is not a known setting; fix: remove it or correct the spelling',
      }));
    }
    // A rule over several keys names the one the file sets (the other may come from the defaults).
    const other = written(issue.path) ? undefined : issue.related?.find(written);
    const at = other ?? issue.path;
    // Whatever sits under encryptedData may be a plain value pasted by mistake: never echo it.
    const value = shownValue(at, at.includes('encryptedData') ? '(not shown)' : valueAt(expanded, at));
    let message = issue.zod ? explainZodIssue(issue.zod, value) : issue.message;
    if (other !== undefined) message += ` (compared with ${issue.path.map(String).join('.')} = ${JSON.stringify(valueAt(expanded, issue.path))} from lib/config/defaults.ts)`;
    const fromDefaults = other === undefined && value !== undefined && !written(at);
    return [{ key: at.map(String).join('.') || '(root)', value, message, ...(fromDefaults ? { origin: 'lib/config/defaults.ts' } : {}) }];
  });
  throw new ConfigError(source, problems);
}

type ZodIssue = NonNullable<ReturnType<typeof platformConfigSchema.safeParse>['error']>['issues'][number];

/**
 * Zod's own messages ("Invalid input: expected number, received string") become what is wrong,
 * the expected form and an example from the defaults; messages written in this project (lower
 * case, with their own fix) are kept.
 */
function explainZodIssue(issue: ZodIssue, value: unknown): string {
  if (!/^[A-Z]/.test(issue.message)) return issue.message;
  const at = issue.path;
  const name = String(at[at.length - 1] ?? 'value');
  const example = exampleAt(at);
  const like = example === undefined ? '' : `, like ${name}: ${flowYaml(example)}`;
  switch (issue.code) {
    case 'invalid_type': {
      const expected = describeType(issue.expected);
      if (value === undefined || value === null) {
        const parent = at.slice(0, -1).map(String).join('.');
        return `is required${value === null ? ' but empty' : ''}; fix: set it to ${expected}${parent ? ` under ${parent}` : ''}${like}`;
      }
      const got = typeOf(value);
      const unquote = issue.expected === 'number' && typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value));
      const quote = issue.expected === 'string' && (typeof value === 'number' || typeof value === 'boolean');
      const how = unquote ? `write it without quotes${like}` : quote ? `put it in quotes${like}` : `write ${expected}${like}`;
      return `must be ${expected}, not ${got}; fix: ${how}`;
    }
    case 'invalid_value': {
      const options = issue.values.map((v) => JSON.stringify(v)).join(', ');
      return `is not one of ${options}; fix: use one of them${like}`;
    }
    case 'too_small':
      return `is too small: it must be ${issue.inclusive === false ? 'more than' : 'at least'} ${String(issue.minimum)}${issue.origin === 'array' ? ' entries' : ''}; fix: use a larger value${like}`;
    case 'too_big':
      return `is too large: it must be ${issue.inclusive === false ? 'less than' : 'at most'} ${String(issue.maximum)}${issue.origin === 'array' ? ' entries' : ''}; fix: use a smaller value${like}`;
    case 'invalid_key': {
      const inner = issue.issues.map((i) => i.message).find((m) => /^[a-z]/.test(m) && m.includes('fix:'));
      return `is not a valid name here: "${name}" ${inner ?? 'is not allowed; fix: rename it'}`;
    }
    default:
      return `${issue.message}; fix: write ${like ? `it${like}` : 'a value of the documented form (lib/config/schema.ts)'}`;
  }
}

const TYPE_NAMES: Record<string, string> = {
  number: 'a number', string: 'a text (string)', boolean: 'true or false', object: 'a mapping of keys to values', array: 'a list', record: 'a mapping of keys to values',
};
const describeType = (expected: string): string => TYPE_NAMES[expected] ?? `a ${expected}`;

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'empty';
  const type = typeof value;
  return type === 'object' ? 'a mapping' : type === 'string' ? `the text ${JSON.stringify(value)}` : `the ${type} ${JSON.stringify(value)}`;
}

/**
 * An example value for `at` from the defaults: the same key, else the same key of the first entry
 * of a map keyed by name (apps, secrets, ...) or of a list.
 */
function exampleAt(at: PropertyKey[]): unknown {
  let node: any = DEFAULTS;
  for (const key of at) {
    if (node === null || typeof node !== 'object') return undefined;
    if (Array.isArray(node)) node = node[0];
    else if (key in node) node = node[key as string];
    else {
      const first = Object.values(node)[0];
      node = isPlainObject(first) ? first : undefined;
    }
  }
  return node;
}

function flowYaml(value: unknown): string {
  return yaml.dump(value, { flowLevel: 0, lineWidth: -1 }).trim();
}

/** True when `root` (what the file set) holds `at` or a list on the way to it (lists replace as a whole). */
function hasPath(root: unknown, at: PropertyKey[]): boolean {
  let node: any = root;
  for (const key of at) {
    if (Array.isArray(node)) return true;
    if (!isPlainObject(node) || !(String(key) in node)) return false;
    node = node[String(key)];
  }
  return true;
}


/**
 * The value an error shows: never a credential it refuses (a plain env value under a credential-looking
 * name, the password in a URL's user info).
 */
function shownValue(at: PropertyKey[], value: unknown): unknown {
  const name = String(at[at.length - 1]);
  if (at[0] === 'apps' && at[2] === 'env' && at.length === 4 && typeof value === 'string' && looksLikeCredential(name)) return '(not shown: a credential)';
  return typeof value === 'string' ? withoutUrlPassword(value) : value;
}

function expandDomain(value: unknown, domain: string): any {
  if (typeof value === 'string') return value.split('{domain}').join(domain);
  if (Array.isArray(value)) return value.map((v) => expandDomain(v, domain));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandDomain(v, domain)]));
  return value;
}

function valueAt(root: unknown, keys: PropertyKey[]): unknown {
  let node: any = root;
  for (const key of keys) {
    if (node === undefined || node === null) return undefined;
    node = node[key as any];
  }
  return node;
}

