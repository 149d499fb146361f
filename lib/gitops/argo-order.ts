/**
 * The order Argo CD applies dist/<env>/ in: the root's child Applications wave by wave (each
 * waits for the previous wave to be Healthy), and inside one Application its sync phases
 * (PreSync hooks, Sync, PostSync hooks), then `argocd.argoproj.io/sync-wave`, then kind, then name.
 * The kind order is Argo CD's (gitops-engine's, taken from Helm's install order); kinds it does
 * not know come last.
 */
import { SYNC_WAVE_ANNOTATION } from '../constructs/helm-release';
import { ARGOCD_CHART, syncOwner } from './placement';
import { chartWave, inSyncOrder } from './sync-order';

export const HOOK_ANNOTATION = 'argocd.argoproj.io/hook';

export const ARGO_KIND_ORDER: readonly string[] = [
  'Namespace', 'NetworkPolicy', 'ResourceQuota', 'LimitRange', 'PodSecurityPolicy', 'PodDisruptionBudget',
  'ServiceAccount', 'Secret', 'SecretList', 'ConfigMap', 'StorageClass', 'PersistentVolume', 'PersistentVolumeClaim',
  'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleList', 'ClusterRoleBinding', 'ClusterRoleBindingList',
  'Role', 'RoleList', 'RoleBinding', 'RoleBindingList', 'Service', 'DaemonSet', 'Pod', 'ReplicationController',
  'ReplicaSet', 'Deployment', 'HorizontalPodAutoscaler', 'StatefulSet', 'Job', 'CronJob', 'IngressClass', 'Ingress', 'APIService',
];

/** Rank of a kind inside one wave: known kinds in Argo CD's order, unknown kinds (custom resources) last. */
export const argoKindRank = (kind: string): number => (ARGO_KIND_ORDER.includes(kind) ? ARGO_KIND_ORDER.indexOf(kind) : ARGO_KIND_ORDER.length);

export type SyncPhase = 'PreSync' | 'Sync' | 'PostSync';
const PHASES: readonly SyncPhase[] = ['PreSync', 'Sync', 'PostSync'];

/** One object of dist/: `file` is `<env>/<chart>/<Kind>.<ns>.<name>.yaml`. */
export interface DistObject {
  readonly file: string;
  readonly object: any;
}

export interface OrderedObject extends DistObject {
  /** The chart id whose Application syncs it. */
  readonly application: string;
  /** That Application's wave at the root. */
  readonly applicationWave: number;
  readonly phase: SyncPhase;
  /** The object's own wave inside its Application. */
  readonly wave: number;
}

/**
 * The root-level wave Argo CD applies an object of dist/ in (the wave of the Application that syncs
 * it). `folderWaves`: waves of the chart Applications of folders that SYNC_ORDER does not list (inline
 * Helm add-ons), from `folderWavesOf`.
 */
export function applicationWaveOf({ file, object }: DistObject, folderWaves: ReadonlyMap<string, number> = new Map()): number {
  const chart = file.split('/')[1];
  const owner = syncOwner(chart, object.kind);
  // Helm add-on Applications sit at the root with their own wave.
  if (object.kind === 'Application' && owner !== chart) return Number(object.metadata?.annotations?.[SYNC_WAVE_ANNOTATION] ?? 0);
  return inSyncOrder(owner) ? chartWave(owner) : folderWaves.get(owner) ?? chartWave(owner);
}

/** Chart id → wave of the chart Applications in the argocd folder (named after their chart). */
export function folderWavesOf(objects: readonly DistObject[]): Map<string, number> {
  return new Map(objects
    .filter((d) => d.file.split('/')[1] === ARGOCD_CHART && d.object.kind === 'Application' && !d.object.spec?.source?.chart)
    .map((d) => [d.object.metadata.name as string, Number(d.object.metadata?.annotations?.[SYNC_WAVE_ANNOTATION] ?? 0)]));
}

function phaseOf(object: any): SyncPhase {
  const hooks = String(object.metadata?.annotations?.[HOOK_ANNOTATION] ?? 'Sync').split(',').map((h) => h.trim());
  return PHASES.find((p) => hooks.includes(p)) ?? 'Sync';
}

/** dist/ objects in the order Argo CD applies them. */
export function argoSyncOrder(objects: readonly DistObject[]): OrderedObject[] {
  const folderWaves = folderWavesOf(objects);
  return objects
    .map((d) => ({
      ...d,
      application: syncOwner(d.file.split('/')[1], d.object.kind),
      applicationWave: applicationWaveOf(d, folderWaves),
      phase: phaseOf(d.object),
      wave: Number(d.object.metadata?.annotations?.[SYNC_WAVE_ANNOTATION] ?? 0),
    }))
    .sort((a, b) => a.applicationWave - b.applicationWave
      || a.application.localeCompare(b.application)
      || PHASES.indexOf(a.phase) - PHASES.indexOf(b.phase)
      || a.wave - b.wave
      || argoKindRank(a.object.kind) - argoKindRank(b.object.kind)
      || String(a.object.metadata?.name).localeCompare(String(b.object.metadata?.name))
      || a.file.localeCompare(b.file));
}
