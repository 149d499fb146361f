/**
 * The values we give the monitoring charts, checked against the charts themselves: Loki's own
 * values.schema.json, and for the charts without a schema, the keys of their values.yaml.
 */
import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';
import * as yaml from 'js-yaml';
import { deepMerge } from '../lib/config/load';
import { alloy as alloyAddOn } from '../lib/addons/alloy';
import { kubePrometheusStack } from '../lib/addons/kube-prometheus-stack';
import { loki } from '../lib/addons/loki';
import { blackboxExporter } from '../lib/addons/prometheus-blackbox-exporter';
import { referenceDir } from '../lib/project';
import { configFor, one, synth, synthEnv } from './helpers/platform';

const VALUES_DIR = path.join(referenceDir(), 'helm-values');
const reference = (file: string) => yaml.load(fs.readFileSync(path.join(VALUES_DIR, file), 'utf8')) as any;
const valuesOf = (s: ReturnType<typeof synthEnv>, app: string) => one(s, 'Application', app).spec.source.helm.valuesObject;

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Dotted paths of keys we set that the reference values.yaml does not have. Below a key whose
 * reference value is empty ({} or null) or a list, anything goes: those are free-form by design;
 * so is `resources`, a Kubernetes ResourceRequirements that the charts copy into the pod as is.
 */
export function unknownKeys(ours: unknown, ref: unknown, passthrough: ReadonlySet<string>, at = ''): string[] {
  if (!isMap(ours)) return [];
  if (!isMap(ref)) return ref === null || ref === undefined ? [] : [at || '(root)'];
  if (Object.keys(ref).length === 0) return [];
  return Object.entries(ours).flatMap(([key, value]) => {
    const p = at ? `${at}.${key}` : key;
    if (passthrough.has(p)) return [];
    if (!(key in ref)) return [p];
    if (key === 'resources') return [];
    return unknownKeys(value, ref[key], passthrough, p);
  });
}

describe('GIVEN the Loki values of every environment (and the S3 variant)', () => {
  const schema = JSON.parse(fs.readFileSync(path.join(VALUES_DIR, `loki-${loki.version}.values.schema.json`), 'utf8'));
  const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
  const s3 = synth(configFor('prod', {
    minio: { buckets: [{ name: 'tour-images', access: 'public-download' }, { name: 'documents', access: 'private' }, { name: 'logs', access: 'private' }] },
    monitoring: { loki: { storage: { type: 's3', bucket: 'logs', secret: 'loki-s3', size: '5Gi' } } },
    secrets: { monitoring: { 'loki-s3': { keys: ['access-key', 'secret-key'], mode: 'existing' } } },
  }));

  test('THEN the schema is the draft-07 file of the pinned chart', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  test.each([['dev'], ['prod'], ['ha'], ['prod with S3']])('%s WHEN validated against loki values.schema.json THEN there are no errors', (env) => {
    const values = env === 'prod with S3' ? valuesOf(s3, 'loki') : valuesOf(synthEnv(env), 'loki');
    expect(validate(values) ? [] : validate.errors).toEqual([]);
  });

  test('GIVEN wrong types THEN the schema check catches them (the test is not vacuous)', () => {
    const values = valuesOf(synthEnv('prod'), 'loki');
    expect(validate({ ...values, singleBinary: { ...values.singleBinary, replicas: 'one' } })).toBe(false);
    expect(validate({ ...values, chunksCache: { ...values.chunksCache, enabled: 'yes' } })).toBe(false);
  });

  test('AND every key we set exists in the chart values.yaml', () => {
    const ref = reference(`loki-${loki.version}.values.yaml`);
    // limits_config is Loki's own config block, copied into loki.yaml (the schema leaves it open);
    // storage.bucketNames is documented in values.yaml as a commented-out example for object storage.
    const lokiBlocks = new Set(['loki.limits_config', 'loki.storage.bucketNames']);
    expect(unknownKeys(valuesOf(synthEnv('prod'), 'loki'), ref, lokiBlocks)).toEqual([]);
    expect(unknownKeys(valuesOf(s3, 'loki'), ref, lokiBlocks)).toEqual([]);
  });
});

describe('GIVEN the charts without a values schema', () => {
  const kps = reference(`kube-prometheus-stack-${kubePrometheusStack.version}.values.yaml`);
  // kube-prometheus-stack passes `grafana:` to the grafana subchart, whose values.yaml is in the reference too.
  const kpsWithGrafana = { ...kps, grafana: deepMerge(reference('grafana-12.11.1.values.yaml'), kps.grafana) };
  /**
   * Keys we set that these files cannot show: the two subcharts whose values.yaml is not in the
   * reference (`resources` is a top-level key of both upstream charts), and Grafana's own ini file.
   */
  const passthrough = new Set(['kube-state-metrics.resources', 'prometheus-node-exporter.resources', 'grafana.grafana.ini']);

  test.each(['dev', 'prod', 'ha'])('%s: every kube-prometheus-stack, alloy and blackbox key exists in the chart values.yaml', (env) => {
    const s = synthEnv(env);
    expect(unknownKeys(valuesOf(s, 'kube-prometheus-stack'), kpsWithGrafana, passthrough)).toEqual([]);
    expect(unknownKeys(valuesOf(s, 'alloy'), reference(`alloy-${alloyAddOn.version}.values.yaml`), new Set())).toEqual([]);
    // `config` is blackbox.yml itself, checked by the real blackbox_exporter (monitoring.real.test.ts).
    expect(unknownKeys(valuesOf(s, 'prometheus-blackbox-exporter'), reference(`prometheus-blackbox-exporter-${blackboxExporter.version}.values.yaml`), new Set(['config']))).toEqual([]);
  });

  test('GIVEN a misspelled key THEN it is reported with its path (the check is not vacuous)', () => {
    const values = valuesOf(synthEnv('prod'), 'kube-prometheus-stack');
    const typo = { ...values, prometheus: { prometheusSpec: { ...values.prometheus.prometheusSpec, retentionSzie: '1GB' } } };
    expect(unknownKeys(typo, kpsWithGrafana, passthrough)).toEqual(['prometheus.prometheusSpec.retentionSzie']);
    expect(unknownKeys({ grafana: { sidecar: { dashbaords: {} } } }, kpsWithGrafana, passthrough)).toEqual(['grafana.sidecar.dashbaords']);
  });

  test('GIVEN the chart defaults we rely on THEN they hold', () => {
    expect(kps.prometheus.prometheusSpec.serviceMonitorNamespaceSelector).toEqual({});
    expect(kps.prometheus.prometheusSpec.ruleNamespaceSelector).toEqual({});
    expect(kps.prometheus.prometheusSpec.probeNamespaceSelector).toEqual({});
    expect(kps.grafana.service.portName).toBe('http-web');
    const blackbox = reference(`prometheus-blackbox-exporter-${blackboxExporter.version}.values.yaml`);
    expect(blackbox.service.port).toBe(9115);
    expect(blackbox.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    const alloy = reference(`alloy-${alloyAddOn.version}.values.yaml`);
    expect(alloy.alloy.listenPort).toBe(12345);
  });
});
