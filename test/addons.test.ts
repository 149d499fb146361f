/**
 * Every Helm add-on descriptor of lib/addons/, data-driven over the registry: each built alone in
 * Testing.chart(), its values checked against the pinned chart's own values.yaml (and
 * values.schema.json where the chart ships one), and a new add-on defined here, in the test
 * alone, that the whole platform picks up (Application, wave, AppProject scope, footprint row,
 * NetworkPolicy, alert rules).
 */
import Ajv2020 from 'ajv/dist/2020';
import Ajv from 'ajv';
import { Testing } from 'cdk8s';
import * as yaml from 'js-yaml';
import { AddOnInputs, HelmAddOn, installAddOn } from '../lib/addons/addon';
import { KPS } from '../lib/addons/kube-prometheus-stack';
import { ADD_ONS, addOnOf } from '../lib/addons/registry';
import { parseDuration } from '../lib/config/duration';
import { ALERT_ACTIONS } from '../lib/config/alerts';
import { pair } from '../lib/constructs/monitoring/alert-rules';
import { ProbeTarget } from '../lib/constructs/monitoring/probes';
import { podsPeer, tcp } from '../lib/constructs/network-policy';
import { HelmResources, helmResources } from '../lib/constructs/resources';
import { footprint, row, sized } from '../lib/footprint';
import { CRD, RBAC } from '../lib/gitops/helm-scope';
import { ARGOCD_CHART } from '../lib/gitops/placement';
import { chartWave, CRD_ADDONS } from '../lib/gitops/sync-order';
import { Platform } from '../charts/platform';
import { renderPlatform } from '../lib/synth';
import { NetworkModel } from '../lib/validation/reachability';
import { chartReference, PASSTHROUGH, referenceFile, unknownKeys } from './helpers/chart-values';
import { configFor } from './helpers/platform';

const S3: AddOnInputs['s3'] = { endpoint: 'http://minio.data.svc.cluster.local:9000', backend: { namespace: 'data', podLabels: { app: 'minio' }, port: 9000 } };
const TARGETS: ProbeTarget[] = [
  { name: 'web', group: 'apps', kind: 'http', target: 'http://web.app.svc.cluster.local:3001/health', backend: { namespace: 'app', podLabels: { app: 'web' }, port: 3001 } },
  { name: 'example.com', group: 'certificates', kind: 'tls', target: 'https://example.com' },
];
const inputs = (config = configFor('prod')) => ({ config, s3: S3, probeTargets: TARGETS });
const entries = ADD_ONS.map((a) => [a.chart, a] as const);

describe.each(entries)('GIVEN the %s add-on built alone in a test chart', (chart, addOn) => {
  const config = configFor('prod');
  const scope = Testing.chart();
  const release = installAddOn(scope, addOn.host, addOn, inputs(config));
  const objects = Testing.synth(scope);
  const application = objects.find((o) => o.kind === 'Application');
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');

  test('THEN it renders one Argo CD Application on the exact pinned chart, into its namespace, with its scope on the release', () => {
    expect(objects.filter((o) => o.kind === 'Application')).toHaveLength(1);
    expect(application.metadata.name).toBe(addOn.releaseName);
    expect(application.spec.source).toMatchObject({ repoURL: addOn.repo, chart, targetRevision: addOn.version, helm: { releaseName: addOn.releaseName } });
    expect(addOn.version).toMatch(/^v?\d+\.\d+\.\d+$/);
    expect(application.spec.destination.namespace).toBe(addOn.namespace(config));
    expect(release.scope).toEqual({ crdGroups: addOn.crdGroups, clusterKinds: addOn.clusterKinds, extraNamespaces: addOn.extraNamespaces });
    expect(addOnOf(chart)).toBe(addOn);
  });

  test('THEN its footprint rule sizes every workload from the values it renders', () => {
    const rows = addOn.footprint(application.spec.source.helm.valuesObject, 1, (part) => part);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect([r.workload, r.pods > 0, r.cpu > 0, r.memory > 0]).toEqual([r.workload, true, true, true]);
  });

  test('THEN its NetworkPolicies select only pods it declares, and admit only on ports it declares', () => {
    const declared = Object.values(addOn.pods);
    const subset = (a: Record<string, string>, b: Readonly<Record<string, string>>) => Object.entries(a).every(([k, v]) => b[k] === v);
    for (const p of policies) {
      const owners = declared.filter((d) => subset(p.spec.podSelector.matchLabels, d.labels));
      expect([p.metadata.name, owners.length > 0]).toEqual([p.metadata.name, true]);
      const open = (p.spec.ingress ?? []).flatMap((r: any) => (r.ports ?? []).map((x: any) => x.port));
      const ports = new Set(owners.flatMap((d) => Object.values(d.ports)));
      expect([p.metadata.name, open.filter((x: number) => !ports.has(x))]).toEqual([p.metadata.name, []]);
    }
    expect(policies.length).toBe(addOn.flows?.({ ...inputs(config), namespace: addOn.namespace(config) }).length ?? 0);
  });
});

const VARIANTS: [string, () => ReturnType<typeof configFor>][] = [
  ['dev', () => configFor('dev')],
  ['prod', () => configFor('prod')],
  ['ha', () => configFor('ha')],
  ['prod with edge.api: gateway', () => configFor('prod', { edge: { api: 'gateway' } })],
  ['prod with Loki on S3', () => configFor('prod', {
    minio: { buckets: [{ name: 'tour-images', access: 'public-download' }, { name: 'documents', access: 'private' }, { name: 'logs', access: 'private' }] },
    monitoring: { loki: { storage: { type: 's3', bucket: 'logs', secret: 'loki-s3', size: '5Gi' } } },
    secrets: { monitoring: { 'loki-s3': { keys: ['access-key', 'secret-key'], mode: 'existing' } } },
  })],
];

describe.each(entries)('GIVEN the values of the %s add-on', (chart, addOn) => {
  const ref = chartReference(addOn);
  const schema = referenceFile(`${chart}-${addOn.version}.values.schema.json`);
  const passthrough = new Set(PASSTHROUGH[chart]?.keys ?? []);

  test('THEN the reference holds the values.yaml of exactly the pinned version', () => {
    expect(ref).toEqual(expect.any(Object));
  });

  const valuesOf = (config: ReturnType<typeof configFor>) => addOn.values({ ...inputs(config), namespace: addOn.namespace(config) });

  test.each(VARIANTS)('%s: every key we set exists in the chart values.yaml, and the chart\'s own schema (if any) accepts them', (_name, config) => {
    const values = valuesOf(config());
    expect(unknownKeys(values, ref, passthrough)).toEqual([]);
    if (schema === undefined) return;
    const validate = (String(schema.$schema).includes('2020-12') ? new Ajv2020({ strict: false, allErrors: true }) : new Ajv({ strict: false, allErrors: true })).compile(schema);
    expect(validate(values) ? [] : validate.errors).toEqual([]);
  });

  test('THEN every exception is needed: without it, some environment sets a key under it that values.yaml lacks', () => {
    const flagged = VARIANTS.flatMap(([, config]) => unknownKeys(valuesOf(config()), ref, new Set()));
    for (const key of passthrough) expect([key, flagged.some((p) => p === key || p.startsWith(`${key}.`))]).toEqual([key, true]);
  });
});

describe('GIVEN a new Helm add-on defined in this test alone', () => {
  interface EchoValues { readonly replicaCount: number; readonly resources: HelmResources }
  const ECHO_PODS = { 'app.kubernetes.io/name': 'echo' };
  const echo: HelmAddOn<EchoValues> = {
    id: 'echo',
    host: 'monitoring',
    repo: 'https://charts.example.org',
    chart: 'echo-server',
    version: '1.2.3',
    releaseName: 'echo',
    namespace: (config) => config.namespaces.monitoring,
    crdGroups: ['echo.example.org'],
    clusterKinds: [CRD, ...RBAC, { group: 'echo.example.org', kind: 'ClusterEcho' }],
    extraNamespaces: ['kube-public'],
    pods: { echo: { labels: ECHO_PODS, ports: { http: 8080 } } },
    footprint: (v, _n, at) => [row('echo', v.replicaCount, [sized(at('resources'), v.resources)])],
    values: ({ config }) => ({ replicaCount: 2, resources: helmResources(config.monitoring.resources.blackbox) }),
    flows: () => [{ name: 'echo', podLabels: ECHO_PODS, ingress: [{ peers: [podsPeer(KPS.prometheus.pods)], ports: tcp(8080) }] }],
    alerts: (config) => [{
      area: 'echo',
      rules: pair('EchoSlow', (level) => ({
        expr: `histogram_quantile(0.95, sum by (le) (rate(echo_duration_seconds_bucket[5m]))) > ${parseDuration(config.alerts.responseTimeP95[level])}`,
        summary: 'echo answers slowly',
        description: `p95 above ${config.alerts.responseTimeP95[level]}.`,
        action: ALERT_ACTIONS.responseTimeP95,
      })),
    }],
    dashboardRows: ({ graph, rate }) => [{ title: 'Echo', panels: [graph('Echo requests', 'reqps', [[`sum(rate(echo_requests_total${rate}))`, 'echo']])] }],
  };
  const addOns = [...ADD_ONS, echo];
  const config = configFor('prod');
  const files = renderPlatform(new Platform(config, { addOns }));
  const rendered = [...files].map(([file, text]) => ({ chart: file.split('/')[1], file, object: yaml.load(text) as any }));
  const objects = rendered.map((o) => o.object);
  const one = (kind: string, name: string) => objects.filter((o) => o.kind === kind && o.metadata.name === name);

  test('WHEN the platform is built with it THEN it gets an Argo CD Application in its host chart, in the CRD add-ons\' wave, applied server-side', () => {
    const [app] = one('Application', 'echo');
    expect(rendered.find((o) => o.object === app)!.chart).toBe('monitoring');
    expect(app.spec.source).toMatchObject({ repoURL: 'https://charts.example.org', chart: 'echo-server', targetRevision: '1.2.3' });
    expect(app.spec.source.helm.valuesObject.replicaCount).toBe(2);
    expect(app.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe(String(chartWave(CRD_ADDONS)));
    expect(app.spec.syncPolicy.syncOptions).toEqual(expect.arrayContaining(['CreateNamespace=false', 'PruneLast=true', 'ServerSideApply=true']));
    // The root Application syncs every Helm Application, this one included.
    const root = one('Application', 'root')[0];
    expect((root.spec.sources ?? [root.spec.source]).some((s: any) => s.path.endsWith('/monitoring') && s.directory?.include?.includes('Application.'))).toBe(true);
  });

  test('THEN its alert rules land in the rendered PrometheusRules, with the thresholds of the one config table', () => {
    const [rule] = one('PrometheusRule', 'platform-echo');
    expect(rule.metadata.namespace).toBe(config.namespaces.monitoring);
    const rules = rule.spec.groups.flatMap((g: any) => g.rules);
    expect(rules.map((r: any) => [r.alert, r.labels.severity])).toEqual([['EchoSlow', 'warning'], ['EchoSlow', 'critical']]);
    expect(rules[0].expr).toMatch(new RegExp(`> ${parseDuration(config.alerts.responseTimeP95.warning)}$`));
  });

  test('THEN its dashboard row lands in the overview dashboard, among the data rows and before the backups', () => {
    const [cm] = one('ConfigMap', 'grafana-dashboard-platform-overview');
    const dashboard = JSON.parse(cm.data['platform-overview.json']);
    const rows = dashboard.panels.filter((p: any) => p.type === 'row').map((p: any) => p.title);
    expect(rows).toContain('Echo');
    expect(rows.indexOf('Echo')).toBeGreaterThan(rows.indexOf('Node'));
    expect(rows.indexOf('Echo')).toBeLessThan(rows.indexOf('Backups and uptime'));
    expect(JSON.stringify(dashboard)).toContain('echo_requests_total');
  });

  test('THEN the AppProject allows its repository, its cluster-scoped kinds and its extra namespace', () => {
    const [project] = one('AppProject', 'platform');
    expect(project.spec.sourceRepos).toContain('https://charts.example.org');
    expect(project.spec.clusterResourceWhitelist).toContainEqual({ group: 'echo.example.org', kind: 'ClusterEcho' });
    expect(project.spec.destinations.map((d: any) => d.namespace)).toContain('kube-public');
  });

  test('THEN the footprint has its row, and without its rule the footprint refuses to guess', () => {
    const f = footprint(rendered, config, addOns);
    expect(f.rows).toContainEqual(expect.objectContaining({ chart: 'monitoring', workload: 'echo/echo', pods: 2, source: 'helm' }));
    expect(() => footprint(rendered, config, ADD_ONS)).toThrow(/no footprint rule for chart echo-server/);
  });

  test('THEN its NetworkPolicy admits Prometheus on its port and nobody else', () => {
    const model = new NetworkModel(objects);
    const pod = { name: 'echo', namespace: config.namespaces.monitoring, labels: ECHO_PODS };
    expect(one('NetworkPolicy', 'echo')).toHaveLength(1);
    expect(model.allows({ name: 'prometheus', namespace: config.namespaces.monitoring, labels: { ...KPS.prometheus.pods } }, pod, 8080)).toBe(true);
    expect(model.allows({ name: 'web', namespace: config.namespaces.app, labels: { 'app.kubernetes.io/name': 'web' } }, pod, 8080)).toBe(false);
  });

  test('THEN nothing else changes: the other charts render exactly as without it', () => {
    const without = renderPlatform(new Platform(config));
    expect([...without].filter(([file, text]) => files.get(file) !== text).map(([file]) => file).sort()).toEqual([
      `prod/${ARGOCD_CHART}/AppProject.argocd.platform.yaml`, 'prod/monitoring/ConfigMap.monitoring.grafana-dashboard-platform-overview.yaml',
    ].sort());
    expect([...files.keys()].filter((file) => !without.has(file)).sort()).toEqual([
      'prod/monitoring/Application.argocd.echo.yaml', 'prod/monitoring/NetworkPolicy.monitoring.echo.yaml', 'prod/monitoring/PrometheusRule.monitoring.platform-echo.yaml',
    ]);
  });
});
