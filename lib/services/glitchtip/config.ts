/**
 * The `glitchtip` section: the Sentry-compatible error tracker, run as the platform's own workload
 * (official image, pinned in versions.ts) on the platform's Postgres and Redis. Kept beside
 * schema.ts so that the shared file only gains one key and one call.
 */
import { z } from '../../config/zod';
import { BOUNDS, dnsName, k8sName, positiveInt, quantity, resources, s3BucketName } from '../../config/fields';
import { CrossCheckIssue } from '../../config/errors';
import { hostIssues, PlatformBasics } from '../service';

export const glitchtipSchema = z.strictObject({
  /** Run GlitchTip (apps with `sentry: true` need it). */
  enabled: z.boolean(),
  /** Admin host of the UI (behind the admin allow-list). */
  host: dnsName(),
  /** Its own database and role on the platform Postgres. */
  database: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'is not a plain Postgres identifier; fix: use lower-case letters, digits and "_"'),
  /** Days events, uploads and uptime checks are kept (GLITCHTIP_RETENTION_DAYS). */
  retentionDays: positiveInt('days', BOUNDS.retentionDays),
  /** The all-in-one pod (web and worker in one process: GlitchTip's documented small footprint). */
  resources: resources(),
  /** Its upload volume (source maps, attachments) when `s3` is not set. */
  storage: z.strictObject({ size: quantity(), storageClass: k8sName().optional() }),
  /**
   * Uploads in a private bucket of the platform's S3 instead of the volume; Secret `secret`
   * (access-key, secret-key) in the monitoring namespace.
   */
  s3: z.strictObject({ bucket: s3BucketName(), secret: k8sName() }).nullable().default(null),
});
export type GlitchTipConfig = z.output<typeof glitchtipSchema>;

/** The keys GlitchTip's service reads besides its own section (its rules and its build). */
export interface GlitchTipServiceConfig extends PlatformBasics {
  readonly glitchtip: GlitchTipConfig;
  readonly namespaces: { readonly monitoring: string };
  readonly images: { readonly glitchtip?: string };
  readonly apps: readonly { readonly name: string; readonly sentry: boolean }[];
  readonly postgres: { readonly database: string };
  readonly minio: { readonly buckets: readonly { readonly name: string; readonly access: string }[] };
}

/** Cross-key rules: apps that report errors need GlitchTip; the bucket must exist and be private. */
export function glitchtipIssues(config: GlitchTipServiceConfig): CrossCheckIssue[] {
  const issues: CrossCheckIssue[] = [];
  const g = config.glitchtip;
  config.apps.forEach((app) => {
    if (app.sentry && !g.enabled) issues.push({ path: ['apps', app.name, 'sentry'], message: 'is true but glitchtip.enabled is false, so SENTRY_DSN would point nowhere; fix: set glitchtip.enabled: true or sentry: false' });
  });
  if (!g.enabled) return issues;
  if (g.database === config.postgres.database) issues.push({ path: ['glitchtip', 'database'], message: `is the apps' database; fix: give GlitchTip its own, e.g. glitchtip` });
  issues.push(...hostIssues(config, 'glitchtip', g.host));
  if (g.s3) {
    const bucket = config.minio.buckets.find((b) => b.name === g.s3!.bucket);
    if (!bucket) issues.push({ path: ['glitchtip', 's3', 'bucket'], message: 'is not in minio.buckets; fix: add it to minio.buckets as a private bucket' });
    else if (bucket.access !== 'private') issues.push({ path: ['glitchtip', 's3', 'bucket'], message: `is marked ${bucket.access} in minio.buckets, which would publish uploads; fix: make it private` });
  }
  return issues;
}
