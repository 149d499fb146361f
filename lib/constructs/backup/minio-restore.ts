/**
 * The MinIO restore: the minio-mirror CronJob in reverse, shipped in `backup-scripts` and run by the
 * suspended CronJob `minio-restore` (README, "Restore MinIO from B2"). Bucket settings are not in
 * the mirror: the MinIO provisioning Job recreates buckets, anonymous access, versioning, users and
 * policies from the config, so it runs first; this script brings the objects back.
 */

/** Container of minio-restore: the rclone image. */
export function minioRestoreScript(): string {
  return `#!/bin/sh
# Copies the mirror's current/<bucket> back into each MinIO bucket (rclone copy: objects written to
# MinIO since are kept, none is deleted), then checks one way that every mirrored object is in
# MinIO with the same size and hash. Buckets must exist (the provisioning Job creates them).
# Env: BUCKETS (space-separated), B2_PATH (<bucket>/<prefix>/<env>/minio), MIRROR_REMOTE (the
# rclone remote holding the mirror), SCRATCH_DIR, and the remotes "minio" and $MIRROR_REMOTE (RCLONE_CONFIG_*).
set -eu
fail() { echo "minio-restore: $*" >&2; exit 1; }

rclone lsf --max-depth 1 "$MIRROR_REMOTE:$B2_PATH/current" >/dev/null ||
  fail "nothing at $MIRROR_REMOTE:$B2_PATH/current; fix: check B2_PATH and the mirror's remote (MIRROR_REMOTE)"
for bucket in $BUCKETS; do
  rclone lsf --max-depth 1 "minio:$bucket" >/dev/null ||
    fail "bucket $bucket is missing in MinIO; fix: sync the minio app first (its provisioning Job creates the buckets, users and policies), then run this Job again"
done
rclone lsf --dirs-only "$MIRROR_REMOTE:$B2_PATH/current" > "$SCRATCH_DIR/mirrored.txt"
failed=''
for bucket in $BUCKETS; do
  from="$MIRROR_REMOTE:$B2_PATH/current/$bucket"
  if ! grep -qx "$bucket/" "$SCRATCH_DIR/mirrored.txt"; then
    echo "minio-restore: $bucket: 0 objects (the mirror has none)"
  elif rclone copy --checksum --fast-list "$from" "minio:$bucket" && rclone check --one-way --fast-list "$from" "minio:$bucket"; then
    count=$(rclone lsf -R --files-only --fast-list "$from" | wc -l)
    echo "minio-restore: $bucket: $count objects from $from, checked"
  else
    failed="$failed $bucket"
  fi
done
[ -z "$failed" ] || fail "FAILED for$failed (the others are restored)"
echo "minio-restore: restored $BUCKETS"
`;
}
