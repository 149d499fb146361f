import { ENVIRONMENTS, find, one, synthEnv } from './helpers/platform';

describe.each(ENVIRONMENTS)('GIVEN the %s environment WHEN the minio chart is synthesized', (env) => {
  const s = synthEnv(env);
  const ns = s.config.namespaces.data;
  // Three nodes or more: the distributed pool (lib/services/minio/minio-distributed.ts) instead of the standalone server.
  const distributed = s.config.node.count >= 3;
  const sts = one(s, 'StatefulSet', distributed ? 'minio-pool' : 'minio');
  const minio = sts.spec.template.spec.containers[0];
  const envVar = (name: string) => minio.env.find((e: any) => e.name === name);
  const job = one(s, 'Job', 'minio-provision');
  const nsPeer = (name: string) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } } });

  test('THEN the minio folder holds the server, its Services and Ingresses, monitoring, policies and the provisioning Job', () => {
    const objects = s.objects.filter((o) => o.chart === 'minio').map((o) => `${o.object.kind}/${o.object.metadata.name}`).sort();
    const server = distributed ? ['PodDisruptionBudget/minio-pool', 'Service/minio-pool-headless', 'StatefulSet/minio-pool'] : ['Service/minio-headless', 'StatefulSet/minio'];
    expect(objects).toEqual([
      'ConfigMap/minio-provision', 'Ingress/minio-api', 'Ingress/minio-console', 'Ingress/minio-public', 'Job/minio-provision', 'NetworkPolicy/minio', 'NetworkPolicy/minio-provision',
      'Service/minio', 'Service/minio-console', 'ServiceMonitor/minio', ...server,
    ].sort());
    for (const o of s.objects.filter((x) => x.chart === 'minio')) expect(o.object.metadata.namespace).toBe(ns);
  });

  test('THEN one standalone server runs the pinned minio/minio image with a PVC from config', () => {
    if (distributed) return; // the pool: see its own tests below
    expect(sts.spec.replicas).toBe(1);
    expect(minio.image).toMatch(/^minio\/minio:RELEASE\./);
    expect(minio.args.slice(0, 2)).toEqual(['server', '/data']);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe(s.config.minio.storage.size);
  });

  test('THEN root credentials come from a Secret and the console URL from config', () => {
    expect(envVar('MINIO_ROOT_USER').valueFrom.secretKeyRef).toEqual({ name: 'minio-root', key: 'root-user' });
    expect(envVar('MINIO_ROOT_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'minio-root', key: 'root-password' });
    expect(envVar('MINIO_BROWSER_REDIRECT_URL').value).toBe(`https://minio.${s.config.domain}`);
    expect(envVar('MINIO_PROMETHEUS_AUTH_TYPE').value).toBe('public');
    expect(find(s, 'Secret')).toEqual([]);
  });

  test('THEN liveness and readiness probe the MinIO health endpoints', () => {
    expect(minio.livenessProbe.httpGet).toEqual({ path: '/minio/health/live', port: 'api' });
    // The pool's servers are ready only while they see write quorum (a restarted one answers before it reconnects).
    expect(minio.readinessProbe.httpGet).toEqual({ path: distributed ? '/minio/health/cluster' : '/minio/health/ready', port: 'api' });
  });

  test('THEN the server and the Job run Pod Security restricted with requests and memory limits', () => {
    for (const spec of [sts.spec.template.spec, job.spec.template.spec]) {
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of spec.containers) {
        expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(c.resources.requests.memory).toBeDefined();
        expect(c.resources.limits.memory).toBeDefined();
      }
    }
  });

  test('THEN the API (9000) and console (9001) Services exist and the ServiceMonitor scrapes the API Service only', () => {
    const api = one(s, 'Service', 'minio');
    const consoleSvc = one(s, 'Service', 'minio-console');
    expect(api.spec.ports).toEqual([{ name: 'api', port: 9000, targetPort: 'api' }]);
    expect(consoleSvc.spec.ports).toEqual([{ name: 'console', port: 9001, targetPort: 'console' }]);
    const sm = one(s, 'ServiceMonitor', 'minio');
    expect(api.metadata.labels).toMatchObject(sm.spec.selector.matchLabels);
    expect(consoleSvc.metadata.labels).not.toMatchObject(sm.spec.selector.matchLabels);
    expect(sm.spec.endpoints).toEqual([{ port: 'api', path: '/minio/v2/metrics/cluster', interval: '60s' }]);
  });

  test('THEN the NetworkPolicy admits apps and the backup mirror (API), the edge (API and console), monitoring (API) and the provisioning Job (API)', () => {
    const np = one(s, 'NetworkPolicy', 'minio');
    const api = [{ protocol: 'TCP', port: 9000 }];
    expect(np.spec.podSelector.matchLabels).toEqual(sts.spec.selector.matchLabels);
    expect(np.spec.ingress).toEqual([
      // The pool's servers talk to each other on the API port.
      ...(distributed ? [{ from: [{ podSelector: { matchLabels: sts.spec.selector.matchLabels } }], ports: api }] : []),
      { from: [nsPeer(s.config.namespaces.app), nsPeer(s.config.namespaces.backup)], ports: api },
      { from: [nsPeer(s.config.namespaces.edge)], ports: [...api, { protocol: 'TCP', port: 9001 }] },
      { from: [nsPeer(s.config.namespaces.monitoring)], ports: api },
      { from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'minio-provision' } } }], ports: api },
    ]);
    const egress = one(s, 'NetworkPolicy', 'minio-provision');
    expect(egress.spec.podSelector.matchLabels['app.kubernetes.io/name']).toBe(job.spec.template.metadata.labels['app.kubernetes.io/name']);
    expect(egress.spec.egress).toEqual([{ to: [{ podSelector: { matchLabels: sts.spec.selector.matchLabels } }], ports: api }]);
  });

  test('THEN the provisioning Job is an Argo CD PostSync hook on the pinned mc image, with per-app keys from Secrets', () => {
    expect(job.metadata.annotations).toEqual({ 'argocd.argoproj.io/hook': 'PostSync', 'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation' });
    const c = job.spec.template.spec.containers[0];
    expect(c.image).toMatch(/^minio\/mc:RELEASE\./);
    expect(c.command).toEqual(['sh', '/opt/provision/provision.sh']);
    const keys = c.env.filter((e: any) => /_KEY$/.test(e.name));
    expect(keys.map((e: any) => e.valueFrom.secretKeyRef.name)).toEqual(
      expect.arrayContaining(['minio-root', 'minio-app-crm', 'minio-app-web']),
    );
    for (const e of keys) expect(e.value).toBeUndefined();
  });

  test('THEN the Platform exposes plain S3 attributes for the app chart and backups', () => {
    const m = s.platform.minio;
    expect(m.s3Endpoint).toBe(`http://minio.${ns}.svc.cluster.local:9000`);
    expect(m.bucketNames).toEqual(['tour-images', 'documents']);
    expect(m.appSecretName('crm')).toBe('minio-app-crm');
    expect(m.publicBucketUrl('tour-images')).toBe(`https://files.${s.config.domain}/tour-images`);
    expect(() => m.publicBucketUrl('documents')).toThrow(/not public-download/);
    expect(() => m.appSecretName('worker')).toThrow(/grants no access/);
  });
});

describe('GIVEN the ha environment (three nodes) WHEN the minio chart is synthesized', () => {
  const s = synthEnv('ha');
  const sts = one(s, 'StatefulSet', 'minio-pool');
  const minio = sts.spec.template.spec.containers[0];

  test('THEN 3 servers × 2 drives run as one pool, one server per node (required anti-affinity), started in parallel', () => {
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.podManagementPolicy).toBe('Parallel');
    expect(minio.args.slice(0, 2)).toEqual(['server', 'http://minio-pool-{0...2}.minio-pool-headless.data.svc.cluster.local:9000/data{0...1}']);
    expect(sts.spec.volumeClaimTemplates.map((t: any) => t.metadata.name)).toEqual(['data0', 'data1']);
    expect(minio.volumeMounts.map((m: any) => m.mountPath)).toEqual(['/data0', '/data1', '/tmp']);
    expect(sts.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      { labelSelector: { matchLabels: sts.spec.selector.matchLabels }, topologyKey: 'kubernetes.io/hostname' },
    ]);
    expect(one(s, 'PodDisruptionBudget', 'minio-pool').spec.maxUnavailable).toBe(1);
  });

  test('THEN each drive holds a third of minio.storage.size: at EC:3 (3 data shards of 6) the pool\'s usable capacity is at least that size', () => {
    expect(s.config.minio.storage.size).toBe('200Gi');
    for (const t of sts.spec.volumeClaimTemplates) expect(t.spec.resources.requests.storage).toBe('67Gi');
  });

  test('THEN the Services apps and the edge use select the pool, not a standalone server left running during the move', () => {
    for (const name of ['minio', 'minio-console']) expect(one(s, 'Service', name).spec.selector).toEqual({ 'app.kubernetes.io/name': 'minio-pool' });
    expect(find(s, 'StatefulSet').map((o: any) => o.metadata.name)).not.toContain('minio');
  });
});
