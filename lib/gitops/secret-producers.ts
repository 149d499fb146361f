/**
 * Which Secrets the manifests themselves produce, and which Secrets the workloads read that nothing
 * produces: those must be the declared outside secrets (created out of band), and nothing else.
 *
 * Producers: a SealedSecret (its template name), a Certificate (`spec.secretName`), a Secret object, an
 * ExternalSecret backed by a generator (every `dataFrom` entry a `generatorRef`), and an ExternalSecret
 * copying, through a SecretStore of the Kubernetes provider, Secrets that are themselves produced, and
 * an object annotated `platform.io/produces-secrets` (a chart's hook Job or controller that creates
 * Secrets at run time, named by its add-on descriptor: lib/addons/addon.ts `runtimeSecrets`).
 */
import { PlatformConfig, SECRET_SCOPES, secretScopeNamespace } from '../config/schema';
import { findSecretReferences, SecretReference } from './secret-reads';

export interface ProducedSecret {
  readonly namespace: string;
  readonly name: string;
  /** The object that produces it, e.g. `ExternalSecret data/postgres-app`. */
  readonly by: string;
}

/**
 * On an object that creates Secrets at run time (a Helm hook Job, a controller): their names, comma
 * separated, in the object's namespace. Written by inline rendering from the add-on descriptor.
 */
export const PRODUCES_SECRETS_ANNOTATION = 'platform.io/produces-secrets';

const id = (namespace: string, name: string) => `${namespace}/${name}`;
const label = (o: any) => `${o.kind} ${o.metadata?.namespace}/${o.metadata?.name}`;

/** True when every entry of an ExternalSecret draws from a generator (no store at all). */
export function isGeneratorBacked(es: any): boolean {
  const from: any[] = es?.spec?.dataFrom ?? [];
  return (es?.spec?.data ?? []).length === 0 && from.length > 0 && from.every((d) => d?.sourceRef?.generatorRef?.kind !== undefined);
}

/** Every Secret the objects produce (copies only when their source is produced, transitively). */
export function producedSecrets(objects: readonly any[]): ProducedSecret[] {
  const produced = new Map<string, ProducedSecret>();
  const add = (namespace: string | undefined, name: string | undefined, o: any) => {
    if (namespace && name && !produced.has(id(namespace, name))) produced.set(id(namespace, name), { namespace, name, by: label(o) });
  };
  const externalSecrets: any[] = [];
  for (const o of objects) {
    const ns = o?.metadata?.namespace;
    if (o?.kind === 'SealedSecret') add(o.spec?.template?.metadata?.namespace ?? ns, o.spec?.template?.metadata?.name ?? o.metadata?.name, o);
    else if (o?.kind === 'Certificate' && o.apiVersion?.startsWith('cert-manager.io/')) add(ns, o.spec?.secretName, o);
    else if (o?.kind === 'Secret' && o.apiVersion === 'v1') add(ns, o.metadata?.name, o);
    else if (o?.kind === 'ExternalSecret' && o.apiVersion?.startsWith('external-secrets.io/')) externalSecrets.push(o);
    const runtime: unknown = o?.metadata?.annotations?.[PRODUCES_SECRETS_ANNOTATION];
    if (typeof runtime === 'string') for (const name of runtime.split(',').map((n) => n.trim()).filter(Boolean)) add(ns, name, o);
  }
  const targetOf = (es: any) => es.spec?.target?.name ?? es.metadata?.name;
  for (const es of externalSecrets.filter(isGeneratorBacked)) add(es.metadata?.namespace, targetOf(es), es);
  // Copies: the store's remote namespace must hold a produced Secret of every name the copy reads.
  const stores = new Map(objects.filter((o) => o?.kind === 'SecretStore').map((s) => [id(s.metadata?.namespace, s.metadata?.name), s]));
  const copies = externalSecrets.filter((es) => !isGeneratorBacked(es));
  for (let changed = true; changed;) {
    changed = false;
    for (const es of copies) {
      const ns = es.metadata?.namespace;
      if (produced.has(id(ns, targetOf(es)))) continue;
      const ref = es.spec?.secretStoreRef;
      const remote = ref?.kind === 'SecretStore' ? stores.get(id(ns, ref.name))?.spec?.provider?.kubernetes?.remoteNamespace : undefined;
      const keys: string[] = (es.spec?.data ?? []).map((d: any) => d?.remoteRef?.key);
      if (remote !== undefined && keys.length > 0 && (es.spec?.dataFrom ?? []).length === 0 && keys.every((k) => produced.has(id(remote, k)))) {
        add(ns, targetOf(es), es);
        changed = true;
      }
    }
  }
  return [...produced.values()];
}

export interface UnproducedSecret {
  readonly namespace: string;
  readonly name: string;
  /** Who reads it. */
  readonly from: string[];
}

/** Secrets read (by pod specs, Helm values, or `extra` references the scan cannot see) that no object produces. */
export function unproducedSecrets(objects: readonly any[], extra: readonly Omit<SecretReference, 'from'>[] = []): UnproducedSecret[] {
  const produced = new Set(producedSecrets(objects).map((p) => id(p.namespace, p.name)));
  const refs: SecretReference[] = [...objects.flatMap((o) => findSecretReferences(o)), ...extra.map((e) => ({ ...e, from: 'Platform.declaredSecrets' }))];
  const missing = new Map<string, UnproducedSecret>();
  for (const r of refs.filter((x) => !produced.has(id(x.namespace, x.name)))) {
    const entry = missing.get(id(r.namespace, r.name)) ?? { namespace: r.namespace, name: r.name, from: [] };
    if (!entry.from.includes(r.from)) entry.from.push(r.from);
    missing.set(id(r.namespace, r.name), entry);
  }
  return [...missing.values()].sort((a, b) => id(a.namespace, a.name).localeCompare(id(b.namespace, b.name)));
}

/**
 * The outside secrets of a config: the Secrets a person supplies (declared `existing`, or `sealed`:
 * a person sealed them), as `<namespace>/<name>`. Generated ones are the cluster's job.
 */
export function outsideSecrets(config: PlatformConfig): string[] {
  return SECRET_SCOPES.flatMap((role) => Object.entries(config.secrets[role])
    .filter(([, d]) => d.mode !== 'generated')
    .map(([name]) => id(secretScopeNamespace(config, role), name))).sort();
}
