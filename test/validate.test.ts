import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { referenceDir } from '../lib/project';
import { Platform } from '../charts/platform';
import { renderPlatform, writeManifests } from '../lib/synth';
import { loadCatalog } from '../lib/validation/schema-catalog';
import { validateObject } from '../lib/validation/validate-object';
import { formatReport, KUBERNETES_VERSIONS, validateDist } from '../lib/validation/validate-dist';
import { ENVIRONMENTS, loadFixture } from './helpers/platform';

const REFERENCE = referenceDir();

describe('strict validation of the synthesized output', () => {
  test(`GIVEN a fresh synth of every environment THEN every object validates against the supported minimum's schema (Kubernetes ${KUBERNETES_VERSIONS.join(', ')}) with 0 problems`, () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'validate-'));
    const files = new Map<string, string>();
    for (const env of ENVIRONMENTS) for (const [f, t] of renderPlatform(new Platform(loadFixture(env)))) files.set(f, t);
    writeManifests(files, path.join(out, 'dist'));

    const report = validateDist(path.join(out, 'dist'), REFERENCE);

    expect(report.objects).toBe(files.size);
    expect(formatReport(report)).toContain('problems: 0');
    expect(report.problems).toEqual([]);
  });
});

describe.each(KUBERNETES_VERSIONS)('the validator against Kubernetes %s', (version) => {
  const catalog = loadCatalog(REFERENCE, version);
  const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'b' } };

  test('accepts a valid object', () => {
    expect(validateObject(catalog, configMap)).toEqual([]);
  });

  test('GIVEN an unknown field THEN it is an error', () => {
    expect(validateObject(catalog, { ...configMap, spec: {} })).toEqual([{ path: 'spec', message: 'is not a known field' }]);
    const deploy = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [{ name: 'c', image: 'i:1', imagePort: 80 }] } } },
    };
    expect(validateObject(catalog, deploy)).toEqual([{ path: 'spec.template.spec.containers[0].imagePort', message: 'is not a known field' }]);
  });

  test('GIVEN a wrong type or a missing required field THEN it is an error', () => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: '80' }] } };
    expect(validateObject(catalog, svc)).toEqual([{ path: 'spec.ports[0].port', message: 'must be integer, got string "80"' }]);
    const np = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'n' }, spec: {} };
    expect(validateObject(catalog, np).map((p) => p.path)).toContain('spec.podSelector');
  });

  test('GIVEN a kind without a schema THEN it is an error', () => {
    expect(validateObject(catalog, { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })[0].message).toMatch(/no schema/);
  });

  test('GIVEN a CRD object THEN its upstream schema applies strictly, metadata included', () => {
    const monitor = { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'm', labelz: {} }, spec: { selector: {}, endpoints: [{ port: 'metrics', intervall: '30s' }] } };
    expect(validateObject(catalog, monitor).map((p) => p.path).sort()).toEqual(['metadata.labelz', 'spec.endpoints[0].intervall']);
  });
});

test('the batch/v1beta1 CronJob removed in 1.25 is rejected by both catalogs', () => {
  for (const version of KUBERNETES_VERSIONS) {
    const cron = { apiVersion: 'batch/v1beta1', kind: 'CronJob', metadata: { name: 'c' } };
    expect(validateObject(loadCatalog(REFERENCE, version), cron)[0].message).toMatch(/no schema/);
  }
});
