/**
 * The checks of the monitoring charts' values that the data-driven key and schema tests
 * (test/addons.test.ts) rest on: they catch mistakes, and the chart defaults we keep hold.
 */
import Ajv from 'ajv';
import { alloy as alloyAddOn } from '../lib/addons/alloy';
import { kubePrometheusStack } from '../lib/addons/kube-prometheus-stack';
import { loki } from '../lib/addons/loki';
import { blackboxExporter } from '../lib/addons/prometheus-blackbox-exporter';
import { chartReference, PASSTHROUGH, referenceFile as reference, unknownKeys } from './helpers/chart-values';
import { one, synthEnv } from './helpers/platform';

const valuesOf = (s: ReturnType<typeof synthEnv>, app: string) => one(s, 'Application', app).spec.source.helm.valuesObject;

describe('GIVEN the Loki values.schema.json', () => {
  const schema = reference(`loki-${loki.version}.values.schema.json`);
  const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);

  test('THEN it is the draft-07 file of the pinned chart', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  test('GIVEN wrong types THEN the schema check catches them (the test is not vacuous)', () => {
    const values = valuesOf(synthEnv('prod'), 'loki');
    expect(validate(values)).toBe(true);
    expect(validate({ ...values, singleBinary: { ...values.singleBinary, replicas: 'one' } })).toBe(false);
    expect(validate({ ...values, chunksCache: { ...values.chunksCache, enabled: 'yes' } })).toBe(false);
  });
});

describe('GIVEN the kube-prometheus-stack values.yaml with the grafana subchart', () => {
  const kps = reference(`kube-prometheus-stack-${kubePrometheusStack.version}.values.yaml`);
  const kpsWithGrafana = chartReference(kubePrometheusStack);
  const passthrough = new Set(PASSTHROUGH[kubePrometheusStack.chart].keys);

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
