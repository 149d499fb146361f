/**
 * Dashboards as code with @grafana/grafana-foundation-sdk (typed builders for the dashboard JSON
 * model), shipped as ConfigMaps that Grafana's dashboard sidecar loads.
 */
import { Construct } from 'constructs';
import {
  GraphThresholdsStyleConfigBuilder, GraphThresholdsStyleMode, LegendDisplayMode, LegendPlacement, VizLegendOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import { DashboardBuilder, DataSourceRef, RowBuilder, Threshold, ThresholdsConfigBuilder, ThresholdsMode } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { BACKUP_JOBS } from '../../backup-names';
import { AlertThresholds } from '../../config/alerts';
import { parseDuration } from '../../config/duration';
import { KubeConfigMap } from '../../k8s';

export interface PlatformDashboardsProps {
  /** Namespace of the ConfigMaps (the monitoring namespace, where Grafana's sidecar looks). */
  readonly namespace: string;
  /** `config.alerts`: panels draw the warning and critical levels the alerts use. */
  readonly thresholds: AlertThresholds;
  /** Where apps and backup CronJobs run: `config.namespaces` (the data services' rows come from their contributors). */
  readonly namespaces: { readonly app: string; readonly backup: string };
  /**
   * uid of the Prometheus datasource in Grafana.
   * @default 'prometheus' (kube-prometheus-stack's default datasource)
   */
  readonly datasourceUid?: string;
  /**
   * The label Grafana's dashboard sidecar selects ConfigMaps by.
   * @default { key: 'grafana_dashboard', value: '1' } (kube-prometheus-stack's sidecar default)
   */
  readonly sidecarLabel?: { readonly key: string; readonly value: string };
  /**
   * Owners of more rows (the data services, the add-ons), placed by each row's `order`.
   * @default none
   */
  readonly contributors?: readonly IDashboardContributor[];
  /**
   * PromQL regex of the database-dump CronJobs.
   * @default BACKUP_JOBS.dumpPattern
   */
  readonly dumpCronJobPattern?: string;
  /**
   * Name of the restore-drill CronJob.
   * @default BACKUP_JOBS.drill
   */
  readonly drillCronJob?: string;
}

type Levels = { warning: number; critical: number };
type Targets = [expr: string, legend: string][];
/** A panel builder of the Grafana SDK. */
/** An owner of overview rows (the dashboard half of IMonitoringContributor, lib/constructs/monitoring/contributions.ts). */
export interface IDashboardContributor {
  /** Rows of the platform overview dashboard, in order. */
  dashboardRows(kit: DashboardKit): readonly DashboardRow[];
}

export interface PanelLike {
  build(): unknown;
}

/** Panel builders bound to the dashboard's datasource, for contributors of rows. */
export interface DashboardKit {
  /** The threshold table; panels draw the levels the alerts use. */
  readonly thresholds: AlertThresholds;
  /** PromQL range for rate(): `[$__rate_interval]`. */
  readonly rate: string;
  /** Warning and critical durations in seconds. */
  seconds(levels: { warning: string; critical: string }): Levels;
  /** A time series panel; the alert levels, when given, are drawn as dashed lines. */
  graph(title: string, unit: string, targets: Targets, levels?: Levels, lowerIsWorse?: boolean): PanelLike;
  /** A single-value panel coloured by the levels. */
  stat(title: string, unit: string, targets: Targets, levels?: Levels, lowerIsWorse?: boolean): PanelLike;
}

export interface DashboardRow {
  readonly title: string;
  readonly panels: readonly PanelLike[];
  /**
   * Where the row goes: rows sort by `order`, then in contributor order. The apps row is 0 and the
   * backups row 90; infrastructure (the node row of kube-prometheus-stack) uses 10.
   * @default 50 (the data services)
   */
  readonly order?: number;
}

/** The platform overview dashboard: apps (RED), node, Postgres, PgBouncer, Redis, MinIO, backups and uptime. */
export class PlatformDashboards extends Construct {
  public readonly datasourceUid: string;
  /** uid of the overview dashboard (stable: links and bookmarks use it). */
  public readonly overviewUid = 'platform-overview';
  public readonly configMapName = 'grafana-dashboard-platform-overview';
  /** The dashboard JSON model as shipped. */
  public readonly overview: Record<string, unknown>;

  constructor(scope: Construct, id: string, props: PlatformDashboardsProps) {
    super(scope, id);
    this.datasourceUid = props.datasourceUid ?? 'prometheus';
    const label = props.sidecarLabel ?? { key: 'grafana_dashboard', value: '1' };
    this.overview = overviewDashboard(this.overviewUid, { type: 'prometheus', uid: this.datasourceUid }, props);
    new KubeConfigMap(this, 'Overview', {
      metadata: {
        name: this.configMapName,
        namespace: props.namespace,
        labels: { [label.key]: label.value, 'app.kubernetes.io/part-of': 'platform' },
      },
      data: { 'platform-overview.json': JSON.stringify(this.overview, null, 2) },
    });
  }
}

function overviewDashboard(uid: string, ds: DataSourceRef, props: PlatformDashboardsProps): Record<string, unknown> {
  const t = props.thresholds;
  const { app, backup } = props.namespaces;
  const dumps = props.dumpCronJobPattern ?? BACKUP_JOBS.dumpPattern;
  const drill = props.drillCronJob ?? BACKUP_JOBS.drill;
  const secs = (l: { warning: string; critical: string }): Levels => ({ warning: parseDuration(l.warning)!, critical: parseDuration(l.critical)! });
  const rate = '[$__rate_interval]';
  const queries = (targets: [string, string][]) =>
    targets.map(([expr, legend], i) => new DataqueryBuilder().datasource(ds).expr(expr).legendFormat(legend).refId(String.fromCharCode(65 + i)));
  const steps = (levels: Levels | undefined, lowerIsWorse = false): Threshold[] => {
    if (!levels) return [{ value: null as unknown as number, color: 'green' }];
    return lowerIsWorse
      ? [{ value: null as unknown as number, color: 'red' }, { value: levels.critical, color: 'orange' }, { value: levels.warning, color: 'green' }]
      : [{ value: null as unknown as number, color: 'green' }, { value: levels.warning, color: 'orange' }, { value: levels.critical, color: 'red' }];
  };
  /** A time series panel; the alert levels, when given, are drawn as dashed lines. */
  const graph = (title: string, unit: string, targets: [string, string][], levels?: Levels, lowerIsWorse = false) => {
    const panel = new TimeseriesPanel().title(title).datasource(ds).unit(unit).span(8).height(8).targets(queries(targets))
      .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom))
      .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps(levels, lowerIsWorse)));
    return levels ? panel.thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed)) : panel;
  };
  const stat = (title: string, unit: string, targets: [string, string][], levels?: Levels, lowerIsWorse = false) =>
    new StatPanel().title(title).datasource(ds).unit(unit).span(8).height(6).targets(queries(targets))
      .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps(levels, lowerIsWorse)));

  const appSel = `namespace="${app}"`;
  const kit: DashboardKit = { thresholds: t, rate, seconds: secs, graph, stat };
  const rows: DashboardRow[] = [
    { title: 'Apps: rate, errors, duration', order: 0, panels: [
      graph('Requests per second', 'reqps', [[`sum by (job) (rate(http_requests_total{${appSel}}${rate}))`, '{{job}}']]),
      graph('5xx responses (% of requests)', 'percent', [[
        `100 * sum by (job) (rate(http_requests_total{${appSel}, status=~"5.."}${rate})) / sum by (job) (rate(http_requests_total{${appSel}}${rate}))`, '{{job}}',
      ]], t.errorRate),
      graph('p95 response time', 's', [[
        `histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket{${appSel}}${rate})))`, '{{job}}',
      ]], secs(t.responseTimeP95)),
    ] },
    // Data services, add-ons and other owners contribute their rows.
    ...(props.contributors ?? []).flatMap((c) => c.dashboardRows(kit)),
    { title: 'Backups and uptime', order: 90, panels: [
      stat('Newest database dump', 's', [[
        `time() - max(kube_cronjob_status_last_successful_time{namespace="${backup}", cronjob=~"${dumps}"})`, 'age',
      ]], secs(t.backupAge)),
      stat('Last successful restore drill', 's', [[
        `time() - max(kube_cronjob_status_last_successful_time{namespace="${backup}", cronjob="${drill}"})`, 'age',
      ]]),
      stat('Failed backup Jobs (kept in history)', 'short', [[
        `count(kube_job_failed{namespace="${backup}", condition="true"} == 1) or vector(0)`, 'failed',
      ]], { warning: 1, critical: 2 }),
      graph('Uptime probes (1 = up)', 'short', [[`min by (instance) (probe_success)`, '{{instance}}']]),
      graph('TLS certificate time left', 's', [[`min by (instance) (probe_ssl_earliest_cert_expiry) - time()`, '{{instance}}']], secs(t.certificateExpiry), true),
    ] },
  ];

  const dashboard = new DashboardBuilder('Platform overview')
    .uid(uid)
    .tags(['platform', 'generated'])
    .description('Generated by lib/constructs/monitoring/dashboards.ts: edit there, not in Grafana.')
    .readonly()
    .refresh('1m')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser');
  // A stable sort: equal orders keep contributor order.
  for (const { title, panels } of [...rows].sort((a, b) => (a.order ?? 50) - (b.order ?? 50))) {
    dashboard.withRow(new RowBuilder(title));
    panels.forEach((panel) => dashboard.withPanel(panel as never));
  }
  // JSON round trip: plain data only (the builders leave marker functions on queries).
  const model = JSON.parse(JSON.stringify(dashboard.build()));
  // Panel ids in layout order, so that a new panel does not renumber the ones before it.
  model.panels.forEach((panel: { id: number }, i: number) => (panel.id = i + 1));
  return model;
}
