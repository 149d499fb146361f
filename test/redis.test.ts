import { ENVIRONMENTS, find, one, synthEnv } from './helpers/platform';

describe.each(ENVIRONMENTS)('GIVEN the %s environment WHEN the redis chart is synthesized', (env) => {
  const s = synthEnv(env);
  const ns = s.config.namespaces.data;
  const sts = one(s, 'StatefulSet', 'redis');
  const pod = sts.spec.template.spec;
  const container = (name: string) => pod.containers.find((c: any) => c.name === name);
  // Three nodes or more: Sentinel and HAProxy (lib/services/redis/redis-sentinel.ts); clients reach HAProxy.
  const failover = s.config.node.count >= 3;

  test('THEN the redis folder holds the StatefulSet, Service, ConfigMap, ServiceMonitor and NetworkPolicy in the data namespace', () => {
    const objects = s.objects.filter((o) => o.chart === 'redis').map((o) => `${o.object.kind}/${o.object.metadata.name}`).sort();
    const single = ['ConfigMap/redis-config', 'NetworkPolicy/redis', 'Service/redis', 'Service/redis-headless', 'ServiceMonitor/redis', 'StatefulSet/redis'];
    const sentinel = ['ConfigMap/redis-ha', 'ConfigMap/redis-haproxy', 'Deployment/redis-haproxy', 'NetworkPolicy/redis-haproxy', 'PodDisruptionBudget/redis',
      'PodDisruptionBudget/redis-haproxy', 'Service/redis-members', 'ServiceMonitor/redis-members'];
    expect(objects).toEqual((failover ? [...single, ...sentinel] : single).sort());
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

  test('THEN the NetworkPolicy of what clients reach (Redis, or HAProxy) admits GlitchTip\'s pods and the app namespace on 6379, and monitoring on the metrics port only', () => {
    const np = one(s, 'NetworkPolicy', failover ? 'redis-haproxy' : 'redis');
    const workload = failover ? one(s, 'Deployment', 'redis-haproxy') : sts;
    expect(np.spec.podSelector.matchLabels).toEqual(workload.spec.selector.matchLabels);
    // GlitchTip runs where the node size has room for it (lib/config/sizing.ts).
    const glitchtip = s.config.glitchtip.enabled ? [{
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': s.config.namespaces.monitoring } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'glitchtip' } } }],
      ports: [{ protocol: 'TCP', port: 6379 }],
    }] : [];
    expect(np.spec.ingress).toEqual([
      ...glitchtip,
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': s.config.namespaces.app } } }], ports: [{ protocol: 'TCP', port: 6379 }] },
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': s.config.namespaces.monitoring } } }], ports: [{ protocol: 'TCP', port: failover ? 8404 : 9121 }] },
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

describe('GIVEN the ha environment (three nodes) WHEN the redis chart is synthesized', () => {
  const s = synthEnv('ha');
  const sts = one(s, 'StatefulSet', 'redis');
  const pod = sts.spec.template.spec;
  const haproxy = one(s, 'Deployment', 'redis-haproxy');

  test('THEN three members run Redis and Sentinel, one per node (required anti-affinity), at most one down by choice (PDB)', () => {
    expect(sts.spec.replicas).toBe(3);
    expect(pod.containers.map((c: any) => c.name)).toEqual(['redis', 'sentinel', 'exporter']);
    expect(pod.containers[1].image).toBe(pod.containers[0].image);
    expect(pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]).toEqual({ labelSelector: { matchLabels: sts.spec.selector.matchLabels }, topologyKey: 'kubernetes.io/hostname' });
    expect(one(s, 'PodDisruptionBudget', 'redis').spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: sts.spec.selector.matchLabels } });
  });

  test('THEN the volume claim template is that of the single server: growing from one node keeps data-redis-0', () => {
    expect(sts.spec.volumeClaimTemplates).toEqual(one(synthEnv('prod'), 'StatefulSet', 'redis').spec.volumeClaimTemplates);
    expect(sts.spec.serviceName).toBe('redis-headless');
  });

  test('THEN the Service apps use selects HAProxy, whose check passes only on role:master and whose readiness needs exactly one such member', () => {
    expect(one(s, 'Service', 'redis').spec.selector).toEqual(haproxy.spec.selector.matchLabels);
    const cfg = one(s, 'ConfigMap', 'redis-haproxy').data['haproxy.cfg'];
    expect(cfg).toContain('tcp-check expect string role:master');
    expect(cfg).toContain('on-marked-down shutdown-sessions');
    expect(cfg).toMatch(/if \{ path \/ready \} \{ nbsrv\(redis_primary\) eq 1 \}/);
    expect(haproxy.spec.template.spec.containers[0].readinessProbe.httpGet.path).toBe('/ready');
    expect(haproxy.spec.template.spec.containers[0].image).toMatch(/^haproxy:\d+\.\d+\.\d+/);
    for (const i of [0, 1, 2]) expect(cfg).toContain(`server member${i} redis-${i}.redis-headless.data.svc.cluster.local:6379`);
  });

  test('THEN the members admit HAProxy and each other (replication, Sentinel) and monitoring, but not the app namespace', () => {
    const np = one(s, 'NetworkPolicy', 'redis');
    const peers = np.spec.ingress.flatMap((r: any) => r.from.map((f: any) => [JSON.stringify(f), r.ports.map((p: any) => p.port).join(',')]));
    expect(peers).toEqual([
      [JSON.stringify({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis' } } }), '6379,26379'],
      [JSON.stringify({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis-haproxy' } } }), '6379'],
      [JSON.stringify({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }), '9121'],
    ]);
  });

  test('THEN the members\' exporters keep a ServiceMonitor, and no password is literal in the new containers', () => {
    const sm = one(s, 'ServiceMonitor', 'redis-members');
    expect(one(s, 'Service', 'redis-members').spec.selector).toEqual(sts.spec.selector.matchLabels);
    expect(sm.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'redis-members' });
    for (const c of [...pod.containers, ...haproxy.spec.template.spec.containers]) {
      for (const e of c.env.filter((x: any) => /PASSWORD|AUTH/.test(x.name))) expect(e.value).toBeUndefined();
    }
  });
});
