/** The one merge rule of the configuration: objects merge key by key; arrays and scalars from `override` replace. */
export function deepMerge(base: unknown, override: unknown): any {
  if (isPlainObject(base) && isPlainObject(override)) {
    const out: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(override)) out[key] = deepMerge(base[key], value);
    return out;
  }
  return override === undefined ? base : override;
}

export function isPlainObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
