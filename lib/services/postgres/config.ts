/**
 * The `postgres` and `pgbouncer` sections, beside the constructs that read them, and the part of an
 * environment's configuration the Postgres service reads (PostgresSettings): the service's files name
 * this slice, never the whole PostgresSettings.
 */
import { z } from '../../config/zod';
import { BOUNDS, count, positiveInt, quantity, replicas, resources, storage, k8sName } from '../../config/fields';
import { BackupEncryption, PitrConfig } from '../../config/pitr';

/** Server connections come out of postgres.tuning.maxConnections (cross-checked), which is bounded too. */
export const SERVER_CONNECTIONS = { max: 5000, why: 'server connections come out of postgres.tuning.maxConnections, at most 5000' };

export const postgresSchema = z.strictObject({
  /** The PostgreSQL major the image must carry; backup clients derive from it. */
  major: z.number().int().min(14, 'must be 14 or newer; fix: use 16').max(18, 'must be 18 or older'),
  /** Streaming replicas next to the primary. */
  replicas: replicas({ max: 5, why: 'every streaming replica is a full copy of the database with its own replication slot on the primary, and one or two cover a small team' }),
  storage,
  resources: resources(),
  database: k8sName(),
  appUser: k8sName(),
  /**
   * The login the apps use: `main` (role <appUser>, Secret postgres-app) or `next` (role <appUser>_next,
   * Secret postgres-app-next). Flipped by a password rotation (README "Rotating credentials").
   * @default main
   */
  appLogin: z.enum(['main', 'next'], { error: 'must be "main" or "next"; fix: use the login whose password the apps should use (docs/runbooks.md "Rotating credentials")' }).default('main'),
  /**
   * Failover semantics (Patroni): `synchronous` waits for one replica to confirm each commit, so a
   * failover loses no acknowledged commit (RPO 0); `asynchronous` acknowledges on the primary alone.
   * @default synchronous with 2 or more replicas (ha), asynchronous otherwise
   */
  replication: z.enum(['synchronous', 'asynchronous'], { error: 'is not a replication mode; fix: use synchronous (RPO 0, needs a replica) or asynchronous' }).optional(),
  tuning: z.strictObject({
    maxConnections: positiveInt('connections', { max: 5000, why: 'every Postgres connection is a server process with its own work_mem (PgBouncer pools the clients in front of it)' }),
    superuserReservedConnections: z.number().int().min(1, 'must be at least 1 so an admin can always connect').max(50, 'is more than 50, the most this platform accepts because reserved slots come out of maxConnections; fix: use 3'),
    sharedBuffers: quantity(),
    effectiveCacheSize: quantity(),
    workMem: quantity(),
    maintenanceWorkMem: quantity(),
    walBuffers: quantity(),
    /** WAL kept for a lagging or dead replica before its slot is invalidated. */
    maxSlotWalKeepSize: quantity(),
  }),
});

export const pgbouncerSchema = z.strictObject({
  replicas: replicas({ max: 10, why: 'every PgBouncer pod opens its own pool of server connections to Postgres' }),
  resources: resources(),
  maxClientConn: positiveInt('client connections', { max: 50000, why: 'every client connection holds a file descriptor in PgBouncer' }),
  defaultPoolSize: positiveInt('server connections', SERVER_CONNECTIONS),
  minPoolSize: count('server connections', SERVER_CONNECTIONS),
  reservePoolSize: count('server connections', SERVER_CONNECTIONS),
  reservePoolTimeoutSeconds: positiveInt('seconds', BOUNDS.seconds),
  serverLifetimeSeconds: positiveInt('seconds', BOUNDS.seconds),
  serverIdleTimeoutSeconds: positiveInt('seconds', BOUNDS.seconds),
});

export type PostgresConfig = z.output<typeof postgresSchema>;
export type PgbouncerConfig = z.output<typeof pgbouncerSchema>;

/** The off-site bucket pgBackRest writes to (`backup.b2`). */
export interface BackupTargetSettings {
  readonly endpoint: string;
  readonly region?: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly local: boolean;
}

/** What of an environment's configuration the Postgres service (cluster, PgBouncer, PITR) reads. */
export interface PostgresSettings {
  /** The environment's name (pgBackRest's repository path). */
  readonly name: string;
  readonly node: { readonly count: number };
  /** The platform-wide StorageClass (`postgres.storage.storageClass` overrides it). */
  readonly storageClass: string;
  readonly postgres: PostgresConfig;
  readonly pgbouncer: PgbouncerConfig;
  readonly backup: {
    /** IANA time zone of the backup schedules (the PITR check's CronJob). */
    readonly timeZone: string;
    /** The Secret of the B2 application key. */
    readonly credentials: { readonly secretName: string; readonly keyIdKey: string; readonly applicationKeyKey: string };
    readonly b2: BackupTargetSettings;
    readonly schedules: readonly { readonly retentionDays: number }[];
    readonly pitr: PitrConfig;
    readonly encryption: BackupEncryption;
  };
}
