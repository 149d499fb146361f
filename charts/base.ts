import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { PlatformConfig } from '../lib/config/schema';
import { NamespaceBaseline, PodSecurityLevel } from '../lib/constructs/namespace-baseline';
import { KPS } from '../lib/addons/kube-prometheus-stack';
import { AllowFlows, anywhere, tcp } from '../lib/constructs/network-policy';

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

    // Flows of pods that Helm add-ons and Jobs run in our namespaces. Each data service admits
    // them on its side; these open the sending side of the default-deny.
    new AllowFlows(this, 'prometheus-scrape', {
      name: 'prometheus-scrape',
      namespace: config.namespaces.monitoring,
      podLabels: { ...KPS.prometheus.pods },
      // Scrape ports differ per exporter; targets still admit only the monitoring namespace.
      egress: [{ peers: [{ namespaceSelector: {} }], ports: [] }, { peers: anywhere(), ports: tcp(443, 6443) }],
    });
    // Every backup pod reaches B2 over HTTPS; the backup chart opens Postgres and MinIO to the Jobs that need them.
    new AllowFlows(this, 'backup-jobs', {
      name: 'backup-jobs',
      namespace: config.namespaces.backup,
      podLabels: {},
      egress: [{ peers: anywhere(), ports: tcp(443) }],
    });
  }
}
