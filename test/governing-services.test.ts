import { ENVIRONMENTS, find, synthEnv } from './helpers/platform';

describe.each(ENVIRONMENTS)('GIVEN the %s environment', (env) => {
  const s = synthEnv(env);

  test('THEN every StatefulSet is governed by a headless Service of its own chart that selects its pods', () => {
    const statefulSets = s.objects.filter((o) => o.object.kind === 'StatefulSet');
    expect(statefulSets.map((o) => o.object.metadata.name)).toEqual(expect.arrayContaining(['redis', s.config.node.count >= 3 ? 'minio-pool' : 'minio']));
    for (const { chart, object: sts } of statefulSets) {
      const governing = s.objects.find((o) => o.object.kind === 'Service' && o.object.metadata.name === sts.spec.serviceName && o.object.metadata.namespace === sts.metadata.namespace);
      expect({ sts: sts.metadata.name, chart: governing?.chart, clusterIP: governing?.object.spec.clusterIP }).toEqual({ sts: sts.metadata.name, chart, clusterIP: 'None' });
      const podLabels = sts.spec.template.metadata.labels;
      for (const [k, v] of Object.entries(governing!.object.spec.selector)) expect(podLabels[k]).toBe(v);
    }
  });

  test('THEN no ServiceMonitor selects a headless Service (one scrape per target)', () => {
    const services = find(s, 'Service');
    for (const monitor of find(s, 'ServiceMonitor')) {
      const matched = services.filter((svc) => svc.metadata.namespace === monitor.metadata.namespace
        && Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => svc.metadata.labels?.[k] === v));
      expect(matched.filter((svc) => svc.spec.clusterIP === 'None' && svc.metadata.name.endsWith('-headless')).map((x) => x.metadata.name)).toEqual([]);
    }
  });
});
