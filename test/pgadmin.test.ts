/**
 * pgAdmin as an optional built-in service (lib/services/pgadmin, one line in lib/services/registry.ts):
 * off by default, and when on, its own folder of dist/, the official pinned image, its state on a
 * small volume, probes, its UI behind the admin access, its own generated login, a read-only Postgres
 * role, exactly its flows, an alert and a dashboard row. (The role's SQL on a real PostgreSQL:
 * test/pgadmin.real.test.ts.)
 */
import * as fs from 'fs';
import * as path from 'path';
import { ADD_ONS } from '../lib/addons/registry';
import { IMAGES } from '../lib/config/versions';
import { footprint, resourceKey } from '../lib/footprint';
import { KNOWN_METRICS, metricNamesIn } from '../lib/constructs/monitoring/metrics';
import { referenceDir } from '../lib/project';
import { loadCatalog } from '../lib/validation/schema-catalog';
import { NetworkModel, workloadEndpoints } from '../lib/validation/reachability';
import { KUBERNETES_VERSIONS } from '../lib/validation/validate-dist';
import { validateObject } from '../lib/validation/validate-object';
import { configFor, find, one, synth, synthEnv } from './helpers/platform';

describe('GIVEN the shipped environments, where pgadmin is not enabled', () => {
  test.each(['dev', 'prod', 'ha'])('THEN %s has no pgAdmin object, no pgAdmin Secret and no read-only role', (env) => {
    const s = synthEnv(env);
    expect(s.objects.filter((o) => o.chart === 'pgadmin' || /pgadmin/.test(o.object.metadata?.name ?? ''))).toEqual([]);
    expect(one(s, 'ConfigMap', 'postgres-scripts').data['init.sql']).not.toContain('pgadmin');
  });
});

describe('GIVEN prod with pgadmin: { enabled: true }', () => {
  const config = configFor('prod', { pgadmin: { enabled: true } });
  const s = synth(config);
  const sts = one(s, 'StatefulSet', 'pgadmin');
  const pod = sts.spec.template.spec;
  const container = pod.containers[0];
  const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

  test.each(KUBERNETES_VERSIONS)('THEN its objects, in their own chart folder, validate strictly (Kubernetes %s)', (version) => {
    const catalog = loadCatalog(referenceDir(), version);
    const objects = s.objects.filter((o) => o.chart === 'pgadmin').map((o) => o.object);
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Ingress', 'NetworkPolicy', 'NetworkPolicy', 'Service', 'Service', 'StatefulSet']);
    expect(objects.flatMap((o) => validateObject(catalog, o))).toEqual([]);
    expect(one(s, 'Application', 'pgadmin').metadata.annotations['argocd.argoproj.io/sync-wave']).toBe(one(s, 'Application', 'glitchtip').metadata.annotations['argocd.argoproj.io/sync-wave']);
  });

  test('THEN it runs the pinned official image as its own user, restricted, with requests, a memory limit and probes on /misc/ping', () => {
    expect(container.image).toBe(IMAGES.pgadmin);
    expect(container.image).toMatch(/^dpage\/pgadmin4:\d+\.\d+$/);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 5050, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of [...pod.initContainers, ...pod.containers]) {
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      expect(c.resources.requests).toBeDefined();
      expect(c.resources.limits.memory).toBeDefined();
    }
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect(container[probe].httpGet).toEqual({ path: '/misc/ping', port: 'http' });
    expect(env).toMatchObject({ PGADMIN_LISTEN_PORT: '5050', PGADMIN_DISABLE_POSTFIX: 'true' });
  });

  test('THEN its state is on a small volume of its own', () => {
    expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('1Gi');
    expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/pgadmin' });
  });

  test('THEN its login is its own, generated in the cluster: the e-mail from the config, the password from the Secret pgadmin', () => {
    expect(env.PGADMIN_DEFAULT_EMAIL).toBe(`admin@${config.domain}`);
    expect(env.PGADMIN_DEFAULT_PASSWORD).toEqual({ secretKeyRef: { name: 'pgadmin', key: 'password' } });
    expect(config.secrets.data.pgadmin).toMatchObject({ mode: 'generated', keys: ['password'] });
    expect(find(s, 'ExternalSecret', 'pgadmin')).toHaveLength(1);
    expect(s.platform.declaredSecrets).toContainEqual({ namespace: config.namespaces.data, name: 'pgadmin', key: 'password' });
  });

  test('THEN its UI is on its admin host, behind the admin access, with a certificate', () => {
    const ingress = one(s, 'Ingress', 'pgadmin');
    expect(ingress.spec.rules.map((r: any) => r.host)).toEqual([`pgadmin.${config.domain}`]);
    expect(ingress.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares']).toBe(one(s, 'Ingress', 'minio-console').metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares']);
    expect(ingress.spec.tls[0].hosts).toEqual([`pgadmin.${config.domain}`]);
  });

  test('THEN its saved server logs in as the read-only role pgadmin, which Postgres creates with a generated password', () => {
    const servers = JSON.parse(one(s, 'ConfigMap', 'pgadmin-servers').data['servers.json']).Servers['1'];
    expect(servers).toMatchObject({ Host: 'postgres-rw.data.svc.cluster.local', Port: 5432, MaintenanceDB: config.postgres.database, Username: 'pgadmin', PassFile: '/pgpass' });
    const init = one(s, 'ConfigMap', 'postgres-scripts').data;
    expect(init['init.sql']).toContain('GRANT pg_read_all_data TO pgadmin;');
    expect(init['init.sql']).toContain('ALTER ROLE pgadmin SET default_transaction_read_only = on;');
    expect(init['10-init.sh']).toContain('-v pgadmin_password="$PGADMIN_LOGIN_PASSWORD"');
    const pgEnv = one(s, 'StatefulSet', 'postgres').spec.template.spec.containers[0].env;
    expect(pgEnv).toContainEqual({ name: 'PGADMIN_LOGIN_PASSWORD', valueFrom: { secretKeyRef: { name: 'postgres-pgadmin', key: 'password' } } });
    expect(pod.initContainers[0].env).toContainEqual({ name: 'SERVER_PASSWORD', valueFrom: { secretKeyRef: { name: 'postgres-pgadmin', key: 'password' } } });
    expect(config.secrets.data['postgres-pgadmin']).toMatchObject({ mode: 'generated' });
    // Not a pooled role: PgBouncer's auth_query does not serve it.
    expect(init['pgbouncer-auth.sql']).not.toContain('pgadmin');
  });

  test('THEN Traefik reaches its UI, it reaches the Postgres primary, and nothing else reaches or is reached', () => {
    const objects = s.objects.map((o) => o.object);
    const model = new NetworkModel(objects);
    const endpoints = workloadEndpoints(objects);
    const named = (name: string) => endpoints.find((e) => e.name === name && e.namespace !== undefined)!;
    // Traefik (a Helm add-on, not among these objects): its egress policy and pgAdmin's ingress name each other.
    const traefikSide = one(s, 'NetworkPolicy', 'traefik-to-pgadmin');
    expect(traefikSide.metadata.namespace).toBe(config.namespaces.edge);
    expect(traefikSide.spec.egress).toContainEqual(expect.objectContaining({ ports: [{ protocol: 'TCP', port: 5050 }] }));
    expect(JSON.stringify(one(s, 'NetworkPolicy', 'pgadmin').spec.ingress)).toContain(config.namespaces.edge);
    expect(model.allows(named('pgadmin'), named('postgres'), 5432)).toBe(true);
    expect(model.allows(named('pgadmin'), named('pgbouncer'), 6432)).toBe(false);
    expect(model.allows(named('pgadmin'), named('redis'), 6379)).toBe(false);
    expect(model.allows(named('crm'), named('pgadmin'), 5050)).toBe(false);
  });

  test('THEN it is probed, has an alert with a runbook section and a dashboard row', () => {
    expect(find(s, 'Probe').some((p) => JSON.stringify(p.spec).includes('pgadmin.data.svc.cluster.local:5050/misc/ping'))).toBe(true);
    const rule = one(s, 'PrometheusRule', 'platform-pgadmin');
    expect(rule.spec.groups[0].rules.map((r: any) => [r.alert, r.labels.severity])).toEqual([['PgAdminRestarting', 'warning']]);
    const readme = fs.readFileSync(path.join(__dirname, '..', 'docs', 'alert-runbooks.md'), 'utf8');
    expect(readme).toMatch(/^#### PgAdminRestarting$/m);
    const overview = JSON.parse(one(s, 'ConfigMap', 'grafana-dashboard-platform-overview').data['platform-overview.json']);
    expect(overview.panels.filter((p: any) => p.type === 'row').map((p: any) => p.title)).toContain('pgAdmin');
    // Every metric it queries is one the platform's exporters expose.
    const exprs: string[] = [];
    JSON.stringify(overview, (key, value) => (key === 'expr' && typeof value === 'string' && value.includes('pgadmin') && exprs.push(value), value));
    expect(exprs).toHaveLength(2);
    for (const q of [...rule.spec.groups[0].rules.map((r: any) => r.expr), ...exprs]) expect(metricNamesIn(q).filter((m) => !KNOWN_METRICS.has(m))).toEqual([]);
  });

  test('THEN its requests count in the footprint, under its own key', () => {
    const f = footprint(s.objects, s.config, ADD_ONS);
    const row = f.rows.find((r) => r.chart === 'pgadmin')!;
    expect(row).toMatchObject({ cpu: 0.02 });
    expect(resourceKey(row)).toBe('pgadmin.resources');
  });
});

describe('GIVEN pgadmin with readOnly: false', () => {
  const s = synth(configFor('prod', { pgadmin: { enabled: true, readOnly: false } }));

  test('THEN the saved server names the apps\' role, no password is stored and no read-only role is created', () => {
    const servers = JSON.parse(one(s, 'ConfigMap', 'pgadmin-servers').data['servers.json']).Servers['1'];
    expect(servers.Username).toBe(s.config.postgres.appUser);
    expect(servers.PassFile).toBeUndefined();
    expect(one(s, 'StatefulSet', 'pgadmin').spec.template.spec.initContainers).toBeUndefined();
    expect(one(s, 'ConfigMap', 'postgres-scripts').data['init.sql']).not.toContain('pgadmin');
  });
});

describe('GIVEN a pgadmin host outside the domain', () => {
  test('THEN loading fails, naming the key, the value and the fix', () => {
    expect(() => configFor('prod', { pgadmin: { enabled: true, host: 'pgadmin.elsewhere.org' } })).toThrow(/pgadmin\.host = "pgadmin\.elsewhere\.org".*outside the domain.*fix:/);
  });
});
