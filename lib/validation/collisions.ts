/**
 * Objects of environments that share one cluster (cluster.sharedWith) must not meet there: no two
 * with the same kind, namespace and name (Argo CD Applications included), no two cluster-scoped ones
 * with the same kind and name, no host routed or certified by both.
 */
import * as yaml from 'js-yaml';

/** One environment's rendered files (dist-relative path → YAML text). */
export interface RenderedEnvironment {
  readonly name: string;
  readonly files: ReadonlyMap<string, string>;
}

/** What two environments of one cluster would both claim, one line each. */
export function clusterCollisions(environments: readonly RenderedEnvironment[]): string[] {
  const claimed = new Map<string, string>();
  const problems: string[] = [];
  for (const env of environments) {
    const own = new Set<string>();
    for (const [file, text] of env.files) {
      const object = yaml.load(text) as any;
      for (const claim of claims(object)) {
        if (own.has(claim)) continue;
        own.add(claim);
        const other = claimed.get(claim);
        if (other !== undefined) problems.push(`${claim} is in ${other} and in ${env.name} (${file})`);
        else claimed.set(claim, env.name);
      }
    }
  }
  return problems;
}

/** The names an object takes in its cluster. */
export function claims(object: any): string[] {
  if (!object?.kind || !object.metadata?.name) return [];
  const group = String(object.apiVersion ?? '').includes('/') ? String(object.apiVersion).split('/')[0] : 'core';
  const id = object.metadata.namespace
    ? `${object.kind}.${group} ${object.metadata.namespace}/${object.metadata.name}`
    : `cluster-scoped ${object.kind}.${group} ${object.metadata.name}`;
  return [id, ...hostsOf(object).map((host) => `host ${host}`)];
}

/** Hosts an Ingress or HTTPRoute routes, or a Certificate is issued for. */
function hostsOf(object: any): string[] {
  const spec = object.spec ?? {};
  if (object.kind === 'Ingress') return (spec.rules ?? []).map((r: any) => r.host).filter(Boolean);
  if (object.kind === 'HTTPRoute') return spec.hostnames ?? [];
  if (object.kind === 'Certificate') return spec.dnsNames ?? [];
  return [];
}
