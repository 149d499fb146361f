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
  /** Who may connect to these pods. @default none */
  readonly ingress?: FlowRule[];
  /** Where these pods may connect (DNS is always allowed by the namespace baseline). @default none */
  readonly egress?: FlowRule[];
}

/**
 * Opens exactly the listed flows on top of the namespace's default-deny. NetworkPolicies are
 * additive, so each component declares its own and nothing else is reachable.
 */
export class AllowFlows extends Construct {
  constructor(scope: Construct, id: string, props: AllowFlowsProps) {
    super(scope, id);
    const policyTypes = [...(props.ingress ? ['Ingress'] : []), ...(props.egress ? ['Egress'] : [])];
    new KubeNetworkPolicy(this, 'Policy', {
      metadata: { name: props.name, namespace: props.namespace },
      spec: {
        podSelector: { matchLabels: props.podLabels },
        policyTypes,
        // An empty port list means every port: leave the field out rather than write [].
        ingress: props.ingress?.map((r) => ({ from: r.peers, ports: r.ports.length ? r.ports : undefined })),
        egress: props.egress?.map((r) => ({ to: r.peers, ports: r.ports.length ? r.ports : undefined })),
      },
    });
  }
}
