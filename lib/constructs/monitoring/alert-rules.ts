import { Construct } from 'constructs';
import { PrometheusRule, PrometheusRuleSpecGroupsRules, PrometheusRuleSpecGroupsRulesExpr } from '../../../imports/monitoring.coreos.com';
import { BACKUP_JOBS } from '../../backup-names';
import { ALERT_ACTIONS, AlertThresholds } from '../../config/alerts';
import { parseDuration } from '../../config/duration';

export type Severity = 'warning' | 'critical';

/** An owner of alert rules (the alert half of IMonitoringContributor, lib/constructs/monitoring/contributions.ts). */
export interface IAlertContributor {
  /** Rule groups by area; each area becomes one PrometheusRule `platform-<area>`. */
  alertRules(thresholds: AlertThresholds): readonly AlertGroup[];
}
export const SEVERITIES: readonly Severity[] = ['warning', 'critical'];

export interface PlatformAlertRulesProps {
  /** Namespace of the PrometheusRule objects (the monitoring namespace). */
  readonly namespace: string;
  /** The threshold table: `config.alerts`. */
  readonly thresholds: AlertThresholds;
  /**
   * Where the watched workloads run: apps (HTTP metrics) and backup (CronJobs); the data services'
   * rules come from their contributors. Pod restarts are watched in every namespace listed: `config.namespaces`.
   */
  readonly namespaces: { readonly app: string; readonly data: string; readonly backup: string } & Readonly<Record<string, string>>;
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
  /**
   * Owners of more rule groups (the data services): each returns its own rules from the same thresholds.
   * @default none
   */
  readonly contributors?: readonly IAlertContributor[];
  /**
   * Extra labels on every PrometheusRule (for a Prometheus `ruleSelector`).
   * @default {}
   */
  readonly labels?: Record<string, string>;
  /**
   * The runbook page; each rule's `runbook_url` is this plus `#<alert name in lower case>` (a
   * section of docs/alert-runbooks.md).
   * @default 'docs/alert-runbooks.md'
   */
  readonly runbookUrl?: string;
}

export interface AlertBody {
  readonly expr: string;
  readonly for?: string;
  readonly summary: string;
  readonly description: string;
  /** What to do (the action column of the threshold table, `ALERT_ACTIONS`); the rule links to the runbook section named after the alert. */
  readonly action: string;
}

export interface AlertRule extends AlertBody {
  readonly alert: string;
  readonly severity: Severity;
}

/**
 * The users' threshold table as PrometheusRules, one object per area (node, kubernetes, apps,
 * postgres, redis, backups, uptime). Each threshold becomes one alert name with a `warning` and a
 * `critical` rule, so Alertmanager's default inhibition (critical silences warning of the same
 * alert name) applies. Every expression aggregates `by` explicit labels, so an alert carries the
 * same labels whatever the scrape config adds.
 */
export class PlatformAlertRules extends Construct {
  /** Names of the PrometheusRule objects. */
  public readonly ruleNames: string[];
  /** Every alert name, once. */
  public readonly alertNames: string[];

  constructor(scope: Construct, id: string, props: PlatformAlertRulesProps) {
    super(scope, id);
    const t = props.thresholds;
    const { app, backup } = props.namespaces;
    if (!app || !backup) throw new Error('PlatformAlertRules: namespaces.app and .backup are required');
    const dumps = props.dumpCronJobPattern ?? BACKUP_JOBS.dumpPattern;
    const drill = props.drillCronJob ?? BACKUP_JOBS.drill;
    const seconds = (d: string) => String(parseDuration(d));

    const groups: Record<string, readonly AlertRule[]> = {
      apps: [
        ...pair('AppResponseTimeHigh', (level) => ({
          expr:
            `histogram_quantile(0.95, sum by (namespace, job, le) (rate(http_request_duration_seconds_bucket{namespace="${app}"}[5m]))) > ${seconds(t.responseTimeP95[level])}`,
          for: t.responseTimeP95.for,
          summary: `p95 response time of {{ $labels.job }} above ${t.responseTimeP95[level]}`,
          description: `p95 {{ $value | humanizeDuration }} for ${t.responseTimeP95.for}. ${configKey('responseTimeP95')} (warning ${t.responseTimeP95.warning}, critical ${t.responseTimeP95.critical}).`,
          action: ALERT_ACTIONS.responseTimeP95,
        })),
        ...pair('AppErrorRateHigh', (level) => ({
          expr:
            `100 * sum by (namespace, job) (rate(http_requests_total{namespace="${app}", status=~"5.."}[5m])) / sum by (namespace, job) (rate(http_requests_total{namespace="${app}"}[5m])) > ${t.errorRate[level]}`,
          for: t.errorRate.for,
          summary: `{{ $labels.job }} answers more than ${t.errorRate[level]} % of requests with 5xx`,
          description: `5xx rate {{ $value | printf "%.2f" }} % for ${t.errorRate.for}. ${configKey('errorRate')} (warning ${t.errorRate.warning} %, critical ${t.errorRate.critical} %).`,
          action: ALERT_ACTIONS.errorRate,
        })),
      ],
      // Data services and other owners contribute their groups here (postgres, redis, ...).
      ...contributed(props.contributors ?? [], t, ['apps', 'backups']),
      backups: [
        // The newest dump of any schedule counts; a CronJob that never succeeded counts from its creation.
        ...pair('BackupTooOld', (level) => {
          const sel = `{namespace="${backup}", cronjob=~"${dumps}"}`;
          return {
            expr:
              `time() - (max by (namespace) (kube_cronjob_status_last_successful_time${sel}) or max by (namespace) (kube_cronjob_created${sel})) > ${seconds(t.backupAge[level])}`,
            summary: `The newest database dump is older than ${t.backupAge[level]}`,
            description: `Last successful dump {{ $value | humanizeDuration }} ago. ${configKey('backupAge')} (warning ${t.backupAge.warning}, critical ${t.backupAge.critical}).`,
            action: ALERT_ACTIONS.backupAge,
          };
        }),
        restoreDrillFailed(backup, drill),
      ],
    };

    this.ruleNames = Object.entries(groups).map(([area, rules]) => {
      const name = `platform-${area}`;
      new PrometheusRule(this, area, {
        metadata: { name, namespace: props.namespace, labels: { 'app.kubernetes.io/part-of': 'platform', ...props.labels } },
        spec: { groups: [{ name, rules: rules.map((r) => toRule(r, props.runbookUrl ?? ALERT_RUNBOOKS_PAGE)) }] },
      });
      return name;
    });
    this.alertNames = [...new Set(Object.values(groups).flat().map((r) => r.alert))];
  }
}

/** Where a rule's thresholds come from, for its description. */
export const configKey = (key: keyof AlertThresholds): string => `Thresholds: alerts.${key} in the environment config`;

/** Rules of one area: one PrometheusRule `platform-<area>`. */
export interface AlertGroup {
  readonly area: string;
  readonly rules: readonly AlertRule[];
}

/** The contributed groups, rules of one area merged in contributor order. */
function contributed(contributors: readonly IAlertContributor[], thresholds: AlertThresholds, builtIn: readonly string[]): Record<string, readonly AlertRule[]> {
  const areas: Record<string, AlertRule[]> = {};
  for (const group of contributors.flatMap((c) => c.alertRules(thresholds))) {
    if (builtIn.includes(group.area)) throw new Error(`alert area "${group.area}" is the platform's own; fix: contribute rules under another area name`);
    (areas[group.area] ??= []).push(...group.rules);
  }
  return areas;
}

/** One alert name, a warning and a critical rule. */
export function pair(alert: string, body: (level: Severity) => AlertBody): AlertRule[] {
  return SEVERITIES.map((severity) => ({ alert, severity, ...body(severity) }));
}

/** The restore drill's newest Job failed (an older failure followed by a success is silent). */
function restoreDrillFailed(namespace: string, drill: string): AlertRule {
  const owner = `kube_job_owner{namespace="${namespace}", owner_kind="CronJob", owner_name="${drill}"}`;
  const newest =
    `kube_job_created{namespace="${namespace}"} == on (namespace) group_left () ` +
    `max by (namespace) (kube_job_created{namespace="${namespace}"} and on (namespace, job_name) ${owner})`;
  return {
    alert: 'RestoreDrillFailed',
    severity: 'warning',
    expr:
      `max by (namespace, job_name) (kube_job_failed{namespace="${namespace}", condition="true"} == 1 ` +
      `and on (namespace, job_name) ${owner} and on (namespace, job_name) (${newest}))`,
    summary: `The latest restore drill ({{ $labels.job_name }}) failed`,
    description: `The backups may not restore: read the logs of Job {{ $labels.namespace }}/{{ $labels.job_name }} and run the drill again (kubectl create job --from=cronjob/${drill}).`,
    action: 'investigate',
  };
}

function toRule(rule: AlertRule, runbookUrl: string): PrometheusRuleSpecGroupsRules {
  if (!rule.action) throw new Error(`alert ${rule.alert} has no action; fix: give it the action of its threshold (ALERT_ACTIONS in lib/config/alerts.ts)`);
  return {
    alert: rule.alert,
    expr: PrometheusRuleSpecGroupsRulesExpr.fromString(rule.expr),
    ...(rule.for && parseDuration(rule.for) ? { for: rule.for } : {}),
    labels: { severity: rule.severity },
    annotations: {
      summary: rule.summary,
      description: `${rule.description} Action: ${rule.action}.`,
      action: rule.action,
      runbook_url: `${runbookUrl}#${runbookAnchor(rule.alert)}`,
    },
  };
}

/** The page of the alert runbooks, from the repository root. */
export const ALERT_RUNBOOKS_PAGE = 'docs/alert-runbooks.md';

/** The section of an alert's runbook: a heading named after the alert (GitHub's anchor: lower case). */
export const runbookAnchor = (alert: string): string => alert.toLowerCase();

/**
 * Where the alert runbooks are browsable for the repository Argo CD syncs: `<repo>/blob/<revision>/<folder
 * of pathPrefix>/docs/alert-runbooks.md` for GitHub/GitLab/Gitea-style https or ssh URLs.
 */
export function runbookPageUrl(gitops: { readonly repoUrl: string; readonly targetRevision: string; readonly pathPrefix: string }): string {
  const ssh = /^(?:ssh:\/\/)?git@([^:/]+)[:/](.+)$/.exec(gitops.repoUrl);
  const web = (ssh ? `https://${ssh[1]}/${ssh[2]}` : gitops.repoUrl).replace(/\.git$/, '').replace(/\/$/, '');
  const folder = gitops.pathPrefix.split('/').slice(0, -1).join('/');
  return `${web}/blob/${gitops.targetRevision}/${folder ? `${folder}/` : ''}${ALERT_RUNBOOKS_PAGE}`;
}
