/** Bad monitoring settings: each fails the synth with key, value and fix, and leaves dist/ untouched. */
import { monitoringWarnings, parseDuration, parsePrometheusSize } from '../lib/config/monitoring';
import { BadInput, describeBadInputs } from './helpers/bad-input';
import { configFor } from './helpers/platform';

const slack = (secret?: object) => ({ monitoring: { alertmanager: { receivers: [{ name: 'team', type: 'slack', channel: '#ops', ...(secret ? { secret } : {}) }] } } });

const BAD: BadInput[] = [
  ['a retention that does not parse', { monitoring: { prometheus: { retention: '15 days' } } }, ['monitoring.prometheus.retention = "15 days"', 'is not a duration', 'fix: write it like 15d']],
  ['a Loki retention that does not parse', { monitoring: { loki: { retention: '1 month' } } }, ['monitoring.loki.retention = "1 month"', 'is not a duration']],
  ['a Loki retention that is not whole days', { monitoring: { loki: { retention: '36h' } } }, ['monitoring.loki.retention = "36h"', "Loki's index period is 24h", 'fix: use a value like 30d']],
  ['a retention size Prometheus does not read', { monitoring: { prometheus: { retentionSize: '16Gi' } } }, ['monitoring.prometheus.retentionSize = "16Gi"', 'not a Prometheus size', 'fix:']],
  ['a retention size larger than the volume', { monitoring: { prometheus: { retentionSize: '30GB' } } }, ['monitoring.prometheus.retentionSize = "30GB"', 'does not fit monitoring.prometheus.storage.size (20Gi)', 'fix: lower retentionSize to at most 18GB']],
  ['a receiver without its secret', slack(), ['monitoring.alertmanager.receivers.0.secret = (not set)', 'the Secret that holds the Slack webhook URL', 'fix: add secret: { name: <secret>, key: <key> }']],
  ['an e-mail receiver without its secret', { monitoring: { alertmanager: { receivers: [{ name: 'mail', type: 'email', to: 'ops@example.com', from: 'am@example.com', smarthost: 'smtp.example.com:587', authUsername: 'am' }] } } }, ['monitoring.alertmanager.receivers.0.secret', 'the SMTP password']],
  ['a receiver of an unknown kind', { monitoring: { alertmanager: { receivers: [{ name: 'x', type: 'pager', secret: { name: 's', key: 'k' } }] } } }, ['monitoring.alertmanager.receivers.0.type = "pager"', 'fix: set type to email, slack, discord or telegram']],
  ['two receivers with one name', { monitoring: { alertmanager: { receivers: [slack({ name: 's', key: 'a' }).monitoring.alertmanager.receivers[0], slack({ name: 's', key: 'b' }).monitoring.alertmanager.receivers[0]] } } }, ['monitoring.alertmanager.receivers.1.name = "team"', 'used twice']],
  ['Grafana on an app host', { monitoring: { grafana: { host: 'crm.{domain}' } } }, ['monitoring.grafana.host = "crm.example.com"', 'already served by app "crm"', 'fix:']],
  ['the status page outside the domain', { monitoring: { statusPage: { host: 'status.other.org' } } }, ['monitoring.statusPage.host = "status.other.org"', 'outside the domain example.com']],
  ['Loki in a public bucket', { monitoring: { loki: { storage: { type: 's3', bucket: 'tour-images', secret: 'loki-s3', size: '5Gi' } } } }, ['monitoring.loki.storage.bucket = "tour-images"', 'would publish the logs', 'fix: make it private']],
  ['prod without a dead man\'s switch', { monitoring: { alertmanager: { heartbeat: null } } }, ['monitoring.alertmanager.heartbeat = null', 'nobody is told', 'fix: set monitoring.alertmanager.heartbeat']],
  ['a Telegram receiver without a numeric chat id', { monitoring: { alertmanager: { receivers: [{ name: 'tg', type: 'telegram', chatId: '@ops', secret: { name: 's', key: 'k' } }] } } }, ['monitoring.alertmanager.receivers.0.chatId = "@ops"']],
  ['a cache size below 0', { monitoring: { loki: { chunksCacheMB: -1 } } }, ['monitoring.loki.chunksCacheMB = -1']],
];

describeBadInputs('GIVEN a bad monitoring section WHEN synthesizing', BAD, { endToEnd: ['a retention size larger than the volume'] });

describe("GIVEN an environment without a dead man's switch", () => {
  const without = (env: string) => configFor(env, { monitoring: { alertmanager: { heartbeat: null } } });
  test('WHEN it is dev THEN the synth goes on, with a loud warning that names the fix', () => {
    expect(monitoringWarnings(without('dev'))).toEqual([expect.stringMatching(/^dev: NO DEAD MAN'S SWITCH\..*fix: set monitoring\.alertmanager\.heartbeat/)]);
  });
  test('WHEN it is prod THEN the config is refused (see the bad inputs above)', () => {
    expect(() => without('prod')).toThrow(/monitoring\.alertmanager\.heartbeat = null/);
  });
  test.each(['dev', 'prod', 'ha'])('WHEN %s is shipped THEN it has one, and no warning', (env) => {
    const config = configFor(env);
    expect(config.monitoring.alertmanager.heartbeat).toEqual({ secret: { name: 'alertmanager-heartbeat', key: 'url' }, interval: '1m' });
    expect(monitoringWarnings(config)).toEqual([]);
  });
});

describe('the duration and size parsers', () => {
  test.each([['15d', 15 * 86400e3], ['720h', 720 * 3600e3], ['2h30m', 9000e3], ['1w', 7 * 86400e3], ['500ms', 500]])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  test.each(['', '15', 'd', '15 d', '30m2h', '0s', '-1d'])('"%s" is refused', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
  test('Prometheus sizes are powers of 1024 and need a unit', () => {
    expect(parsePrometheusSize('16GB')).toBe(16 * 2 ** 30);
    expect(parsePrometheusSize('16')).toBeUndefined();
    expect(parsePrometheusSize('16GiB')).toBeUndefined();
  });
  test('GIVEN a receiver with its secret THEN the config loads', () => {
    expect(configFor('prod', slack({ name: 'alertmanager-webhooks', key: 'slack' })).monitoring.alertmanager.receivers[0]).toMatchObject({ type: 'slack', severities: ['critical', 'warning'] });
  });
});

