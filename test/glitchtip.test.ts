/**
 * GlitchTip (error tracking) as an optional platform service: its own database and role, Redis,
 * the admin host, probes, Secrets, backups, the apps' SENTRY_DSN wiring by attribute, the
 * footprint, and the switch that turns it off. (Network matrix: test/network.test.ts; strict
 * validation of dist/: test/validate.test.ts; its role through the real PgBouncer: test/postgres.real.test.ts.)
 */
import { ADD_ONS } from '../lib/addons/registry';
import { BACKUP_JOBS } from '../lib/backup-names';
import { IMAGES } from '../lib/config/versions';
import { referenceDir } from '../lib/project';
import { footprint } from '../lib/footprint';
import { loadCatalog } from '../lib/validation/schema-catalog';
import { KUBERNETES_VERSIONS } from '../lib/validation/validate-dist';
import { validateObject } from '../lib/validation/validate-object';
import { configFor, find, one, synth, synthEnv } from './helpers/platform';

const s = synthEnv('prod');
const g = s.config.glitchtip;
const env = (kind: string, name: string) => Object.fromEntries(one(s, kind, name).spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

describe('GIVEN prod, where the apps crm and web use Sentry', () => {
  const sts = one(s, 'StatefulSet', 'glitchtip');
  const container = sts.spec.template.spec.containers[0];
  const e = env('StatefulSet', 'glitchtip');

  test.each(KUBERNETES_VERSIONS)('THEN its objects, in their own chart folder, validate strictly (Kubernetes %s)', (version) => {
    const catalog = loadCatalog(referenceDir(), version);
    const objects = s.objects.filter((o) => o.chart === 'glitchtip').map((o) => o.object);
    expect(objects.map((o) => o.kind).sort()).toEqual(['Ingress', 'NetworkPolicy', 'NetworkPolicy', 'Service', 'Service', 'StatefulSet']);
    expect(objects.flatMap((o) => validateObject(catalog, o))).toEqual([]);
  });

  test('THEN it runs the pinned official image, all-in-one, restricted, sized to its documented footprint, with probes', () => {
    expect(container.image).toBe(IMAGES.glitchtip);
    expect(container.image).toMatch(/^glitchtip\/glitchtip:\d+\.\d+\.\d+$/);
    expect(e.SERVER_ROLE).toBe('all_in_one');
    expect(container.resources).toEqual({ requests: { cpu: '50m', memory: '256Mi' }, limits: { memory: '512Mi' } });
    expect(sts.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 5000 });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect(container[probe].httpGet).toEqual({ path: '/_health/', port: 'http' });
  });

  test('THEN it uses its own database and role through PgBouncer, and Redis in its own logical database, with passwords from Secrets', () => {
    expect(e).toMatchObject({ DATABASE_HOST: 'pgbouncer.data.svc.cluster.local', DATABASE_PORT: '6432', DATABASE_NAME: 'glitchtip', DATABASE_USER: 'glitchtip' });
    expect(e.DATABASE_PASSWORD).toEqual({ secretKeyRef: { name: 'postgres-glitchtip', key: 'password' } });
    expect(e.SECRET_KEY).toEqual({ secretKeyRef: { name: 'glitchtip', key: 'secret-key' } });
    expect(e.VALKEY_URL).toBe('redis://app:$(REDIS_PASSWORD)@redis.data.svc.cluster.local:6379/1');
    const init = one(s, 'ConfigMap', 'postgres-scripts').data;
    expect(init['init.sql']).toContain("ALTER ROLE glitchtip WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'glitchtip_password'");
    expect(init['init.sql']).toContain('CREATE DATABASE glitchtip OWNER glitchtip');
    expect(init['10-init.sh']).toContain('-v glitchtip_password="$GLITCHTIP_DB_PASSWORD"');
    expect(one(s, 'ConfigMap', 'pgbouncer-config').data['pgbouncer.ini']).toMatch(/^glitchtip = host=postgres-rw\.data\.svc\.cluster\.local port=5432 dbname=glitchtip$/m);
  });

  test('THEN its UI is on the admin host, behind the admin credential, with a certificate', () => {
    const ingress = one(s, 'Ingress', 'glitchtip');
    expect(ingress.spec.rules.map((r: any) => r.host)).toEqual([g.host]);
    expect(ingress.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares']).toContain('admin-auth');
    expect(ingress.spec.tls[0].hosts).toEqual([g.host]);
    expect(e.GLITCHTIP_DOMAIN).toBe(`https://${g.host}`);
    expect(e.ENABLE_OPEN_USER_REGISTRATION).toBe('False');
  });

  test('THEN the apps that use Sentry get SENTRY_DSN from their project key and id, with the in-cluster host of its Service; the worker gets none', () => {
    const service = one(s, 'Service', 'glitchtip');
    const crm = env('Deployment', 'crm');
    expect(crm.SENTRY_DSN).toBe(`http://$(SENTRY_PUBLIC_KEY)@${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local:${service.spec.ports[0].port}/$(SENTRY_PROJECT_ID)`);
    expect(crm.SENTRY_PUBLIC_KEY).toEqual({ secretKeyRef: { name: 'glitchtip-dsn', key: 'crm-public-key' } });
    expect(env('Deployment', 'web').SENTRY_PROJECT_ID).toEqual({ secretKeyRef: { name: 'glitchtip-dsn', key: 'web-project-id' } });
    expect(env('Deployment', 'worker').SENTRY_DSN).toBeUndefined();
  });

  test('THEN its Secrets are declared (monitoring and app namespaces, and its role password for the init SQL)', () => {
    const declared = s.platform.declaredSecrets.map((d) => `${d.namespace}/${d.name}/${d.key}`);
    expect(declared).toEqual(expect.arrayContaining([
      'monitoring/glitchtip/secret-key', 'monitoring/postgres-glitchtip/password', 'monitoring/redis-auth/app-password',
      'data/postgres-glitchtip/password', 'app/glitchtip-dsn/crm-public-key', 'app/glitchtip-dsn/web-project-id',
    ]));
  });

  test('THEN its health is probed (blackbox and the status page) and its database is backed up daily, apart from the apps\' dumps', () => {
    expect(find(s, 'Probe', 'apps-glitchtip')[0].spec.targets.staticConfig.static).toEqual(['http://glitchtip.monitoring.svc.cluster.local:8000/_health/']);
    const cron = one(s, 'CronJob', BACKUP_JOBS.serviceDump('glitchtip'));
    expect(cron.spec.schedule).toBe(s.config.backup.schedules[0].cron);
    const containers = [...cron.spec.jobTemplate.spec.template.spec.initContainers, ...cron.spec.jobTemplate.spec.template.spec.containers];
    const all = Object.fromEntries(containers.flatMap((c: any) => c.env).map((x: any) => [x.name, x.value]));
    expect(all.PGDATABASE).toBe('glitchtip');
    expect(all.B2_PATH).toBe(`${s.config.backup.b2.bucket}/${s.config.backup.b2.prefix}/prod/glitchtip`);
    // The restore and the drill read the apps' dumps only.
    expect(BACKUP_JOBS.serviceDump('glitchtip')).not.toMatch(new RegExp(`^${BACKUP_JOBS.dumpPattern}$`));
  });

  test('THEN it is counted in the footprint, and prod stays within its budget', () => {
    const f = footprint(s.objects, s.config, ADD_ONS);
    expect(f.rows.find((r) => r.workload === 'StatefulSet/glitchtip')).toMatchObject({ pods: 1, memory: 256 * 2 ** 20 });
  });
});

describe('GIVEN glitchtip.enabled: false', () => {
  test('WHEN an app still has sentry: true THEN the config is refused with the fix', () => {
    expect(() => configFor('prod', { glitchtip: { enabled: false } })).toThrow(/apps\.crm\.sentry.*glitchtip\.enabled is false.*fix:/s);
  });
  test('WHEN no app uses Sentry THEN there is no GlitchTip chart, no DSN, no database and no backup for it', () => {
    const off = synth(configFor('prod', { glitchtip: { enabled: false }, apps: { crm: { sentry: false }, web: { sentry: false } } }));
    expect(off.objects.filter((o) => o.chart === 'glitchtip')).toEqual([]);
    expect(JSON.stringify(find(off, 'Deployment'))).not.toContain('SENTRY_DSN');
    expect(one(off, 'ConfigMap', 'postgres-scripts').data['init.sql']).not.toContain('glitchtip');
    expect(find(off, 'CronJob', BACKUP_JOBS.serviceDump('glitchtip'))).toEqual([]);
  });
});
