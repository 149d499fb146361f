import { find, one, synthEnv } from './helpers/platform';

describe.each([
  ['dev', 0, 1],
  ['prod-8gb', 0, 2],
  ['prod', 0, 2],
  ['ha', 2, 3],
])('GIVEN the %s environment', (env, replicas, bouncers) => {
  const s = synthEnv(env);
  const ns = s.config.namespaces.data;
  const primary = one(s, 'StatefulSet', 'postgres-primary');
  const pods = [primary, ...find(s, 'StatefulSet', 'postgres-replica'), one(s, 'Deployment', 'pgbouncer')];

  test(`THEN it runs one primary, ${replicas} streaming replicas and ${bouncers} PgBouncer pods, with stable names`, () => {
    expect(primary.spec.replicas).toBe(1);
    expect(find(s, 'StatefulSet', 'postgres-replica').map((r) => r.spec.replicas)).toEqual(replicas ? [replicas] : []);
    expect(one(s, 'Deployment', 'pgbouncer').spec.replicas).toBe(bouncers);
    expect(primary.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    expect(primary.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe(s.config.postgres.storage.size);
  });

  test('THEN the image is the official postgres image of the configured major', () => {
    expect(primary.spec.template.spec.containers[0].image).toMatch(new RegExp(`^postgres:${s.config.postgres.major}\\.`));
  });

  test('THEN every pod is Pod Security restricted, with requests, memory limits and probes', () => {
    for (const workload of pods) {
      const spec = workload.spec.template.spec;
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
        expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true });
        expect(c.resources.requests.cpu).toBeDefined();
        expect(c.resources.limits.memory).toBeDefined();
        expect(c.image).not.toMatch(/bitnami|:latest$/);
      }
      for (const c of spec.containers) expect(c.readinessProbe).toBeDefined();
    }
    expect(primary.spec.template.spec.containers[0].startupProbe.exec.command[0]).toBe('pg_isready');
    expect(primary.spec.template.spec.containers[0].livenessProbe.exec.command[0]).toBe('pg_isready');
  });

  test('THEN credentials come only from Secret references, and no Secret with data is emitted', () => {
    expect(find(s, 'Secret')).toEqual([]);
    const envs = pods.flatMap((w) => [...w.spec.template.spec.containers, ...(w.spec.template.spec.initContainers ?? [])]).flatMap((c) => c.env ?? []);
    for (const e of envs.filter((e: any) => /PASS/.test(e.name))) {
      expect(e.value).toBeUndefined();
      expect(e.valueFrom.secretKeyRef.name).toMatch(/^(postgres|pgbouncer)-|^backup-encryption$/);
    }
  });

  test('THEN the rw Service selects only the primary, and the ro Service only replicas', () => {
    expect(one(s, 'Service', 'postgres-rw').spec.selector).toEqual({ 'app.kubernetes.io/name': 'postgres', 'app.kubernetes.io/component': 'primary' });
    const ro = find(s, 'Service', 'postgres-ro');
    expect(ro.map((r) => r.spec.selector['app.kubernetes.io/component'])).toEqual(replicas ? ['replica'] : []);
  });

  test('THEN pgbouncer.ini pools in transaction mode with scram through auth_query', () => {
    const ini: string = one(s, 'ConfigMap', 'pgbouncer-config').data['pgbouncer.ini'];
    const p = s.config.pgbouncer;
    for (const line of [
      'pool_mode = transaction', `max_client_conn = ${p.maxClientConn}`, `default_pool_size = ${p.defaultPoolSize}`, `min_pool_size = ${p.minPoolSize}`,
      `reserve_pool_size = ${p.reservePoolSize}`, `reserve_pool_timeout = ${p.reservePoolTimeoutSeconds}`, `server_lifetime = ${p.serverLifetimeSeconds}`,
      `server_idle_timeout = ${p.serverIdleTimeoutSeconds}`, 'auth_type = scram-sha-256', 'auth_user = pgbouncer_auth', 'ignore_startup_parameters = extra_float_digits',
    ]) expect(ini.split('\n')).toContain(line);
    expect(ini).toContain(`host=postgres-rw.${ns}.svc.cluster.local port=5432`);
  });

  test('THEN pg_hba.conf allows scram-sha-256 only: no trust, no md5', () => {
    const hba: string = one(s, 'ConfigMap', 'postgres-config').data['pg_hba.conf'];
    const rules = hba.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) expect(rule.split('\t').pop()).toMatch(/^(scram-sha-256|reject)$/);
  });

  test('THEN Postgres accepts only PgBouncer, its replicas, backups, migrations and the metrics scrape', () => {
    const policy = one(s, 'NetworkPolicy', 'postgres');
    const sources = policy.spec.ingress.map((r: any) => JSON.stringify(r.from[0]));
    expect(sources).toEqual([
      JSON.stringify({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'pgbouncer' } } }),
      JSON.stringify({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'postgres' } } }),
      JSON.stringify({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': s.config.namespaces.backup } } }),
      JSON.stringify({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': s.config.namespaces.app } }, podSelector: { matchLabels: { 'platform.io/postgres-direct': 'true' } } }),
      JSON.stringify({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': s.config.namespaces.monitoring } } }),
    ]);
    const bouncer = one(s, 'NetworkPolicy', 'pgbouncer');
    // The app namespace, and GlitchTip's pods (its own database) in the monitoring namespace where it runs.
    const glitchtip = s.config.glitchtip.enabled ? [[{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': s.config.namespaces.monitoring } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'glitchtip' } } }]] : [];
    expect(bouncer.spec.ingress.slice(0, glitchtip.length + 1).map((r: any) => r.from)).toEqual([
      ...glitchtip,
      [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': s.config.namespaces.app } } }],
    ]);
    expect(bouncer.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 6432 }]);
  });

  test('THEN every ServiceMonitor selects a Service that has the scraped port', () => {
    for (const monitor of find(s, 'ServiceMonitor')) {
      const services = find(s, 'Service').filter((svc) =>
        svc.metadata.namespace === monitor.metadata.namespace &&
        Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => svc.metadata.labels?.[k] === v));
      expect(services).toHaveLength(1);
      expect(services[0].spec.ports.map((p: any) => p.name)).toContain(monitor.spec.endpoints[0].port);
    }
  });

  test('THEN disruption budgets exist wherever more than one pod runs', () => {
    expect(find(s, 'PodDisruptionBudget', 'postgres')).toHaveLength(replicas > 0 ? 1 : 0);
    expect(find(s, 'PodDisruptionBudget', 'pgbouncer')).toHaveLength(bouncers > 1 ? 1 : 0);
  });
});

test('GIVEN ha on three nodes THEN Postgres pods must land on different nodes', () => {
  const s = synthEnv('ha');
  const affinity = one(s, 'StatefulSet', 'postgres-replica').spec.template.spec.affinity.podAntiAffinity;
  expect(affinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe('kubernetes.io/hostname');
  const prod = synthEnv('prod');
  expect(one(prod, 'StatefulSet', 'postgres-primary').spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
});

test('GIVEN dev (4 GB) THEN postgresql.conf is scaled down from prod, which keeps the seed tuning', () => {
  const conf: string = one(synthEnv('dev'), 'ConfigMap', 'postgres-config').data['postgresql.conf'];
  expect(conf).toMatch(/^shared_buffers = 256MB$/m);
  expect(conf).toMatch(/^max_connections = 50$/m);
  const prod: string = one(synthEnv('prod'), 'ConfigMap', 'postgres-config').data['postgresql.conf'];
  for (const line of ['shared_buffers = 1024MB', 'effective_cache_size = 3072MB', 'work_mem = 32MB', 'maintenance_work_mem = 256MB', 'max_connections = 100', 'wal_buffers = 32MB']) {
    expect(prod.split('\n')).toContain(line);
  }
  expect(prod).toMatch(/^max_slot_wal_keep_size = \d+MB$/m);
});
