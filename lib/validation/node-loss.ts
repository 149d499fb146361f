/**
 * What losing one node does to an environment, read from its synthesized objects: a model of the
 * placement the scheduler is asked for (StatefulSet members one per node by required anti-affinity,
 * spread Deployments round-robin, DaemonSets everywhere, single pods on any node), of k3s's eviction of
 * pods from a NotReady node (the DefaultTolerationSeconds admission plugin gives every pod 300 s for
 * not-ready/unreachable unless it sets its own) and of node-bound `local-path` volumes (a StatefulSet
 * member waits for its node). It is a model, not a run: the lab rehearsal of a node loss is still to be built.
 */

/** k3s (Kubernetes) default: pods without their own toleration leave a NotReady/unreachable node after this. */
export const DEFAULT_TOLERATION_SECONDS = 300;

export interface WorkloadModel {
  readonly kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  readonly namespace: string;
  readonly name: string;
  readonly replicas: number;
  readonly podLabels: Record<string, string>;
  /** How pods are kept apart: required anti-affinity, a spread rule (preferred / ScheduleAnyway), or none. */
  readonly spread: 'required' | 'preferred' | 'none' | 'every-node';
  readonly tolerationSeconds: number;
  /** Holds node-bound volumes (claim templates): a member does not move. */
  readonly nodeBound: boolean;
}

export interface ServiceLoss {
  readonly service: string;
  readonly workload: string;
  readonly before: number;
  /** Ready endpoints right after the node is gone (the lost node's pods marked NotReady). */
  readonly after: number;
  /** What comes back, and when. */
  readonly recovery: string;
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

export function workloadsOf(objects: any[]): WorkloadModel[] {
  // A Deployment an HPA scales has no spec.replicas: it runs at least the HPA's minReplicas.
  const autoscaled = (o: any): number | undefined => objects.find((h) => h.kind === 'HorizontalPodAutoscaler' && h.metadata.namespace === o.metadata.namespace
    && h.spec.scaleTargetRef?.kind === o.kind && h.spec.scaleTargetRef?.name === o.metadata.name)?.spec.minReplicas;
  return objects.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind)).map((o) => {
    const spec = o.spec.template.spec;
    const anti = spec.affinity?.podAntiAffinity;
    const spread = o.kind === 'DaemonSet' ? 'every-node'
      : anti?.requiredDuringSchedulingIgnoredDuringExecution?.some((t: any) => t.topologyKey === 'kubernetes.io/hostname') ? 'required'
        : anti?.preferredDuringSchedulingIgnoredDuringExecution || spec.topologySpreadConstraints?.some((c: any) => c.topologyKey === 'kubernetes.io/hostname') ? 'preferred' : 'none';
    const own = (spec.tolerations ?? []).filter((t: any) => /node\.kubernetes\.io\/(not-ready|unreachable)/.test(t.key ?? '') && t.effect === 'NoExecute');
    return {
      kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name, replicas: o.spec.replicas ?? autoscaled(o) ?? 1,
      podLabels: o.spec.template.metadata.labels, spread,
      tolerationSeconds: own.length ? Math.max(...own.map((t: any) => t.tolerationSeconds ?? Infinity)) : DEFAULT_TOLERATION_SECONDS,
      nodeBound: (o.spec.volumeClaimTemplates ?? []).length > 0,
    } as WorkloadModel;
  });
}

/** The nodes pod i of `w` lands on, out of `nodes`: worst case for single pods (the node that is lost). */
function placement(w: WorkloadModel, nodes: number, lost: number): number[] {
  if (w.spread === 'every-node') return Array.from({ length: nodes }, (_, i) => i);
  if (w.replicas === 1 || w.spread === 'none') return Array.from({ length: w.replicas }, () => lost);
  return Array.from({ length: w.replicas }, (_, i) => i % nodes);
}

/** For each Service named in `services` (`namespace/name`): its ready endpoints before and after losing node `lost`. */
export function nodeLoss(objects: any[], nodes: number, lost: number, services: readonly string[], notes: Record<string, string> = {}): ServiceLoss[] {
  const workloads = workloadsOf(objects);
  return services.map((id) => {
    const [ns, name] = id.split('/');
    const svc = objects.find((o) => o.kind === 'Service' && o.metadata.namespace === ns && o.metadata.name === name);
    if (!svc) throw new Error(`no Service ${id}`);
    const selector: Record<string, string> = svc.spec.selector ?? {};
    const exact = workloads.find((x) => x.namespace === ns && matches(selector, x.podLabels));
    // A selector with labels the pods get at run time (Patroni's role) picks one member: worst case, the lost node's.
    const w = exact ?? workloads.find((x) => x.namespace === ns && matches(Object.fromEntries(Object.entries(selector).filter(([k]) => k in x.podLabels)), x.podLabels));
    if (!w) throw new Error(`no workload selected by Service ${id}`);
    const where = exact ? placement(w, nodes, lost) : [lost];
    const left = where.filter((n) => n !== lost).length;
    const gone = where.length - left;
    const recovery = gone === 0 ? 'nothing lost'
      : !exact ? 'the member the Service selects at run time is lost'
      : w.kind === 'DaemonSet' ? 'its pod returns with the node'
        : w.nodeBound ? `${w.kind === 'StatefulSet' ? `member ${where.indexOf(lost)}` : 'pod'} stays down until the node returns (local-path volume)`
          : `rescheduled on another node after ${w.tolerationSeconds} s (toleration) and its start`;
    return { service: id, workload: `${w.kind}/${w.name}`, before: where.length, after: left, recovery: notes[id] ? `${recovery}; ${notes[id]}` : recovery };
  });
}
