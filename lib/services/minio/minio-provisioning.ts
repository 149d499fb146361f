/**
 * The provisioning scripts of the MinIO PostSync Job, rendered from typed config. Split so
 * that the S3-generic part (buckets.sh) runs with any S3 client that implements the four
 * s3_* functions; client-mc.sh implements them with mc, admin.sh is the MinIO-only rest.
 */

export interface BucketSpec {
  readonly name: string;
  readonly access: 'public-download' | 'private';
  readonly versioning: boolean;
}

export interface AppAccessSpec {
  /** App name; its key pair comes from env APP_<NAME>_ACCESS_KEY / _SECRET_KEY. */
  readonly app: string;
  readonly buckets: readonly string[];
}

/** Env var prefix of an app's key pair in the Job (crm → APP_CRM). */
export const appEnvPrefix = (app: string): string => `APP_${app.toUpperCase().replace(/-/g, '_')}`;

/** Name of the MinIO policy that limits an app to its buckets. */
export const appPolicyName = (app: string): string => `app-${app}`;

/** An IAM-style policy: list and read/write objects in the app's buckets only. */
export function appPolicy(buckets: readonly string[]): object {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        Resource: buckets.map((b) => `arn:aws:s3:::${b}`),
      },
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: buckets.map((b) => `arn:aws:s3:::${b}/*`),
      },
    ],
  };
}

/** The read-only key of the backup mirror: its policy name and env prefix in the Job. */
export const BACKUP_READER = { policy: 'backup-read', envPrefix: 'BACKUP_READER' } as const;

/** List and read every object in `buckets`, nothing else (the MinIO → B2 mirror). */
export function readOnlyPolicy(buckets: readonly string[]): object {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:GetBucketLocation', 's3:ListBucket'], Resource: buckets.map((b) => `arn:aws:s3:::${b}`) },
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: buckets.map((b) => `arn:aws:s3:::${b}/*`) },
    ],
  };
}

/** Entry point of the Job: connect, generic bucket part, MinIO-only admin part. */
export function renderProvisionScript(): string {
  return `#!/bin/sh
# PostSync hook: buckets, anonymous access, versioning and one access key per app.
# Every step is idempotent, so it runs again safely on every sync.
set -eu
here=$(dirname "$0")
# shellcheck source=/dev/null
. "$here/client-mc.sh"
s3_connect
# shellcheck source=/dev/null
. "$here/buckets.sh"
# shellcheck source=/dev/null
. "$here/admin.sh"
echo "provision: done"
`;
}

/** mc implementation of the s3_* functions buckets.sh calls. */
export function renderMcClient(): string {
  return `#!/bin/sh
# s3_* functions for buckets.sh, implemented with the MinIO client against alias "target".
# Another S3 server: implement the same four functions with its client.

s3_connect() {
  # MinIO may still be starting on the first sync: retry for up to 5 minutes.
  tries=0
  until mc alias set target "$S3_ENDPOINT" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >/dev/null && mc ready target >/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
      echo "provision: $S3_ENDPOINT not ready after 5 minutes" >&2
      return 1
    fi
    sleep 5
  done
}

s3_ensure_bucket() {
  mc mb --ignore-existing "target/$1"
}

s3_set_public_download() {
  # Anonymous GetObject only: "mc anonymous set download" would also let anyone list the bucket.
  policy="$HOME/anonymous-$1.json"
  printf '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/*"]}]}\n' "$1" > "$policy"
  mc anonymous set-json "$policy" "target/$1"
}

s3_set_private() {
  mc anonymous set none "target/$1"
}

s3_enable_versioning() {
  mc version enable "target/$1"
}
`;
}

/** The S3-generic part: create missing buckets, set their anonymous access and versioning. */
export function renderBucketsScript(buckets: readonly BucketSpec[]): string {
  const lines = buckets.flatMap((b) => [
    `s3_ensure_bucket ${b.name}`,
    b.access === 'public-download' ? `s3_set_public_download ${b.name}` : `s3_set_private ${b.name}`,
    ...(b.versioning ? [`s3_enable_versioning ${b.name}`] : []),
  ]);
  return `#!/bin/sh
# Buckets from lib/config (minio.buckets). Plain S3 only: sourced after a client file that
# defines s3_ensure_bucket, s3_set_public_download, s3_set_private and s3_enable_versioning.
# Versioning is never switched off here: suspending it is a manual decision.
set -eu
${lines.join('\n')}
`;
}

/** The MinIO-only part: one policy, user and attachment per app (mc admin). */
export function renderAdminScript(apps: readonly AppAccessSpec[], policyDir: string, options: { backupReader?: boolean } = {}): string {
  const reader = options.backupReader
    ? [[
      `mc admin policy create target ${BACKUP_READER.policy} ${policyDir}/${BACKUP_READER.policy}.json`,
      `mc admin user add target "$${BACKUP_READER.envPrefix}_ACCESS_KEY" "$${BACKUP_READER.envPrefix}_SECRET_KEY"`,
      `attach_policy ${BACKUP_READER.policy} "$${BACKUP_READER.envPrefix}_ACCESS_KEY"`,
    ].join('\n')]
    : [];
  const blocks = apps.map((a) => {
    const prefix = appEnvPrefix(a.app);
    const policy = appPolicyName(a.app);
    return [
      `mc admin policy create target ${policy} ${policyDir}/${policy}.json`,
      `mc admin user add target "$${prefix}_ACCESS_KEY" "$${prefix}_SECRET_KEY"`,
      `attach_policy ${policy} "$${prefix}_ACCESS_KEY"`,
    ].join('\n');
  });
  return `#!/bin/sh
# MinIO-only: one access key per app, limited by a policy to its own buckets
# (minio.appAccess). "policy create" and "user add" overwrite; attaching twice is fine.
set -eu

attach_policy() {
  if ! out=$(mc admin policy attach target "$1" --user "$2" 2>&1); then
    case "$out" in
      *"already"*) ;;
      *) echo "$out" >&2; return 1 ;;
    esac
  fi
}

${[...blocks, ...reader].join('\n\n')}
`;
}
