/**
 * Secret declarations that follow from other settings, so that nobody writes them by hand:
 * - every app granted buckets in `minio.appAccess` gets its key pair `minio-app-<app>`, generated in the
 *   data namespace (read by the provisioning Job) and copied into the app namespace (read by the app);
 * - the GlitchTip DSN parts (`glitchtip-dsn`, one public key and project id per app) are an outside
 *   Secret only while GlitchTip runs and some app sets `sentry: true`.
 * They sit between the defaults and the environment file: a file that declares one itself (sealed,
 * existing, other keys) overrides it key by key, as it overrides any default.
 */
import { isPlainObject } from './merge';

/** A MinIO key pair as S3 clients expect it: a 20-character access key, a 40-character secret key. */
export const MINIO_KEY_PAIR = { 'access-key': { length: 20 }, 'secret-key': { length: 40 } };

/** The declarations `merged` (defaults and file, not yet parsed) implies: `{ secrets: { data, app } }`. */
export function derivedSecrets(merged: Record<string, any>): { secrets: { data: Record<string, unknown>; app: Record<string, unknown> } } {
  const data: Record<string, unknown> = {};
  const app: Record<string, unknown> = {};
  const apps = isPlainObject(merged.apps) ? merged.apps : {};
  const access = isPlainObject(merged.minio) && isPlainObject(merged.minio.appAccess) ? merged.minio.appAccess : {};
  for (const [name, grant] of Object.entries(access)) {
    if (!isPlainObject(grant)) continue;
    const secret = `minio-app-${name}`;
    data[secret] = { keys: ['access-key', 'secret-key'], mode: 'generated', generate: MINIO_KEY_PAIR };
    app[secret] = { keys: ['access-key', 'secret-key'], mode: 'generated', copyOf: 'data' };
  }
  const glitchtipRuns = isPlainObject(merged.glitchtip) && merged.glitchtip.enabled === true;
  const sentryApps = Object.entries(apps).filter(([, spec]) => isPlainObject(spec) && spec.sentry === true).map(([name]) => name);
  if (glitchtipRuns && sentryApps.length > 0) {
    // Outside: the DSN parts of each app's GlitchTip project, read off GlitchTip (README, "Error tracking").
    app['glitchtip-dsn'] = { keys: sentryApps.flatMap((name) => [`${name}-public-key`, `${name}-project-id`]), mode: 'existing' };
  }
  return { secrets: { data, app } };
}
