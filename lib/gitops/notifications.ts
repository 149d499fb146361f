/**
 * Argo CD notifications: a failed sync, a failed hook (the PreSync migration, a smoke test) and a
 * degraded Application are alerts, sent to the same receivers as Prometheus' alerts
 * (`monitoring.alertmanager.receivers`) by the argo-cd chart's notifications controller.
 * The keys are those of `argocd-notifications-cm` (the chart's `notifications.notifiers`,
 * `templates`, `triggers`, `subscriptions`); secret values are `$<key>` references into the
 * Secret `argocd-notifications-secret`, one key per receiver (created out of band or sealed).
 */
import { toYaml } from '../yaml';
import { ReceiverConfig } from '../config/monitoring';

/** The Secret the notifications controller reads; one key per receiver, named after it. */
export const NOTIFICATIONS_SECRET = 'argocd-notifications-secret';

export type DeployEventSeverity = 'critical' | 'warning';

/** A deployment event: its trigger condition (expr-lang, on the Application as `app`) and its text. */
interface DeployEvent {
  readonly trigger: string;
  readonly template: string;
  readonly severity: DeployEventSeverity;
  readonly description: string;
  readonly when: string;
  readonly oncePer: string;
  /** Subject / title; a Go template. */
  readonly title: string;
  /** printf format and its arguments (Go template pipelines): the body of every message. */
  readonly format: string;
  readonly args: readonly string[];
}

// Fields of the Application status the conditions read (`?.` and `??`: the status may be partial).
const op = 'app.status?.operationState';
const failedHook = `any(${op}?.syncResult?.resources ?? [], {.hookType != nil && .hookPhase in ['Failed', 'Error']})`;

/** The three events, in the order they are listed. */
export const DEPLOY_EVENTS: readonly DeployEvent[] = [
  {
    trigger: 'on-hook-failed',
    template: 'app-hook-failed',
    severity: 'critical',
    description: 'A hook of the sync (the PreSync migration Job, a smoke test) failed: the sync stopped before the new version rolled out',
    when: `${op}?.phase in ['Error', 'Failed'] && ${failedHook}`,
    oncePer: `${op}?.syncResult?.revision`,
    title: 'Deploy of {{.app.metadata.name}} stopped: a hook failed',
    format: 'Deploy of %s stopped: hook %s (%s) %s: %s. The new version did not roll out. Revision %s. Logs: kubectl -n %s logs job/%s',
    args: [
      '.app.metadata.name',
      '$failed.name',
      '$failed.hookType',
      '$failed.hookPhase',
      '$failed.message',
      '.app.status.operationState.syncResult.revision',
      '$failed.namespace',
      '$failed.name',
    ],
  },
  {
    trigger: 'on-sync-failed',
    template: 'app-sync-failed',
    severity: 'critical',
    description: 'The sync failed (not a hook): objects were refused or could not be applied',
    when: `${op}?.phase in ['Error', 'Failed'] && !(${failedHook})`,
    oncePer: `${op}?.syncResult?.revision`,
    title: 'Sync of {{.app.metadata.name}} failed',
    format: 'Sync of %s failed (%s): %s. Revision %s. Details: kubectl -n argocd get application %s -o yaml',
    args: ['.app.metadata.name', '.app.status.operationState.phase', '.app.status.operationState.message', '.app.status.operationState.syncResult.revision', '.app.metadata.name'],
  },
  {
    trigger: 'on-health-degraded',
    template: 'app-health-degraded',
    severity: 'warning',
    description: 'The Application is Degraded: a workload it deployed does not become healthy',
    when: `app.status?.health?.status == 'Degraded'`,
    oncePer: `app.status?.sync?.revision`,
    title: '{{.app.metadata.name}} is degraded',
    format: '%s is degraded: %s. Revision %s. Details: kubectl -n argocd get application %s -o yaml',
    args: ['.app.metadata.name', '.app.status.health.message', '.app.status.sync.revision', '.app.metadata.name'],
  },
];

/** Go template prelude: `$failed` is the first resource of the sync whose hook failed (or an empty dict). */
const FAILED_HOOK_PRELUDE =
  '{{- $failed := dict -}}' +
  '{{- range (.app.status.operationState.syncResult.resources | default list) -}}' +
  '{{- if and (empty $failed) .hookType (has .hookPhase (list "Failed" "Error")) -}}{{- $failed = . -}}{{- end -}}' +
  '{{- end -}}';

/** `$failed` for the texts that name the failed hook (a prelude that prints nothing). */
const prelude = (event: DeployEvent) => (event.args.some((a) => a.startsWith('$failed')) ? FAILED_HOOK_PRELUDE : '');
/** The event's text as one Go template action. */
const printf = (event: DeployEvent, environment: string, pipe = '') => `{{ printf ${JSON.stringify(`[${environment}] ${event.format}`)} ${event.args.join(' ')}${pipe} }}`;

/** One notifier per receiver: e-mail over SMTP, Slack and Discord webhooks, Telegram's bot API. */
function notifier(r: ReceiverConfig): [string, Record<string, unknown>] {
  const secret = `$${r.name}`;
  switch (r.type) {
    case 'email': {
      const [host, port] = r.smarthost.split(':');
      return [`service.email.${r.name}`, { host, port: Number(port), from: r.from, username: r.authUsername, password: secret }];
    }
    case 'slack':
    case 'discord':
      return [`service.webhook.${r.name}`, { url: secret, headers: [{ name: 'Content-Type', value: 'application/json' }] }];
    case 'telegram':
      return [`service.telegram.${r.name}`, { token: secret }];
  }
}

/** The recipient of a subscription: `<service>:<address>`. */
function recipient(r: ReceiverConfig): string {
  switch (r.type) {
    case 'email':
      return `${r.name}:${r.to}`;
    case 'telegram':
      return `${r.name}:${r.chatId}`;
    default:
      return `${r.name}:`;
  }
}

/** The webhook body of a Slack or Discord receiver (JSON; the text escaped by `toJson`). */
function webhookBody(r: ReceiverConfig, event: DeployEvent, environment: string): string {
  const text = printf(event, environment, ' | toJson');
  if (r.type === 'slack') return `${prelude(event)}{"text": ${text}${r.channel ? `, "channel": ${JSON.stringify(r.channel)}` : ''}}`;
  return `${prelude(event)}{"content": ${text}}`;
}

export interface NotificationsValues {
  readonly notifiers: Record<string, string>;
  readonly templates: Record<string, string>;
  readonly triggers: Record<string, string>;
  readonly subscriptions: { readonly recipients: string[]; readonly triggers: string[] }[];
}

/** The chart values of the notifications controller for these receivers (each gets the events of its severities). */
export function notificationsValues(receivers: readonly ReceiverConfig[], environment: string): NotificationsValues {
  const webhooks = receivers.filter((r) => r.type === 'slack' || r.type === 'discord');
  return {
    notifiers: Object.fromEntries(receivers.map((r) => notifier(r)).map(([k, v]) => [k, toYaml(v)])),
    templates: Object.fromEntries(DEPLOY_EVENTS.map((event) => [
      `template.${event.template}`,
      toYaml({
        message: `${prelude(event)}${printf(event, environment)}`,
        email: { subject: `[${environment}] ${event.title}` },
        ...(webhooks.length > 0 ? { webhook: Object.fromEntries(webhooks.map((r) => [r.name, { method: 'POST', body: webhookBody(r, event, environment) }])) } : {}),
      }),
    ])),
    triggers: Object.fromEntries(DEPLOY_EVENTS.map((event) => [
      `trigger.${event.trigger}`,
      toYaml([{ description: event.description, when: event.when, oncePer: event.oncePer, send: [event.template] }]),
    ])),
    subscriptions: DEPLOY_EVENTS.map((event) => ({
      recipients: receivers.filter((r) => r.severities.includes(event.severity)).map(recipient),
      triggers: [event.trigger],
    })).filter((s) => s.recipients.length > 0),
  };
}

/** The keys of the notifications Secret the controller reads (one per receiver), in Argo CD's namespace. */
export function notificationsSecretRefs(receivers: readonly ReceiverConfig[], namespace: string): { namespace: string; name: string; key: string }[] {
  return receivers.map((r) => ({ namespace, name: NOTIFICATIONS_SECRET, key: r.name }));
}
