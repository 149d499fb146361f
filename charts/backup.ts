import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { PlatformConfig } from '../lib/config/schema';
import { IMAGES } from '../lib/config/versions';
import { BACKUP_JOBS } from '../lib/backup-names';
import { Backups, BackupsProps } from '../lib/constructs/backup/backups';
import { AllowFlows, connect } from '../lib/constructs/network-policy';
import { ServicePort } from '../lib/constructs/data-service';
import { selectorLabels } from '../lib/labels';

import { POSTGRES_CLIENT_LABEL } from '../lib/constructs/backup/backups';
import { IMPORT_JOBS } from '../lib/constructs/backup/imports';

export interface BackupChartProps {
  readonly config: PlatformConfig;
  /** Postgres endpoints, roles and Secrets (from the postgres chart), and the port of every Postgres pod to connect to. */
  readonly postgres: BackupsProps['postgres'] & { readonly servers: ServicePort };
  /** MinIO endpoint, read-only key and buckets (from the minio chart), and its S3 port to connect to. */
  readonly minio: BackupsProps['minio'] & { readonly api: ServicePort };
}

/**
 * Backups to Backblaze B2 in the backup namespace (restricted, default-deny). The base chart
 * lets every pod here reach HTTPS (B2); the dumps and the restore also reach Postgres, the
 * mirror MinIO, and the drill nothing else (it restores into its own throwaway server).
 */
export class BackupChart extends Chart {
  public readonly backups: Backups;

  constructor(scope: Construct, id: string, props: BackupChartProps) {
    super(scope, id, { labels: { 'app.kubernetes.io/part-of': 'platform' } });
    const { config } = props;
    const namespace = config.namespaces.backup;
    // The official postgres image of the server's major unless overridden (and then its major is checked).
    const clientImage = config.backup.clientImage ?? config.images.postgresClient ?? IMAGES.postgresClient;
    this.backups = new Backups(this, 'backups', {
      backup: config.backup,
      environment: config.name,
      namespace,
      clientImage,
      rcloneImage: config.images.rclone ?? IMAGES.rclone,
      postgres: props.postgres,
      minio: { endpoint: props.minio.endpoint, secretName: props.minio.secretName, rootSecretName: props.minio.rootSecretName, buckets: props.minio.buckets },
    });
    // The data services admit the whole backup namespace; each Job's own policy narrows it to the Jobs that need them.
    const postgresClients = new AllowFlows(this, 'postgres-clients', { name: 'postgres-clients', namespace, podLabels: POSTGRES_CLIENT_LABEL });
    connect({ policy: postgresClients, podLabels: {} }, props.postgres.servers, [props.postgres.servers.port]);
    const mirror = new AllowFlows(this, 'mirror-to-minio', { name: BACKUP_JOBS.minioMirror, namespace, podLabels: selectorLabels(BACKUP_JOBS.minioMirror) });
    connect({ policy: mirror, podLabels: {} }, props.minio.api, [props.minio.api.port]);
    const restore = new AllowFlows(this, 'restore-to-minio', { name: BACKUP_JOBS.minioRestore, namespace, podLabels: selectorLabels(BACKUP_JOBS.minioRestore) });
    connect({ policy: restore, podLabels: {} }, props.minio.api, [props.minio.api.port]);
    const importFiles = new AllowFlows(this, 'import-files-to-minio', { name: IMPORT_JOBS.files, namespace, podLabels: selectorLabels(IMPORT_JOBS.files) });
    connect({ policy: importFiles, podLabels: {} }, props.minio.api, [props.minio.api.port]);
  }
}
