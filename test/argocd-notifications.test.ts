/**
 * Deploy failures are alerts: the argocd-notifications-cm that the argo-cd chart renders from our
 * values (triggers, templates, notifiers, subscriptions) is run through Argo CD's own notification
 * engine (scripts/argocd-notifications, built from github.com/argoproj/notifications-engine by
 * scripts/argocd-notifications/build.sh) with Application objects in the states Argo CD writes:
 * a failed PreSync migration, a failed sync, a degraded app, a healthy one. The Slack and Discord
 * notifications are sent by the engine's webhook client to a loopback server.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { configFor, one, synth } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const ENGINE = path.join(__dirname, '..', '.tools', 'argocd-notifications', 'bin', 'argocd-notifications');
const engine = fs.existsSync(ENGINE) ? ENGINE : undefined;

const config = configFor('prod', {
  monitoring: {
    alertmanager: {
      receivers: [
        { name: 'ops-email', type: 'email', to: 'ops@example.com', from: 'am@example.com', smarthost: 'smtp.example.com:587', authUsername: 'am', secret: { name: 'alertmanager-smtp', key: 'password' } },
        { name: 'oncall', type: 'slack', channel: '#alerts', severities: ['critical'], secret: { name: 'alertmanager-webhooks', key: 'slack' } },
        { name: 'team', type: 'discord', severities: ['warning'], secret: { name: 'alertmanager-webhooks', key: 'discord' } },
        { name: 'phone', type: 'telegram', chatId: -1001234567890, severities: ['critical'], secret: { name: 'alertmanager-webhooks', key: 'telegram' } },
      ],
    },
  },
  secrets: {
    monitoring: { 'alertmanager-webhooks': { keys: ['slack', 'discord', 'telegram'], mode: 'existing' } },
    argocd: { 'argocd-notifications-secret': { keys: ['ops-email', 'oncall', 'team', 'phone'], mode: 'existing' } },
  },
});
const s = synth(config);
const notifications = one(s, 'Application', 'argocd').spec.source.helm.valuesObject.notifications;

/** The ConfigMap data the chart writes: notifiers, templates and triggers as they are, subscriptions as YAML. */
function configMapData(values: any): Record<string, string> {
  return { ...values.notifiers, ...values.templates, ...values.triggers, subscriptions: JSON.stringify(values.subscriptions) };
}

/** An Application as Argo CD writes its status. */
function application(status: object): object {
  return { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'app', namespace: 'argocd' }, spec: {}, status };
}
const REVISION = '5f1c0ffee';
const APPS = {
  migrationFailed: application({
    health: { status: 'Healthy' },
    sync: { status: 'OutOfSync', revision: REVISION },
    operationState: {
      phase: 'Failed', message: 'one or more synchronization tasks completed unsuccessfully',
      syncResult: { revision: REVISION, resources: [
        { group: 'batch', kind: 'Job', namespace: 'app', name: 'crm-migrate-sa', hookType: 'PreSync', hookPhase: 'Succeeded', status: 'Synced', message: 'created' },
        { group: 'batch', kind: 'Job', namespace: 'app', name: 'crm-migrate', hookType: 'PreSync', hookPhase: 'Failed', status: 'Synced', message: 'Job has reached the specified backoff limit' },
      ] },
    },
  }),
  syncFailed: application({
    health: { status: 'Healthy' },
    sync: { status: 'OutOfSync', revision: REVISION },
    operationState: {
      phase: 'Failed', message: 'one or more objects failed to apply, reason: Deployment.apps "crm" is invalid',
      syncResult: { revision: REVISION, resources: [{ group: 'apps', kind: 'Deployment', namespace: 'app', name: 'crm', status: 'SyncFailed', message: 'is invalid' }] },
    },
  }),
  degraded: application({ health: { status: 'Degraded', message: 'Deployment "crm" exceeded its progress deadline' }, sync: { status: 'Synced', revision: REVISION } }),
  healthy: application({
    health: { status: 'Healthy' }, sync: { status: 'Synced', revision: REVISION },
    operationState: { phase: 'Succeeded', syncResult: { revision: REVISION, resources: [{ kind: 'Job', name: 'crm-migrate', hookType: 'PreSync', hookPhase: 'Succeeded' }] } },
  }),
  // An Application that has never synced (no operationState): the conditions must not error.
  fresh: application({ health: { status: 'Missing' }, sync: { status: 'OutOfSync' } }),
};

const SECRET = { 'ops-email': 'smtp-password', oncall: 'http://127.0.0.1:1/slack', team: 'http://127.0.0.1:1/discord', phone: '123456:bot-token' };

function runEngine(app: object, secret: Record<string, string> = SECRET, sendTo: string[] = []): any {
  const run = spawnSync(engine!, [], { input: JSON.stringify({ configMap: configMapData(notifications), secret, app, sendTo }), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`argocd-notifications failed: ${run.stderr}`);
  // A condition that errors counts as "not triggered" in the engine: it must not error at all.
  expect(run.stderr).not.toMatch(/failed to execute/);
  return JSON.parse(run.stdout);
}
const fired = (out: any) => Object.entries(out.triggers).filter(([, conds]: [string, any]) => conds.some((c: any) => c.triggered)).map(([name]) => name);

describe('GIVEN receivers of every kind WHEN the argo-cd values are synthesized', () => {
  test('THEN the notifications controller runs, with the Secret created out of band and declared', () => {
    expect(notifications).toMatchObject({ enabled: true, secret: { create: false, name: 'argocd-notifications-secret' } });
    expect(s.platform.declaredSecrets.filter((d) => d.namespace === 'argocd').map((d) => d.key)).toEqual(['ops-email', 'oncall', 'team', 'phone']);
  });
  test('THEN each receiver is subscribed to the events of its severities (critical: hook and sync failures; warning: degraded)', () => {
    expect(notifications.subscriptions).toEqual([
      { triggers: ['on-hook-failed'], recipients: ['ops-email:ops@example.com', 'oncall:', 'phone:-1001234567890'] },
      { triggers: ['on-sync-failed'], recipients: ['ops-email:ops@example.com', 'oncall:', 'phone:-1001234567890'] },
      { triggers: ['on-health-degraded'], recipients: ['ops-email:ops@example.com', 'team:'] },
    ]);
  });
  test('WHEN there are no receivers THEN the controller is off (no pod, nothing to declare)', () => {
    const none = synth(configFor('prod', { monitoring: { alertmanager: { receivers: [] } } }));
    expect(one(none, 'Application', 'argocd').spec.source.helm.valuesObject.notifications).toEqual({ enabled: false });
  });
});

describeWithPrograms("Argo CD's notification engine on the synthesized notifications config", { 'argocd-notifications (bash scripts/argocd-notifications/build.sh)': engine }, () => {
  test('THEN the engine parses it and builds every notifier', () => {
    expect(runEngine(APPS.healthy).services).toEqual(['oncall', 'ops-email', 'phone', 'team']);
  });

  test('WHEN the PreSync migration failed THEN only on-hook-failed fires, once per revision, to the critical receivers, naming the Job', () => {
    const out = runEngine(APPS.migrationFailed);
    expect(fired(out)).toEqual(['on-hook-failed']);
    expect(out.triggers['on-hook-failed'][0].oncePer).toBe(REVISION);
    expect(Object.keys(out.notifications['on-hook-failed']).sort()).toEqual(['oncall', 'ops-email', 'phone']);
    const email = out.notifications['on-hook-failed']['ops-email'];
    expect(email.email.subject).toBe('[prod] Deploy of app stopped: a hook failed');
    expect(email.message).toBe(
      `[prod] Deploy of app stopped: hook crm-migrate (PreSync) Failed: Job has reached the specified backoff limit. The new version did not roll out. Revision ${REVISION}. Logs: kubectl -n app logs job/crm-migrate`,
    );
    expect(out.notifications['on-hook-failed'].phone.message).toBe(email.message);
    expect(JSON.parse(out.notifications['on-hook-failed'].oncall.webhook.oncall.body)).toEqual({ text: email.message, channel: '#alerts' });
  });

  test('WHEN objects failed to apply THEN only on-sync-failed fires, with Argo CD\'s message', () => {
    const out = runEngine(APPS.syncFailed);
    expect(fired(out)).toEqual(['on-sync-failed']);
    expect(out.notifications['on-sync-failed']['ops-email'].message).toBe(
      `[prod] Sync of app failed (Failed): one or more objects failed to apply, reason: Deployment.apps "crm" is invalid. Revision ${REVISION}. Details: kubectl -n argocd get application app -o yaml`,
    );
    // A quote in Argo CD's message stays valid JSON in the webhook body.
    expect(JSON.parse(out.notifications['on-sync-failed'].oncall.webhook.oncall.body).text).toContain('Deployment.apps "crm" is invalid');
  });

  test('WHEN the app is degraded THEN only on-health-degraded fires, to e-mail and Discord (the warning receivers)', () => {
    const out = runEngine(APPS.degraded);
    expect(fired(out)).toEqual(['on-health-degraded']);
    expect(Object.keys(out.notifications['on-health-degraded']).sort()).toEqual(['ops-email', 'team']);
    expect(JSON.parse(out.notifications['on-health-degraded'].team.webhook.team.body)).toEqual({
      content: `[prod] app is degraded: Deployment "crm" exceeded its progress deadline. Revision ${REVISION}. Details: kubectl -n argocd get application app -o yaml`,
    });
  });

  test.each([['a healthy, synced app', APPS.healthy], ['an app that never synced', APPS.fresh]])('WHEN %s THEN nothing fires', (_name, app) => {
    expect(fired(runEngine(app))).toEqual([]);
  });

  test('WHEN the engine sends THEN the Slack and Discord webhooks receive the JSON bodies (URLs from the Secret)', async () => {
    const received: { path: string; body: any }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', body: JSON.parse(body) });
        res.end('ok');
      });
    });
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
    try {
      const secret = { ...SECRET, oncall: `http://127.0.0.1:${port}/slack/T000/B000`, team: `http://127.0.0.1:${port}/discord/1/x` };
      const run = (app: object, to: string) => new Promise<any>((resolve, reject) => {
        const child = require('child_process').spawn(engine!, [], { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c));
        child.on('close', (code: number) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`exit ${code}`))));
        child.stdin.end(JSON.stringify({ configMap: configMapData(notifications), secret, app, sendTo: [to] }));
      });
      const hook = await run(APPS.migrationFailed, 'oncall');
      const degraded = await run(APPS.degraded, 'team');
      expect([...hook.sent, ...degraded.sent].map((x: any) => [x.service, x.error ?? ''])).toEqual([['oncall', ''], ['team', '']]);
      expect(received.map((r) => r.path)).toEqual(['/slack/T000/B000', '/discord/1/x']);
      expect(received[0].body.text).toContain('hook crm-migrate (PreSync) Failed');
      expect(received[1].body.content).toContain('app is degraded');
    } finally {
      server.close();
    }
  });
});
