import * as yaml from 'js-yaml';
import { poolPerPod } from '../lib/config/connection-budget';
import { appLoginRoles } from '../lib/services/postgres/app-logins';
import { find, one, synthEnv } from './helpers/platform';

describe.each([
  ['dev', 0, 1, 'asynchronous'],
  ['prod-8gb', 0, 2, 'asynchronous'],
  ['prod', 0, 2, 'asynchronous'],
  ['ha', 2, 3, 'synchronous'],
])('GIVEN the %s environment', (env, replicas, bouncers, mode) => {
  const s = synthEnv(env);
  const ns = s.config.namespaces.data;
  const primary = one(s, 'StatefulSet', 'postgres');
  const pods = [primary, one(s, 'Deployment', 'pgbouncer')];
  const patroni: any = yaml.load(one(s, 'ConfigMap', 'postgres-patroni').data['patroni.yml']);

  test(`THEN Patroni runs ${1 + replicas} member(s) in one StatefulSet and ${bouncers} PgBouncer pods, with stable names`, () => {
    expect(primary.spec.replicas).toBe(1 + replicas);
    expect(primary.spec.serviceName).toBe('postgres-members');
    expect(find(s, 'StatefulSet').filter((x) => x.metadata.name.startsWith('postgres'))).toHaveLength(1);
    expect(one(s, 'Deployment', 'pgbouncer').spec.replicas).toBe(bouncers);
    expect(primary.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    expect(primary.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe(s.config.postgres.storage.size);
    expect(primary.spec.template.spec.containers[0].command).toEqual(['patroni', '/etc/patroni/patroni.yml']);
  });

  test(`THEN replication is ${mode}: synchronous_mode ${mode === 'synchronous'} in Patroni's bootstrap settings`, () => {
    expect(patroni.bootstrap.dcs.synchronous_mode).toBe(mode === 'synchronous');
    expect(patroni.bootstrap.dcs.postgresql).toMatchObject({ use_pg_rewind: true, use_slots: true });
    expect(patroni.bootstrap.dcs.postgresql.parameters.max_connections).toBe(s.config.postgres.tuning.maxConnections);
  });

  test('THEN Patroni keeps its lock in the Kubernetes API with a Role limited to Endpoints and Pods of its namespace', () => {
    expect(patroni.kubernetes).toMatchObject({ use_endpoints: true, role_label: 'role', leader_label_value: 'master' });
    const role = one(s, 'Role', 'postgres-patroni');
    expect(role.metadata.namespace).toBe(ns);
    expect(role.rules.flatMap((r: any) => r.resources).sort()).toEqual(['endpoints', 'pods']);
    expect(find(s, 'ClusterRole').filter((r) => r.metadata.name.includes('postgres'))).toEqual([]);
    const binding = one(s, 'RoleBinding', 'postgres-patroni');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'postgres', namespace: ns }]);
    expect(primary.spec.template.spec.serviceAccountName).toBe('postgres');
    // The selector-less Services that keep Kubernetes from deleting Patroni's Endpoints.
    expect(one(s, 'Service', 'postgres').spec.selector).toBeUndefined();
    expect(one(s, 'Service', 'postgres-config').spec.selector).toBeUndefined();
  });

  test("THEN patronictl in the postgres container finds the config Patroni runs: PATRONICTL_CONFIG_FILE names the patroni.yml of the mounted ConfigMap", () => {
    const spec = primary.spec.template.spec;
    const server = spec.containers.find((c: any) => c.name === 'postgres');
    const file = server.env.find((e: any) => e.name === 'PATRONICTL_CONFIG_FILE')?.value;
    const mount = server.volumeMounts.find((m: any) => spec.volumes.find((v: any) => v.name === m.name)?.configMap?.name === 'postgres-patroni');
    expect(file).toBe(`${mount.mountPath}/patroni.yml`);
    expect(server.command).toEqual(['patroni', file]);
  });

  test('THEN the image is a pinned timescaledb-ha (Patroni inside) of the configured major', () => {
    expect(primary.spec.template.spec.containers[0].image).toMatch(new RegExp(`^timescale/timescaledb-ha:pg${s.config.postgres.major}\\.\\d+-ts`));
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
    expect(primary.spec.template.spec.containers[0].readinessProbe.httpGet.path).toBe('/readiness');
    expect(primary.spec.template.spec.containers[0].livenessProbe.httpGet.path).toBe('/liveness');
  });

  test('THEN credentials come only from Secret references, and no Secret with data is emitted', () => {
    expect(find(s, 'Secret')).toEqual([]);
    const envs = pods.flatMap((w) => [...w.spec.template.spec.containers, ...(w.spec.template.spec.initContainers ?? [])]).flatMap((c) => c.env ?? []);
    for (const e of envs.filter((e: any) => /PASS/.test(e.name))) {
      expect(e.value).toBeUndefined();
      expect(e.valueFrom.secretKeyRef.name).toMatch(/^(postgres|pgbouncer)-|^backup-encryption$/);
    }
  });

  test("THEN the rw Service selects the leader by Patroni's role label, and the ro Service only replicas", () => {
    expect(one(s, 'Service', 'postgres-rw').spec.selector).toEqual({ 'app.kubernetes.io/name': 'postgres', 'cluster-name': 'postgres', role: 'master' });
    const ro = find(s, 'Service', 'postgres-ro');
    expect(ro.map((r) => r.spec.selector.role)).toEqual(replicas ? ['replica'] : []);
  });

  test('THEN pgbouncer.ini pools in transaction mode with scram through auth_query', () => {
    const ini: string = one(s, 'ConfigMap', 'pgbouncer-config').data['pgbouncer.ini'];
    const p = { ...s.config.pgbouncer, ...poolPerPod(s.config) };
    for (const line of [
      'pool_mode = transaction', `max_client_conn = ${p.maxClientConn}`, `default_pool_size = ${p.defaultPoolSize}`, `min_pool_size = ${p.minPoolSize}`,
      `reserve_pool_size = ${p.reservePoolSize}`, `reserve_pool_timeout = ${p.reservePoolTimeoutSeconds}`, `server_lifetime = ${p.serverLifetimeSeconds}`,
      `server_idle_timeout = ${p.serverIdleTimeoutSeconds}`, 'auth_type = hba', 'auth_user = pgbouncer_auth', 'ignore_startup_parameters = extra_float_digits',
    ]) expect(ini.split('\n')).toContain(line);
    expect(ini).toContain(`host=postgres-rw.${ns}.svc.cluster.local port=5432`);
  });

  test("THEN PgBouncer's hba admits the pooled app roles with scram-sha-256 and rejects every other role", () => {
    const hba: string = one(s, 'ConfigMap', 'pgbouncer-config').data['pgbouncer_hba.conf'];
    const rules = hba.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t'));
    const admitted = rules.filter((r) => r[0] === 'host' && r[1] === 'all' && r.at(-1) === 'scram-sha-256').map((r) => r[2]);
    // Both app logins (the second one takes over at a password rotation), then GlitchTip's owner where it runs.
    expect([...new Set(admitted)]).toEqual([...appLoginRoles(s.config), ...(s.config.glitchtip.enabled ? [s.config.glitchtip.database] : [])]);
    expect(appLoginRoles(s.config)).toEqual([s.config.postgres.appUser, `${s.config.postgres.appUser}_next`]);
    expect(rules.at(-1)).toEqual(['host', 'all', 'all', '::/0', 'reject']);
    expect(rules.filter((r) => r[2] === 'pgbouncer_auth').map((r) => r[1])).toEqual(['pgbouncer', 'pgbouncer']);
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
      JSON.stringify({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'postgres', 'cluster-name': 'postgres' } } }),
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
  const affinity = one(s, 'StatefulSet', 'postgres').spec.template.spec.affinity.podAntiAffinity;
  expect(affinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe('kubernetes.io/hostname');
  const prod = synthEnv('prod');
  expect(one(prod, 'StatefulSet', 'postgres').spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
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

describe('GIVEN the connection budget of 20 + 5 server connections for all PgBouncer pods', () => {
  test.each([['prod', 2, 10, 2], ['ha', 3, 6, 1], ['dev', 1, 20, 5]])('WHEN %s runs %i pods THEN each pools %i + %i, and all together stay within 20–25 and under max_connections', (env, pods, pool, reserve) => {
    const s = synthEnv(env);
    const ini: string = one(s, 'ConfigMap', 'pgbouncer-config').data['pgbouncer.ini'];
    expect(one(s, 'Deployment', 'pgbouncer').spec.replicas).toBe(pods);
    expect(ini.split('\n')).toEqual(expect.arrayContaining([`default_pool_size = ${pool}`, `reserve_pool_size = ${reserve}`, `max_db_connections = ${pool + reserve}`, 'max_client_conn = 100']));
    const total = pods * (pool + reserve);
    expect(total).toBeGreaterThanOrEqual(20);
    expect(total).toBeLessThanOrEqual(25);
    const t = s.config.postgres.tuning;
    // Headroom for Patroni, migrations, backups and the exporter: at least 10 connections beyond the pools.
    expect(t.maxConnections - t.superuserReservedConnections - total).toBeGreaterThanOrEqual(10);
  });
});
