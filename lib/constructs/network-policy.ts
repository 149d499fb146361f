import { Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { IntOrString, KubeNetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from '../k8s';

/** Pods in the policy's own namespace, by labels. */
export const podsPeer = (labels: Record<string, string>): NetworkPolicyPeer => ({ podSelector: { matchLabels: labels } });

/** Every pod (or pods with `labels`) in another namespace. */
export const namespacePeer = (namespace: string, labels?: Record<string, string>): NetworkPolicyPeer => ({
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
  ...(labels ? { podSelector: { matchLabels: labels } } : {}),
});

/** Addresses outside the cluster's pods (internet, nodes, the API server), by CIDR. */
export const cidrPeer = (cidr: string, except?: string[]): NetworkPolicyPeer => ({ ipBlock: { cidr, ...(except ? { except } : {}) } });

/** Anywhere, IPv4 and IPv6. */
export const anywhere = (): NetworkPolicyPeer[] => [cidrPeer('0.0.0.0/0'), cidrPeer('::/0')];

/** Where the kube-apiserver listens: 443 through the kubernetes Service, 6443 on k3s nodes. */
export const API_SERVER_PORTS = [443, 6443];
/** cert-manager's HTTP-01 solver pods listen here, beside the Ingress or Gateway they answer for. */
export const ACME_SOLVER_PORT = 8089;

export const tcp = (...ports: number[]): NetworkPolicyPort[] => ports.map((port) => ({ protocol: 'TCP', port: IntOrString.fromNumber(port) }));

export interface FlowRule {
  readonly peers: NetworkPolicyPeer[];
  readonly ports: NetworkPolicyPort[];
}

export interface AllowFlowsProps {
  readonly name: string;
  readonly namespace: string;
  /** Pods the policy applies to. */
  readonly podLabels: Record<string, string>;
  /**
   * The policy's own admits, whose other side is a broad rule elsewhere (Prometheus scrapes every
   * namespace, Traefik reaches the data namespace). Flows between two policies are added with
   * `connect()`, which writes both sides. @default none
   */
  readonly ingress?: FlowRule[];
  /** The policy's own egress (the internet, say). DNS is always allowed by the namespace baseline. @default none */
  readonly egress?: FlowRule[];
  /** Labels of the NetworkPolicy object. @default the chart's labels only */
  readonly labels?: Record<string, string>;
}

/**
 * Opens exactly the listed flows on top of the namespace's default-deny. NetworkPolicies are
 * additive, so each component declares its own and nothing else is reachable. A policy lists
 * the flows `connect()` added first, in the order they were connected, then its own rules.
 */
export class AllowFlows extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  /** Pods the policy applies to; also how other policies name them unless a FlowPeer says otherwise. */
  public readonly podLabels: Record<string, string>;
  private readonly connected: { ingress: FlowRule[]; egress: FlowRule[] } = { ingress: [], egress: [] };

  constructor(scope: Construct, id: string, props: AllowFlowsProps) {
    super(scope, id);
    this.name = props.name;
    this.namespace = props.namespace;
    this.podLabels = props.podLabels;
    // Rules are read at synth time, so flows connected after construction are included.
    const rules = (own: FlowRule[] | undefined, connected: FlowRule[]) => (own === undefined && connected.length === 0 ? undefined : [...connected, ...(own ?? [])]);
    const ingress = () => rules(props.ingress, this.connected.ingress);
    const egress = () => rules(props.egress, this.connected.egress);
    new KubeNetworkPolicy(this, 'Policy', {
      metadata: { name: props.name, namespace: props.namespace, ...(props.labels ? { labels: props.labels } : {}) },
      spec: {
        podSelector: { matchLabels: props.podLabels },
        policyTypes: Lazy.any({ produce: () => [...(ingress() ? ['Ingress'] : []), ...(egress() ? ['Egress'] : [])] }),
        // An empty port list means every port: leave the field out rather than write [].
        ingress: Lazy.any({ produce: () => ingress()?.map((r) => ({ from: r.peers, ports: r.ports.length ? r.ports : undefined })) }),
        egress: Lazy.any({ produce: () => egress()?.map((r) => ({ to: r.peers, ports: r.ports.length ? r.ports : undefined })) }),
      },
    });
  }

  /** Used by connect(): one rule of a flow that another policy holds the other side of. */
  public addConnected(direction: 'ingress' | 'egress', rule: FlowRule): void {
    addRule(this.connected[direction], rule);
  }
}

/**
 * One end of a flow: the policy holding its rules, and how the other end names its pods.
 */
export interface FlowPeer {
  readonly policy: AllowFlows;
  /**
   * Labels by which the other end selects these pods; `{}` names every pod of the namespace.
   * @default the policy's podLabels
   */
  readonly podLabels?: Record<string, string>;
}

/**
 * Allows `from` to open `ports` on `to`: writes the egress rule on `from`'s policy and the
 * ingress rule on `to`'s policy, so a flow is never hand-written twice. Pods in the same
 * namespace are named by their labels, pods elsewhere by namespace (and labels, unless `{}`).
 */
export function connect(from: FlowPeer, to: FlowPeer, ports: readonly number[]): void {
  from.policy.addConnected('egress', { peers: [peerAsSeenFrom(from.policy, to)], ports: tcp(...ports) });
  to.policy.addConnected('ingress', { peers: [peerAsSeenFrom(to.policy, from)], ports: tcp(...ports) });
}

function peerAsSeenFrom(viewer: AllowFlows, end: FlowPeer): NetworkPolicyPeer {
  const labels = end.podLabels ?? end.policy.podLabels;
  if (end.policy.namespace === viewer.namespace) return podsPeer(labels);
  return namespacePeer(end.policy.namespace, Object.keys(labels).length > 0 ? labels : undefined);
}

const isWholeNamespace = (peer: NetworkPolicyPeer): boolean => peer.namespaceSelector !== undefined && peer.podSelector === undefined && peer.ipBlock === undefined;
const namespaceOf = (peer: NetworkPolicyPeer): string => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] ?? '';
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Adds a connected rule once. Whole namespaces on the same ports share one rule (listed by
 * namespace name, so the output does not depend on the order in which charts connect).
 */
function addRule(rules: FlowRule[], rule: FlowRule): void {
  if (rules.some((r) => same(r, rule))) return;
  const [peer] = rule.peers;
  if (rule.peers.length === 1 && isWholeNamespace(peer)) {
    const shared = rules.find((r) => same(r.ports, rule.ports) && r.peers.every(isWholeNamespace));
    if (shared) {
      if (!shared.peers.some((p) => same(p, peer))) {
        shared.peers.push(peer);
        shared.peers.sort((a, b) => namespaceOf(a).localeCompare(namespaceOf(b)));
      }
      return;
    }
  }
  rules.push({ peers: [...rule.peers], ports: rule.ports });
}
