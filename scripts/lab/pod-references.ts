/**
 * Which ConfigMaps and Secrets the pods of synthesized workloads read, and how: the references the
 * kubelet resolves before a pod starts (scripts/lab/kubelet.ts mirrors it). A mounted volume (secret,
 * configMap, or a projected source) is set up before the sandbox exists, so a missing object keeps
 * the pod ContainerCreating with FailedMount; env (`valueFrom.secretKeyRef`/`configMapKeyRef`) and
 * `envFrom` are resolved per container, so a missing object holds that container in
 * CreateContainerConfigError. Optional references and volumes no container mounts block nothing.
 *
 * lib/gitops/rollout-checksums.ts `podSpecReads` lists the names a pod spec reads (for the rollout
 * hash) and lib/gitops/secret-references.ts `findSecretReferences` the Secrets any object reads
 * (declaration check, Helm values included); neither says how a name is read or whether it blocks.
 */

/** Kinds whose pod template the platform renders. */
const POD_TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod']);

export type ReferencedKind = 'ConfigMap' | 'Secret';

/** One read of a ConfigMap or Secret by one pod template. */
export interface PodReference {
  readonly kind: ReferencedKind;
  readonly namespace: string;
  readonly name: string;
  /** The workload, e.g. `StatefulSet data/postgres`. */
  readonly workload: string;
  /** `volume`: a volume (or a projected volume's source); `env`: env valueFrom or envFrom. */
  readonly via: 'volume' | 'env';
  /** The volume, for `via: volume`. */
  readonly volume?: string;
  /** The container, for `via: env`. */
  readonly container?: string;
  /** Keys named (volume `items`, a KeyRef's key); empty when the whole object is read. */
  readonly keys: readonly string[];
  readonly optional: boolean;
  /** For volumes: some container mounts it (the kubelet sets up only those). Always true for env. */
  readonly mounted: boolean;
}

/** The pod template of a workload object, or undefined. */
export function podTemplateSpec(object: any): any | undefined {
  switch (object?.kind) {
    case 'Pod': return object.spec;
    case 'CronJob': return object.spec?.jobTemplate?.spec?.template?.spec;
    default: return POD_TEMPLATE_KINDS.has(object?.kind) ? object.spec?.template?.spec : undefined;
  }
}

/** Every ConfigMap and Secret reference of one pod spec (namespace and workload given). */
export function podSpecReferences(spec: any, namespace: string, workload: string): PodReference[] {
  const found: PodReference[] = [];
  const containers: any[] = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
  const mounted = new Set(containers.flatMap((c) => [...(c.volumeMounts ?? []), ...(c.volumeDevices ?? [])].map((m: any) => m.name as string)));
  const keysOf = (items: any[] | undefined) => (items ?? []).map((i) => String(i.key));
  for (const v of spec?.volumes ?? []) {
    const base = { namespace, workload, via: 'volume' as const, volume: v.name as string, mounted: mounted.has(v.name) };
    if (v.configMap?.name) found.push({ ...base, kind: 'ConfigMap', name: v.configMap.name, keys: keysOf(v.configMap.items), optional: v.configMap.optional === true });
    if (v.secret?.secretName) found.push({ ...base, kind: 'Secret', name: v.secret.secretName, keys: keysOf(v.secret.items), optional: v.secret.optional === true });
    for (const s of v.projected?.sources ?? []) {
      if (s.configMap?.name) found.push({ ...base, kind: 'ConfigMap', name: s.configMap.name, keys: keysOf(s.configMap.items), optional: s.configMap.optional === true });
      if (s.secret?.name) found.push({ ...base, kind: 'Secret', name: s.secret.name, keys: keysOf(s.secret.items), optional: s.secret.optional === true });
    }
  }
  for (const c of containers) {
    const base = { namespace, workload, via: 'env' as const, container: c.name as string, mounted: true };
    for (const e of c.envFrom ?? []) {
      if (e.configMapRef?.name) found.push({ ...base, kind: 'ConfigMap', name: e.configMapRef.name, keys: [], optional: e.configMapRef.optional === true });
      if (e.secretRef?.name) found.push({ ...base, kind: 'Secret', name: e.secretRef.name, keys: [], optional: e.secretRef.optional === true });
    }
    for (const e of c.env ?? []) {
      const cm = e.valueFrom?.configMapKeyRef;
      const secret = e.valueFrom?.secretKeyRef;
      if (cm?.name) found.push({ ...base, kind: 'ConfigMap', name: cm.name, keys: [String(cm.key)], optional: cm.optional === true });
      if (secret?.name) found.push({ ...base, kind: 'Secret', name: secret.name, keys: [String(secret.key)], optional: secret.optional === true });
    }
  }
  return found;
}

/** Every ConfigMap and Secret reference of the pod templates among `objects` (plain objects or `{ object }`). */
export function podReferences(objects: readonly any[]): PodReference[] {
  return objects.map((o) => (o?.object !== undefined && o?.kind === undefined ? o.object : o)).flatMap((o) => {
    const spec = podTemplateSpec(o);
    if (!spec || !o.metadata?.namespace) return [];
    return podSpecReferences(spec, o.metadata.namespace, `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`);
  });
}

/** True when the kubelet cannot start a pod with this reference while the object is missing. */
export const blocksWhenMissing = (r: PodReference): boolean => !r.optional && r.mounted;

/** One object the pods read, with the workloads whose pods it blocks when missing, and how. */
export interface ReferencedObject {
  readonly kind: ReferencedKind;
  readonly namespace: string;
  readonly name: string;
  /** workload → how it reads the object (a volume wins over env: the kubelet sets up volumes first). */
  readonly readers: ReadonlyMap<string, 'volume' | 'env'>;
}

/**
 * The ConfigMaps and Secrets whose absence blocks some pod, each with the workloads it blocks,
 * sorted by kind, namespace and name. `include` picks the objects (e.g. only those in dist/).
 */
export function blockingReferences(objects: readonly any[], include: (kind: ReferencedKind, namespace: string, name: string) => boolean = () => true): ReferencedObject[] {
  const byObject = new Map<string, { kind: ReferencedKind; namespace: string; name: string; readers: Map<string, 'volume' | 'env'> }>();
  for (const r of podReferences(objects).filter(blocksWhenMissing)) {
    if (!include(r.kind, r.namespace, r.name)) continue;
    const id = `${r.kind} ${r.namespace}/${r.name}`;
    const entry = byObject.get(id) ?? { kind: r.kind, namespace: r.namespace, name: r.name, readers: new Map() };
    if (entry.readers.get(r.workload) !== 'volume') entry.readers.set(r.workload, r.via);
    byObject.set(id, entry);
  }
  return [...byObject.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
}
