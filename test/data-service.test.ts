/**
 * The data-service contract end to end: a search engine defined in THIS FILE ALONE (no edit to
 * lib/ or charts/) is given to the Platform and gets the app's env and Secret references, both
 * sides of its NetworkPolicy flow, a probe, its declared Secrets and its alert rule.
 */
import { Chart } from 'cdk8s';
import * as yaml from 'js-yaml';
import { Construct } from 'constructs';
import { ALERT_ACTIONS, AlertThresholds } from '../lib/config/alerts';
import { AppBinding, AppRef, DeclaredSecret, endpointEnv, IDataService, secretEnv, ServicePort } from '../lib/constructs/data-service';
import { AlertGroup, configKey, pair } from '../lib/constructs/monitoring/alert-rules';
import { DashboardKit, DashboardRow } from '../lib/constructs/monitoring/dashboards';
import { ProbeTarget } from '../lib/constructs/monitoring/probes';
import { AllowFlows, namespacePeer, tcp } from '../lib/constructs/network-policy';
import { IntOrString, KubeService, KubeStatefulSet } from '../lib/k8s';
import { EXTRA_DATA_SERVICES_CHART } from '../charts/platform';
import { NetworkModel, workloadEndpoints } from '../lib/validation/reachability';
import { configFor, find, one, synth } from './helpers/platform';

const PORT = 7700;
const SECRET = { name: 'search-auth', key: 'api-key' };

/** A small search engine: one StatefulSet, its Service and NetworkPolicy, and what it contributes. */
class SearchEngine extends Construct implements IDataService {
  public readonly name = 'search';
  public readonly endpoint: ServicePort;
  private readonly host: string;

  constructor(scope: Construct, id: string, private readonly props: { namespace: string; monitoringNamespace: string }) {
    super(scope, id);
    const podLabels = { 'app.kubernetes.io/name': 'search' };
    this.host = `search.${props.namespace}.svc.cluster.local`;
    new KubeStatefulSet(this, 'StatefulSet', {
      metadata: { name: 'search', namespace: props.namespace },
      spec: {
        serviceName: 'search',
        selector: { matchLabels: podLabels },
        template: {
          metadata: { labels: podLabels },
          spec: { containers: [{ name: 'search', image: 'getmeili/meilisearch:v1.10.0', ports: [{ name: 'http', containerPort: PORT }], env: [secretEnv('MEILI_MASTER_KEY', SECRET)] }] },
        },
      },
    });
    new KubeService(this, 'Service', {
      metadata: { name: 'search', namespace: props.namespace },
      spec: { selector: podLabels, ports: [{ name: 'http', port: PORT, targetPort: IntOrString.fromString('http') }] },
    });
    const policy = new AllowFlows(this, 'Flows', {
      name: 'search', namespace: props.namespace, podLabels,
      ingress: [{ peers: [namespacePeer(props.monitoringNamespace)], ports: tcp(PORT) }],
    });
    this.endpoint = { policy, port: PORT };
  }

  public bindApp(app: AppRef): AppBinding {
    return {
      secretEnv: [secretEnv('SEARCH_API_KEY', SECRET)],
      // The URL carries its port: the platform opens the app's flow to it.
      env: [endpointEnv('SEARCH_URL', `http://${this.host}:${PORT}`, this.endpoint)],
      connectTo: [],
      secrets: [{ namespace: app.namespace, ...SECRET }],
    };
  }

  public get probeTargets(): ProbeTarget[] {
    return [{ name: 'search', group: 'data', kind: 'http', target: `http://${this.host}:${PORT}/health`, backend: { namespace: this.props.namespace, podLabels: this.endpoint.policy.podLabels, port: PORT } }];
  }

  public get declaredSecrets(): DeclaredSecret[] {
    return [{ namespace: this.props.namespace, ...SECRET }];
  }

  public alertRules(t: AlertThresholds): AlertGroup[] {
    return [{
      area: 'search',
      rules: pair('SearchDiskFull', (level) => ({
        expr: `100 * max by (namespace) (search_index_bytes{namespace="${this.props.namespace}"}) / max by (namespace) (search_disk_bytes{namespace="${this.props.namespace}"}) > ${t.disk[level]}`,
        for: t.disk.for,
        summary: `The search index fills more than ${t.disk[level]} % of its disk`,
        description: `${configKey('disk')}.`,
        action: ALERT_ACTIONS.disk,
      })),
    }];
  }

  public dashboardRows({ graph }: DashboardKit): DashboardRow[] {
    return [{ title: 'Search', panels: [graph('Index size', 'bytes', [['max(search_index_bytes)', 'index']])] }];
  }
}

describe('GIVEN a search engine defined in the test file WHEN it is given to the Platform as a data service', () => {
  const config = configFor('prod', {
    secrets: { data: { 'search-auth': { keys: ['api-key'], mode: 'existing' } }, app: { 'search-auth': { keys: ['api-key'], mode: 'existing' } } },
  });
  const s = synth(config, {
    dataServices: (scope: Chart, c) => [new SearchEngine(scope, 'search', { namespace: c.namespaces.data, monitoringNamespace: c.namespaces.monitoring })],
  });
  const objects = s.objects.map((o) => o.object);

  test('THEN it is synthesized into its own folder, synced with the other data services', () => {
    expect(s.objects.filter((o) => o.chart === EXTRA_DATA_SERVICES_CHART).map((o) => o.object.kind).sort()).toEqual(['NetworkPolicy', 'Service', 'StatefulSet']);
    expect(one(s, 'Application', EXTRA_DATA_SERVICES_CHART).metadata.annotations['argocd.argoproj.io/sync-wave']).toBe(one(s, 'Application', 'redis').metadata.annotations['argocd.argoproj.io/sync-wave']);
  });

  test('THEN every app gets SEARCH_API_KEY from the Secret (with the other Secret refs, before every URL) and SEARCH_URL', () => {
    for (const app of config.apps) {
      const env: { name: string; value?: string; valueFrom?: any }[] = one(s, 'Deployment', app.name).spec.template.spec.containers[0].env;
      const names = env.map((e) => e.name);
      expect(env.find((e) => e.name === 'SEARCH_API_KEY')?.valueFrom).toEqual({ secretKeyRef: SECRET });
      expect(env.find((e) => e.name === 'SEARCH_URL')?.value).toBe(`http://search.${config.namespaces.data}.svc.cluster.local:${PORT}`);
      const lastSecretRef = Math.max(...env.map((e, i) => (e.valueFrom?.secretKeyRef ? i : -1)));
      expect(lastSecretRef).toBe(names.indexOf('SEARCH_API_KEY'));
      expect(names.indexOf('DATABASE_URL')).toBeGreaterThan(lastSecretRef);
    }
  });

  test('THEN both NetworkPolicy sides exist: the apps may reach it, other workloads may not', () => {
    const model = new NetworkModel(objects);
    const endpoints = workloadEndpoints(objects);
    const byName = (name: string) => endpoints.find((e) => e.name === name)!;
    for (const app of config.apps) expect(model.allows(byName(app.name), byName('search'), PORT)).toBe(true);
    expect(model.allows(byName('redis'), byName('search'), PORT)).toBe(false);
    expect(model.allows(byName('pg-backup-daily'), byName('search'), PORT)).toBe(false);
    const appEgress = one(s, 'NetworkPolicy', config.apps[0].name).spec.egress;
    expect(appEgress).toContainEqual({ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': config.namespaces.data } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'search' } } }], ports: [{ protocol: 'TCP', port: PORT }] });
  });

  test('THEN it is probed, by the blackbox exporter and on the status page', () => {
    const probe = one(s, 'Probe', 'data-search');
    expect(probe.spec.targets.staticConfig.static).toEqual([`http://search.${config.namespaces.data}.svc.cluster.local:${PORT}/health`]);
    expect(find(s, 'NetworkPolicy', 'probes-search')).toHaveLength(1);
    const status = yaml.load(Object.values(one(s, 'ConfigMap', 'status').data)[0] as string) as any;
    expect(status.endpoints.map((e: any) => e.name)).toContain('search');
  });

  test('THEN its Secret is declared: without the declaration the synth fails, naming it', () => {
    expect(s.platform.declaredSecrets).toContainEqual({ namespace: config.namespaces.data, ...SECRET });
    expect(s.platform.declaredSecrets).toContainEqual({ namespace: config.namespaces.app, ...SECRET });
    expect(() => synth(configFor('prod'), { dataServices: (scope: Chart, c) => [new SearchEngine(scope, 'search', { namespace: c.namespaces.data, monitoringNamespace: c.namespaces.monitoring })] }))
      .toThrow(/secrets\.data\.search-auth/);
  });

  test('THEN its alert rule is in the rendered PrometheusRules and its row in the overview dashboard', () => {
    const rule = one(s, 'PrometheusRule', 'platform-search');
    expect(rule.spec.groups[0].rules.map((r: any) => [r.alert, r.labels.severity])).toEqual([['SearchDiskFull', 'warning'], ['SearchDiskFull', 'critical']]);
    const overview = JSON.parse(one(s, 'ConfigMap', 'grafana-dashboard-platform-overview').data['platform-overview.json']);
    const rows = overview.panels.filter((p: any) => p.type === 'row').map((p: any) => p.title);
    expect(rows.slice(-3)).toEqual(['MinIO', 'Search', 'Backups and uptime']);
  });
});
