/**
 * Strict structural validation of one object, as kubeconform -strict does: unknown fields
 * are errors, every kind needs a schema, types, enums, required fields and patterns hold.
 */
import { gvkKey, Schema, SchemaCatalog } from './schema-catalog';

export interface Problem {
  /** JSON path inside the object, e.g. spec.template.spec.containers[0].image */
  readonly path: string;
  readonly message: string;
}

export function validateObject(catalog: SchemaCatalog, object: any): Problem[] {
  if (typeof object !== 'object' || object === null) return [{ path: '', message: 'is not an object' }];
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    return [{ path: '', message: 'has no apiVersion/kind' }];
  }
  const schema = catalog.kinds.get(gvkKey(apiVersion, kind));
  if (!schema) {
    return [{ path: '', message: `no schema for ${apiVersion} ${kind} in Kubernetes ${catalog.kubernetesVersion} or the reference CRDs` }];
  }
  const problems: Problem[] = [];
  if (!object.metadata?.name) problems.push({ path: 'metadata.name', message: 'is required' });
  check(catalog, schema, object, '', problems);
  return problems;
}

function resolve(catalog: SchemaCatalog, schema: Schema): Schema {
  let current = schema;
  for (let depth = 0; current.$ref && depth < 20; depth++) {
    const name = String(current.$ref).replace('#/definitions/', '');
    const target = catalog.definitions[name];
    if (!target) throw new Error(`unresolvable $ref ${current.$ref}`);
    current = target;
  }
  return current;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Number.isInteger(value)) return 'integer';
  return typeof value;
}

function check(catalog: SchemaCatalog, raw: Schema, value: unknown, at: string, problems: Problem[]): void {
  const schema = resolve(catalog, raw);
  const fail = (message: string) => problems.push({ path: at, message });

  if (value === null && schema.nullable) return;
  if (schema['x-kubernetes-int-or-string']) {
    if (typeof value !== 'string' && !Number.isInteger(value)) fail(`must be an integer or a string, got ${typeOf(value)}`);
    return;
  }
  for (const combinator of ['oneOf', 'anyOf'] as const) {
    if (!schema[combinator]) continue;
    const matches = schema[combinator].filter((branch: Schema) => {
      const trial: Problem[] = [];
      check(catalog, branch, value, at, trial);
      return trial.length === 0;
    }).length;
    if (matches === 0 || (combinator === 'oneOf' && matches > 1 && !isTypeUnion(schema.oneOf))) {
      fail(`matches ${matches} of the ${combinator} alternatives`);
      return;
    }
  }
  for (const branch of schema.allOf ?? []) check(catalog, branch, value, at, problems);

  const type = schema.type;
  if (type) {
    const actual = typeOf(value);
    const ok = actual === type || (type === 'number' && actual === 'integer');
    if (!ok) {
      fail(`must be ${type}, got ${actual}${actual === 'string' || actual === 'number' ? ` ${JSON.stringify(value)}` : ''}`);
      return;
    }
  }
  if (schema.enum && !schema.enum.some((e: unknown) => e === value)) {
    fail(`must be one of ${schema.enum.map((e: unknown) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(value)}`);
  }
  if (typeof value === 'string') checkString(schema, value, fail);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) fail(`must be ≥ ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) fail(`must be ≤ ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) fail(`needs at least ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) fail(`allows at most ${schema.maxItems} items`);
    if (schema.items) value.forEach((item, i) => check(catalog, schema.items, item, `${at}[${i}]`, problems));
  }
  if (typeOf(value) === 'object') checkObject(catalog, schema, value as Record<string, unknown>, at, problems);
}

function checkString(schema: Schema, value: string, fail: (m: string) => void): void {
  if (schema.maxLength !== undefined && value.length > schema.maxLength) fail(`is longer than ${schema.maxLength} characters`);
  if (schema.minLength !== undefined && value.length < schema.minLength) fail(`is shorter than ${schema.minLength} characters`);
  if (schema.pattern) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(schema.pattern, 'u');
    } catch {
      re = undefined; // a Go-only regex construct: the API server checks it, we cannot
    }
    if (re && !re.test(value)) fail(`does not match ${schema.pattern}`);
  }
}

function checkObject(catalog: SchemaCatalog, schema: Schema, value: Record<string, unknown>, at: string, problems: Problem[]): void {
  for (const key of schema.required ?? []) {
    if (value[key] === undefined) problems.push({ path: join(at, key), message: 'is required' });
  }
  const props: Record<string, Schema> | undefined = schema.properties;
  const extra = schema.additionalProperties;
  for (const [key, child] of Object.entries(value)) {
    const where = join(at, key);
    if (props?.[key]) check(catalog, props[key], child, where, problems);
    else if (typeof extra === 'object') check(catalog, extra, child, where, problems);
    else if (extra === true || schema['x-kubernetes-preserve-unknown-fields']) continue;
    // Strict: an object schema that lists its properties admits no others.
    else if (props || extra === false) problems.push({ path: where, message: 'is not a known field' });
  }
}

const isTypeUnion = (branches: Schema[]) => branches.every((b) => Object.keys(b).length === 1 && b.type);

const join = (at: string, key: string) => (at ? `${at}.${key}` : key);
