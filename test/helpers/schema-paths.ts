/**
 * Does a dotted config key (`postgres.replicas`, `apps.<app>.replicas.max`, `monitoring.alertmanager.receivers.0.to`)
 * exist in the zod schema? Walks zod 4's definitions: objects by their shape, records and arrays by their
 * element (any key, `<placeholder>` or index), wrappers (optional, default, pipe, ...) by their inner type,
 * unions by any option.
 */
import { platformConfigSchema } from '../../lib/config/schema';

type Def = { type: string; [k: string]: any };
const defOf = (schema: any): Def | undefined => schema?._zod?.def;

/** The schemas a wrapper stands for (itself when it is not a wrapper). */
function unwrap(schema: any, seen = new Set<any>()): any[] {
  const def = defOf(schema);
  if (!def || seen.has(schema)) return [];
  seen.add(schema);
  switch (def.type) {
    case 'optional': case 'nullable': case 'default': case 'prefault': case 'readonly': case 'catch': case 'nonoptional': case 'success':
      return unwrap(def.innerType, seen);
    case 'pipe':
      return [...unwrap(def.in, seen), ...unwrap(def.out, seen)];
    case 'lazy':
      return unwrap(def.getter(), seen);
    case 'union':
      return def.options.flatMap((o: any) => unwrap(o, seen));
    case 'intersection':
      return [...unwrap(def.left, seen), ...unwrap(def.right, seen)];
    default:
      return [schema];
  }
}

const isPlaceholder = (segment: string): boolean => /^<[^>]+>$/.test(segment) || segment === '*';

/** The child schemas of `schema` at `segment`. */
function children(schema: any, segment: string): any[] {
  return unwrap(schema).flatMap((s) => {
    const def = defOf(s)!;
    if (def.type === 'object') {
      const shape = typeof def.shape === 'function' ? def.shape() : def.shape;
      if (isPlaceholder(segment)) return Object.values(shape);
      return segment in shape ? [shape[segment]] : [];
    }
    if (def.type === 'record') return [def.valueType];
    if (def.type === 'array') return isPlaceholder(segment) || /^\d+$/.test(segment) ? [def.element] : [];
    if (def.type === 'tuple') return /^\d+$/.test(segment) && def.items[Number(segment)] ? [def.items[Number(segment)]] : [];
    return [];
  });
}

export function schemaHasPath(key: string, schema: any = platformConfigSchema): boolean {
  let current: any[] = [schema];
  for (const segment of key.split('.')) {
    current = current.flatMap((s) => children(s, segment));
    if (current.length === 0) return false;
  }
  return true;
}

/** The top-level keys of the configuration (domain, node, postgres, ...). */
export function topLevelKeys(schema: any = platformConfigSchema): string[] {
  return unwrap(schema).flatMap((s) => {
    const def = defOf(s)!;
    return def.type === 'object' ? Object.keys(typeof def.shape === 'function' ? def.shape() : def.shape) : [];
  });
}
