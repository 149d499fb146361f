import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { AppConfig, PlatformConfig } from '../lib/config/schema';
import { AppWiring } from '../lib/constructs/app/wiring';
import { AppWorkload } from '../lib/constructs/app/app-workload';
import { EdgeAttachment, PublicIngress } from '../lib/constructs/edge/public-ingress';
import { AllowFlows, FlowRule, namespacePeer, tcp } from '../lib/constructs/network-policy';
import { MetricsEndpoint } from '../lib/constructs/service-monitor';
import { NetworkPolicyPeer } from '../lib/k8s';
import { componentLabels } from '../lib/labels';

/** A data service an app may reach: pods in the data namespace, on one port. */
export interface DataTarget {
  readonly namespace: string;
  readonly podLabels: Record<string, string>;
  readonly port: number;
}

export interface AppChartProps {
  readonly config: PlatformConfig;
  /** Data-layer wiring of one app (S3 credentials and buckets differ per app). */
  readonly wiring: (app: AppConfig) => AppWiring;
  /** Services apps may reach (PgBouncer, Redis, MinIO) — and nothing else inside the cluster. */
  readonly dataTargets: DataTarget[];
  /** The Postgres primary, for migration Jobs only. */
  readonly primaryTarget: DataTarget;
  /** Labels that the primary's NetworkPolicy admits from the app namespace. */
  readonly directDbAccessLabels: Record<string, string>;
  /** Ingress class, issuer and middlewares from the edge chart, for web apps. */
  readonly edge: EdgeAttachment;
}

const PRIVATE_V4 = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', '127.0.0.0/8'];
const PRIVATE_V6 = ['fc00::/7', 'fe80::/10', '::1/128'];

/** The users' apps (web, CRM, worker), wired to the data layer by attributes. */
export class AppChart extends Chart {
  public readonly apps: AppWorkload[];

  constructor(scope: Construct, id: string, props: AppChartProps) {
    super(scope, id, { labels: { 'app.kubernetes.io/part-of': 'platform' } });
    const { config } = props;
    const namespace = config.namespaces.app;
    const toData = props.dataTargets.map((t): FlowRule => ({ peers: [namespacePeer(t.namespace, t.podLabels)], ports: tcp(t.port) }));

    this.apps = config.apps.map((app) => {
      const workload = new AppWorkload(this, app.name, {
        app,
        namespace,
        wiring: props.wiring(app),
        spreadAcrossNodes: config.cluster.nodes > 1,
        directDbAccessLabels: props.directDbAccessLabels,
      });

      if (app.kind === 'web' && workload.serviceName) {
        new PublicIngress(this, `${app.name}-ingress`, {
          name: app.name, namespace, hosts: app.hosts, paths: app.paths, serviceName: workload.serviceName, servicePort: workload.servicePort, edge: props.edge,
        });
      }

      const ingress: FlowRule[] = [];
      if (app.kind === 'web') ingress.push({ peers: [namespacePeer(config.namespaces.edge)], ports: tcp(app.port) });
      if (app.metricsPort !== undefined) ingress.push({ peers: [namespacePeer(config.namespaces.monitoring)], ports: tcp(app.metricsPort) });
      new AllowFlows(this, `${app.name}-flows`, {
        name: app.name,
        namespace,
        podLabels: workload.podLabels,
        ingress,
        egress: [...toData, ...internetEgress(app.internetEgress)],
      });
      if (app.migration) {
        new AllowFlows(this, `${app.name}-migration-flows`, {
          name: `${app.name}-migrate`,
          namespace,
          podLabels: { ...workload.podLabels, ...props.directDbAccessLabels },
          egress: [{ peers: [namespacePeer(props.primaryTarget.namespace, props.primaryTarget.podLabels)], ports: tcp(props.primaryTarget.port) }],
        });
      }
      if (workload.metricsPortName) {
        new MetricsEndpoint(this, `${app.name}-metrics`, {
          name: app.name, namespace, serviceLabels: componentLabels(app.name, app.kind), port: workload.metricsPortName,
        });
      }
      return workload;
    });
  }
}

function internetEgress(mode: 'none' | 'https' | 'all'): FlowRule[] {
  if (mode === 'none') return [];
  const peers: NetworkPolicyPeer[] = [
    { ipBlock: { cidr: '0.0.0.0/0', except: PRIVATE_V4 } },
    { ipBlock: { cidr: '::/0', except: PRIVATE_V6 } },
  ];
  return [{ peers, ports: mode === 'https' ? tcp(443) : [] }];
}
