import { parseQuantity } from '../lib/config/quantity';
import { Platform } from '../charts/platform';
import { configFor, ENVIRONMENTS, find, one, synth, synthEnv } from './helpers/platform';

/** Every container of every pod template in the output. */
function podSpecs(objects: any[]): { owner: any; spec: any }[] {
  return objects.flatMap((o) => {
    const spec = o.spec?.template?.spec ?? o.spec?.jobTemplate?.spec?.template?.spec;
    return spec ? [{ owner: o, spec }] : [];
  });
}

describe.each(ENVIRONMENTS)('GIVEN the %s environment', (env) => {
  const s = synthEnv(env);
  const objects = s.objects.map((o) => o.object);
  const appNs = s.config.namespaces.app;

  test('THEN crm, web and worker each get a Deployment whose replicas are left to an HPA on CPU and memory', () => {
    for (const app of s.config.apps) {
      const deployment = one(s, 'Deployment', app.name);
      expect(deployment.metadata.namespace).toBe(appNs);
      expect(deployment.spec.replicas).toBeUndefined();
      const hpa = one(s, 'HorizontalPodAutoscaler', app.name);
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: app.name });
      expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([Math.max(1, app.replicas.min), app.replicas.max]);
      expect(hpa.spec.metrics.map((m: any) => m.resource.name).sort()).toEqual(['cpu', 'memory']);
      expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThanOrEqual(300);
      const container = deployment.spec.template.spec.containers[0];
      expect(container.resources.requests.cpu).toBeDefined();
      expect(container.resources.requests.memory).toBeDefined();
    }
  });

  test('THEN memory scales out only near the limit: a pod at its request (a Next.js app idling at ~500 MB) never pins the HPA at max', () => {
    for (const app of s.config.apps) {
      const memory = one(s, 'HorizontalPodAutoscaler', app.name).spec.metrics.find((m: any) => m.resource.name === 'memory').resource.target;
      expect(memory.type).toBe('AverageValue');
      const target = parseQuantity(String(memory.averageValue));
      expect(target).toBeGreaterThan(parseQuantity(app.resources.requests.memory));
      expect(target).toBeLessThan(parseQuantity(app.resources.limits.memory));
    }
  });

  test('THEN readiness hits the health path, liveness does not, shutdown is graceful, and pods are restricted with a read-only root', () => {
    for (const app of s.config.apps) {
      const spec = one(s, 'Deployment', app.name).spec.template.spec;
      const c = spec.containers[0];
      expect(c.readinessProbe.httpGet).toEqual({ path: app.healthPath, port: app.port, scheme: 'HTTP' });
      // Liveness never checks the dependencies that the health path checks (issue 16).
      for (const probe of [c.livenessProbe, c.startupProbe]) expect(probe.httpGet?.path).not.toBe(app.healthPath);
      expect(c.lifecycle.preStop.exec.command[0]).toBe('sleep');
      expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(Number(c.lifecycle.preStop.exec.command[1]));
      expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      expect(spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      expect(c.volumeMounts).toContainEqual({ mountPath: '/tmp', name: 'tmp' });
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(one(s, 'ServiceAccount', app.name).automountServiceAccountToken).toBe(false);
    }
  });

  test('THEN every URL in the app env points at a Service and port that exist', () => {
    const services = find(s, 'Service');
    for (const { owner, spec } of podSpecs(objects).filter((p) => p.owner.metadata.namespace === appNs)) {
      for (const e of spec.containers.flatMap((c: any) => c.env ?? [])) {
        const url = /^[a-z]+:\/\/[^@]*@([^:/]+)\.([^.]+)\.svc\.cluster\.local:(\d+)/.exec(e.value ?? '') ?? /^https?:\/\/([^:/]+)\.([^.]+)\.svc\.cluster\.local:(\d+)/.exec(e.value ?? '');
        if (!url) continue;
        const [, name, namespace, port] = url;
        const svc = services.find((x) => x.metadata.name === name && x.metadata.namespace === namespace);
        expect({ owner: owner.metadata.name, env: e.name, service: svc ? 'exists' : `${namespace}/${name} missing` }).toEqual({ owner: owner.metadata.name, env: e.name, service: 'exists' });
        expect(svc.spec.ports.map((p: any) => p.port)).toContain(Number(port));
      }
    }
  });

  test('THEN every secret reference in every pod names a Secret the platform declares, and no literal password appears', () => {
    const declared = new Platform(s.config).declaredSecrets.map((d) => `${d.namespace}/${d.name}/${d.key}`);
    for (const { owner, spec } of podSpecs(objects)) {
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref) expect(declared).toContain(`${owner.metadata.namespace}/${ref.name}/${ref.key}`);
          if (/PASSWORD|SECRET/.test(e.name)) expect(e.value).toBeUndefined();
          if (e.value && /:\/\//.test(e.value)) expect(e.value).toMatch(/^[a-z]+:\/\/([^:@/]+:\$\([A-Z_]+\)@|\$\([A-Z_]+\)@|[^@]*$)/);
        }
      }
    }
  });

  test('THEN DATABASE_URL goes through PgBouncer and DIRECT_URL to the primary', () => {
    const env = Object.fromEntries(one(s, 'Deployment', 'crm').spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
    expect(env.DATABASE_URL).toBe(`postgresql://app:$(DB_PASSWORD)@pgbouncer.${s.config.namespaces.data}.svc.cluster.local:6432/app`);
    expect(env.DIRECT_URL).toBe(`postgresql://app:$(DB_PASSWORD)@postgres-rw.${s.config.namespaces.data}.svc.cluster.local:5432/app`);
    expect(env.DATABASE_READ_URL === undefined).toBe(s.config.postgres.replicas === 0);
  });

  test('THEN a PreSync migration Job runs with DIRECT_URL before the sync, and may reach only the Postgres members (any may lead)', () => {
    const job = one(s, 'Job', 'crm-migrate');
    expect(job.metadata.annotations).toEqual({ 'argocd.argoproj.io/hook': 'PreSync', 'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation' });
    expect(job.spec.backoffLimit).toBeGreaterThanOrEqual(0);
    expect(job.spec.activeDeadlineSeconds).toBeGreaterThan(0);
    expect(job.spec.template.spec.containers[0].command).toEqual(['npx', 'prisma', 'migrate', 'deploy']);
    expect(job.spec.template.spec.containers[0].env.map((e: any) => e.name)).toContain('DIRECT_URL');
    const policy = one(s, 'NetworkPolicy', 'crm-migrate');
    expect(policy.spec.egress).toEqual([{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': s.config.namespaces.data } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'postgres', 'cluster-name': 'postgres' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }]);
    // The primary's own policy admits exactly these pods.
    const admitted = one(s, 'NetworkPolicy', 'postgres').spec.ingress.map((r: any) => r.from[0].podSelector?.matchLabels);
    expect(job.spec.template.metadata.labels).toMatchObject({ 'platform.io/postgres-direct': 'true' });
    expect(admitted).toContainEqual({ 'platform.io/postgres-direct': 'true' });
    expect(find(s, 'Job', 'web-migrate')).toEqual([]);
  });

  test('THEN the Service and the PDB select the serving pods, never the migration Job\'s pods of the same app', () => {
    const migrationPod = one(s, 'Job', 'crm-migrate').spec.template.metadata.labels;
    const servingPod = one(s, 'Deployment', 'crm').spec.template.metadata.labels;
    const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    for (const selector of [one(s, 'Service', 'crm').spec.selector, ...find(s, 'PodDisruptionBudget', 'crm').map((p: any) => p.spec.selector.matchLabels)]) {
      expect(selects(selector, servingPod)).toBe(true);
      expect(selects(selector, migrationPod)).toBe(false);
    }
  });

  test('THEN the migration runs under a ServiceAccount that exists before it: an earlier PreSync hook, not the app\'s Sync-phase one', () => {
    const job = one(s, 'Job', 'crm-migrate');
    const account = one(s, 'ServiceAccount', job.spec.template.spec.serviceAccountName);
    expect(account.metadata.annotations['argocd.argoproj.io/hook']).toBe('PreSync');
    expect(Number(account.metadata.annotations['argocd.argoproj.io/sync-wave'])).toBeLessThan(Number(job.metadata.annotations['argocd.argoproj.io/sync-wave'] ?? 0));
    expect(account.automountServiceAccountToken).toBe(false);
  });

  test('THEN PDBs select the pods of their app, and web apps get a Service, workers none', () => {
    for (const app of s.config.apps) {
      const pods = one(s, 'Deployment', app.name).spec.template.metadata.labels;
      for (const pdb of find(s, 'PodDisruptionBudget', app.name)) {
        for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) expect(pods[k]).toBe(v);
      }
      expect(find(s, 'PodDisruptionBudget', app.name)).toHaveLength(app.replicas.max > 1 ? 1 : 0);
      expect(find(s, 'Service', app.name).filter((x) => x.metadata.namespace === appNs)).toHaveLength(app.kind === 'web' || app.metricsPort ? 1 : 0);
    }
  });

  test('THEN web apps accept traffic only from the ingress namespace, and apps reach only PgBouncer and HTTPS', () => {
    for (const app of s.config.apps) {
      const policy = one(s, 'NetworkPolicy', app.name);
      const fromNamespaces = (policy.spec.ingress ?? []).map((r: any) => r.from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name']);
      const expected = [...(app.kind === 'web' ? [s.config.namespaces.edge] : []), ...(app.metricsPort ? [s.config.namespaces.monitoring] : [])];
      expect(fromNamespaces).toEqual(expected);
      const inCluster = policy.spec.egress.filter((r: any) => r.to[0].namespaceSelector);
      expect(inCluster.map((r: any) => r.ports[0].port)).toEqual(expect.arrayContaining([6432]));
      const internet = policy.spec.egress.filter((r: any) => r.to[0].ipBlock);
      expect(internet[0].ports).toEqual([{ protocol: 'TCP', port: 443 }]);
      expect(internet[0].to[0].ipBlock.except).toContain('10.0.0.0/8');
    }
  });
});

test('GIVEN ha THEN app pods spread across nodes; GIVEN prod (one node) THEN they do not need to', () => {
  expect(one(synthEnv('ha'), 'Deployment', 'crm').spec.template.spec.topologySpreadConstraints[0].topologyKey).toBe('kubernetes.io/hostname');
  expect(one(synthEnv('prod'), 'Deployment', 'crm').spec.template.spec.topologySpreadConstraints).toBeUndefined();
});

test('GIVEN a worker with an exec health command and no internet THEN probes exec it and egress stays in-cluster', () => {
  const s = synth(configFor('prod', { apps: { worker: { healthCommand: ['/app/healthcheck'], internetEgress: 'none' } } }));
  const c = one(s, 'Deployment', 'worker').spec.template.spec.containers[0];
  expect(c.livenessProbe.exec.command).toEqual(['/app/healthcheck']);
  expect(one(s, 'NetworkPolicy', 'worker').spec.egress.filter((r: any) => r.to[0].ipBlock)).toEqual([]);
});
