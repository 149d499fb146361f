import { ENVIRONMENTS, find, one, synthEnv } from './helpers/platform';

describe.each(ENVIRONMENTS)('GIVEN the %s environment WHEN the redis chart is synthesized', (env) => {
  const s = synthEnv(env);
  const ns = s.config.namespaces.data;
  const sts = one(s, 'StatefulSet', 'redis');
  const pod = sts.spec.template.spec;
  const container = (name: string) => pod.containers.find((c: any) => c.name === name);

  test('THEN the redis folder holds the StatefulSet, Service, ConfigMap, ServiceMonitor and NetworkPolicy in the data namespace', () => {
    const objects = s.objects.filter((o) => o.chart === 'redis').map((o) => `${o.object.kind}/${o.object.metadata.name}`).sort();
    expect(objects).toEqual(['ConfigMap/redis-config', 'NetworkPolicy/redis', 'Service/redis', 'Service/redis-headless', 'ServiceMonitor/redis', 'StatefulSet/redis']);
    for (const o of s.objects.filter((x) => x.chart === 'redis')) expect(o.object.metadata.namespace).toBe(ns);
  });

  test('THEN it runs the pinned official image with a PVC from config', () => {
    expect(container('redis').image).toMatch(/^redis:7\.\d+\.\d+/);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe(s.config.redis.storage.size);
    expect(sts.spec.volumeClaimTemplates[0].spec.storageClassName).toBe(s.config.storageClass);
  });

  test('THEN redis.conf carries AOF, RDB every 15 minutes and maxmemory with allkeys-lru', () => {
    const conf = one(s, 'ConfigMap', 'redis-config').data['redis.conf'];
    for (const line of ['appendonly yes', 'appendfsync everysec', 'save 900 1', 'maxmemory-policy allkeys-lru']) expect(conf).toContain(`\n${line}\n`);
    expect(conf).toMatch({ dev: /\nmaxmemory 128mb\n/, 'prod-8gb': /\nmaxmemory 256mb\n/ }[env] ?? /\nmaxmemory 512mb\n/);
  });

  test('THEN every pod runs Pod Security restricted as the redis user', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, fsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of pod.containers) {
      expect(c.securityContext).toEqual({
        allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(c.resources.requests.cpu).toBeDefined();
      expect(c.resources.limits.memory).toBeDefined();
    }
    expect(container('redis').resources.limits.memory).toBe(s.config.redis.resources.limits.memory);
  });

  test('THEN the probes authenticate with redis-cli as the exporter user, password from the Secret via REDISCLI_AUTH', () => {
    const redis = container('redis');
    for (const probe of [redis.startupProbe, redis.livenessProbe, redis.readinessProbe]) {
      expect(probe.exec.command.join(' ')).toContain('redis-cli --no-auth-warning --user exporter -p 6379 ping');
    }
    expect(redis.env.find((e: any) => e.name === 'REDISCLI_AUTH').valueFrom.secretKeyRef).toEqual({ name: 'redis-auth', key: 'exporter-password' });
  });

  test('THEN no password is literal: every secret env comes from a secretKeyRef, and no Secret object is emitted', () => {
    for (const c of pod.containers) {
      for (const e of c.env.filter((x: any) => /PASSWORD|AUTH/.test(x.name))) expect(e.value).toBeUndefined();
    }
    expect(find(s, 'Secret')).toEqual([]);
  });

  test('THEN the NetworkPolicy admits GlitchTip\'s pods and the app namespace on 6379, and monitoring on the exporter port only', () => {
    const np = one(s, 'NetworkPolicy', 'redis');
    expect(np.spec.podSelector.matchLabels).toEqual(sts.spec.selector.matchLabels);
    // GlitchTip runs where the node size has room for it (lib/config/sizing.ts).
    const glitchtip = s.config.glitchtip.enabled ? [{
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': s.config.namespaces.monitoring } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'glitchtip' } } }],
      ports: [{ protocol: 'TCP', port: 6379 }],
    }] : [];
    expect(np.spec.ingress).toEqual([
      ...glitchtip,
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': s.config.namespaces.app } } }], ports: [{ protocol: 'TCP', port: 6379 }] },
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': s.config.namespaces.monitoring } } }], ports: [{ protocol: 'TCP', port: 9121 }] },
    ]);
  });

  test('THEN the ServiceMonitor selects the redis Service and one of its named ports', () => {
    const sm = one(s, 'ServiceMonitor', 'redis');
    const svc = one(s, 'Service', 'redis');
    expect(svc.metadata.labels).toMatchObject(sm.spec.selector.matchLabels);
    expect(svc.spec.ports.map((p: any) => p.name)).toContain(sm.spec.endpoints[0].port);
    expect(container('exporter').ports[0].containerPort).toBe(svc.spec.ports.find((p: any) => p.name === 'metrics').port);
  });

  test('THEN the Platform exposes host, port and Secret for the app chart', () => {
    expect(s.platform.redis).toMatchObject({ host: `redis.${ns}.svc.cluster.local`, port: 6379, secretName: 'redis-auth', secretKey: 'app-password', username: 'app' });
  });
});
