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
import { deepMerge, isPlainObject } from './merge';
import { crossCheck, nodeSchema, PlatformConfig, platformConfigSchema } from './schema';

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
    throw new ConfigError(source, [{ key: '(root)', value: overrides, message: 'must be a mapping of keys to values' }]);
  }
  return parseConfig({ ...withDefaults(overrides), name: env }, source);
}

/**
 * `overrides` over the defaults of its node shape: defaults ← sizing.ts (from `node`) ← overrides.
 * A `node` that does not parse falls back to the default node here; the schema then reports it.
 */
export function withDefaults(overrides: Record<string, unknown>): Record<string, unknown> {
  const node = nodeSchema.safeParse(deepMerge(DEFAULTS.node, overrides.node));
  return deepMerge(node.success ? defaultsFor(node.data) : DEFAULTS, overrides);
}

/** Validates an already merged configuration object (used by loadConfig and by tests). */
export function parseConfig(raw: Record<string, unknown>, source: string): PlatformConfig {
  const expanded = expandDomain(raw, typeof raw.domain === 'string' ? raw.domain : '');
  const result = platformConfigSchema.safeParse(expanded);
  const issues = result.success ? crossCheck(result.data) : result.error.issues;
  if (result.success && issues.length === 0) return result.data;
  const problems: ConfigProblem[] = issues.flatMap((issue) => {
    const at = issue.path as PropertyKey[];
    if ('code' in issue && issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        key: [...at, key].map(String).join('.'),
        value: valueAt(expanded, [...at, key]),
        message: 'is not a known setting; fix: remove it or correct the spelling',
      }));
    }
    // Whatever sits under encryptedData may be a plain value pasted by mistake: never echo it.
    const value = at.includes('encryptedData') ? '(not shown)' : valueAt(expanded, at);
    return [{ key: at.map(String).join('.') || '(root)', value, message: issue.message }];
  });
  throw new ConfigError(source, problems);
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
