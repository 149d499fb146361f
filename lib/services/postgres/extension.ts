/**
 * What PostgresCluster lets into its pods (point-in-time recovery today): kept narrow so the pod's
 * owner stays in charge. Apart from both, so that neither imports the other.
 */
import { Container, EnvVar, Volume, VolumeMount } from '../../k8s';
import { SecretKeyRef } from '../../constructs/data-service';

/** The postgres user of timescale/timescaledb-ha (its Dockerfile: `adduser --uid 1000 postgres`). */
export const POSTGRES_UID = 1000;

/** What an extension adds to every Postgres pod: settings, env of the server, volumes, sidecars. */
export interface PostgresPodAdditions {
  /** postgresql.conf lines (name, value as written). */
  readonly parameters: readonly [string, string][];
  /** Env of the postgres container (archive_command runs there). */
  readonly env: readonly EnvVar[];
  readonly volumes: readonly Volume[];
  /** Mounts of the postgres container. */
  readonly mounts: readonly VolumeMount[];
  readonly sidecars: readonly Container[];
}

/** The Postgres pod as an extension sees it: its mounts (the sidecar shares `data` and the socket dir `run`). */
export interface PostgresPodShape {
  readonly mounts: readonly VolumeMount[];
  readonly port: number;
  /** Labels of every Postgres pod (primary and replicas). */
  readonly podLabels: Record<string, string>;
  /** The superuser's password Secret: the sidecar's backup connects over the pod's socket. */
  readonly superuserSecret: SecretKeyRef;
}

/** Something PostgresCluster lets into its pods (PITR today); kept narrow so the pod's owner stays in charge. */
export interface IPostgresExtension {
  bindPod(pod: PostgresPodShape): PostgresPodAdditions;
}
