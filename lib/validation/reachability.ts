/**
 * Evaluates Kubernetes NetworkPolicies over synthesized objects: may traffic flow from one pod
 * to another on a TCP port? Implements the API semantics we use: policies select pods by
 * labels; a pod selected for a direction only allows what some rule of a selecting policy
 * allows; peers are podSelector (own namespace), namespaceSelector (+ podSelector), ipBlock
 * (never matches a pod here); an empty port list means every port.
 */

export interface Endpoint {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** Named container ports, for policies that name a port. */
  readonly namedPorts?: Record<string, number>;
}

type Labels = Record<string, string>;

interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export function selects(selector: LabelSelector | undefined, labels: Labels): boolean {
  if (!selector) return false;
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    const has = e.key in labels;
    switch (e.operator) {
      case 'In': return has && (e.values ?? []).includes(labels[e.key]);
      case 'NotIn': return !has || !(e.values ?? []).includes(labels[e.key]);
      case 'Exists': return has;
      case 'DoesNotExist': return !has;
      default: throw new Error(`unsupported selector operator ${e.operator}`);
    }
  });
  return byLabels && byExpressions;
}

const namespaceLabels = (ns: string): Labels => ({ 'kubernetes.io/metadata.name': ns });

function peerMatches(peer: any, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) return false;
  if (peer.namespaceSelector) {
    if (!selects(peer.namespaceSelector, namespaceLabels(other.namespace))) return false;
    return peer.podSelector ? selects(peer.podSelector, other.labels) : true;
  }
  return other.namespace === policyNamespace && selects(peer.podSelector ?? {}, other.labels);
}

function portMatches(ports: any[] | undefined, port: number, target: Endpoint): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== 'TCP') return false;
    if (p.port === undefined) return true;
    const number = typeof p.port === 'number' ? p.port : target.namedPorts?.[p.port];
    return p.endPort ? number !== undefined && port >= number && port <= p.endPort : number === port;
  });
}

export class NetworkModel {
  private readonly policies: any[];

  constructor(objects: any[]) {
    this.policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  }

  private selecting(pod: Endpoint, direction: 'Ingress' | 'Egress'): any[] {
    return this.policies.filter((p) => {
      const types: string[] = p.spec.policyTypes ?? (direction === 'Ingress' ? ['Ingress'] : p.spec.egress ? ['Egress'] : []);
      return p.metadata.namespace === pod.namespace && types.includes(direction) && selects(p.spec.podSelector, pod.labels);
    });
  }

  /** True when `from` may open a TCP connection to `to` on `port`. */
  allows(from: Endpoint, to: Endpoint, port: number): boolean {
    const egress = this.selecting(from, 'Egress');
    const egressOk = egress.length === 0 || egress.some((p) =>
      (p.spec.egress ?? []).some((r: any) => (r.to ?? []).length === 0
        ? portMatches(r.ports, port, to)
        : r.to.some((peer: any) => peerMatches(peer, p.metadata.namespace, to)) && portMatches(r.ports, port, to)));
    const ingress = this.selecting(to, 'Ingress');
    const ingressOk = ingress.length === 0 || ingress.some((p) =>
      (p.spec.ingress ?? []).some((r: any) => (r.from ?? []).length === 0
        ? portMatches(r.ports, port, to)
        : r.from.some((peer: any) => peerMatches(peer, p.metadata.namespace, from)) && portMatches(r.ports, port, to)));
    return egressOk && ingressOk;
  }
}

/** Pods of every workload in the output, as endpoints (name = workload name). */
export function workloadEndpoints(objects: any[]): Endpoint[] {
  return objects.flatMap((o) => {
    const template = o.spec?.template ?? o.spec?.jobTemplate?.spec?.template;
    if (!template || !['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(o.kind)) return [];
    const namedPorts: Record<string, number> = {};
    for (const c of template.spec.containers ?? []) for (const p of c.ports ?? []) if (p.name) namedPorts[p.name] = p.containerPort;
    return [{ name: o.metadata.name, namespace: o.metadata.namespace, labels: template.metadata?.labels ?? {}, namedPorts }];
  });
}
