/**
 * The text of every PostgreSQL and PgBouncer file the platform ships, rendered from typed
 * config. Tests run these exact files with the real programs, so keep them valid on
 * PostgreSQL 15 (Debian, in tests) and 16 (the platform).
 */
import { PostgresSettings } from './config';
import { appLoginRoles, nextLoginSql } from './app-logins';
import { parseQuantity, toPostgresMemory } from '../../config/quantity';
import { poolPerPod } from '../../config/connection-budget';

/**
 * Where the Postgres data volume is mounted, in the server's pods and in every Job that opens the
 * volume (pitr-restore): timescaledb-ha's layout. The one source of PATHS.dataMount and PATHS.pgdata.
 */
export const POSTGRES_DATA_MOUNT = '/home/postgres/pgdata';

/** Where files live inside the containers. Tests rewrite only these paths and host names. */
export const PATHS = {
  configDir: '/etc/postgresql',
  scriptsDir: '/etc/postgresql-scripts',
  socketDir: '/var/run/postgresql',
  /** The data volume's mount (StatefulSet, pitr-restore). */
  dataMount: POSTGRES_DATA_MOUNT,
  /** PGDATA inside it: Patroni's data_dir, pgBackRest's pg1-path, the restore's PGDATA (Patroni may move an old data dir aside next to it). */
  pgdata: `${POSTGRES_DATA_MOUNT}/data`,
  pgbouncerConfigDir: '/etc/pgbouncer',
  pgbouncerRunDir: '/var/run/pgbouncer',
} as const;

/** Roles the platform creates. The app role name comes from config. */
export const ROLES = {
  superuser: 'postgres',
  replication: 'replicator',
  pgbouncerAuth: 'pgbouncer_auth',
  metrics: 'metrics',
  /** pg_dump of the backup CronJobs: reads everything (pg_read_all_data), writes nothing. */
  backup: 'backup',
} as const;

/**
 * Databases the platform's own services get besides the apps' (GlitchTip's, through Postgres.addDatabase), each with its own
 * login role that owns it; the role's password comes from the Secret `secret` (key `password`)
 * in the data namespace, through the init script's env `env`.
 */
export interface ServiceDatabase {
  readonly database: string;
  readonly owner: string;
  readonly secret: string;
  readonly env: string;
}

/**
 * A read-only login of a platform service (an admin UI such as pgAdmin): reads every table of the
 * apps' database (pg_read_all_data), writes nothing (its transactions are read-only by default and it
 * owns nothing), connects to Postgres directly (not through PgBouncer: an admin UI needs its session).
 * Its password comes from the Secret `secret` (key `password`) through the init script's env `env`.
 */
export interface ServiceLogin {
  readonly role: string;
  readonly secret: string;
  readonly env: string;
}

/** The read-only login `role` of a platform service (Postgres.addReadOnlyLogin). */
export function serviceLogin(role: string): ServiceLogin {
  return { role, secret: `postgres-${role.replace(/_/g, '-')}`, env: `${role.toUpperCase()}_LOGIN_PASSWORD` };
}

/** The database `database` of a platform service, owned by a login role of the same name (Postgres.addDatabase). */
export function serviceDatabase(database: string): ServiceDatabase {
  return { database, owner: database, secret: `postgres-${database.replace(/_/g, '-')}`, env: `${database.toUpperCase()}_DB_PASSWORD` };
}

/**
 * The login roles apps (and the platform's own services, GlitchTip) use through PgBouncer. The
 * auth_query function returns verifiers for these roles only: PgBouncer's auth user, the metrics,
 * backup and replication roles and superusers are refused at the pooler. New app roles (a second
 * login role per app for credential rotation, say) are added here, and only here.
 */
export function pooledRoles(config: PostgresSettings, databases: readonly ServiceDatabase[] = []): string[] {
  // Both logins of the app (the second one takes over at a password rotation), then the service databases' owners.
  return [...appLoginRoles(config), ...databases.map((d) => d.owner)];
}

export interface PostgresqlConfOptions {
  /** The port Postgres listens on (the cluster's `port` attribute). */
  readonly port: number;
}

export function postgresqlConf(config: PostgresSettings, options: PostgresqlConfOptions): string {
  const t = config.postgres.tuning;
  const mem = (q: string) => toPostgresMemory(parseQuantity(q));
  // Room for every replica plus a pg_basebackup and a re-bootstrap in flight.
  const senders = config.postgres.replicas + 4;
  const settings: [string, string | number][] = [
    ['listen_addresses', `'*'`],
    ['port', options.port],
    ['hba_file', `'${PATHS.configDir}/pg_hba.conf'`],
    ['unix_socket_directories', `'${PATHS.socketDir}'`],
    ['max_connections', t.maxConnections],
    ['superuser_reserved_connections', t.superuserReservedConnections],
    ['password_encryption', 'scram-sha-256'],
    ['shared_buffers', mem(t.sharedBuffers)],
    ['effective_cache_size', mem(t.effectiveCacheSize)],
    ['work_mem', mem(t.workMem)],
    ['maintenance_work_mem', mem(t.maintenanceWorkMem)],
    ['wal_buffers', mem(t.walBuffers)],
    ['huge_pages', 'try'],
    ['wal_level', 'replica'],
    ['max_wal_senders', senders],
    ['max_replication_slots', senders],
    ['max_slot_wal_keep_size', mem(t.maxSlotWalKeepSize)],
    ['wal_compression', 'on'],
    ['min_wal_size', '256MB'],
    ['max_wal_size', '2GB'],
    ['checkpoint_completion_target', 0.9],
    ['hot_standby', 'on'],
    ['hot_standby_feedback', 'on'],
    ['random_page_cost', 1.1],
    ['effective_io_concurrency', 200],
    ['shared_preload_libraries', `'pg_stat_statements'`],
    ['log_destination', `'stderr'`],
    ['log_min_duration_statement', '500ms'],
    ['log_checkpoints', 'on'],
    ['log_lock_waits', 'on'],
    ['log_temp_files', 0],
    ['log_line_prefix', `'%m [%p] %q%u@%d '`],
  ];
  return ['# Rendered by the platform from lib/config; edit the config, not this file.', ...settings.map(([k, v]) => `${k} = ${v}`)].join('\n') + '\n';
}

/** scram-sha-256 everywhere: no trust, no md5. NetworkPolicies decide who reaches the port. */
export function pgHbaConf(config: PostgresSettings): string {
  const rows = [
    ['local', 'all', 'all', '', 'scram-sha-256'],
    ['host', 'replication', ROLES.replication, '0.0.0.0/0', 'scram-sha-256'],
    ['host', 'replication', ROLES.replication, '::/0', 'scram-sha-256'],
    ['host', 'replication', 'all', '0.0.0.0/0', 'reject'],
    ['host', 'replication', 'all', '::/0', 'reject'],
    ['host', 'all', 'all', '0.0.0.0/0', 'scram-sha-256'],
    ['host', 'all', 'all', '::/0', 'scram-sha-256'],
  ];
  return (
    `# TYPE DATABASE USER ADDRESS METHOD — app role "${config.postgres.appUser}", replication and pooler roles all use scram-sha-256\n` +
    rows.map((r) => r.filter((c) => c !== '').join('\t')).join('\n') +
    '\n'
  );
}

/**
 * Roles, the app database and the PgBouncer auth_query function. Passwords arrive as psql
 * variables (from Secrets), never as literals. Idempotent, so it can be re-run by hand.
 */
export function initSql(config: PostgresSettings, services: readonly ServiceDatabase[] = [], logins: readonly ServiceLogin[] = []): string {
  const { database, appUser } = config.postgres;
  const loginSql = logins.map((l) => `
-- ${l.role}: a read-only login of a platform service (reads every table of ${database}, writes nothing).
SELECT 'CREATE ROLE ${l.role}' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${l.role}') \\gexec
ALTER ROLE ${l.role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'${l.role}_password';
GRANT pg_read_all_data TO ${l.role};
ALTER ROLE ${l.role} SET default_transaction_read_only = on;
GRANT CONNECT ON DATABASE ${database} TO ${l.role};
`).join('');
  const serviceSql = services.map((d) => `
-- ${d.database}: its own role and database (a platform service, not an app).
SELECT 'CREATE ROLE ${d.owner}' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${d.owner}') \\gexec
ALTER ROLE ${d.owner} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'${d.owner}_password';
SELECT 'CREATE DATABASE ${d.database} OWNER ${d.owner}' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '${d.database}') \\gexec
REVOKE ALL ON DATABASE ${d.database} FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE ${d.database} TO ${d.owner};
GRANT CONNECT ON DATABASE ${d.database} TO ${ROLES.pgbouncerAuth}, ${ROLES.metrics}, ${ROLES.backup};
\\connect ${d.database}
\\ir pgbouncer-auth.sql
\\connect postgres
`).join('');
  return `-- Rendered by the platform. Run by 10-init.sh with psql variables holding the passwords.
\\set ON_ERROR_STOP on
SET password_encryption = 'scram-sha-256';

SELECT format('CREATE ROLE %I', r) FROM unnest(ARRAY['${appUser}', '${ROLES.replication}', '${ROLES.pgbouncerAuth}', '${ROLES.metrics}', '${ROLES.backup}']) AS r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) \\gexec

ALTER ROLE ${appUser} WITH LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION PASSWORD :'app_password';
ALTER ROLE ${ROLES.replication} WITH LOGIN REPLICATION NOSUPERUSER PASSWORD :'replication_password';
ALTER ROLE ${ROLES.pgbouncerAuth} WITH LOGIN NOSUPERUSER NOCREATEROLE PASSWORD :'pgbouncer_auth_password';
ALTER ROLE ${ROLES.metrics} WITH LOGIN NOSUPERUSER PASSWORD :'metrics_password';
GRANT pg_monitor TO ${ROLES.metrics};
ALTER ROLE ${ROLES.backup} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'backup_password';
GRANT pg_read_all_data TO ${ROLES.backup};

${nextLoginSql(config)}
SELECT 'CREATE DATABASE ${database} OWNER ${appUser}' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '${database}') \\gexec
REVOKE ALL ON DATABASE ${database} FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE ${database} TO ${appUser};
GRANT CONNECT ON DATABASE ${database} TO ${ROLES.pgbouncerAuth}, ${ROLES.metrics}, ${ROLES.backup};

-- PgBouncer's documented auth_query path: a SECURITY DEFINER lookup, so the pooler never holds
-- copies of the app's secrets. It exists in every database PgBouncer serves.
\\connect ${database}
\\ir pgbouncer-auth.sql
\\connect postgres
\\ir pgbouncer-auth.sql

${serviceSql}${loginSql}
\\connect ${database}
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
`;
}

/**
 * The auth_query function, applied in each database PgBouncer serves: verifiers of pooledRoles()
 * only, never of a superuser.
 */
export function pgbouncerAuthSql(config: PostgresSettings, databases: readonly ServiceDatabase[] = []): string {
  const roles = pooledRoles(config, databases).map((r) => `'${r}'`).join(', ');
  return `-- PgBouncer auth_query function (SECURITY DEFINER, owned by the superuser).
CREATE SCHEMA IF NOT EXISTS pgbouncer AUTHORIZATION ${ROLES.superuser};
REVOKE ALL ON SCHEMA pgbouncer FROM PUBLIC;
GRANT USAGE ON SCHEMA pgbouncer TO ${ROLES.pgbouncerAuth};
CREATE OR REPLACE FUNCTION pgbouncer.get_auth(p_usename text)
  RETURNS TABLE(usename name, passwd text)
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT s.usename, s.passwd FROM pg_catalog.pg_shadow s
   WHERE s.usename = p_usename AND NOT s.usesuper AND s.usename = ANY (ARRAY[${roles}]::name[]);
$$;
REVOKE ALL ON FUNCTION pgbouncer.get_auth(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgbouncer.get_auth(text) TO ${ROLES.pgbouncerAuth};
`;
}

/**
 * Patroni's post_bootstrap: run once on the first member's new cluster, with the local superuser
 * connection string as $1 and PGPASSFILE exported. Without an argument (by hand) it uses PG* env.
 */
export function initScript(databases: readonly ServiceDatabase[] = [], logins: readonly ServiceLogin[] = []): string {
  const services = [...databases.map((d) => [d.owner, d.env]), ...logins.map((l) => [l.role, l.env])].map(([role, env]) => `  -v ${role}_password="$${env}" \\\n`).join('');
  return `#!/bin/sh
# Applies init.sql with passwords from the environment (Secrets). Runs once, on an empty volume.
set -eu
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "\${POSTGRES_USER:-postgres}" --dbname "\${1:-postgres}" \\
  -v app_password="$APP_PASSWORD" \\
  -v replication_password="$REPLICATION_PASSWORD" \\
  -v pgbouncer_auth_password="$PGBOUNCER_AUTH_PASSWORD" \\
  -v metrics_password="$METRICS_PASSWORD" \\
  -v backup_password="$BACKUP_PASSWORD" \\
${services}  -f "${PATHS.scriptsDir}/init.sql"
`;
}

export interface PgbouncerIniOptions {
  /** Host of the read-write Postgres Service. */
  readonly primaryHost: string;
  /** Its port (the cluster's `port` attribute). */
  readonly primaryPort: number;
  /** The port PgBouncer listens on (its `port` attribute). */
  readonly listenPort: number;
  /** The platform services' databases it serves besides the apps'. @default none */
  readonly databases?: readonly ServiceDatabase[];
}

export function pgbouncerIni(config: PostgresSettings, options: PgbouncerIniOptions): string {
  const p = { ...config.pgbouncer, ...poolPerPod(config) };
  const lines = [
    '; Rendered by the platform from lib/config; edit the config, not this file.',
    '[databases]',
    ...[config.postgres.database, ...(options.databases ?? []).map((d) => d.database)].map((db) => `${db} = host=${options.primaryHost} port=${options.primaryPort} dbname=${db}`),
    '',
    '[pgbouncer]',
    'listen_addr = 0.0.0.0',
    `listen_port = ${options.listenPort}`,
    `unix_socket_dir = ${PATHS.pgbouncerRunDir}`,
    'pidfile =',
    'logfile =',
    // scram-sha-256 for the roles pgbouncer_hba.conf admits, everyone else refused at the pooler.
    'auth_type = hba',
    `auth_hba_file = ${PATHS.pgbouncerConfigDir}/pgbouncer_hba.conf`,
    `auth_file = ${PATHS.pgbouncerRunDir}/userlist.txt`,
    `auth_user = ${ROLES.pgbouncerAuth}`,
    'auth_query = SELECT usename, passwd FROM pgbouncer.get_auth($1)',
    `stats_users = ${ROLES.pgbouncerAuth}`,
    'pool_mode = transaction',
    `max_client_conn = ${p.maxClientConn}`,
    `default_pool_size = ${p.defaultPoolSize}`,
    `min_pool_size = ${p.minPoolSize}`,
    `reserve_pool_size = ${p.reservePoolSize}`,
    `reserve_pool_timeout = ${p.reservePoolTimeoutSeconds}`,
    `max_db_connections = ${p.defaultPoolSize + p.reservePoolSize}`,
    `server_lifetime = ${p.serverLifetimeSeconds}`,
    `server_idle_timeout = ${p.serverIdleTimeoutSeconds}`,
    'ignore_startup_parameters = extra_float_digits',
    // After a failover the first logins fail until the rw Service points at the new leader: retry
    // every 2 s instead of refusing clients for 15 s (the default).
    'server_login_retry = 2',
    'log_connections = 0',
    'log_disconnections = 0',
    'admin_users =',
  ];
  return lines.join('\n') + '\n';
}

/**
 * Who may log in through PgBouncer: the pooledRoles() to any database (Postgres' own grants decide
 * which), PgBouncer's auth user only to its admin console from inside the pod (the exporter), and
 * nobody else: the metrics, backup and replication roles and superusers connect to Postgres directly.
 */
export function pgbouncerHbaConf(config: PostgresSettings, databases: readonly ServiceDatabase[] = []): string {
  const rows = [
    ['local', 'pgbouncer', ROLES.pgbouncerAuth, '', 'scram-sha-256'],
    ['host', 'pgbouncer', ROLES.pgbouncerAuth, '127.0.0.1/32', 'scram-sha-256'],
    ...pooledRoles(config, databases).flatMap((role) => [['host', 'all', role, '0.0.0.0/0', 'scram-sha-256'], ['host', 'all', role, '::/0', 'scram-sha-256']]),
    ['host', 'all', 'all', '0.0.0.0/0', 'reject'],
    ['host', 'all', 'all', '::/0', 'reject'],
  ];
  return '# TYPE DATABASE USER ADDRESS METHOD — rendered from pooledRoles(config)\n' + rows.map((r) => r.filter((c) => c !== '').join('\t')).join('\n') + '\n';
}

/**
 * PgBouncer's entrypoint: only the auth_user's password goes into the auth file (from a
 * Secret, into an in-memory volume); every other role is looked up through auth_query.
 */
export function pgbouncerStartScript(): string {
  return `#!/bin/sh
# Env: PGBOUNCER_AUTH_PASSWORD. Writes the auth file, then runs pgbouncer in the foreground.
set -eu
umask 077
# The auth file format doubles a '"' inside a quoted value.
password=$(printf '%s' "$PGBOUNCER_AUTH_PASSWORD" | sed 's/"/""/g')
printf '"%s" "%s"\\n' "${ROLES.pgbouncerAuth}" "$password" > "${PATHS.pgbouncerRunDir}/userlist.txt"
exec pgbouncer "${PATHS.pgbouncerConfigDir}/pgbouncer.ini"
`;
}

/**
 * Settings of postgresql.conf that take effect only at server start (context `postmaster` in
 * pg_settings). Every other line of postgresql.conf, and all of pg_hba.conf, applies on a reload
 * (`SELECT pg_reload_conf()` once the kubelet has refreshed the mounted ConfigMap, about a minute).
 */
export const RESTART_SETTINGS: readonly string[] = [
  'listen_addresses', 'port', 'hba_file', 'unix_socket_directories', 'max_connections', 'superuser_reserved_connections',
  'shared_buffers', 'wal_buffers', 'huge_pages', 'wal_level', 'max_wal_senders', 'max_replication_slots', 'hot_standby',
  'shared_preload_libraries', 'max_worker_processes', 'max_prepared_transactions', 'max_locks_per_transaction',
  'archive_mode',
];

/** The lines of a postgresql.conf that need a restart: their change, and only theirs, rolls the Postgres pods. */
export function restartSettingLines(conf: string): string {
  return conf.split('\n').filter((line) => RESTART_SETTINGS.includes(line.split('=')[0].trim())).join('\n');
}
