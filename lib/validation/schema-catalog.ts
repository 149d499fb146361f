/**
 * Schemas for every kind the platform may emit: the Kubernetes OpenAPI definitions of one
 * version plus the upstream CRDs in ../shared/reference. Read-only reference data.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';

export type Schema = Record<string, any>;

export interface SchemaCatalog {
  /** e.g. "1.33.0" */
  readonly kubernetesVersion: string;
  /** Resolves `#/definitions/...` references of the Kubernetes definitions. */
  readonly definitions: Record<string, Schema>;
  /** "group/version/Kind" (group empty for core) → schema of the whole object. */
  readonly kinds: Map<string, Schema>;
}

export const gvkKey = (apiVersion: string, kind: string): string =>
  `${apiVersion.includes('/') ? apiVersion : `/${apiVersion}`}/${kind}`;

export function loadCatalog(referenceDir: string, kubernetesVersion: string): SchemaCatalog {
  const file = path.join(referenceDir, 'kubernetes', `v${kubernetesVersion}.json`);
  const definitions: Record<string, Schema> = JSON.parse(fs.readFileSync(file, 'utf8')).definitions;
  const kinds = new Map<string, Schema>();
  for (const schema of Object.values(definitions)) {
    for (const gvk of schema['x-kubernetes-group-version-kind'] ?? []) {
      const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
      kinds.set(gvkKey(apiVersion, gvk.kind), schema);
    }
  }
  for (const crd of readCrds(path.join(referenceDir, 'crds'))) {
    for (const version of crd.spec.versions ?? []) {
      const schema = version.schema?.openAPIV3Schema;
      if (!schema || version.served === false) continue;
      // A CRD schema leaves metadata open; hold it to ObjectMeta like the API server does.
      const strict = { ...schema, properties: { ...schema.properties, metadata: { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' } } };
      kinds.set(gvkKey(`${crd.spec.group}/${version.name}`, crd.spec.names.kind), strict);
    }
  }
  return { kubernetesVersion, definitions, kinds };
}

export function readCrds(dir: string): any[] {
  const out: any[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...readCrds(full));
    else if (/\.ya?ml$/.test(entry.name)) {
      for (const doc of yaml.loadAll(fs.readFileSync(full, 'utf8'))) {
        if ((doc as any)?.kind === 'CustomResourceDefinition') out.push(doc);
      }
    }
  }
  return out;
}
