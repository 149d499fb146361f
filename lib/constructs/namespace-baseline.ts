import { Construct } from 'constructs';
import { IntOrString, KubeLimitRange, KubeNamespace, KubeNetworkPolicy, Quantity } from '../k8s';

export type PodSecurityLevel = 'restricted' | 'baseline' | 'privileged';

export interface NamespaceBaselineProps {
  /** Namespace name. */
  readonly name: string;
  /**
   * Pod Security Standard enforced by the API server.
   * @default 'restricted'
   */
  readonly podSecurity?: PodSecurityLevel;
  /** Requests applied to containers that declare none. */
  readonly defaultRequest: { readonly cpu: string; readonly memory: string };
  /** Memory limit applied to containers that declare none (no CPU limit: throttling hurts latency). */
  readonly defaultLimit: { readonly memory: string };
}

/**
 * A namespace with its safety net: a Pod Security level, a default-deny NetworkPolicy
 * that still lets pods resolve DNS, and LimitRange defaults. Components open the flows
 * they need with their own NetworkPolicies.
 */
export class NamespaceBaseline extends Construct {
  public readonly name: string;

  constructor(scope: Construct, id: string, props: NamespaceBaselineProps) {
    super(scope, id);
    this.name = props.name;
    const level = props.podSecurity ?? 'restricted';

    new KubeNamespace(this, 'Namespace', {
      metadata: {
        name: props.name,
        labels: {
          'pod-security.kubernetes.io/enforce': level,
          'pod-security.kubernetes.io/enforce-version': 'latest',
          // Always warn and audit against restricted, so drift shows up even where enforcement is looser.
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/audit': 'restricted',
        },
      },
    });

    new KubeNetworkPolicy(this, 'DefaultDeny', {
      metadata: { name: 'default-deny', namespace: props.name },
      spec: {
        podSelector: {},
        policyTypes: ['Ingress', 'Egress'],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
                podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
              },
            ],
            ports: [
              { protocol: 'UDP', port: IntOrString.fromNumber(53) },
              { protocol: 'TCP', port: IntOrString.fromNumber(53) },
            ],
          },
        ],
      },
    });

    new KubeLimitRange(this, 'Defaults', {
      metadata: { name: 'defaults', namespace: props.name },
      spec: {
        limits: [
          {
            type: 'Container',
            defaultRequest: {
              cpu: Quantity.fromString(props.defaultRequest.cpu),
              memory: Quantity.fromString(props.defaultRequest.memory),
            },
            default: { memory: Quantity.fromString(props.defaultLimit.memory) },
          },
        ],
      },
    });
  }
}
