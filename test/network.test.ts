/**
 * The network-isolation matrix: from the synthesized NetworkPolicies, which workload may open
 * which port on which other workload. Anything not listed as allowed must be denied.
 */
import { ALLOY } from '../lib/addons/alloy';
import { KPS } from '../lib/addons/kube-prometheus-stack';
import { LOKI } from '../lib/addons/loki';
import { BLACKBOX } from '../lib/addons/prometheus-blackbox-exporter';
import { PROBER_LABELS } from '../lib/constructs/monitoring/names';
import { Endpoint, NetworkModel, workloadEndpoints } from '../lib/validation/reachability';
import { certManager } from '../lib/addons/cert-manager';
import { ACME_SOLVER_PORT } from '../lib/constructs/network-policy';
import { ROLE_LABEL, ROLE_VALUES } from '../lib/services/postgres/patroni';
import { configFor, ENVIRONMENTS, synth, synthEnv } from './helpers/platform';

// prod with a streaming replica (as on more than one node), so the replica's flows are modelled too.
const s = synth(configFor('prod', { node: { cpu: 4, memory: '16Gi' }, postgres: { replicas: 1 } }));
const objects = s.objects.map((o) => o.object);
const ns = s.config.namespaces;
const model = new NetworkModel(objects);

/** Pods that the platform's Helm add-ons or later charts run, with their charts' labels. */
const external: Endpoint[] = [
  { name: 'traefik', namespace: ns.edge, labels: { 'app.kubernetes.io/name': 'traefik', 'app.kubernetes.io/instance': 'traefik' } },
  { name: 'prometheus', namespace: ns.monitoring, labels: { ...KPS.prometheus.pods } },
  // The monitoring charts' pods, with the labels those charts give them (lib/addons/).
  { name: 'grafana', namespace: ns.monitoring, labels: { ...KPS.grafana.pods, 'app.kubernetes.io/instance': 'kube-prometheus-stack' } },
  { name: 'alertmanager', namespace: ns.monitoring, labels: { ...KPS.alertmanager.pods } },
  { name: 'prometheus-operator', namespace: ns.monitoring, labels: { ...KPS.operator.pods, release: KPS.release } },
  { name: 'kube-state-metrics', namespace: ns.monitoring, labels: { ...KPS.kubeStateMetrics.pods, release: KPS.release } },
  { name: 'loki', namespace: ns.monitoring, labels: { ...LOKI.pods, 'app.kubernetes.io/component': 'single-binary' } },
  { name: 'alloy', namespace: ns.monitoring, labels: { ...ALLOY.pods } },
  { name: 'blackbox', namespace: ns.monitoring, labels: { ...BLACKBOX.pods, ...PROBER_LABELS } },
  { name: 'stranger', namespace: 'default', labels: { app: 'something' } },
  { name: 'rogue-app-pod', namespace: ns.app, labels: { 'app.kubernetes.io/name': 'rogue' } },
];
/**
 * cert-manager's HTTP-01 solver pods, derived from the routes: one beside the Ingresses of every namespace that
 * holds one, or one beside the Gateway (edge namespace) for HTTPRoutes.
 */
function solverEndpoints(all: any[], edgeNamespace: string): Endpoint[] {
  const namespaces = new Set(all.filter((o) => o.kind === 'Ingress' || o.kind === 'HTTPRoute').map((o) => (o.kind === 'HTTPRoute' ? edgeNamespace : o.metadata.namespace)));
  return [...namespaces].sort().map((n) => ({ name: `acme-solver-${n}`, namespace: n, labels: { ...certManager.pods.solver.labels } }));
}
/** Routed namespaces whose solver Traefik cannot reach: each is a host that never gets its certificate. */
function solverGaps(all: any[], edgeNamespace: string): string[] {
  const m = new NetworkModel(all);
  const traefik = external[0];
  return solverEndpoints(all, edgeNamespace).filter((e) => !m.allows(traefik, e, ACME_SOLVER_PORT)).map((e) => e.namespace);
}
const solvers = solverEndpoints(objects, ns.edge);
const endpoints = [...workloadEndpoints(objects), ...external, ...solvers];
const byName = (name: string) => {
  const e = endpoints.find((x) => x.name === name);
  if (!e) throw new Error(`no workload ${name}`);
  return e;
};

/** Destinations that matter: data services, their metrics, and the apps. */
const TARGETS: [string, number][] = [
  ['postgres', 5432], ['postgres', 9187], ['postgres', 8008],
  ['pgbouncer', 6432], ['pgbouncer', 9127],
  ['crm', 3000], ['web', 3001], ['worker', 3002],
  ['redis', 6379], ['redis', 9121], ['minio', 9000], ['minio', 9001],
  ['traefik', 9100], ['grafana', 3000], ['prometheus', 9090], ['alertmanager', 9093], ['loki', 3100], ['status', 8080], ['blackbox', 9115],
  ['glitchtip', 8000],
  ...solvers.map((e): [string, number] => [e.name, ACME_SOLVER_PORT]),
];

/** The intended matrix: every allowed (source → target:port). */
const ALLOWED = new Set([
  'pgbouncer → postgres:5432',
  // Backups: the dumps (read-only role) and the manual restore reach Postgres; the drill restores into its own server.
  'pg-backup-daily → postgres:5432',
  'pg-backup-business-hours → postgres:5432',
  'pg-restore → postgres:5432',
  // The compose import (issue 31): the dump into the database, the uploaded files into MinIO.
  'import-postgres → postgres:5432',
  'db-backup-glitchtip → postgres:5432',
  // The dump before crm's migration (a PreSync hook in the backup namespace, like the scheduled dumps).
  'crm-pre-migration-dump → postgres:5432',
  'crm-migrate → postgres:5432',
  'prometheus → postgres:9187', 'prometheus → postgres:8008',
  'crm → pgbouncer:6432', 'web → pgbouncer:6432', 'worker → pgbouncer:6432', 'crm-migrate → pgbouncer:6432',
  'prometheus → pgbouncer:9127',
  'traefik → crm:3000', 'traefik → web:3001',
  'prometheus → crm:3000',
  // Redis: apps (their migration Jobs run the app image) and the metrics scrape of its exporter.
  'crm → redis:6379', 'web → redis:6379', 'worker → redis:6379', 'crm-migrate → redis:6379',
  'prometheus → redis:9121',
  // MinIO: apps, the provisioning Job, the ingress controller (files.<domain>, s3.<domain>), metrics on the API port.
  'crm → minio:9000', 'web → minio:9000', 'worker → minio:9000', 'crm-migrate → minio:9000',
  'minio-provision → minio:9000',
  'minio-mirror → minio:9000',
  'minio-restore → minio:9000',
  'import-files → minio:9000',
  'traefik → minio:9000', 'traefik → minio:9001',
  'prometheus → minio:9000',
  // Uptime probes: the blackbox exporter and the status page reach exactly the probed ports.
  ...['blackbox', 'status'].flatMap((prober) => ['crm:3000', 'web:3001', 'minio:9000', 'pgbouncer:6432', 'postgres:5432', 'redis:6379'].map((t) => `${prober} → ${t}`)),
  // Monitoring: Grafana reads Prometheus, Loki and Alertmanager; Alloy pushes to Loki; Prometheus scrapes and alerts.
  'grafana → prometheus:9090', 'grafana → loki:3100', 'grafana → alertmanager:9093', 'alloy → loki:3100',
  'prometheus → alertmanager:9093', 'prometheus → blackbox:9115', 'prometheus → traefik:9100', 'prometheus → grafana:3000', 'prometheus → loki:3100',
  // The edge publishes Grafana (admin allow-list) and the status page.
  'traefik → grafana:3000', 'traefik → status:8080',
  // GlitchTip: its database through PgBouncer and Redis; the apps bound to it send it events
  // (migrations run the app image); the edge serves its UI (admin allow-list); the probers check its health.
  'glitchtip → pgbouncer:6432', 'glitchtip → redis:6379',
  // Only the apps with `sentry: true` (crm, web) may send; the worker does not report errors.
  'crm → glitchtip:8000', 'web → glitchtip:8000', 'crm-migrate → glitchtip:8000',
  'traefik → glitchtip:8000', 'blackbox → glitchtip:8000', 'status → glitchtip:8000',
  // Certificates: Traefik reaches cert-manager's HTTP-01 solver in every routed namespace (app, data, monitoring).
  'traefik → acme-solver-app:8089', 'traefik → acme-solver-data:8089', 'traefik → acme-solver-monitoring:8089',
]);

describe.each([
  ['prod (Ingresses)', {}],
  ['the Gateway API', { edge: { api: 'gateway' } }],
])('GIVEN %s', (_name, overrides) => {
  const all = synth(configFor('prod', overrides)).objects.map((o) => o.object);
  test('THEN Traefik reaches the HTTP-01 solver of every routed namespace, so every host gets its certificate', () => {
    expect(solverEndpoints(all, ns.edge).length).toBeGreaterThan(0);
    expect(solverGaps(all, ns.edge)).toEqual([]);
  });
  test('WHEN a routed namespace loses its solver path THEN the check names it', () => {
    const solverNs = solverEndpoints(all, ns.edge)[0].namespace;
    const without = all.filter((o) => !(o.kind === 'NetworkPolicy' && o.metadata.name === 'acme-http01-solver' && o.metadata.namespace === solverNs));
    expect(solverGaps(without, ns.edge)).toEqual([solverNs]);
  });
});

test('GIVEN prod WHEN every source is tried against every data service and app THEN exactly the intended flows are allowed', () => {
  const actual: string[] = [];
  for (const source of endpoints) {
    for (const [targetName, port] of TARGETS) {
      if (source.name === targetName) continue;
      if (model.allows(source, byName(targetName), port)) actual.push(`${source.name} → ${targetName}:${port}`);
    }
  }
  expect(actual.sort()).toEqual([...ALLOWED].sort());
});

test('Redis is reachable only from apps and the uptime probes (its exporter scrape is another port)', () => {
  const sources = endpoints.filter((e) => model.allows(e, byName('redis'), 6379)).map((e) => e.name).sort();
  expect(sources).toEqual(['blackbox', 'crm', 'crm-migrate', 'glitchtip', 'status', 'web', 'worker']);
});

test('GlitchTip reaches its database only through PgBouncer, and nothing from outside reaches it but the ingress controller', () => {
  expect(model.allows(byName('glitchtip'), byName('postgres'), 5432)).toBe(false);
  expect(model.allows(byName('glitchtip'), byName('minio'), 9000)).toBe(false); // uploads on its volume unless glitchtip.s3 is set
  for (const source of ['stranger', 'grafana', 'prometheus', 'alloy']) expect(model.allows(byName(source), byName('glitchtip'), 8000)).toBe(false);
});

test('Postgres is reachable only from PgBouncer, its replicas, the backup jobs, migrations and the uptime probes — never from apps or the ingress controller', () => {
  for (const source of ['crm', 'web', 'worker', 'traefik', 'stranger', 'rogue-app-pod']) {
    expect(model.allows(byName(source), byName('postgres'), 5432)).toBe(false);
  }
});

test('the restore drill reaches no data service, and the MinIO mirror only MinIO', () => {
  for (const [target, port] of TARGETS) {
    expect(model.allows(byName('pg-restore-drill'), byName(target), port)).toBe(false);
    expect(model.allows(byName('minio-mirror'), byName(target), port)).toBe(target === 'minio' && port === 9000);
  }
});

test('nothing outside the ingress controller reaches an app, and nothing from outside reaches a data service', () => {
  for (const target of ['crm', 'web']) expect(model.allows(byName('stranger'), byName(target), 3000)).toBe(false);
  for (const [target, port] of TARGETS.filter(([t]) => /postgres|pgbouncer|redis/.test(t))) {
    expect(model.allows(byName('stranger'), byName(target), port)).toBe(false);
    expect(model.allows(byName('traefik'), byName(target), port)).toBe(false);
  }
});

test('nothing from outside reaches the monitoring stack; only the edge reaches Grafana and the status page', () => {
  for (const [target, port] of TARGETS.filter(([t]) => ['grafana', 'prometheus', 'alertmanager', 'loki', 'status', 'blackbox'].includes(t))) {
    expect(model.allows(byName('stranger'), byName(target), port)).toBe(false);
    expect(model.allows(byName('crm'), byName(target), port)).toBe(false);
  }
  expect(model.allows(byName('traefik'), byName('prometheus'), 9090)).toBe(false);
  expect(model.allows(byName('traefik'), byName('loki'), 3100)).toBe(false);
});

test('GIVEN a replica (prod with postgres.replicas 1) THEN apps reach the replicas on 5432 (DATABASE_READ_URL) but never the leader, and nothing from outside reaches either', () => {
  const members = byName('postgres');
  const leader: Endpoint = { ...members, name: 'postgres-leader', labels: { ...members.labels, [ROLE_LABEL]: ROLE_VALUES.leader } };
  const replica: Endpoint = { ...members, name: 'postgres-replica', labels: { ...members.labels, [ROLE_LABEL]: ROLE_VALUES.replica } };
  for (const app of ['crm', 'web', 'worker']) {
    expect([app, model.allows(byName(app), replica, 5432), model.allows(byName(app), leader, 5432)]).toEqual([app, true, false]);
  }
  for (const source of ['stranger', 'traefik', 'rogue-app-pod', 'grafana']) expect([source, model.allows(byName(source), replica, 5432)]).toEqual([source, false]);
  // The members still stream from each other, PgBouncer still reaches whichever is the leader.
  expect(model.allows(replica, leader, 5432)).toBe(true);
  expect(model.allows(byName('pgbouncer'), leader, 5432)).toBe(true);
});

test('the evaluator itself: without policies everything flows; a default-deny blocks it', () => {
  const a: Endpoint = { name: 'a', namespace: 'x', labels: { app: 'a' } };
  const b: Endpoint = { name: 'b', namespace: 'x', labels: { app: 'b' } };
  expect(new NetworkModel([]).allows(a, b, 80)).toBe(true);
  const deny = { kind: 'NetworkPolicy', metadata: { namespace: 'x', name: 'd' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } };
  expect(new NetworkModel([deny]).allows(a, b, 80)).toBe(false);
});

/**
 * Every in-cluster endpoint an app is handed (a URL env var naming `<service>.<namespace>.svc`) must
 * be reachable under the NetworkPolicies from the pods that get it, to the pods behind that Service.
 */
describe.each(ENVIRONMENTS)('GIVEN %s: the endpoints in the apps\' env', (env) => {
  const e = synthEnv(env);
  const all = e.objects.map((o) => o.object);
  const m = new NetworkModel(all);
  const pods = workloadEndpoints(all);
  const services = all.filter((o) => o.kind === 'Service');
  /** Labels a controller writes on its pods at runtime and a Service selects by: Patroni's role label on the Postgres members. */
  const RUNTIME_LABELS: Record<string, string[]> = { postgres: [ROLE_LABEL] };
  /** The pods behind a Service, with the runtime labels its selector asks for (the replicas of `postgres-ro` carry role=replica). */
  const podsOf = (svc: any): Endpoint[] => pods
    .filter((p) => p.namespace === svc.metadata.namespace)
    .filter((p) => Object.entries(svc.spec.selector ?? {}).every(([k, v]) => p.labels[k] === v || (!(k in p.labels) && (RUNTIME_LABELS[p.name] ?? []).includes(k))))
    .map((p) => ({ ...p, labels: { ...p.labels, ...svc.spec.selector } }));
  /** `scheme://[user@]<svc>.<ns>.svc[.cluster.local]:port...` → Service, namespace, port. */
  const inCluster = (value: string) => {
    const u = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?(?::(\d+))?(?:[/?]|$)/.exec(value);
    return u ? { service: u[1], namespace: u[2], port: Number(u[3] ?? (value.startsWith('https') ? 443 : 80)) } : undefined;
  };
  // DIRECT_URL is for the migration Job only (README: "only migrations use DIRECT_URL"); the serving pods are not let through to the primary.
  const MIGRATION_ONLY = ['DIRECT_URL'];
  const workloads = e.config.apps.flatMap((app) => [
    ...all.filter((o) => o.kind === 'Deployment' && o.metadata.namespace === e.config.namespaces.app && o.metadata.name === app.name).map((o) => ({ o, migration: false })),
    ...all.filter((o) => o.kind === 'Job' && o.metadata.namespace === e.config.namespaces.app && o.metadata.name === `${app.name}-migrate`).map((o) => ({ o, migration: true })),
  ]);

  test('THEN every host:port of an in-cluster Service in an app\'s env is allowed from its pods to the Service\'s pods', () => {
    const checked: string[] = [];
    const blocked: string[] = [];
    for (const { o, migration } of workloads) {
      const from = pods.find((p) => p.name === o.metadata.name && p.namespace === o.metadata.namespace)!;
      for (const v of o.spec.template.spec.containers.flatMap((c: any) => c.env ?? [])) {
        const target = typeof v.value === 'string' ? inCluster(v.value) : undefined;
        if (!target || (!migration && MIGRATION_ONLY.includes(v.name))) continue;
        const svc = services.find((s) => s.metadata.name === target.service && s.metadata.namespace === target.namespace);
        const what = `${o.metadata.name} ${v.name} → ${target.service}.${target.namespace}:${target.port}`;
        if (!svc) { blocked.push(`${what}: no such Service`); continue; }
        const port = svc.spec.ports.find((p: any) => p.port === target.port);
        const backends = podsOf(svc);
        if (!port || backends.length === 0) { blocked.push(`${what}: the Service has ${port ? 'no pods' : 'no such port'}`); continue; }
        for (const to of backends) {
          const targetPort = port.targetPort === undefined ? port.port : typeof port.targetPort === 'number' ? port.targetPort : to.namedPorts?.[port.targetPort];
          checked.push(what);
          if (!m.allows(from, to, targetPort)) blocked.push(`${what} (pod ${to.name}:${targetPort})`);
        }
      }
    }
    expect(checked.length).toBeGreaterThan(0);
    expect([...new Set(checked.map((c) => c.split(' ')[1]))].sort()).toEqual(expect.arrayContaining(['DATABASE_URL', 'REDIS_URL']));
    expect(blocked).toEqual([]);
  });
});
