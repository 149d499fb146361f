import { ENVIRONMENTS, find, servicesWithHelm, synthEnv } from './helpers/platform';

describe.each(ENVIRONMENTS)('GIVEN the %s environment WHEN its Ingresses are inspected', (env) => {
  const s = synthEnv(env);
  const ingresses = find(s, 'Ingress');

  test('THEN every web app host is served by exactly one Ingress', () => {
    const served = ingresses.flatMap((i) => i.spec.rules.map((r: any) => r.host)).sort();
    const declared = s.config.apps.filter((a) => a.kind === 'web').flatMap((a) => a.hosts);
    for (const host of declared) expect(served.filter((h: string) => h === host)).toHaveLength(1);
  });

  test('THEN the MinIO console (an admin UI) sits behind the admin credential, and the S3 API does not', () => {
    const console_ = find(s, 'Ingress', 'minio-console')[0];
    const api = find(s, 'Ingress', 'minio-api')[0];
    expect(console_.spec.rules[0].host).toBe(s.config.minio.consoleHost);
    expect(api.spec.rules[0].host).toBe(s.config.minio.apiHost);
    expect(console_.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares']).toMatch(/admin-auth/);
    expect(api.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares']).not.toMatch(/admin-/);
  });

  test('THEN files.<domain> serves public downloads (the public-download buckets\' paths only, no admin protection), the console has its own admin host, and apps link there', () => {
    const files = find(s, 'Ingress', 'minio-public')[0];
    expect(files.spec.rules.map((r: any) => r.host)).toEqual([`files.${s.config.domain}`]);
    const publicBuckets = s.config.minio.buckets.filter((b) => b.access === 'public-download').map((b) => `/${b.name}/`);
    expect(publicBuckets.length).toBeGreaterThan(0);
    expect(files.spec.rules[0].http.paths.map((p: any) => p.path)).toEqual(publicBuckets);
    expect(files.spec.rules[0].http.paths.every((p: any) => p.backend.service.name === 'minio' && p.backend.service.port.number === 9000)).toBe(true);
    expect(files.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares']).not.toMatch(/admin-/);
    expect(s.config.minio.consoleHost).not.toBe(`files.${s.config.domain}`);
    const env = find(s, 'Deployment', 'web')[0].spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'S3_PUBLIC_URL', value: `https://files.${s.config.domain}` });
    // Presigned URLs are signed for the host browsers reach the S3 API at, not the in-cluster endpoint.
    expect(env).toContainEqual({ name: 'S3_PUBLIC_ENDPOINT', value: `https://${s.config.minio.apiHost}` });
  });

  test('THEN every backend resolves to a Service and port that exist in the same namespace (ours, or rendered by a Helm release there)', () => {
    const services = servicesWithHelm(s);
    for (const ingress of ingresses) {
      for (const p of ingress.spec.rules.flatMap((r: any) => r.http.paths)) {
        const { name, port } = p.backend.service;
        const svc = services.find((x) => x.metadata.name === name && x.metadata.namespace === ingress.metadata.namespace);
        expect(svc).toBeDefined();
        expect(svc.spec.ports.map((p: any) => p.port)).toContain(port.number);
      }
    }
  });

  test('THEN every host has TLS from a ClusterIssuer that exists', () => {
    const issuers = find(s, 'ClusterIssuer').map((i) => i.metadata.name);
    for (const ingress of ingresses) {
      expect(issuers).toContain(ingress.metadata.annotations['cert-manager.io/cluster-issuer']);
      const tlsHosts = ingress.spec.tls.flatMap((t: any) => t.hosts);
      for (const rule of ingress.spec.rules) expect(tlsHosts).toContain(rule.host);
      expect(ingress.metadata.annotations['traefik.ingress.kubernetes.io/router.entrypoints']).toBe('websecure');
    }
  });

  test('THEN every middleware an Ingress names exists in that namespace', () => {
    const middlewares = find(s, 'Middleware').map((m) => `${m.metadata.namespace}-${m.metadata.name}@kubernetescrd`);
    for (const ingress of ingresses) {
      const refs: string[] = ingress.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares'].split(',');
      // Streaming routes (the S3 API, public downloads) go without body-limit and compress; none without these.
      for (const name of ['redirect-https', 'rate-limit', 'security-headers']) expect(refs).toContain(`${ingress.metadata.namespace}-${name}@kubernetescrd`);
      for (const ref of refs) {
        expect(middlewares).toContain(ref);
        expect(ref.startsWith(`${ingress.metadata.namespace}-`)).toBe(true);
      }
    }
  });
});
