/**
 * Patroni: the failover engine that runs every Postgres member (one code path for 1, 2 or 3
 * members). Its configuration is a pure function of the platform config; the pod-specific values
 * (member name, pod IP, namespace, connect addresses) come from PATRONI_* environment variables,
 * so tests run the very same file with the real patroni on loopback.
 */
import * as yaml from 'js-yaml';
import { PostgresSettings } from './config';
import { parseQuantity } from '../../config/quantity';
import { PATHS, ROLES } from './config-files';

/** Patroni's cluster name (`scope`): its leader lock is the Endpoints object of this name. */
export const PATRONI_SCOPE = 'postgres';
/** Patroni's REST API port (health, /metrics, switchover). */
export const PATRONI_PORT = 8008;
/** The pod label Patroni writes with each member's role, and its values. */
export const ROLE_LABEL = 'role';
export const ROLE_VALUES = { leader: 'master', replica: 'replica' } as const;
/** Labels Patroni puts on the objects it writes and selects its members by. */
export const PATRONI_LABELS = { 'app.kubernetes.io/name': 'postgres', 'cluster-name': PATRONI_SCOPE };
/** Where Patroni's own files live in the container. */
const PATRONI_CONFIG_DIR = '/etc/patroni';
export const PATRONI_PATHS = { config: `${PATRONI_CONFIG_DIR}/patroni.yml`, configDir: PATRONI_CONFIG_DIR, pgpass: '/tmp/pgpass' } as const;

export type ReplicationMode = 'synchronous' | 'asynchronous';

/**
 * How a commit is acknowledged. `synchronous`: one replica confirms every commit before the client
 * hears "COMMIT" (RPO 0, Patroni's synchronous_mode); `asynchronous`: the primary acknowledges alone,
 * so a failover may lose the last commits. Default: synchronous with two or more replicas (ha),
 * asynchronous otherwise, since a single replica's loss would then stall writes.
 */
export function replicationMode(config: PostgresSettings): ReplicationMode {
  return config.postgres.replication ?? (config.postgres.replicas >= 2 ? 'synchronous' : 'asynchronous');
}


/** Settings Patroni passes on postgres' command line: they must be the same on every member. */
export function patroniDcsParameters(config: PostgresSettings): Record<string, string | number> {
  const t = config.postgres.tuning;
  // Room for every member plus a basebackup and a re-seed in flight.
  const senders = config.postgres.replicas + 4;
  return {
    max_connections: t.maxConnections,
    max_wal_senders: senders,
    max_replication_slots: senders,
    max_worker_processes: 8,
    max_prepared_transactions: 0,
    max_locks_per_transaction: 64,
    wal_level: 'replica',
    wal_log_hints: 'on', // pg_rewind needs it (or data checksums) to rewind a former primary
    hot_standby: 'on',
    track_commit_timestamp: 'off',
  };
}

export interface PatroniYamlOptions {
  /** Postgres port (the cluster's `port`). */
  readonly port: number;
}

/** The patroni.yml every member runs. Pod-specific values come from PATRONI_* env vars. */
export function patroniYaml(config: PostgresSettings, options: PatroniYamlOptions): string {
  const sync = replicationMode(config) === 'synchronous';
  const doc = {
    scope: PATRONI_SCOPE,
    restapi: { listen: `0.0.0.0:${PATRONI_PORT}` },
    kubernetes: {
      // The leader lock and the cluster config are Endpoints objects (`postgres`, `postgres-config`).
      use_endpoints: true,
      labels: { 'app.kubernetes.io/name': PATRONI_LABELS['app.kubernetes.io/name'] },
      scope_label: 'cluster-name',
      role_label: ROLE_LABEL,
      leader_label_value: ROLE_VALUES.leader,
      follower_label_value: ROLE_VALUES.replica,
      standby_leader_label_value: ROLE_VALUES.leader,
      ports: [{ name: 'postgres', port: options.port }],
    },
    bootstrap: {
      dcs: {
        // A dead leader's lock expires after ttl: promotion within about ttl + loop_wait seconds.
        // Patroni's rule loop_wait + 2 × retry_timeout ≤ ttl holds (5 + 14 ≤ 20).
        ttl: 20,
        loop_wait: 5,
        retry_timeout: 7,
        // A replica further behind than the slot bound is not promoted: it lost WAL anyway.
        maximum_lag_on_failover: parseQuantity(config.postgres.tuning.maxSlotWalKeepSize),
        synchronous_mode: sync,
        synchronous_mode_strict: false,
        postgresql: { use_pg_rewind: true, use_slots: true, parameters: patroniDcsParameters(config) },
      },
      initdb: [{ encoding: 'UTF8' }, { auth: 'scram-sha-256' }, 'data-checksums'],
      // Roles, databases and the PgBouncer auth function, once, on the first member's empty volume.
      post_bootstrap: `${PATHS.scriptsDir}/10-init.sh`,
    },
    postgresql: {
      listen: `0.0.0.0:${options.port}`,
      data_dir: PATHS.pgdata,
      pgpass: PATRONI_PATHS.pgpass,
      // The tuned postgresql.conf (ConfigMap postgres-config) is the base Patroni includes.
      custom_conf: `${PATHS.configDir}/postgresql.conf`,
      parameters: {
        hba_file: `${PATHS.configDir}/pg_hba.conf`,
        unix_socket_directories: PATHS.socketDir,
      },
      authentication: {
        superuser: { username: ROLES.superuser },
        replication: { username: ROLES.replication },
        rewind: { username: ROLES.superuser },
      },
      basebackup: [{ checkpoint: 'fast' }],
      remove_data_directory_on_rewind_failure: true,
      remove_data_directory_on_diverged_timelines: true,
    },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
  };
  return '# Rendered by the platform from lib/config; edit the config, not this file.\n' + yaml.dump(doc, { lineWidth: -1, noRefs: true });
}
