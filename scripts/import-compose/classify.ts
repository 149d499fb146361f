/**
 * What a compose service is, by its image (and, for a `build:` service, by its name): one of the
 * platform's data services, something the platform already runs, a development tool, or an app.
 */
export type ServiceRole =
  | { kind: 'postgres'; flavour?: string }
  | { kind: 'redis' }
  | { kind: 'minio' }
  | { kind: 'provided'; by: string; what: string }
  | { kind: 'unsupported-data'; what: string }
  | { kind: 'dev-tool'; what: string }
  | { kind: 'app' };

/** The repository of an image reference without registry, tag or digest, e.g. `grafana/loki`, `postgres`. */
export function imageRepository(image: string): string {
  const withoutDigest = image.split('@')[0];
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const noTag = colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
  const parts = noTag.split('/');
  // A first part with a dot or a port is a registry (ghcr.io/..., localhost:5000/...).
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) parts.shift();
  if (parts[0] === 'library') parts.shift();
  return parts.join('/').toLowerCase();
}

/** The tag of an image reference (`16-alpine`), undefined without one. */
export function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0];
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(colon + 1) : undefined;
}

interface Rule {
  readonly match: RegExp;
  readonly role: ServiceRole;
}

const EDGE = 'the edge: Traefik routes every host (edge.*, apps.<app>.hosts/paths) and cert-manager gets and renews the certificates';
const METRICS = 'monitoring: kube-prometheus-stack (Prometheus, Alertmanager, Grafana with the platform\'s dashboards)';
const LOGS = 'monitoring: Loki stores the logs and Alloy collects every pod\'s (no agent config to write)';
const STATUS = 'the status page (monitoring.statusPage, status.{domain}) and the blackbox probes of every app\'s healthPath, which alert';
const ERRORS = 'error tracking: the platform\'s GlitchTip (glitchtip.enabled; apps set sentry: true and get SENTRY_DSN)';
const BACKUPS = 'backups: scheduled pg_dump and the MinIO mirror to B2 (backup.*), a weekly restore drill, point-in-time recovery';
const DEPLOYS = 'Argo CD: the platform syncs new image tags from git (change apps.<app>.image)';

/** First match wins; patterns match the image repository (imageRepository). */
const RULES: readonly Rule[] = [
  { match: /^(postgres|postgis\/postgis|timescale\/timescaledb(-ha)?|bitnami\/postgresql|supabase\/postgres|pgvector\/pgvector|ankane\/pgvector)$/, role: { kind: 'postgres' } },
  { match: /^(redis|valkey\/valkey|redis\/redis-stack(-server)?|bitnami\/redis|eqalpha\/keydb|docker\.dragonflydb\.io\/dragonflydb\/dragonfly|dragonflydb\/dragonfly)$/, role: { kind: 'redis' } },
  { match: /^(minio\/minio|bitnami\/minio|quay\.io\/minio\/minio)$/, role: { kind: 'minio' } },
  { match: /^(caddy|nginx|nginxinc\/nginx-unprivileged|nginxproxy\/nginx-proxy|jwilder\/nginx-proxy|traefik|haproxy|jc21\/nginx-proxy-manager|steveltn\/https-portal)$/, role: { kind: 'provided', by: EDGE, what: 'reverse proxy / TLS' } },
  { match: /^(certbot\/certbot|nginxproxy\/acme-companion|jrcs\/letsencrypt-nginx-proxy-companion|linuxserver\/swag)$/, role: { kind: 'provided', by: EDGE, what: 'certificates' } },
  { match: /^(prom\/prometheus|prom\/alertmanager|grafana\/grafana(-oss|-enterprise)?|prom\/node-exporter|gcr\.io\/cadvisor\/cadvisor|google\/cadvisor|oliver006\/redis_exporter|prometheuscommunity\/postgres-exporter|quay\.io\/prometheuscommunity\/postgres-exporter)$/, role: { kind: 'provided', by: METRICS, what: 'metrics and dashboards' } },
  { match: /^(grafana\/loki|grafana\/promtail|grafana\/alloy|fluent\/fluent-bit|fluentd|timberio\/vector|datalust\/seq)$/, role: { kind: 'provided', by: LOGS, what: 'logs' } },
  { match: /^(louislam\/uptime-kuma|twinproduction\/gatus|statping\/statping|cachethq\/docker)$/, role: { kind: 'provided', by: STATUS, what: 'uptime monitoring' } },
  { match: /^(glitchtip\/glitchtip|getsentry\/sentry|sentry)$/, role: { kind: 'provided', by: ERRORS, what: 'error tracking' } },
  { match: /^(prodrigestivill\/postgres-backup-local|offen\/docker-volume-backup|kartoza\/pg-backup|siemens\/postgres-backup-s3|schickling\/postgres-backup-s3|eeshugerman\/postgres-backup-s3)$/, role: { kind: 'provided', by: BACKUPS, what: 'backups' } },
  { match: /^(containrrr\/watchtower|portainer\/portainer(-ce|-ee)?)$/, role: { kind: 'provided', by: DEPLOYS, what: 'deployments' } },
  { match: /^(dpage\/pgadmin4|adminer|phpmyadmin|phpmyadmin\/phpmyadmin|redis\/redisinsight|redislabs\/redisinsight|rediscommander\/redis-commander|ngrok\/ngrok|mailhog\/mailhog|axllent\/mailpit|maildev\/maildev|minio\/mc)$/, role: { kind: 'dev-tool', what: 'a development tool' } },
  { match: /^(mysql|mariadb|bitnami\/mysql|bitnami\/mariadb|mongo|bitnami\/mongodb|elasticsearch|docker\.elastic\.co\/elasticsearch\/elasticsearch|rabbitmq|bitnami\/rabbitmq|memcached|cassandra|clickhouse\/clickhouse-server|nats|bitnami\/kafka|apache\/kafka|confluentinc\/cp-kafka|meilisearch\/meilisearch|getmeili\/meilisearch|typesense\/typesense)$/, role: { kind: 'unsupported-data', what: 'a data service the platform does not run' } },
];

export function classifyImage(image: string | undefined): ServiceRole {
  if (image === undefined) return { kind: 'app' };
  const repo = imageRepository(image);
  for (const rule of RULES) if (rule.match.test(repo)) return rule.role;
  return { kind: 'app' };
}
