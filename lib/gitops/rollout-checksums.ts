/**
 * Pods roll when the content of a ConfigMap or Secret they read changes: every Deployment,
 * StatefulSet and DaemonSet gets `checksum/config` on its pod template, a hash of what it reads
 * (ConfigMaps rendered by the platform, and the sealed values of the Secrets declared under
 * `secrets`). A Secret in `existing` mode has no content in git, so changing it out of band needs
 * `kubectl rollout restart`.
 *
 * A component whose server reloads some settings without a restart registers a fingerprint of the
 * settings that need one (`restartFingerprint`); then only those roll its pods (Postgres: see
 * lib/services/postgres/*, "restart vs reload").
 */
import { createHash } from 'crypto';
import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import { IConstruct } from 'constructs';

export const CHECKSUM_ANNOTATION = 'checksum/config';

const fingerprints = new WeakMap<IConstruct, string>();

/** Roll the readers of `configMap` only when `fingerprint` changes (not on every change of its data). */
export function restartFingerprint(configMap: IConstruct, fingerprint: string): void {
  fingerprints.set(configMap, fingerprint);
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/** Names of the ConfigMaps and Secrets one pod spec reads (volumes, projected volumes, env, envFrom). */
export function podSpecReads(spec: any): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const v of spec?.volumes ?? []) {
    if (v.configMap?.name) configMaps.add(v.configMap.name);
    if (v.secret?.secretName) secrets.add(v.secret.secretName);
    for (const s of v.projected?.sources ?? []) {
      if (s.configMap?.name) configMaps.add(s.configMap.name);
      if (s.secret?.name) secrets.add(s.secret.name);
    }
  }
  for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    for (const e of c.envFrom ?? []) {
      if (e.configMapRef?.name) configMaps.add(e.configMapRef.name);
      if (e.secretRef?.name) secrets.add(e.secretRef.name);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
      if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
    }
  }
  return { configMaps, secrets };
}

/**
 * Adds the checksum annotation to every workload of `charts` that reads a ConfigMap of the same
 * namespace (from any chart) or a Secret with content in git (`sealedContent(namespace, name)`).
 * Run once every chart is built, before anything renders.
 */
export function addRolloutChecksums(charts: readonly Chart[], sealedContent: (namespace: string, name: string) => unknown): void {
  const objects = charts.flatMap((c) => c.node.findAll().filter((n): n is ApiObject => n instanceof ApiObject));
  const configMaps = new Map<string, string>();
  for (const o of objects.filter((x) => x.kind === 'ConfigMap')) {
    const json = o.toJson();
    const content = fingerprints.get(o) ?? JSON.stringify({ data: json.data ?? {}, binaryData: json.binaryData ?? {} });
    configMaps.set(`${json.metadata?.namespace}/${json.metadata?.name}`, content);
  }
  for (const o of objects.filter((x) => WORKLOADS.has(x.kind))) {
    const json = o.toJson();
    const namespace = json.metadata?.namespace;
    const template = json.spec?.template;
    const reads = podSpecReads(template?.spec);
    const parts: string[] = [];
    for (const name of [...reads.configMaps].sort()) {
      const content = configMaps.get(`${namespace}/${name}`);
      if (content !== undefined) parts.push(`configmap/${name}=${content}`);
    }
    for (const name of [...reads.secrets].sort()) {
      const content = sealedContent(namespace, name);
      if (content !== undefined) parts.push(`secret/${name}=${JSON.stringify(content)}`);
    }
    if (parts.length === 0) continue;
    const hash = createHash('sha256').update(parts.join('\n')).digest('hex');
    if (template.metadata?.annotations === undefined) {
      if (template.metadata === undefined) o.addJsonPatch(JsonPatch.add('/spec/template/metadata', {}));
      o.addJsonPatch(JsonPatch.add('/spec/template/metadata/annotations', {}));
    }
    o.addJsonPatch(JsonPatch.add(`/spec/template/metadata/annotations/${CHECKSUM_ANNOTATION.replace('/', '~1')}`, hash));
  }
}
