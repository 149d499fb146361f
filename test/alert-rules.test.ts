/**
 * The alert rules as Prometheus runs them: every rule group is extracted FROM THE SYNTHESIZED
 * PrometheusRule objects (the platform's, or — while no chart instantiates the construct — a test
 * chart's), checked with the real `promtool check rules`, and run through `promtool test rules`
 * with input series generated from the config thresholds (test/helpers/alert-scenarios.ts). The promtool is
 * Prometheus v3.14.0's, the release kube-prometheus-stack 88.5.3 deploys (scripts/prometheus/build.sh).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import * as yaml from 'js-yaml';
import { PlatformConfig } from '../lib/config/schema';
import { PlatformAlertRules } from '../lib/constructs/monitoring/alert-rules';
import { KNOWN_METRICS, metricNamesIn } from '../lib/constructs/monitoring/metrics';
import { CUSTOM_SCENARIOS, generateTests, LEVEL_SCENARIOS, patroniTests, TestGroup } from './helpers/alert-scenarios';
import { configFor, find, synth } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';
import { PROMTOOL_BIN } from '../scripts/lab/prometheus-tools';
import { referenceDir } from '../lib/project';
import { loadCatalog } from '../lib/validation/schema-catalog';
import { KUBERNETES_VERSIONS } from '../lib/validation/validate-dist';
import { validateObject } from '../lib/validation/validate-object';

const alertRules = (objects: any[]) => objects.flatMap((o) => o.spec.groups.flatMap((g: any) => g.rules)).filter((r: any) => r.alert);
const platformAlerts = (objects: any[]) => alertRules(objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/part-of'] === 'platform'));

/** PrometheusRule objects of the synthesized platform, or of a chart holding only the construct. */
function synthesizedRules(config: PlatformConfig): any[] {
  const fromPlatform = find(synth(config), 'PrometheusRule');
  if (platformAlerts(fromPlatform).length > 0) return fromPlatform;
  const chart = new Chart(Testing.app(), 'monitoring');
  new PlatformAlertRules(chart, 'alerts', { namespace: config.namespaces.monitoring, thresholds: config.alerts, namespaces: config.namespaces });
  return Testing.synth(chart).filter((o) => o.kind === 'PrometheusRule');
}

describe('GIVEN the prod thresholds WHEN the alert rules are synthesized', () => {
  const config = configFor('prod');
  const objects = synthesizedRules(config);
  const rules = platformAlerts(objects);

  test.each(KUBERNETES_VERSIONS)('THEN every PrometheusRule validates strictly (Kubernetes %s and the CRDs)', (version) => {
    const catalog = loadCatalog(referenceDir(), version);
    expect(objects.flatMap((o: any) => validateObject(catalog, o))).toEqual([]);
  });

  test('THEN every threshold alert has a warning and a critical rule and the same `for` on both', () => {
    for (const name of Object.keys(LEVEL_SCENARIOS)) {
      const pair = rules.filter((r: any) => r.alert === name);
      expect(pair.map((r: any) => r.labels.severity).sort()).toEqual(['critical', 'warning']);
      expect(new Set(pair.map((r: any) => r.for)).size).toBe(1);
    }
  });

  test('THEN the users\' table is in the expressions: CPU 70/90 %, p95 0.5 s/2 s, backups 26 h, certificates 14 days', () => {
    const expr = (alert: string, severity: string) => rules.find((r: any) => r.alert === alert && r.labels.severity === severity).expr;
    expect(expr('NodeCpuHigh', 'warning')).toMatch(/> 70$/);
    expect(expr('NodeCpuHigh', 'critical')).toMatch(/> 90$/);
    expect(rules.find((r: any) => r.alert === 'NodeCpuHigh').for).toBe('5m');
    expect(expr('AppResponseTimeHigh', 'warning')).toMatch(/> 0.5$/);
    expect(expr('AppResponseTimeHigh', 'critical')).toMatch(/> 2$/);
    expect(expr('BackupTooOld', 'warning')).toMatch(/> 93600$/);
    expect(expr('CertificateExpiresSoon', 'warning')).toMatch(/< 1209600$/);
  });

  test('THEN every rule queries the namespaces of the config and metrics the exporters expose', () => {
    for (const rule of rules) {
      const unknown = metricNamesIn(rule.expr).filter((m) => !KNOWN_METRICS.has(m));
      expect({ alert: rule.alert, unknown }).toEqual({ alert: rule.alert, unknown: [] });
    }
    const joined = rules.map((r: any) => r.expr).join('\n');
    expect(joined).toContain(`namespace="${config.namespaces.app}"`);
    expect(joined).toContain(`namespace="${config.namespaces.data}"`);
    expect(joined).toContain(`namespace="${config.namespaces.backup}", cronjob=~"pg-backup-.+"`);
    expect(joined).toContain('owner_name="pg-restore-drill"');
  });

  test('THEN every alert says what happened and where its threshold lives', () => {
    for (const rule of rules) {
      expect(rule.annotations.summary).toBeTruthy();
      expect(rule.annotations.description).toBeTruthy();
      expect(['warning', 'critical']).toContain(rule.labels.severity);
    }
  });

  test('THEN every rule says what to do: the action of the README threshold table and a runbook section that exists', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    // The action column of the users' table, by alert name.
    const tableActions = new Map(
      [...readme.matchAll(/^\| (?:`\w+`|–) \| (\w+)[^|]*\|(?:[^|\n]*\|){4} ([^|\n]+) \|$/gm)].map((m) => [m[1], m[2].trim()]),
    );
    // GitHub's anchors of the README headings (lower case, spaces to dashes, punctuation dropped).
    const anchors = new Set([...readme.matchAll(/^#+ (.+)$/gm)].map((m) => m[1].trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')));
    expect(rules.length).toBeGreaterThan(20);
    for (const rule of rules) {
      const { action, runbook_url: url } = rule.annotations;
      expect({ alert: rule.alert, action }).toEqual({ alert: rule.alert, action: tableActions.get(rule.alert) });
      expect(rule.annotations.description).toContain(`Action: ${action}.`);
      expect(url).toMatch(/^https:\/\/github\.com\/example\/platform\/blob\/main\/README\.md#/);
      expect({ alert: rule.alert, section: anchors.has(url.split('#')[1]) }).toEqual({ alert: rule.alert, section: true });
    }
  });

  test('THEN every platform alert has a generated promtool scenario (a new alert needs one)', () => {
    const covered = new Set([...Object.keys(LEVEL_SCENARIOS), ...CUSTOM_SCENARIOS]);
    expect([...new Set(rules.map((r: any) => r.alert))].filter((a) => !covered.has(a))).toEqual([]);
  });
});

const promtool = PROMTOOL_BIN;

describeWithPrograms('GIVEN rule files extracted from the synthesized PrometheusRules WHEN the real promtool (Prometheus 3.14) runs them', { 'promtool v3.14.0 (scripts/prometheus/build.sh)': promtool }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promtool-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Writes the groups (annotations removed when asked: promtool compares them verbatim) and runs promtool. */
  const run = (name: string, objects: any[], args: (ruleFile: string) => string[], stripAnnotations = false) => {
    const groups = objects.flatMap((o) => o.spec.groups).map((g: any) => ({
      ...g,
      rules: g.rules.map((r: any) => (stripAnnotations ? { ...r, annotations: undefined } : r)),
    }));
    const ruleFile = path.join(dir, `${name}.rules.yaml`);
    fs.writeFileSync(ruleFile, yaml.dump({ groups }, { skipInvalid: true }));
    return spawnSync(promtool!, args(ruleFile), { cwd: dir, encoding: 'utf8' });
  };

  const unitTest = (name: string, objects: any[], tests: TestGroup[], stripAnnotations = true) =>
    run(name, objects, (ruleFile) => {
      const testFile = path.join(dir, `${name}.test.yaml`);
      fs.writeFileSync(testFile, yaml.dump({ rule_files: [path.basename(ruleFile)], evaluation_interval: '1m', tests }, { lineWidth: -1 }));
      return ['test', 'rules', testFile];
    }, stripAnnotations);

  test.each(['dev', 'prod', 'ha'])('%s: promtool check rules accepts every group', (env) => {
    const objects = synthesizedRules(configFor(env));
    const result = run(`check-${env}`, objects, (file) => ['check', 'rules', file]);
    expect(result.stdout + result.stderr).toContain(`SUCCESS: ${alertRules(objects).length} rules found`);
    expect(result.status).toBe(0);
  });

  test('prod thresholds: each alert fires just past its level and stays silent just short of it and before `for`', () => {
    const config = configFor('prod');
    const tests = generateTests(config);
    const result = unitTest('prod', synthesizedRules(config), tests);
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);
    // 12 level alerts × 4 sides, plus the `for` checks, the probe and the drill cases.
    expect(tests.length).toBeGreaterThanOrEqual(12 * 4 + 4);
  });

  test('ha (synchronous replication): the Patroni alerts fire and stay silent as their cases say, no synchronous standby included', () => {
    const config = configFor('ha');
    const tests = patroniTests(config);
    expect(tests.map((t) => t.name.split(':')[0])).toEqual(['PatroniLeaderChanged', 'PatroniPaused', 'PatroniNoSynchronousStandby']);
    const result = unitTest('ha', synthesizedRules(config), tests);
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  test('changed thresholds: the generated cases follow the config, so both sides are still tested', () => {
    const config = configFor('prod', {
      alerts: {
        cpu: { warning: 50, critical: 60, for: '10m' },
        responseTimeP95: { warning: '250ms', critical: '1s', for: '3m' },
        pgbouncerClientsWaiting: { warning: 5, critical: 20, for: '1m' },
        replicationLag: { warning: '1m', critical: '10m', for: '2m' },
        backupAge: { warning: '8h', critical: '1d' },
        certificateExpiry: { warning: '21d', critical: '3d' },
        probeFailure: { warning: '1m', critical: '10m' },
      },
    });
    const result = unitTest('changed', synthesizedRules(config), generateTests(config));
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  test('a wrong expectation fails: the generated cases can catch a rule that does not fire', () => {
    const config = configFor('prod');
    // Rules synthesized with a critical CPU level of 99 % while the cases expect 90 %.
    const shifted = synthesizedRules(configFor('prod', { alerts: { cpu: { warning: 70, critical: 99, for: '5m' } } }));
    const result = unitTest('shifted', shifted, generateTests(config).filter((t) => t.name.startsWith('NodeCpuHigh')));
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/alertname: NodeCpuHigh/);
  });

  test('annotations render with the value and labels (unmodified rules)', () => {
    const config = configFor('prod');
    const memory = generateTests(config).find((t) => t.name.startsWith('NodeMemoryHigh: just past critical'))!;
    const withAnnotations: TestGroup = {
      ...memory,
      alert_rule_test: [{
        ...memory.alert_rule_test[0],
        exp_alerts: memory.alert_rule_test[0].exp_alerts.map((a) => {
          const level = a.exp_labels.severity === 'warning' ? 80 : 90;
          return {
            ...a,
            exp_annotations: {
              summary: `Memory above ${level} % on node-1`,
              description: 'Memory in use 90.9 % for 5m. Thresholds: alerts.memory in the environment config (warning 80 %, critical 90 %). Action: investigate leaks.',
              action: 'investigate leaks',
              runbook_url: 'https://github.com/example/platform/blob/main/README.md#nodememoryhigh',
            },
          };
        }),
      }],
    };
    const result = unitTest('annotations', synthesizedRules(config), [withAnnotations], false);
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });
});
