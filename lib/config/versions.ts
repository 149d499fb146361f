/**
 * Every container image and Helm chart version the platform deploys, in one place.
 * Sizing lives in the environment files; versions live here so that an upgrade is one
 * reviewed line. Environments may override an image (validated: pinned, never `latest`).
 */
export const IMAGES = {
  // Timescale's maintained image: PostgreSQL 16 with Patroni and pgBackRest (postgres is uid 1000,
  // data under /home/postgres/pgdata). The platform runs `patroni` from it, not its entrypoint.
  postgres: 'timescale/timescaledb-ha:pg16.6-ts2.17.2',
  // pg_dump/pg_restore and the restore drill's throwaway server (backup jobs): the official image.
  postgresClient: 'postgres:16.10-bookworm',
  pgbouncer: 'ghcr.io/cloudnative-pg/pgbouncer:1.24.1',
  postgresExporter: 'quay.io/prometheuscommunity/postgres-exporter:v0.17.1',
  pgbouncerExporter: 'quay.io/prometheuscommunity/pgbouncer-exporter:v0.10.2',
  redis: 'redis:7.4.6-bookworm',
  redisExporter: 'oliver006/redis_exporter:v1.74.0',
  // In front of Redis with Sentinel (node.count >= 3): routes clients to the primary. The tests run Debian
  // bookworm's haproxy 2.6.12, the very upstream release of this tag (the 2.6 LTS branch).
  haproxy: 'haproxy:2.6.12',
  // The tests run these very releases, built from their Go modules (scripts/minio/build.sh, test/minio-build.test.ts).
  minio: 'minio/minio:RELEASE.2025-09-07T16-13-09Z',
  minioClient: 'minio/mc:RELEASE.2025-08-13T08-35-41Z',
  rclone: 'rclone/rclone:1.71.1',
  // The public status page (monitoring chart).
  gatus: 'twinproduction/gatus:v5.36.0',
  // Error tracking (Sentry-compatible), all-in-one mode (chart glitchtip).
  glitchtip: 'glitchtip/glitchtip:6.1.0',
  // The database admin UI (optional service pgadmin, lib/services/pgadmin): the official image.
  pgadmin: 'dpage/pgadmin4:9.16',
  // The PostSync smoke test of the public routes (app chart).
  curl: 'curlimages/curl:8.16.0',
} as const;

export type ImageName = keyof typeof IMAGES;

/**
 * Exact versions of the Helm charts installed as add-ons, by chart name. Each add-on's file in
 * lib/addons/ names its repository and takes its version from here.
 */
export const CHART_VERSIONS = {
  'kube-prometheus-stack': '88.5.3',
  'prometheus-blackbox-exporter': '11.17.2',
  loki: '18.11.0',
  alloy: '1.11.1',
  'cert-manager': 'v1.21.1',
  traefik: '41.3.0',
  'sealed-secrets': '2.18.4',
  // The chart of ../shared/reference (CRDs and values.yaml); the tests' controller is v0.16.2 (scripts/external-secrets/go).
  'external-secrets': '2.9.0',
  'argo-cd': '10.1.1',
} as const;
