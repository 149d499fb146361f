/**
 * Each data service built alone in `Testing.chart()` with narrow props (no platform synth): its
 * NetworkPolicy admits exactly what is connected to it plus its own admits, `bindApp` gives the
 * env and Secret references, and it contributes its probe, Secrets, rules and rows.
 */
import { Chart, Testing } from 'cdk8s';
import { appPorts, AppRef, IDataService, migrationPorts } from '../lib/constructs/data-service';
import { Minio } from '../lib/services/minio/minio';
import { DashboardKit } from '../lib/constructs/monitoring/dashboards';
import { AllowFlows, connect } from '../lib/constructs/network-policy';
import { Postgres } from '../lib/services/postgres/postgres';
import { Redis } from '../lib/services/redis/redis';
import { configFor } from './helpers/platform';

const thresholds = configFor('prod').alerts;
const app: AppRef = { name: 'shop', namespace: 'apps' };
const ns = (name: string) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } } });
/** A kit that records panel titles instead of building Grafana JSON. */
const kit: DashboardKit = {
  thresholds, rate: '[5m]', seconds: () => ({ warning: 1, critical: 2 }),
  graph: (title) => ({ build: () => title }), stat: (title) => ({ build: () => title }),
};

/** GIVEN a service in a test chart WHEN an app binds to it THEN the synthesized objects and the binding. */
function bound(make: (chart: Chart) => IDataService) {
  const chart = Testing.chart();
  const service = make(chart);
  const binding = service.bindApp(app);
  const client = new AllowFlows(chart, 'client', { name: app.name, namespace: app.namespace, podLabels: { 'app.kubernetes.io/name': app.name } });
  for (const port of appPorts(binding)) connect({ policy: client, podLabels: {} }, port, [port.port]);
  const objects = Testing.synth(chart);
  const policy = (name: string) => objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === name);
  return { service, binding, objects, policy };
}

describe('GIVEN Redis alone in a chart', () => {
  const { service, binding, policy } = bound((chart) => new Redis(chart, 'redis', {
    namespace: 'cache', monitoringNamespace: 'mon', image: 'redis:7', exporterImage: 'exporter:1', storageSize: '1Gi', storageClass: 'local',
    resources: { requests: { cpu: '10m', memory: '256Mi' }, limits: { memory: '512Mi' } },
    exporterResources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } },
    maxmemory: '256Mi', maxmemoryPolicy: 'allkeys-lru', appendfsync: 'everysec', save: [],
  }));

  test('WHEN an app binds THEN it gets REDIS_PASSWORD from the Secret and REDIS_URL as user app', () => {
    expect(binding.secretEnv).toEqual([{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'redis-auth', key: 'app-password' } } }]);
    expect(binding.env.map((e) => ({ name: e.name, value: e.value }))).toEqual([{ name: 'REDIS_URL', value: 'redis://app:$(REDIS_PASSWORD)@redis.cache.svc.cluster.local:6379/0' }]);
    expect(appPorts(binding).map((p) => p.port)).toEqual([6379]); // the URL carries the flow to it
    expect(binding.secrets).toEqual([{ namespace: 'apps', name: 'redis-auth', key: 'app-password' }]);
  });

  test('THEN its policy admits the connected app namespace on 6379, then Prometheus on the exporter, and the app may leave for it', () => {
    expect(policy('redis').spec.ingress).toEqual([
      { from: [ns('apps')], ports: [{ protocol: 'TCP', port: 6379 }] },
      { from: [ns('mon')], ports: [{ protocol: 'TCP', port: 9121 }] },
    ]);
    expect(policy('shop').spec.egress).toEqual([{ to: [{ ...ns('cache'), podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis' } } }], ports: [{ protocol: 'TCP', port: 6379 }] }]);
  });

  test('THEN it contributes a TCP probe, its three passwords, the memory alert in its namespace and a dashboard row', () => {
    expect(service.probeTargets).toEqual([expect.objectContaining({ name: 'redis', kind: 'tcp', target: 'redis.cache.svc.cluster.local:6379' })]);
    expect(service.declaredSecrets.map((s) => s.key).sort()).toEqual(['admin-password', 'app-password', 'exporter-password']);
    const [group] = service.alertRules(thresholds);
    expect(group.area).toBe('redis');
    expect(group.rules.map((r) => r.expr).join()).toContain('namespace="cache"');
    expect(service.dashboardRows(kit).map((r) => r.title)).toEqual(['Redis']);
  });
});

describe('GIVEN MinIO alone in a chart, granting the app one bucket', () => {
  const { service, binding, policy } = bound((chart) => new Minio(chart, 'minio', {
    namespace: 'store', edgeNamespace: 'edge', monitoringNamespace: 'mon', image: 'minio:1', clientImage: 'mc:1', storageSize: '1Gi', storageClass: 'local',
    resources: { requests: { cpu: '10m', memory: '256Mi' }, limits: { memory: '512Mi' } },
    provisioningResources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } },
    consoleHost: 'minio.example.com', apiHost: 's3.example.com', publicHost: 'files.example.com',
    buckets: [{ name: 'media', access: 'private', versioning: false }], appAccess: [{ app: 'shop', buckets: ['media'] }],
  }));

  test('WHEN the app binds THEN it gets its own key pair and plain S3 settings', () => {
    expect(binding.secretEnv.map((e) => [e.name, e.valueFrom?.secretKeyRef?.name])).toEqual([['S3_ACCESS_KEY', 'minio-app-shop'], ['S3_SECRET_KEY', 'minio-app-shop']]);
    expect(Object.fromEntries(binding.env.map((e) => [e.name, e.value]))).toMatchObject({ S3_ENDPOINT: 'http://minio.store.svc.cluster.local:9000', S3_BUCKET: 'media' });
  });

  test('THEN its policy lists the connected clients first, then the edge, Prometheus and its provisioning Job', () => {
    const ingress = policy('minio').spec.ingress;
    expect(ingress[0]).toEqual({ from: [ns('apps')], ports: [{ protocol: 'TCP', port: 9000 }] });
    expect(ingress.slice(1).map((r: any) => r.from[0].namespaceSelector?.matchLabels['kubernetes.io/metadata.name'] ?? r.from[0].podSelector.matchLabels['app.kubernetes.io/name'])).toEqual(['edge', 'mon', 'minio-provision']);
  });

  test('THEN it contributes an HTTP probe, root and per-app Secrets, no alert and a dashboard row', () => {
    expect(service.probeTargets).toEqual([expect.objectContaining({ name: 'minio', kind: 'http', target: 'http://minio.store.svc.cluster.local:9000/minio/health/live' })]);
    expect(service.declaredSecrets.map((s) => `${s.name}/${s.key}`)).toEqual(['minio-root/root-user', 'minio-root/root-password', 'minio-app-shop/access-key', 'minio-app-shop/secret-key']);
    expect(service.alertRules(thresholds)).toEqual([]);
    expect(service.dashboardRows(kit).map((r) => r.title)).toEqual(['MinIO']);
  });
});

describe('GIVEN Postgres (cluster and PgBouncer) alone in a chart', () => {
  const config = configFor('prod');
  const { service, binding, policy } = bound((chart) => new Postgres(chart, 'postgres', {
    config, namespace: 'db', monitoringNamespace: 'mon', image: 'postgres:16', exporterImage: 'pe:1', pgbouncerImage: 'pgb:1', pgbouncerExporterImage: 'pgbe:1',
  }));

  test('WHEN the app binds THEN DATABASE_URL goes through PgBouncer, DIRECT_URL to the primary, and migrations get the direct-access label', () => {
    const env = Object.fromEntries(binding.env.map((e) => [e.name, e.value]));
    expect(env.DATABASE_URL).toBe(`postgresql://${config.postgres.appUser}:$(DB_PASSWORD)@pgbouncer.db.svc.cluster.local:6432/${config.postgres.database}`);
    expect(env.DIRECT_URL).toContain('@postgres-rw.db.svc.cluster.local:5432/');
    expect(appPorts(binding).map((p) => p.port)).toEqual([6432]);
    expect(migrationPorts(binding).map((p) => p.port)).toEqual([5432]);
  });

  test('THEN PgBouncer and the members reach every member (any may lead), Patroni the API server, the app PgBouncer, Prometheus the exporters', () => {
    const pods = (name: string, extra = {}) => ({ podSelector: { matchLabels: { 'app.kubernetes.io/name': name, ...extra } } });
    const members = pods('postgres', { 'cluster-name': 'postgres' });
    expect(policy('postgres').spec.ingress.map((r: any) => r.from[0])).toEqual([pods('pgbouncer'), members, ns('mon')]);
    expect(policy('postgres').spec.egress).toEqual([
      { to: [members], ports: [{ protocol: 'TCP', port: 5432 }, { protocol: 'TCP', port: 8008 }] },
      { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }, { ipBlock: { cidr: '::/0' } }], ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 6443 }] },
    ]);
    expect(policy('pgbouncer').spec.ingress.map((r: any) => r.from[0])).toEqual([ns('apps'), ns('mon')]);
  });

  test('THEN it contributes two TCP probes, its role Secrets, the postgres and pitr alert areas and two dashboard rows', () => {
    expect(service.probeTargets.map((t) => t.name)).toEqual(['postgres', 'pgbouncer']);
    expect(service.declaredSecrets.every((s) => s.namespace === 'db')).toBe(true);
    expect(service.alertRules(thresholds).map((g) => [g.area, [...new Set(g.rules.map((r) => r.alert))]])).toEqual([
      ['postgres', ['PostgresConnectionsHigh', 'PostgresReplicationLag', 'PatroniLeaderChanged', 'PatroniPaused', 'PgBouncerClientsWaiting']],
      ['pitr', ['PostgresWalArchivingFailing', 'PostgresWalArchiveLagging', 'PitrBaseBackupTooOld']],
    ]);
    expect(service.dashboardRows(kit).map((r) => r.title)).toEqual(['PostgreSQL', 'PgBouncer']);
  });
});
