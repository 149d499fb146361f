/**
 * The backup, restore and drill scripts, shipped in the ConfigMap `backup-scripts`. Plain
 * POSIX sh: the postgres image runs dash, the rclone image busybox ash. Tests take them from
 * the synthesized YAML and run them with the real pg_dump, pg_restore, rclone and an S3 server.
 *
 * Object layout under `<bucket>/<prefix>/<environment>/`:
 *   postgres/<schedule>/<db>-<schedule>-<YYYYMMDDTHHMMSSZ>.dump   custom-format dump
 *   postgres/<schedule>/<same>.dump.stats                          rows and newest timestamp at dump time (drill-stats.ts)
 *   postgres/<schedule>/<same>.dump.sha256                         written last: marks it complete
 *   postgres/.incoming/                                            uploads before verification
 *   minio/current/<bucket>/...                                     mirror of each MinIO bucket
 *   minio/history/<YYYYMMDDTHHMMSSZ>/<bucket>/...                  objects deleted or replaced by that run
 * as seen through the rclone remote "b2", a crypt remote over the bucket (backups.ts): in the
 * bucket itself every object is rclone-crypt ciphertext named <key>.bin.
 */

/** Where the files live in the containers; tests pass their own SCRATCH_DIR/SCRIPTS_DIR. */
export const BACKUP_PATHS = { scripts: '/opt/backup', scratch: '/scratch', tmp: '/tmp' } as const;

/** Shared sh snippet: the cutoff (YYYYMMDDHHMMSS, UTC) RETENTION_DAYS ago, for key timestamps. */
const CUTOFF = `now=$(date -u +%s)
cutoff=$(date -u -d "@$((now - RETENTION_DAYS * 86400))" +%Y%m%d%H%M%S)`;

/** Init container of pg-backup-*: the postgres image, so pg_dump has the server's major. */
export function pgDumpScript(): string {
  return `#!/bin/sh
# Dumps $PGDATABASE in pg_dump's custom format (compressed) into $SCRATCH_DIR, with a sha256.
# Env: PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD (libpq), SCHEDULE, SCRATCH_DIR.
# <name>.dump appears only when pg_dump succeeded and the archive reads back; any failure
# exits non-zero and leaves no .dump, so the upload step has nothing to send.
set -eu
fail() { echo "pg-dump: $*" >&2; exit 1; }

client=$(pg_dump --version | sed -n 's/^pg_dump (PostgreSQL) \\([0-9]*\\).*$/\\1/p')
server=$(psql --no-psqlrc -qAt -v ON_ERROR_STOP=1 -c 'SHOW server_version_num')
server=$((server / 10000))
# An older pg_dump aborts on a newer server; a newer one writes dumps the server cannot restore.
[ "$client" = "$server" ] || fail "pg_dump is PostgreSQL $client but the server runs $server; fix: make images.postgres and postgres.major name the server's major"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
name="$PGDATABASE-$SCHEDULE-$stamp.dump"
cd "$SCRATCH_DIR"
rm -f ./*.dump ./*.sha256 ./*.stats ./*.partial
pg_dump --format=custom --compress=6 --no-password --file="$name.partial"
pg_restore --list "$name.partial" > /dev/null || fail "$name does not read back as a pg_dump archive"
mv "$name.partial" "$name"
# Row counts and the newest timestamp next to the dump, for the restore drill (drill-stats.ts).
sh "$SCRIPTS_DIR/dump-stats.sh" "$name"
sha256sum "$name" > "$name.sha256.partial"
mv "$name.sha256.partial" "$name.sha256"
echo "pg-dump: $name, $(wc -c < "$name" | tr -d ' ') bytes, server $server, client $client"
`;
}

/** Container of pg-backup-*: the rclone image. */
export function uploadScript(): string {
  return `#!/bin/sh
# Uploads the finished dump in $SCRATCH_DIR to B2, then applies the schedule's retention.
# Env: SCRATCH_DIR, B2_PATH (<bucket>/<prefix>/<env>/postgres), SCHEDULE, RETENTION_DAYS and
# the rclone remote "b2" (RCLONE_CONFIG_B2_*).
# A dump counts as good only when <schedule>/<name>.dump and <name>.dump.sha256 both exist:
# the dump goes to .incoming/ first, is checked (size and MD5) and renamed, and the .sha256
# is written last. Every failure exits non-zero before that.
set -eu
fail() { echo "upload: $*" >&2; exit 1; }

cd "$SCRATCH_DIR"
set -- ./*.dump
if [ "$#" -ne 1 ] || [ ! -f "$1" ] || [ ! -f "$1.sha256" ]; then
  fail "expected one finished dump and its .sha256 in $SCRATCH_DIR: the dump step did not complete"
fi
name=\${1#./}
dest="b2:$B2_PATH/$SCHEDULE"
incoming="b2:$B2_PATH/.incoming/$name"
cleanup() { rclone deletefile --retries 1 --low-level-retries 1 "$incoming" > /dev/null 2>&1 || true; }
trap cleanup EXIT

size=$(wc -c < "$name" | tr -d ' ')
md5=$(md5sum "$name" | cut -d ' ' -f 1)
rclone copyto "$name" "$incoming"
remote_size=$(rclone lsf --format s "$incoming")
remote_md5=$(rclone md5sum "$incoming" 2> /dev/null | cut -d ' ' -f 1)
# A multipart upload has no MD5 ETag, and the crypt remote no hash at all: read the object back instead.
[ -n "$remote_md5" ] || remote_md5=$(rclone md5sum --download "$incoming" | cut -d ' ' -f 1)
[ "$remote_size" = "$size" ] || fail "B2 holds $remote_size bytes of $name, expected $size"
[ "$remote_md5" = "$md5" ] || fail "MD5 of the uploaded $name is $remote_md5, expected $md5"
rclone moveto "$incoming" "$dest/$name"
[ "$(rclone lsf --format s "$dest/$name")" = "$size" ] || fail "$dest/$name does not hold $size bytes after the rename"
# The drill's comparison data (pg-dump.sh writes it), before the .sha256 that marks the dump complete.
if [ -f "$name.stats" ]; then rclone copyto "$name.stats" "$dest/$name.stats"; fi
rclone copyto "$name.sha256" "$dest/$name.sha256"
echo "upload: $dest/$name, $size bytes, sha256 $(cut -d ' ' -f 1 "$name.sha256")"

# Retention by the timestamp in the key (not the object's mtime), for this schedule only;
# never the dump just uploaded.
${CUTOFF}
rclone lsf --files-only "$dest" > listing.txt
: > expired.txt
while IFS= read -r file; do
  stamp=$(printf '%s\\n' "$file" | sed -n 's/^.*-\\([0-9]\\{8\\}\\)T\\([0-9]\\{6\\}\\)Z\\.dump\\(\\.[a-z0-9]*\\)\\{0,1\\}$/\\1\\2/p')
  case "$file" in "$name" | "$name.sha256" | "$name.stats") continue ;; esac
  if [ -n "$stamp" ] && [ "$stamp" -lt "$cutoff" ]; then printf '%s\\n' "$file" >> expired.txt; fi
done < listing.txt
if [ -s expired.txt ]; then
  rclone delete "$dest" --files-from-raw expired.txt
fi
echo "upload: retention $RETENTION_DAYS days removed $(wc -l < expired.txt | tr -d ' ') objects from $dest"
`;
}

/** Init container of pg-restore and pg-restore-drill: the rclone image. */
export function fetchScript(): string {
  return `#!/bin/sh
# Downloads one complete dump and its .sha256 from B2 into $SCRATCH_DIR.
# Env: SCRATCH_DIR, B2_PATH (<bucket>/<prefix>/<env>/postgres), the rclone remote "b2", and
# DUMP: "latest" (the newest complete dump of any schedule) or a key below B2_PATH such as
# daily/app-daily-20250101T030000Z.dump.
set -eu
fail() { echo "fetch: $*" >&2; exit 1; }

src="b2:$B2_PATH"
key=\${DUMP:-latest}
if [ "$key" = latest ]; then
  rclone lsf -R --files-only --fast-list --include '*.dump.sha256' "$src" > "$SCRATCH_DIR/complete.txt"
  key=$(sed -n 's/^\\(.*-\\([0-9]\\{8\\}T[0-9]\\{6\\}Z\\)\\.dump\\)\\.sha256$/\\2 \\1/p' "$SCRATCH_DIR/complete.txt" | sort | tail -n 1 | cut -d ' ' -f 2)
  [ -n "$key" ] || fail "no complete dump (with its .sha256) under $src"
fi
file=\${key##*/}
# "b2" decrypts (rclone crypt): a wrong or missing key fails here, before anything is restored.
decrypt_failed="could not download and decrypt $src/$key; fix: the backup-encryption Secret must hold the rclone-password and rclone-salt the dump was written with"
rclone copyto "$src/$key" "$SCRATCH_DIR/$file" || fail "$decrypt_failed"
rclone copyto "$src/$key.sha256" "$SCRATCH_DIR/$file.sha256" || fail "$decrypt_failed"
# Row counts and newest timestamp at dump time, for the drill (dumps before it have none).
if [ -n "$(rclone lsf "$src/$key.stats")" ]; then rclone copyto "$src/$key.stats" "$SCRATCH_DIR/$file.stats" || fail "$decrypt_failed"; fi
echo "fetch: $src/$key"
`;
}

/** Container of pg-restore (and called by the drill): the postgres image. */
export function pgRestoreScript(): string {
  return `#!/bin/sh
# Restores the dump in $SCRATCH_DIR into a new database TARGET_DATABASE after checking its sha256.
# Env: PGHOST, PGPORT, PGUSER, PGPASSWORD (libpq, a role that may create databases);
# SCRATCH_DIR; TARGET_DATABASE; TARGET_OWNER (owner of the new database; empty restores without
# owners and grants, as the drill does); REPLACE_TARGET=yes drops an existing TARGET_DATABASE
# first; RESTORE_JOBS (parallel pg_restore jobs).
set -eu
fail() { echo "pg-restore: $*" >&2; exit 1; }
psql_admin() { psql --no-psqlrc -qAt -v ON_ERROR_STOP=1 --dbname=postgres "$@"; }

cd "$SCRATCH_DIR"
set -- ./*.dump
if [ "$#" -ne 1 ] || [ ! -f "$1" ] || [ ! -f "$1.sha256" ]; then
  fail "expected one dump and its .sha256 in $SCRATCH_DIR"
fi
name=\${1#./}
sha256sum -c "$name.sha256" > /dev/null 2>&1 || fail "$name does not match its sha256, it is corrupt or incomplete; fix: restore an older dump (DUMP=<schedule>/<file>.dump)"
pg_restore --list "$name" > /dev/null || fail "$name is not a readable pg_dump archive"

client=$(pg_restore --version | sed -n 's/^pg_restore (PostgreSQL) \\([0-9]*\\).*$/\\1/p')
server=$(psql_admin -c 'SHOW server_version_num')
server=$((server / 10000))
[ "$client" = "$server" ] || fail "pg_restore is PostgreSQL $client but the server runs $server; fix: make images.postgres and postgres.major name the server's major"

exists=$(psql_admin -v db="$TARGET_DATABASE" <<'SQL'
SELECT count(*) FROM pg_database WHERE datname = :'db';
SQL
)
if [ "$exists" != 0 ]; then
  [ "\${REPLACE_TARGET:-no}" = yes ] || fail "database $TARGET_DATABASE exists; fix: choose another TARGET_DATABASE, or set REPLACE_TARGET=yes to drop it"
  psql_admin -v db="$TARGET_DATABASE" <<'SQL'
DROP DATABASE :"db" WITH (FORCE);
SQL
fi
if [ -n "\${TARGET_OWNER:-}" ]; then
  psql_admin -v db="$TARGET_DATABASE" -v owner="$TARGET_OWNER" <<'SQL'
CREATE DATABASE :"db" OWNER :"owner";
SQL
  set --
else
  psql_admin -v db="$TARGET_DATABASE" <<'SQL'
CREATE DATABASE :"db";
SQL
  set -- --no-owner --no-privileges
fi
pg_restore --exit-on-error --no-password --jobs="\${RESTORE_JOBS:-2}" --dbname="$TARGET_DATABASE" "$@" "$name"
psql --no-psqlrc -qAt -v ON_ERROR_STOP=1 --dbname="$TARGET_DATABASE" -c 'ANALYZE'
echo "pg-restore: $name restored into $TARGET_DATABASE"
`;
}

/** Container of pg-restore-drill: the postgres image, with its own throwaway server. */
export function drillScript(): string {
  return `#!/bin/sh
# Restore drill: starts a throwaway PostgreSQL of the production image on a Unix socket in
# $SCRATCH_DIR, restores the fetched dump with pg-restore.sh and runs CHECKS_FILE, one
# "<schema.table> <min rows>" per line. Any failure exits non-zero with "DRILL FAILED".
# Env: SCRATCH_DIR, SCRIPTS_DIR, CHECKS_FILE, RESTORE_JOBS.
set -eu
fail() { echo "DRILL FAILED: $*" >&2; exit 1; }

pgdata="$SCRATCH_DIR/drill-pgdata"
rm -rf "$pgdata"
# Trust on a socket inside this pod only (no TCP listener): nothing else can connect.
initdb --pgdata="$pgdata" --username=postgres --auth=trust --encoding=UTF8 --no-sync > "$SCRATCH_DIR/initdb.log" 2>&1 ||
  fail "initdb failed: $(cat "$SCRATCH_DIR/initdb.log")"
pg_ctl --pgdata="$pgdata" --wait --log="$SCRATCH_DIR/postgres.log" \\
  --options="-c listen_addresses='' -c port=5432 -c unix_socket_directories='$SCRATCH_DIR' -c fsync=off -c full_page_writes=off" start > /dev/null ||
  fail "the scratch server did not start: $(cat "$SCRATCH_DIR/postgres.log")"
trap 'pg_ctl --pgdata="$pgdata" --mode=immediate stop > /dev/null 2>&1 || true' EXIT
PGHOST=$SCRATCH_DIR PGPORT=5432 PGUSER=postgres
export PGHOST PGPORT PGUSER
unset PGPASSWORD

TARGET_DATABASE=drill TARGET_OWNER='' REPLACE_TARGET=yes sh "$SCRIPTS_DIR/pg-restore.sh" || fail "the newest dump did not restore (see above)"
# The restore against what the source held at dump time (database, tables, rows, newest timestamp).
compared=ok
sh "$SCRIPTS_DIR/drill-verify.sh" || compared=failed

failures=0
checked=0
while read -r table min; do
  case "$table" in '' | '#'*) continue ;; esac
  checked=$((checked + 1))
  present=$(psql --no-psqlrc -qAt -v ON_ERROR_STOP=1 --dbname=drill -v tbl="$table" <<'SQL'
SELECT to_regclass(:'tbl') IS NOT NULL;
SQL
)
  if [ "$present" != t ]; then
    echo "drill: $table is missing" >&2
    failures=$((failures + 1))
    continue
  fi
  rows=$(psql --no-psqlrc -qAt -v ON_ERROR_STOP=1 --dbname=drill -v tbl="$table" <<'SQL'
SELECT format('SELECT count(*) FROM %s', to_regclass(:'tbl')) \\gexec
SQL
)
  if [ "$rows" -lt "$min" ]; then
    echo "drill: $table has $rows rows, expected at least $min" >&2
    failures=$((failures + 1))
  else
    echo "drill: $table has $rows rows (at least $min)"
  fi
done < "$CHECKS_FILE"
[ "$checked" -gt 0 ] || fail "$CHECKS_FILE lists no table"
[ "$failures" -eq 0 ] || fail "$failures of $checked checks failed"
[ "$compared" = ok ] || fail "the restore does not match the source at dump time (see above)"
echo "drill: passed, $checked checks"
`;
}

/** Container of minio-mirror: the rclone image. */
export function mirrorScript(): string {
  return `#!/bin/sh
# Mirrors MinIO buckets to B2 (rclone sync). Objects deleted or replaced in MinIO move to
# history/<run timestamp>/ on B2 and are purged after RETENTION_DAYS.
# Env: BUCKETS (space-separated), B2_PATH (<bucket>/<prefix>/<env>/minio), RETENTION_DAYS,
# SCRATCH_DIR, and the rclone remotes "minio" and "b2" (RCLONE_CONFIG_MINIO_*, RCLONE_CONFIG_B2_*).
set -eu
stamp=$(date -u +%Y%m%dT%H%M%SZ)
failed=''
for bucket in $BUCKETS; do
  # Size and modification time: the crypt remote "b2" has no hash in common with MinIO.
  if ! rclone sync --fast-list "minio:$bucket" "b2:$B2_PATH/current/$bucket" --backup-dir "b2:$B2_PATH/history/$stamp/$bucket"; then
    failed="$failed $bucket"
  fi
done
if [ -n "$failed" ]; then
  echo "mirror: sync FAILED for$failed; history is kept as it is" >&2
  exit 1
fi
echo "mirror: synced $BUCKETS"

${CUTOFF}
# Run folders from a flat listing (--fast-list: one request per 1000 keys, no per-folder calls).
rclone lsf -R --files-only --fast-list "b2:$B2_PATH/history" > "$SCRATCH_DIR/history.txt"
cut -d / -f 1 "$SCRATCH_DIR/history.txt" | sort -u > "$SCRATCH_DIR/runs.txt"
purged=0
while IFS= read -r dir; do
  run=$(printf '%s\\n' "$dir" | sed -n 's/^\\([0-9]\\{8\\}\\)T\\([0-9]\\{6\\}\\)Z$/\\1\\2/p')
  if [ -n "$run" ] && [ "$run" -lt "$cutoff" ]; then
    rclone purge "b2:$B2_PATH/history/$dir"
    purged=$((purged + 1))
  fi
done < "$SCRATCH_DIR/runs.txt"
echo "mirror: retention $RETENTION_DAYS days purged $purged history runs"
`;
}

/** The drill's checks file: "<schema.table> <min rows>" per line. */
export function drillChecks(checks: readonly { table: string; minRows: number }[]): string {
  return ['# <schema.table> <minimum rows>: the drill fails when a table is missing or has fewer rows', ...checks.map((c) => `${c.table} ${c.minRows}`)].join('\n') + '\n';
}
