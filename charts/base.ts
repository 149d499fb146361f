import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { PlatformConfig } from '../lib/config/schema';
import { NamespaceBaseline, PodSecurityLevel } from '../lib/constructs/namespace-baseline';

export interface BaseChartProps {
  readonly config: PlatformConfig;
}

/**
 * Namespaces, default-deny NetworkPolicies and LimitRanges: the floor every other chart
 * stands on. Synced first (after the CRD-bearing add-ons).
 */
export class BaseChart extends Chart {
  /** Namespace roles → baselines, for charts that need a namespace name. */
  public readonly namespaces: Readonly<Record<keyof PlatformConfig['namespaces'], NamespaceBaseline>>;

  constructor(scope: Construct, id: string, props: BaseChartProps) {
    super(scope, id, { labels: { 'app.kubernetes.io/part-of': 'platform' } });
    const { config } = props;
    // node-exporter and Alloy read the host (hostPath, hostNetwork, hostPID): the monitoring
    // namespace cannot be restricted. Everything we write ourselves runs restricted.
    const levels: Record<keyof PlatformConfig['namespaces'], PodSecurityLevel> = {
      app: 'restricted',
      data: 'restricted',
      edge: 'restricted',
      backup: 'restricted',
      monitoring: 'privileged',
    };
    const entries = (Object.keys(levels) as (keyof typeof levels)[]).map((role) => [
      role,
      new NamespaceBaseline(this, role, {
        name: config.namespaces[role],
        podSecurity: levels[role],
        defaultRequest: config.limitRange.defaultRequest,
        defaultLimit: config.limitRange.defaultLimit,
      }),
    ]);
    this.namespaces = Object.fromEntries(entries);
  }
}
