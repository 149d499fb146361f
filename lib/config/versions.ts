/**
 * Every container image and Helm chart version the platform deploys, in one place.
 * Sizing lives in the environment files; versions live here so that an upgrade is one
 * reviewed line. Environments may override an image (validated: pinned, never `latest`).
 */
export const IMAGES = {
  postgres: 'postgres:16.10-bookworm',
  pgbouncer: 'ghcr.io/cloudnative-pg/pgbouncer:1.24.1',
  postgresExporter: 'quay.io/prometheuscommunity/postgres-exporter:v0.17.1',
  pgbouncerExporter: 'quay.io/prometheuscommunity/pgbouncer-exporter:v0.10.2',
  redis: 'redis:7.4.6-bookworm',
  redisExporter: 'oliver006/redis_exporter:v1.74.0',
  minio: 'minio/minio:RELEASE.2025-09-07T16-13-09Z',
  minioClient: 'minio/mc:RELEASE.2025-08-13T08-35-41Z',
  rclone: 'rclone/rclone:1.71.1',
  // The public status page (monitoring chart).
  gatus: 'twinproduction/gatus:v5.36.0',
} as const;

export type ImageName = keyof typeof IMAGES;

/** Helm charts installed as add-ons: repository, chart and an exact version. */
export const CHARTS = {
  kubePrometheusStack: { repo: 'https://prometheus-community.github.io/helm-charts', chart: 'kube-prometheus-stack', version: '88.5.3' },
  blackboxExporter: { repo: 'https://prometheus-community.github.io/helm-charts', chart: 'prometheus-blackbox-exporter', version: '11.17.2' },
  loki: { repo: 'https://grafana-community.github.io/helm-charts', chart: 'loki', version: '18.11.0' },
  alloy: { repo: 'https://grafana.github.io/helm-charts', chart: 'alloy', version: '1.11.1' },
  certManager: { repo: 'https://charts.jetstack.io', chart: 'cert-manager', version: 'v1.21.1' },
  traefik: { repo: 'https://traefik.github.io/charts', chart: 'traefik', version: '41.3.0' },
  sealedSecrets: { repo: 'https://bitnami-labs.github.io/sealed-secrets', chart: 'sealed-secrets', version: '2.18.4' },
  argoCd: { repo: 'https://argoproj.github.io/argo-helm', chart: 'argo-cd', version: '10.1.1' },
} as const;
