/**
 * What an app needs to know about the data layer, built from the public attributes of the
 * postgres, redis and minio constructs — never from hand-written host names.
 */
import { EnvVar } from '../../k8s';

export interface SecretKeyRef {
  readonly name: string;
  readonly key: string;
}

export interface AppWiring {
  /** PgBouncer: DATABASE_URL. */
  readonly pooler: { readonly host: string; readonly port: number; readonly database: string; readonly user: string; readonly passwordSecret: SecretKeyRef };
  /** The primary: DIRECT_URL, for migrations. */
  readonly primary: { readonly host: string; readonly port: number };
  /** Read-only replicas: DATABASE_READ_URL, when the environment runs any. */
  readonly readOnly?: { readonly host: string; readonly port: number };
  /** Redis: REDIS_URL. */
  readonly redis?: { readonly host: string; readonly port: number; readonly user: string; readonly passwordSecret: SecretKeyRef };
  /** Plain S3 (MinIO or any S3 server): S3_*. */
  readonly s3?: {
    readonly endpoint: string;
    readonly publicUrl: string;
    readonly bucket: string;
    readonly region: string;
    readonly accessKeySecret: SecretKeyRef;
    readonly secretKeySecret: SecretKeyRef;
  };
}

const fromSecret = (name: string, ref: SecretKeyRef): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } });

/**
 * The env of an app container. Secrets come first so that `$(VAR)` composition in the URLs
 * can see them (Kubernetes expands only variables defined earlier in the list). Passwords
 * must be URL-safe (e.g. `openssl rand -hex 32`), since `$(VAR)` cannot percent-encode.
 */
export function wiringEnv(w: AppWiring): EnvVar[] {
  const env: EnvVar[] = [fromSecret('DB_PASSWORD', w.pooler.passwordSecret)];
  const db = (host: string, port: number) => `postgresql://${w.pooler.user}:$(DB_PASSWORD)@${host}:${port}/${w.pooler.database}`;
  if (w.redis) env.push(fromSecret('REDIS_PASSWORD', w.redis.passwordSecret));
  if (w.s3) env.push(fromSecret('S3_ACCESS_KEY', w.s3.accessKeySecret), fromSecret('S3_SECRET_KEY', w.s3.secretKeySecret));
  env.push({ name: 'DATABASE_URL', value: db(w.pooler.host, w.pooler.port) });
  if (w.readOnly) env.push({ name: 'DATABASE_READ_URL', value: db(w.readOnly.host, w.readOnly.port) });
  env.push({ name: 'DIRECT_URL', value: db(w.primary.host, w.primary.port) });
  if (w.redis) env.push({ name: 'REDIS_URL', value: `redis://${w.redis.user}:$(REDIS_PASSWORD)@${w.redis.host}:${w.redis.port}/0` });
  if (w.s3) {
    env.push(
      { name: 'S3_ENDPOINT', value: w.s3.endpoint },
      { name: 'S3_PUBLIC_URL', value: w.s3.publicUrl },
      { name: 'S3_BUCKET', value: w.s3.bucket },
      { name: 'S3_REGION', value: w.s3.region },
      { name: 'S3_FORCE_PATH_STYLE', value: 'true' },
    );
  }
  return env;
}
