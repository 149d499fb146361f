/**
 * The dashboards as Grafana's sidecar reads them: the JSON inside the synthesized ConfigMaps (the
 * platform's, or — while no chart instantiates the construct — a test chart's).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import * as yaml from 'js-yaml';
import { PlatformConfig } from '../lib/config/schema';
import { DashboardKit, PlatformDashboards, PlatformDashboardsProps } from '../lib/constructs/monitoring/dashboards';
import { kubePrometheusStack } from '../lib/addons/kube-prometheus-stack';
import { KNOWN_METRICS, metricNamesIn } from '../lib/constructs/monitoring/metrics';
import { configFor, find, synth } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';
import { PROMTOOL_BIN } from '../scripts/lab/prometheus-tools';
import { referenceDir } from '../lib/project';
import { loadCatalog } from '../lib/validation/schema-catalog';
import { KUBERNETES_VERSIONS } from '../lib/validation/validate-dist';
import { validateObject } from '../lib/validation/validate-object';

/** Our dashboard ConfigMaps (charts rendered inline, like kube-prometheus-stack's, may add their own). */
const isDashboard = (o: any, key = 'grafana_dashboard') =>
  o.kind === 'ConfigMap' && o.metadata.labels?.[key] !== undefined && o.metadata.labels?.['app.kubernetes.io/part-of'] === 'platform';

function synthesizedDashboards(config: PlatformConfig, extra: Partial<PlatformDashboardsProps> = {}): any[] {
  if (Object.keys(extra).length === 0) {
    const fromPlatform = find(synth(config), 'ConfigMap').filter((o) => isDashboard(o));
    if (fromPlatform.length > 0) return fromPlatform;
  }
  const chart = new Chart(Testing.app(), 'monitoring');
  new PlatformDashboards(chart, 'dashboards', { namespace: config.namespaces.monitoring, thresholds: config.alerts, namespaces: config.namespaces, ...extra });
  return Testing.synth(chart).filter((o) => isDashboard(o, extra.sidecarLabel?.key));
}

const models = (configMaps: any[]) => configMaps.flatMap((cm) => Object.values(cm.data as Record<string, string>).map((text) => JSON.parse(text)));
const contentPanels = (model: any) => model.panels.filter((p: any) => p.type !== 'row');
const exprs = (model: any): string[] => contentPanels(model).flatMap((p: any) => p.targets.map((t: any) => t.expr));
const panel = (model: any, title: string) => model.panels.find((p: any) => p.title === title);

describe('GIVEN prod WHEN the dashboards are synthesized', () => {
  const config = configFor('prod');
  const configMaps = synthesizedDashboards(config);
  const [overview] = models(configMaps);

  test('THEN the overview ships as a ConfigMap in the monitoring namespace with the sidecar label grafana_dashboard: "1"', () => {
    expect(configMaps.map((cm) => [cm.metadata.namespace, cm.metadata.name, cm.metadata.labels.grafana_dashboard])).toEqual([
      [config.namespaces.monitoring, 'grafana-dashboard-platform-overview', '1'],
    ]);
    expect(overview).toMatchObject({ uid: 'platform-overview', title: 'Platform overview' });
    // Argo CD's client-side apply keeps a copy in an annotation limited to 256 KiB.
    expect(JSON.stringify(configMaps[0].data).length).toBeLessThan(256 * 1024);
  });

  test('THEN it has a row for apps, the edge (every routed app), node, Postgres, PgBouncer, Redis, MinIO, backups and uptime, each with panels', () => {
    const rows = overview.panels.filter((p: any) => p.type === 'row').map((p: any) => p.title);
    expect(rows).toEqual(['Apps: rate, errors, duration', 'Edge: rate, errors, duration per routed app', 'Node', 'PostgreSQL', 'PgBouncer', 'Redis', 'MinIO', 'Backups and uptime']);
    overview.panels.forEach((p: any, i: number) => {
      if (p.type === 'row') expect(overview.panels[i + 1]?.type).not.toBe('row');
    });
  });

  test.each(KUBERNETES_VERSIONS)('THEN every dashboard ConfigMap validates strictly (Kubernetes %s and the CRDs)', (version) => {
    const catalog = loadCatalog(referenceDir(), version);
    expect(configMaps.flatMap((o: any) => validateObject(catalog, o))).toEqual([]);
  });

  test('THEN every panel and query uses the one Prometheus datasource uid', () => {
    const uids = contentPanels(overview).flatMap((p: any) => [p.datasource, ...p.targets.map((t: any) => t.datasource)]);
    expect(new Set(uids.map((d: any) => `${d.type}/${d.uid}`))).toEqual(new Set(['prometheus/prometheus']));
  });

  test('THEN every query selects only metrics the exporters and the app contract expose', () => {
    for (const expr of exprs(overview)) {
      const names = metricNamesIn(expr);
      expect(names.length).toBeGreaterThan(0);
      expect({ expr, unknown: names.filter((m) => !KNOWN_METRICS.has(m)) }).toEqual({ expr, unknown: [] });
    }
  });

  test('THEN panels are laid out without overlap and have unique ids', () => {
    const ids = overview.panels.map((p: any) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const { gridPos: g } of overview.panels) {
      expect(g.x + g.w).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`)).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  test('THEN the panels draw the alert levels of the config', () => {
    const levels = (title: string) => panel(overview, title).fieldConfig.defaults.thresholds.steps.map((s: any) => s.value);
    expect(levels('CPU busy')).toEqual([null, 70, 90]);
    expect(levels('p95 response time')).toEqual([null, 0.5, 2]);
    expect(levels('TLS certificate time left')).toEqual([null, 7 * 86400, 14 * 86400]);
  });
});

describe('GIVEN other thresholds, datasource uid and sidecar label WHEN the dashboards are synthesized', () => {
  test('THEN the levels, the uid and the label follow', () => {
    const config = configFor('prod', { alerts: { cpu: { warning: 50, critical: 60 } } });
    // The node row is kube-prometheus-stack's (node-exporter's metrics): it contributes it.
    const nodeRows = { alertRules: () => [], dashboardRows: (kit: DashboardKit) => kubePrometheusStack.dashboardRows!(kit) };
    const configMaps = synthesizedDashboards(config, { datasourceUid: 'prom-main', sidecarLabel: { key: 'dashboards', value: 'platform' }, contributors: [nodeRows] });
    expect(configMaps[0].metadata.labels.dashboards).toBe('platform');
    const [model] = models(configMaps);
    expect(panel(model, 'CPU busy').fieldConfig.defaults.thresholds.steps.map((s: any) => s.value)).toEqual([null, 50, 60]);
    expect(new Set(contentPanels(model).map((p: any) => p.datasource.uid))).toEqual(new Set(['prom-main']));
  });
});

const promtool = PROMTOOL_BIN;
describeWithPrograms('GIVEN every dashboard query WHEN the real promtool (Prometheus 3.14) parses it', { 'promtool v3.14.0 (scripts/prometheus/build.sh)': promtool }, () => {
  test('THEN each is valid PromQL (as a recording rule, with $__rate_interval as 5m)', () => {
    const [overview] = models(synthesizedDashboards(configFor('prod')));
    const rules = exprs(overview).map((expr, i) => ({ record: `dashboard:query_${i}`, expr: expr.split('$__rate_interval').join('5m') }));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboards-'));
    const file = path.join(dir, 'queries.yaml');
    fs.writeFileSync(file, yaml.dump({ groups: [{ name: 'dashboard-queries', rules }] }));
    const result = spawnSync(promtool!, ['check', 'rules', file], { encoding: 'utf8' });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(result.stdout + result.stderr).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(result.status).toBe(0);
  });
});

describe('GIVEN a PromQL expression WHEN its metric names are read', () => {
  test('THEN selectors are found and functions, keywords, labels, ranges and strings are not', () => {
    expect(metricNamesIn('100 * sum by (job, le) (rate(http_requests_total{status=~"5..", x="y{z}"}[5m])) / on (job) group_left () max(up) or vector(0)'))
      .toEqual(['http_requests_total', 'up']);
    expect(metricNamesIn('time() - max(kube_cronjob_created{cronjob="a"}) > 93600')).toEqual(['kube_cronjob_created']);
  });

  test('THEN a misspelt metric is not in the catalog', () => {
    expect(metricNamesIn('rate(http_request_total[5m])').filter((m) => !KNOWN_METRICS.has(m))).toEqual(['http_request_total']);
  });
});
