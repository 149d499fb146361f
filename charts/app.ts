import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { PlatformConfig } from '../lib/config/schema';
import { clusterPeers } from '../lib/config/shared-cluster';
import { appPorts, DeclaredSecret, IDataService, migrationPorts, plainEnv } from '../lib/constructs/data-service';
import { AppWorkload } from '../lib/constructs/app/app-workload';
import { EdgeAttachment } from '../lib/constructs/edge/public-ingress';
import { AppRoutes } from '../lib/constructs/edge/app-routes';
import { SmokeTest, SmokeTestProps, smokeChecks } from '../lib/constructs/app/smoke-test';
import { AllowFlows, connect, FlowRule, namespacePeer, tcp } from '../lib/constructs/network-policy';
import { MetricsEndpoint } from '../lib/constructs/service-monitor';
import { NetworkPolicyPeer } from '../lib/k8s';
import { componentLabels } from '../lib/labels';

export interface AppChartProps {
  readonly config: PlatformConfig;
  /** Data services every app is bound to (env, Secret references, flows), in this order. */
  readonly services: readonly IDataService[];
  /** Ingress class, issuer and middlewares from the edge chart, for web apps. */
  readonly edge: EdgeAttachment;
  /** Dumps the database before an app's migration (Backups.preMigrationDump). @default no dump */
  readonly backups?: { preMigrationDump(scope: Construct, id: string, props: { app: string; annotations: Record<string, string> }): unknown };
  /** Runs the PostSync smoke test of the public routes through this edge. @default no smoke test */
  readonly smoke?: Pick<SmokeTestProps, 'edge' | 'image' | 'insecure'>;
}

const PRIVATE_V4 = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', '127.0.0.0/8'];
const PRIVATE_V6 = ['fc00::/7', 'fe80::/10', '::1/128'];

/** The users' apps (web, CRM, worker), bound to the data services. */
export class AppChart extends Chart {
  public readonly apps: AppWorkload[];
  /** Secrets the apps read in their namespace, from their bindings. */
  public readonly secrets: DeclaredSecret[] = [];

  constructor(scope: Construct, id: string, props: AppChartProps) {
    super(scope, id, { labels: { 'app.kubernetes.io/part-of': 'platform' } });
    const { config } = props;
    const namespace = config.namespaces.app;

    this.apps = config.apps.map((app) => {
      const bindings = props.services.map((service) => service.bindApp({ name: app.name, namespace }));
      const migrationPodLabels = Object.assign({}, ...bindings.map((b) => b.migration?.podLabels ?? {}));
      this.secrets.push(...bindings.flatMap((b) => b.secrets));
      const workload = new AppWorkload(this, app.name, {
        app,
        namespace,
        // Every Secret reference first, so that $(VAR) in the URLs can see them.
        dataEnv: [...bindings.flatMap((b) => b.secretEnv), ...bindings.flatMap(plainEnv)],
        spreadAcrossNodes: config.node.count > 1,
        migrationPodLabels,
      });

      if (app.kind === 'web' && workload.serviceName) {
        const routes = new AppRoutes(this, `${app.name}-ingress`, {
          app, namespace, edgeConfig: config.edge, serviceName: workload.serviceName, servicePort: workload.servicePort, edge: props.edge,
        });
        this.secrets.push(...routes.secrets);
      }

      const ingress: FlowRule[] = [];
      if (app.kind === 'web') ingress.push({ peers: [namespacePeer(clusterPeers(config).edge)], ports: tcp(app.port) });
      if (app.metricsPort !== undefined) ingress.push({ peers: [namespacePeer(clusterPeers(config).monitoring)], ports: tcp(app.metricsPort) });
      const policy = new AllowFlows(this, `${app.name}-flows`, {
        name: app.name,
        namespace,
        podLabels: workload.podLabels,
        ingress,
        egress: internetEgress(app.internetEgress),
      });
      // Every endpoint in the app's env, and what else the bindings connect: data services admit the
      // whole app namespace (one rule for every app).
      for (const port of bindings.flatMap(appPorts)) connect({ policy, podLabels: {} }, port, [port.port]);
      if (app.migration?.dumpFirst && props.backups) {
        // Before the migration (wave 0) and its ServiceAccount (wave -1): a failed dump stops the sync.
        props.backups.preMigrationDump(this, `${app.name}-pre-migration-dump`, {
          app: app.name,
          annotations: { 'argocd.argoproj.io/hook': 'PreSync', 'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation', 'argocd.argoproj.io/sync-wave': '-2' },
        });
      }
      if (app.migration) {
        const migration = new AllowFlows(this, `${app.name}-migration-flows`, {
          name: `${app.name}-migrate`,
          namespace,
          podLabels: { ...workload.podLabels, ...migrationPodLabels },
        });
        for (const b of bindings) {
          for (const port of migrationPorts(b)) connect({ policy: migration, podLabels: b.migration?.podLabels ?? {} }, port, [port.port]);
        }
      }
      if (workload.metricsPortName) {
        new MetricsEndpoint(this, `${app.name}-metrics`, {
          name: app.name, namespace, serviceLabels: componentLabels(app.name, app.kind), port: workload.metricsPortName,
        });
      }
      return workload;
    });

    const checks = config.apps.flatMap(smokeChecks);
    if (props.smoke && checks.length > 0) {
      new SmokeTest(this, 'smoke-test', { name: 'smoke-test', namespace, checks, ...props.smoke });
    }
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
