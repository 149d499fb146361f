/** The reference files of the pinned Helm charts (../shared/reference/helm-values), for key checks. */
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { deepMerge } from '../../lib/config/load';
import { referenceDir } from '../../lib/project';

export const VALUES_DIR = path.join(referenceDir(), 'helm-values');

/** A values.yaml (or values.schema.json) of the reference, parsed; undefined when there is none. */
export function referenceFile(file: string): any {
  const at = path.join(VALUES_DIR, file);
  return fs.existsSync(at) ? yaml.load(fs.readFileSync(at, 'utf8')) : undefined;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Dotted paths of keys we set that the reference values.yaml does not have. Below a key whose
 * reference value is empty ({} or null) or a list, anything goes: those are free-form by design;
 * so is `resources`, a Kubernetes ResourceRequirements that the charts copy into the pod as is.
 */
export function unknownKeys(ours: unknown, ref: unknown, passthrough: ReadonlySet<string>, at = ''): string[] {
  if (!isMap(ours)) return [];
  if (!isMap(ref)) return ref === null || ref === undefined ? [] : [at || '(root)'];
  if (Object.keys(ref).length === 0) return [];
  return Object.entries(ours).flatMap(([key, value]) => {
    const p = at ? `${at}.${key}` : key;
    if (passthrough.has(p)) return [];
    if (!(key in ref)) return [p];
    if (key === 'resources') return [];
    return unknownKeys(value, ref[key], passthrough, p);
  });
}

/** Keys the charts' values.yaml cannot show, by chart (a new add-on needs an entry only when it has such keys). */
export const PASSTHROUGH: Record<string, { keys: string[]; why: string }> = {
  'kube-prometheus-stack': {
    keys: ['kube-state-metrics.resources', 'prometheus-node-exporter.resources', 'grafana.grafana.ini', 'alertmanager.alertmanagerSpec.configSecret'],
    why: 'two subcharts whose values.yaml is not in the reference (resources is a top-level key of both), Grafana\'s own ini file, and configSecret, commented out in values.yaml but read by the Alertmanager template',
  },
  loki: { keys: ['loki.limits_config', 'loki.storage.bucketNames'], why: 'Loki\'s own config block; bucketNames is a commented-out example in values.yaml' },
  'prometheus-blackbox-exporter': { keys: ['config'], why: 'blackbox.yml itself, checked by the real blackbox_exporter (monitoring.real.test.ts)' },
  'argo-cd': { keys: ['configs.cm'], why: 'any argocd-cm key' },
  traefik: { keys: ['service.spec.externalTrafficPolicy'], why: '`service.spec` is passed into the Service spec as it is (values.yaml shows only `type`)' },
  'sealed-secrets': { keys: ['containerSecurityContext.allowPrivilegeEscalation', 'containerSecurityContext.seccompProfile'], why: 'restricted-profile fields the chart passes through' },
};
/** kube-prometheus-stack passes `grafana:` to the grafana subchart, whose values.yaml is in the reference too. */
const SUBCHARTS: Record<string, (ref: any) => any> = {
  'kube-prometheus-stack': (ref) => ({ ...ref, grafana: deepMerge(referenceFile('grafana-12.11.1.values.yaml'), ref.grafana) }),
};

/** The values.yaml of an add-on's pinned chart, with its subcharts' values.yaml merged in where the reference has them. */
export function chartReference(addOn: { readonly chart: string; readonly version: string }): any {
  const ref = referenceFile(`${addOn.chart}-${addOn.version}.values.yaml`);
  return ref && SUBCHARTS[addOn.chart] ? SUBCHARTS[addOn.chart](ref) : ref;
}
