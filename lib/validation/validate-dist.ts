/** Validates every YAML document under a folder against each Kubernetes version's catalog. */
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { SUPPORTED_KUBERNETES } from '../config/helm';
import { loadCatalog } from './schema-catalog';

const compareVersions = (a: string, b: string): number => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
};
import { Problem, validateObject } from './validate-object';

/**
 * The schemas dist/ is validated against: every reference schema from the supported minimum on
 * (lib/config/helm.ts SUPPORTED_KUBERNETES; older clusters are not supported, so their schema is not a test).
 */
export const KUBERNETES_VERSIONS: readonly string[] = SUPPORTED_KUBERNETES.referenceSchemas.filter((v) => compareVersions(v, SUPPORTED_KUBERNETES.minimum) >= 0);

export interface ObjectProblem extends Problem {
  readonly kubernetesVersion: string;
  readonly file: string;
  readonly object: string;
}

export interface DistReport {
  readonly objects: number;
  readonly kinds: Map<string, number>;
  readonly problems: ObjectProblem[];
}

export function listYamlFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return listYamlFiles(full);
      return /\.ya?ml$/.test(e.name) ? [full] : [];
    });
}

export function loadDocuments(dir: string): { file: string; object: any }[] {
  return listYamlFiles(dir).flatMap((file) =>
    yaml
      .loadAll(fs.readFileSync(file, 'utf8'))
      .filter((doc) => doc !== null && doc !== undefined)
      .map((object) => ({ file, object })),
  );
}

export function validateDist(distDir: string, referenceDir: string, versions = KUBERNETES_VERSIONS): DistReport {
  const documents = loadDocuments(distDir);
  const kinds = new Map<string, number>();
  for (const { object } of documents) {
    const key = `${object?.apiVersion} ${object?.kind}`;
    kinds.set(key, (kinds.get(key) ?? 0) + 1);
  }
  const problems: ObjectProblem[] = [];
  for (const kubernetesVersion of versions) {
    const catalog = loadCatalog(referenceDir, kubernetesVersion);
    for (const { file, object } of documents) {
      const name = `${object?.kind}/${object?.metadata?.namespace ? `${object.metadata.namespace}/` : ''}${object?.metadata?.name}`;
      for (const problem of validateObject(catalog, object)) {
        problems.push({ ...problem, kubernetesVersion, file: path.relative(distDir, file), object: name });
      }
    }
  }
  return { objects: documents.length, kinds, problems };
}

export function formatReport(report: DistReport): string {
  const lines = report.problems.map((p) => `  ✗ [k8s ${p.kubernetesVersion}] ${p.file} ${p.object}: ${p.path || '(object)'} ${p.message}`);
  const kinds = [...report.kinds].sort().map(([k, n]) => `    ${String(n).padStart(4)}  ${k}`);
  return [
    ...lines,
    `validated ${report.objects} objects of ${report.kinds.size} kinds against Kubernetes ${KUBERNETES_VERSIONS.join(' and ')} + reference CRDs (strict)`,
    ...kinds,
    `problems: ${report.problems.length}`,
  ].join('\n');
}
