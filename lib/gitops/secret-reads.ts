/**
 * Every Secret a rendered object reads (env, envFrom, volumes, projected volumes, wherever they are
 * nested, Helm values included): the scan under the declaration check (secret-references.ts) and
 * the producers' check (secret-producers.ts), apart from both so that neither imports the other.
 */
export interface SecretReference {
  readonly namespace: string;
  readonly name: string;
  /** The key read; undefined when the whole Secret is read (envFrom, a volume without items). */
  readonly key?: string;
  /** The object that reads it, e.g. `StatefulSet data/postgres-primary`. */
  readonly from: string;
}

/** Every Secret reference inside one rendered object. */
export function findSecretReferences(object: any): SecretReference[] {
  const namespace: string | undefined = object.kind === 'Application' ? object.spec?.destination?.namespace : object.metadata?.namespace;
  if (namespace === undefined) return [];
  const from = `${object.kind} ${namespace}/${object.metadata?.name}`;
  const found: SecretReference[] = [];
  const add = (name: unknown, key?: unknown) => {
    if (typeof name === 'string') found.push({ namespace, name, key: typeof key === 'string' ? key : undefined, from });
  };
  // Called on objects and arrays only (every string of every object would be a call); one pass
  // over a map's keys finds the fields that can name a Secret.
  const visit = (node: object): void => {
    if (Array.isArray(node)) {
      for (const item of node) if (typeof item === 'object' && item !== null) visit(item);
      return;
    }
    const n = node as Record<string, unknown>;
    let env: unknown, envFrom: unknown, volumes: unknown;
    for (const key in n) {
      if (key === 'env') env = n[key];
      else if (key === 'envFrom') envFrom = n[key];
      else if (key === 'volumes') volumes = n[key];
    }
    if (Array.isArray(env)) for (const e of env) add(e?.valueFrom?.secretKeyRef?.name, e?.valueFrom?.secretKeyRef?.key);
    if (Array.isArray(envFrom)) for (const e of envFrom) add(e?.secretRef?.name);
    if (Array.isArray(volumes)) {
      for (const v of volumes) {
        const secrets = [v?.secret && { name: v.secret.secretName, items: v.secret.items }, ...(v?.projected?.sources ?? []).map((s: any) => s?.secret)];
        for (const s of secrets.filter(Boolean)) {
          if (Array.isArray(s.items) && s.items.length > 0) s.items.forEach((i: any) => add(s.name, i?.key));
          else add(s.name);
        }
      }
    }
    for (const key in n) {
      const value = n[key];
      if (typeof value === 'object' && value !== null) visit(value);
    }
  };
  visit(object);
  return found;
}
