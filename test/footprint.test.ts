import { ADD_ONS } from '../lib/addons/registry';
import { footprint, helmRows, objectRows, resourceKey } from '../lib/footprint';
import { parseQuantity } from '../lib/config/quantity';
import { ENVIRONMENTS, synthEnv } from './helpers/platform';

describe.each(ENVIRONMENTS)('GIVEN %s', (env) => {
  const s = synthEnv(env);
  const f = footprint(s.objects, s.config, ADD_ONS);

  test('THEN every steady row outside the apps (what the budget error names) names a config key that exists, from its owner\'s descriptor', () => {
    const at = (key: string) => key.split('.').reduce<any>((o, k) => o?.[k], s.config);
    const keys = f.rows.filter((r) => r.chart !== 'app' && !r.transient).flatMap((r) => resourceKey(r).split(', ').map((key) => [r.workload, key]));
    expect(keys.filter(([, key]) => at(key) === undefined)).toEqual([]);
  });

  test(`THEN the requests of everything it runs stay within the budget of its node size`, () => {
    expect(f.cpu).toBeLessThanOrEqual(f.capacity.cpu * f.budget.cpu);
    expect(f.memory).toBeLessThanOrEqual(f.capacity.memory * f.budget.memory);
  });

  test('THEN the sum covers our workloads and every Helm release, monitoring and edge included', () => {
    const workloads = f.rows.map((r) => r.workload);
    expect(workloads).toEqual(expect.arrayContaining([
      'StatefulSet/postgres', 'StatefulSet/status', 'traefik/traefik', 'cert-manager/controller',
      'kube-prometheus-stack/prometheus', 'kube-prometheus-stack/grafana', 'kube-prometheus-stack/node-exporter',
      'loki/loki', 'alloy/alloy', 'prometheus-blackbox-exporter/blackbox-exporter',
    ]));
    // DaemonSets run once per node.
    expect(f.rows.find((r) => r.workload === 'alloy/alloy')!.pods).toBe(s.config.node.count);
    const prometheus = f.rows.find((r) => r.workload === 'kube-prometheus-stack/prometheus')!;
    // Prometheus plus its config reloader.
    expect(prometheus.memory).toBe(parseQuantity(s.config.monitoring.resources.prometheus.requests.memory) + parseQuantity(s.config.monitoring.resources.configReloader.requests.memory));
  });
});

describe('GIVEN workloads that are not sized', () => {
  test('WHEN a Helm release sets no resources for a component THEN the footprint names the values key to set', () => {
    const s = synthEnv('prod');
    const loki = s.objects.find((o) => o.object.kind === 'Application' && o.object.metadata.name === 'loki')!;
    const bare = structuredClone(loki);
    delete bare.object.spec.source.helm.valuesObject.singleBinary.resources;
    expect(() => helmRows([bare], 1, ADD_ONS)).toThrow(/Application loki \(chart loki\) values singleBinary.resources: no CPU\/memory requests or no memory limit; fix:/);
  });

  test('WHEN a chart has no footprint rule THEN it is an error, not a silent zero', () => {
    const app = { chart: 'x', object: { kind: 'Application', metadata: { name: 'mystery' }, spec: { source: { chart: 'mystery', helm: { valuesObject: {} } } } } };
    expect(() => helmRows([app], 1, ADD_ONS)).toThrow(/no footprint rule for chart mystery/);
  });

  test('WHEN a container of ours has no memory limit THEN it is an error', () => {
    const deployment = { kind: 'Deployment', metadata: { name: 'd', namespace: 'n' }, spec: { template: { spec: { containers: [{ name: 'c', resources: { requests: { cpu: '1', memory: '1Gi' } } }] } } } };
    expect(() => objectRows([{ chart: 'x', object: deployment }], 1)).toThrow(/Deployment n\/d container c: .*memory limit/);
  });
});
