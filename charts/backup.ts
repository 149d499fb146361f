import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { PlatformConfig } from '../lib/config/schema';
import { IMAGES } from '../lib/config/versions';
import { BACKUP_JOBS } from '../lib/backup-names';
import { Backups, BackupsProps } from '../lib/constructs/backup/backups';
import { AllowFlows, namespacePeer, tcp } from '../lib/constructs/network-policy';
import { selectorLabels } from '../lib/labels';

import { POSTGRES_CLIENT_LABEL } from '../lib/constructs/backup/backups';

export interface BackupChartProps {
  readonly config: PlatformConfig;
  /** Postgres endpoints, roles and Secrets (from the postgres chart). */
  readonly postgres: BackupsProps['postgres'] & { readonly podLabels: Record<string, string> };
  /** MinIO endpoint, read-only key and buckets (from the minio chart), plus its pod labels and port. */
  readonly minio: BackupsProps['minio'] & { readonly podLabels: Record<string, string>; readonly port: number };
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
    // The client is the server image unless overridden (and then its major is checked).
    const clientImage = config.backup.clientImage ?? config.images.postgres ?? IMAGES.postgres;
    this.backups = new Backups(this, 'backups', {
      config,
      namespace,
      clientImage,
      rcloneImage: config.images.rclone ?? IMAGES.rclone,
      postgres: props.postgres,
      minio: { endpoint: props.minio.endpoint, secretName: props.minio.secretName, buckets: props.minio.buckets },
    });
    new AllowFlows(this, 'postgres-clients', {
      name: 'postgres-clients',
      namespace,
      podLabels: POSTGRES_CLIENT_LABEL,
      egress: [{ peers: [namespacePeer(config.namespaces.data, props.postgres.podLabels)], ports: tcp(props.postgres.port) }],
    });
    new AllowFlows(this, 'mirror-to-minio', {
      name: BACKUP_JOBS.minioMirror,
      namespace,
      podLabels: selectorLabels(BACKUP_JOBS.minioMirror),
      egress: [{ peers: [namespacePeer(config.namespaces.data, props.minio.podLabels)], ports: tcp(props.minio.port) }],
    });
  }
}
