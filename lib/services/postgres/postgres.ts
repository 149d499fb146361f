import { Construct } from 'constructs';
import { ALERT_ACTIONS, AlertThresholds } from '../../config/alerts';
import { parseDuration } from '../../config/duration';
import { PostgresSettings } from './config';
import { componentLabels } from '../../labels';
import { AppBinding, AppRef, DeclaredSecret, endpointEnv, IDataService, SecretKeyRef, secretEnv, ServicePort } from '../../constructs/data-service';
import { AlertGroup, AlertRule, configKey, pair } from '../../constructs/monitoring/alert-rules';
import { DashboardKit, DashboardRow } from '../../constructs/monitoring/dashboards';
import { ProbeTarget } from '../../constructs/monitoring/probes';
import { AllowFlows, anywhere, API_SERVER_PORTS, connect, namespacePeer, tcp } from '../../constructs/network-policy';
import { MetricsEndpoint } from '../../constructs/service-monitor';
import { activeAppLogin, AppLogin } from './app-logins';
import { PgBouncer } from './pgbouncer';
import { PostgresCluster } from './postgres-cluster';
import { Pitr } from './pitr';
import { replicationMode } from './patroni';

/** How a platform service reaches its own database (Postgres.addDatabase). */
export interface ServiceDatabaseBinding {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** The password's Secret key (in the data namespace; copied into the service's). */
  readonly secret: SecretKeyRef;
  /** PgBouncer's port, to connect the service's pods to. */
  readonly connectTo: ServicePort[];
}

export interface PostgresProps {
  readonly config: PostgresSettings;
  /** Namespace of the data services. */
  readonly namespace: string;
  /** Namespace of Prometheus, admitted to the exporters. */
  readonly monitoringNamespace: string;
  readonly image: string;
  readonly exporterImage: string;
  readonly pgbouncerImage: string;
  readonly pgbouncerExporterImage: string;
  /**
   * pgBackRest's image (base-backup sidecar and PITR Jobs), used when backup.pitr.enabled. The server's
   * archive_command runs the pgBackRest of `image`, so both write the repository with one version.
   * @default the server's image
   */
  readonly pgbackrestImage?: string;
}

/** Pods in the app namespace with this label may reach the primary directly (migration Jobs). */
export const DIRECT_DB_ACCESS_LABEL = { 'platform.io/postgres-direct': 'true' };

/**
 * The database as one data service: a PostgreSQL primary with streaming replicas, PgBouncer in
 * front, their exporters, NetworkPolicies, alert rules and dashboard rows. Apps reach PgBouncer;
 * their migration Jobs (labelled DIRECT_DB_ACCESS_LABEL) also reach the primary.
 */
export class Postgres extends Construct implements IDataService {
  public readonly name = 'postgres';
  public readonly namespace: string;
  public readonly cluster: PostgresCluster;
  public readonly pgbouncer: PgBouncer;
  /** Point-in-time recovery (pgBackRest), when backup.pitr.enabled. */
  public readonly pitr?: Pitr;
  /** The primary's port (migrations, PgBouncer, replicas). */
  public readonly primary: ServicePort;
  /** Every Postgres pod, primary and replicas (the backup dumps read from either). */
  public readonly servers: ServicePort;
  /** PgBouncer's port, for apps. */
  public readonly pooler: ServicePort;
  /** The replicas' port (the ro Service, DATABASE_READ_URL), when the environment runs replicas. */
  public readonly replicas?: ServicePort;
  /** The login the apps use now, of the two (`postgres.appLogin`, lib/services/postgres/app-logins.ts). */
  public readonly appLogin: AppLogin;
  /** How commits are acknowledged (Patroni's synchronous_mode or not). */
  public readonly replication: 'synchronous' | 'asynchronous';

  constructor(scope: Construct, id: string, props: PostgresProps) {
    super(scope, id);
    const { config, namespace } = props;
    this.namespace = namespace;
    this.appLogin = activeAppLogin(config);
    if (config.backup.pitr.enabled) {
      this.pitr = new Pitr(this, 'pitr', { config, namespace, image: props.pgbackrestImage ?? props.image });
    }
    this.replication = replicationMode(config);
    this.cluster = new PostgresCluster(this, 'cluster', {
      config, namespace, image: props.image, exporterImage: props.exporterImage, extensions: this.pitr ? [this.pitr] : [],
    });
    this.pgbouncer = new PgBouncer(this, 'pgbouncer', {
      config, namespace, cluster: this.cluster, image: props.pgbouncerImage, exporterImage: props.pgbouncerExporterImage,
    });

    const prometheus = namespacePeer(props.monitoringNamespace);
    const postgresPolicy = new AllowFlows(this, 'postgres-flows', {
      name: 'postgres', namespace, podLabels: this.cluster.podLabels,
      ingress: [{ peers: [prometheus], ports: tcp(this.cluster.metricsPort, this.cluster.patroniPort) }],
      // Patroni keeps its leader lock and member status in the Kubernetes API.
      egress: [{ peers: anywhere(), ports: tcp(...API_SERVER_PORTS) }],
    });
    const pgbouncerPolicy = new AllowFlows(this, 'pgbouncer-flows', {
      name: 'pgbouncer', namespace, podLabels: this.pgbouncer.podLabels,
      ingress: [{ peers: [prometheus], ports: tcp(this.pgbouncer.metricsPort) }],
    });
    // Any member may be the leader after a failover: flows to "the primary" admit every member.
    this.primary = { policy: postgresPolicy, port: this.cluster.port };
    this.servers = { policy: postgresPolicy, port: this.cluster.port };
    this.pooler = { policy: pgbouncerPolicy, port: this.pgbouncer.port };
    if (this.cluster.readOnlyHost) {
      // The pods the ro Service selects (Patroni's role label, so it follows a failover): their own
      // policy admits the clients of DATABASE_READ_URL, and the clients' egress names the replicas only.
      const replicaPolicy = new AllowFlows(this, 'postgres-replica-flows', {
        name: 'postgres-replicas', namespace, podLabels: this.cluster.replicaPodLabels, ingress: [],
      });
      this.replicas = { policy: replicaPolicy, port: this.cluster.port };
    }
    connect({ policy: pgbouncerPolicy }, this.primary, [this.primary.port]);
    // Members stream from the leader, pg_rewind from it, and ask each other's Patroni REST API.
    connect({ policy: postgresPolicy }, this.primary, [this.primary.port, this.cluster.patroniPort]);

    new MetricsEndpoint(this, 'postgres-metrics', {
      name: 'postgres', namespace, serviceLabels: componentLabels('postgres', 'metrics'), port: 'metrics',
    });
    // Patroni's own /metrics (leader, timeline, pause, synchronous standby) on its REST API port.
    new MetricsEndpoint(this, 'patroni-metrics', {
      name: 'patroni', namespace, serviceLabels: componentLabels('postgres', 'metrics'), port: 'patroni',
    });
    new MetricsEndpoint(this, 'pgbouncer-metrics', {
      name: 'pgbouncer', namespace, serviceLabels: componentLabels('pgbouncer', 'pooler'), port: 'metrics',
    });
  }

  /**
   * DATABASE_URL through PgBouncer, DATABASE_READ_URL (replicas, when any) and DIRECT_URL (the
   * primary, reached by migrations only), all as the app role with its password from the Secret.
   * Each URL carries the port it points at, so the app's policy opens exactly those flows.
   */
  public bindApp(app: AppRef): AppBinding {
    const { cluster, pgbouncer } = this;
    // The active login of the two (rotation): its role in the URLs, its Secret for the password.
    const login = this.appLogin;
    const password = { name: login.secret, key: pgbouncer.appSecret.key };
    const url = (host: string, port: number) => `postgresql://${login.role}:$(DB_PASSWORD)@${host}:${port}/${pgbouncer.database}`;
    return {
      secretEnv: [secretEnv('DB_PASSWORD', password)],
      env: [
        endpointEnv('DATABASE_URL', url(pgbouncer.host, pgbouncer.port), this.pooler),
        ...(cluster.readOnlyHost && this.replicas ? [endpointEnv('DATABASE_READ_URL', url(cluster.readOnlyHost, cluster.port), this.replicas)] : []),
        endpointEnv('DIRECT_URL', url(cluster.primaryHost, cluster.port), this.primary, { migrationOnly: true }),
      ],
      connectTo: [],
      secrets: [{ namespace: app.namespace, ...password }],
      migration: { podLabels: DIRECT_DB_ACCESS_LABEL, connectTo: [] },
    };
  }

  public get probeTargets(): ProbeTarget[] {
    const { cluster, pgbouncer, namespace } = this;
    return [
      { name: 'postgres', group: 'data', kind: 'tcp', target: `${cluster.primaryHost}:${cluster.port}`, backend: { namespace, podLabels: cluster.podLabels, port: cluster.port } },
      { name: 'pgbouncer', group: 'data', kind: 'tcp', target: `${pgbouncer.host}:${pgbouncer.port}`, backend: { namespace, podLabels: pgbouncer.podLabels, port: pgbouncer.port } },
    ];
  }

  public get declaredSecrets(): DeclaredSecret[] {
    return [
      ...Object.values(this.cluster.secrets).map((ref) => ({ namespace: this.namespace, ...ref })),
      ...this.cluster.serviceDatabases.map((d) => ({ namespace: this.namespace, name: d.secret, key: 'password' })),
      ...this.cluster.serviceLogins.map((l) => ({ namespace: this.namespace, name: l.secret, key: 'password' })),
      ...(this.pitr?.secrets ?? []).map((ref) => ({ namespace: this.namespace, ...ref })),
    ];
  }

  /**
   * A platform service's own database and role (PostgresCluster.addDatabase), reached through
   * PgBouncer: host, port, database, user and the Secret key of the password (which the service's
   * namespace gets as a copy, `secrets.<role>.postgres-<database>: { copyOf: data }`).
   */
  public addDatabase(database: string): ServiceDatabaseBinding {
    const d = this.cluster.addDatabase(database);
    return { host: this.pgbouncer.host, port: this.pgbouncer.port, database: d.database, user: d.owner, secret: { name: d.secret, key: 'password' }, connectTo: [this.pooler] };
  }

  /**
   * A platform service's read-only login (PostgresCluster.addReadOnlyLogin) on the apps' database,
   * reached directly on the primary (an admin UI needs a session, which PgBouncer's transaction mode
   * does not keep): host, port, database, user, the password's Secret key (data namespace) and the port
   * to connect the service's pods to.
   */
  public addReadOnlyLogin(role: string): ServiceDatabaseBinding {
    const l = this.cluster.addReadOnlyLogin(role);
    return { host: this.cluster.primaryHost, port: this.cluster.port, database: this.cluster.database, user: l.role, secret: { name: l.secret, key: 'password' }, connectTo: [this.primary] };
  }

  public alertRules(t: AlertThresholds): AlertGroup[] {
    const sel = `namespace="${this.namespace}"`;
    const seconds = (d: string) => String(parseDuration(d));
    return [{
      area: 'postgres',
      rules: [
        ...pair('PostgresConnectionsHigh', (level) => ({
          expr:
            `100 * sum by (namespace, pod) (pg_stat_activity_count{${sel}}) / max by (namespace, pod) (pg_settings_max_connections{${sel}}) > ${t.dbConnections[level]}`,
          for: t.dbConnections.for,
          summary: `{{ $labels.pod }} uses more than ${t.dbConnections[level]} % of max_connections`,
          description: `Connections at {{ $value | printf "%.1f" }} % of max_connections for ${t.dbConnections.for}. ${configKey('dbConnections')} (warning ${t.dbConnections.warning} %, critical ${t.dbConnections.critical} %).`,
          action: ALERT_ACTIONS.dbConnections,
        })),
        ...pair('PostgresReplicationLag', (level) => ({
          expr: `max by (namespace, pod) (pg_replication_lag_seconds{${sel}}) > ${seconds(t.replicationLag[level])}`,
          for: t.replicationLag.for,
          summary: `Replica {{ $labels.pod }} is more than ${t.replicationLag[level]} behind the primary`,
          description: `Replay lag {{ $value | humanizeDuration }} for ${t.replicationLag.for}. ${configKey('replicationLag')} (warning ${t.replicationLag.warning}, critical ${t.replicationLag.critical}).`,
          action: ALERT_ACTIONS.replicationLag,
        })),
        ...patroniRules(sel, this.replication),
        ...pair('PgBouncerClientsWaiting', (level) => ({
          expr: `sum by (namespace, pod) (pgbouncer_pools_client_waiting_connections{${sel}}) > ${t.pgbouncerClientsWaiting[level]}`,
          for: t.pgbouncerClientsWaiting.for,
          summary: `More than ${t.pgbouncerClientsWaiting[level]} clients wait for a server connection on {{ $labels.pod }}`,
          description: `{{ $value | printf "%.0f" }} clients waiting for ${t.pgbouncerClientsWaiting.for}: the pools are too small or queries too slow. ${configKey('pgbouncerClientsWaiting')} (warning ${t.pgbouncerClientsWaiting.warning}, critical ${t.pgbouncerClientsWaiting.critical}).`,
          action: ALERT_ACTIONS.pgbouncerClientsWaiting,
        })),
      ],
    }, ...(this.pitr?.alertRules(t) ?? [])];
  }

  public dashboardRows({ graph, seconds, thresholds: t }: DashboardKit): DashboardRow[] {
    const sel = `namespace="${this.namespace}"`;
    return [
      {
        title: 'PostgreSQL',
        panels: [
          graph('Connections (% of max_connections)', 'percent', [[
            `100 * sum by (pod) (pg_stat_activity_count{${sel}}) / max by (pod) (pg_settings_max_connections{${sel}})`, '{{pod}}',
          ]], t.dbConnections),
          graph('Replication lag', 's', [[`max by (pod) (pg_replication_lag_seconds{${sel}})`, '{{pod}}']], seconds(t.replicationLag)),
          graph('Database size', 'bytes', [[`max by (datname) (pg_database_size_bytes{${sel}})`, '{{datname}}']]),
        ],
      },
      {
        title: 'PgBouncer',
        panels: [
          graph('Clients waiting for a server connection', 'short', [[`sum by (pod) (pgbouncer_pools_client_waiting_connections{${sel}})`, '{{pod}}']], t.pgbouncerClientsWaiting),
          graph('Active client connections', 'short', [[`sum by (pod) (pgbouncer_pools_client_active_connections{${sel}})`, '{{pod}}']]),
          graph('Active server connections', 'short', [[`sum by (pod) (pgbouncer_pools_server_active_connections{${sel}})`, '{{pod}}']]),
        ],
      },
    ];
  }
}

/** Failover alerts from Patroni's /metrics (names as Patroni 3.0 and 4 expose them). */
function patroniRules(sel: string, replication: 'synchronous' | 'asynchronous'): AlertRule[] {
  const rules: AlertRule[] = [
    {
      alert: 'PatroniLeaderChanged',
      severity: 'warning',
      expr: `max by (namespace) (patroni_postgres_timeline{${sel}}) > max by (namespace) (patroni_postgres_timeline{${sel}} offset 10m)`,
      summary: 'The Postgres leader changed (a failover or a switchover) in the last 10 minutes',
      description: 'Patroni promoted another member (timeline {{ $value }}). If nobody ran a switchover, a member was lost: find out which and why.',
      action: 'investigate',
    },
    {
      alert: 'PatroniPaused',
      severity: 'warning',
      for: '30m',
      expr: `max by (namespace) (patroni_is_paused{${sel}}) == 1`,
      summary: 'Patroni has been paused for 30 minutes: no automatic failover',
      description: 'Maintenance mode (patronictl pause) is on, so a lost leader is not replaced. Resume it when the maintenance is over.',
      action: 'resume failover',
    },
  ];
  if (replication === 'synchronous') {
    rules.push({
      alert: 'PatroniNoSynchronousStandby',
      severity: 'critical',
      for: '2m',
      expr: `max by (namespace) (patroni_primary{${sel}}) == 1 unless on (namespace) max by (namespace) (patroni_sync_standby{${sel}}) == 1`,
      summary: 'The Postgres leader has no synchronous standby: a failover now could lose acknowledged commits',
      description: 'synchronous_mode is on but no replica confirms commits (all replicas down, lagging or re-seeding); Patroni degrades to asynchronous rather than stop writes.',
      action: 'restore a replica',
    });
  }
  return rules;
}
