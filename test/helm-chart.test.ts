/** The platform as a Helm chart, checked with the real helm: lint, and template == the synthesized objects. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { escapeForHelm, helmChart } from '../lib/helm-chart';
import { helmBinary } from '../scripts/lab/helm';
import { Platform } from '../charts/platform';
import { renderPlatform, writeManifests } from '../lib/synth';
import { describeWithPrograms } from './helpers/real-programs';
import { loadFixture, FIXTURE_ENVIRONMENTS_DIR } from './helpers/platform';

const SCRIPT = path.resolve(__dirname, '..', 'build', 'scripts', 'synth-helm.js');
const helm = helmBinary();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'helm-chart-'));

const template = (chartDir: string) => {
  const run = spawnSync(helm!, ['template', 'platform', chartDir], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  expect(run.stderr).toBe('');
  return yaml.loadAll(run.stdout).filter(Boolean) as any[];
};
const key = (o: any) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

describeWithPrograms('GIVEN prod written by npm run synth:helm', { helm }, () => {
  const out = path.join(tmp, 'platform-prod');
  beforeAll(() => {
    const run = spawnSync(process.execPath, [SCRIPT, '--env', 'prod', '--environments', FIXTURE_ENVIRONMENTS_DIR, '--out', out], { encoding: 'utf8' });
    expect(run.status).toBe(0);
  });

  test('THEN it is a chart with Chart.yaml, values.yaml and one template per object', () => {
    const chart = yaml.load(fs.readFileSync(path.join(out, 'Chart.yaml'), 'utf8')) as any;
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'platform-prod', type: 'application' });
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(yaml.load(fs.readFileSync(path.join(out, 'values.yaml'), 'utf8'))).toEqual({});
    const chartFolders = new Platform(loadFixture('prod')).charts.map((c) => c.node.id).sort();
    expect(chartFolders.length).toBeGreaterThan(5);
    expect(fs.readdirSync(path.join(out, 'templates')).sort()).toEqual(chartFolders);
  });

  test('WHEN helm lint runs THEN the chart passes', () => {
    const run = spawnSync(helm!, ['lint', out], { encoding: 'utf8' });
    expect(run.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(run.status).toBe(0);
  });

  test('WHEN helm template renders it THEN the objects equal the synthesized platform', () => {
    const rendered = template(out);
    const expected = [...renderPlatform(new Platform(loadFixture('prod'))).values()].map((text) => yaml.load(text) as any);
    expect(rendered.length).toBe(expected.length);
    const byKey = new Map(rendered.map((o) => [key(o), o]));
    for (const object of expected) expect(byKey.get(key(object))).toEqual(object);
  });
});

describeWithPrograms('GIVEN objects whose text carries template braces (Grafana legends, alert templates)', { helm }, () => {
  test('WHEN written as a chart and rendered by helm THEN the text comes back unchanged', () => {
    const data = { legend: '{{instance}} {{ pod }}', summary: 'Disk of {{ $labels.node }} is {{ $value | humanize }}% full', lone: 'a }} b {{' };
    const manifests = new Map([['t/x/ConfigMap.monitoring.braces.yaml', yaml.dump({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'braces', namespace: 'monitoring' }, data })]]);
    const out = path.join(tmp, 'braces');
    writeManifests(helmChart(manifests, { env: 't', version: '0.1.0' }), out);
    expect(template(out)[0].data).toEqual(data);
  });
});

describe('helmChart and the script', () => {
  test('escapeForHelm turns every brace pair into a literal', () => {
    expect(escapeForHelm('{{a}}')).toBe('{{ "{{" }}a{{ "}}" }}');
    expect(escapeForHelm('no braces')).toBe('no braces');
  });

  test('GIVEN objects of another environment THEN it refuses to mix them into the chart', () => {
    expect(() => helmChart(new Map([['dev/base/Namespace.app.yaml', 'kind: Namespace\n']]), { env: 'prod', version: '0.1.0' })).toThrow(/not an object of environment prod/);
  });

  test('GIVEN an unknown environment THEN it fails with the config error and writes nothing', () => {
    const out = path.join(tmp, 'nope');
    const run = spawnSync(process.execPath, [SCRIPT, '--env', 'nope', '--out', out], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('no such environment');
    expect(fs.existsSync(out)).toBe(false);
  });
});
