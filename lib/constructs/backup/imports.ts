/**
 * Bringing a docker-compose stack's data across (README "Moving from docker-compose"): the team
 * uploads its dump and its files under the backup bucket's `imports/` prefix, as plain objects
 * (`<bucket>/<prefix>/<env>/imports/postgres/<dump>` and `imports/files/<minio bucket>/...`), then runs
 * two suspended CronJobs of the backup chart:
 * - `import-postgres` loads the newest dump (`pg_dump ... | gzip` plain SQL, plain SQL, or `pg_dump -Fc`)
 *   into the platform's database as the app role, in one transaction: every object ends up owned by the
 *   app role whatever role owned it in the compose stack, and the row count of every table must equal the
 *   rows the dump carries (counted from its COPY blocks), or the Job fails;
 * - `import-files` copies each `imports/files/<bucket>/` into that MinIO bucket (rclone copy, checksums
 *   compared), idempotent: a second run copies nothing and checks again.
 * Scripts live in the ConfigMap `backup-scripts` beside the backup scripts; plain POSIX sh.
 */

/** The suspended CronJobs (`kubectl create job --from=cronjob/<name>`). */
export const IMPORT_JOBS = { postgres: 'import-postgres', files: 'import-files' } as const;

/** Init container of import-postgres: the rclone image. */
export function importFetchScript(): string {
  return `#!/bin/sh
# Downloads the dump to import from the backup bucket's imports/postgres/ into $SCRATCH_DIR/import/.
# Env: SCRATCH_DIR, IMPORT_PATH (<bucket>/<prefix>/<env>/imports), the rclone remote "b2raw" (the
# bucket itself: the team uploads plain objects), DUMP: "latest" (the newest object there) or its name.
set -eu
fail() { echo "import-fetch: $*" >&2; exit 1; }

src="b2raw:$IMPORT_PATH/postgres"
key=\${DUMP:-latest}
if [ "$key" = latest ]; then
  rclone lsf --files-only --format tp --separator ' ' "$src" > "$SCRATCH_DIR/imports.txt" || fail "cannot list $src; fix: check the B2 key and backup.b2"
  key=$(sort "$SCRATCH_DIR/imports.txt" | tail -n 1 | cut -d ' ' -f 3-)
  [ -n "$key" ] || fail "nothing under $src; fix: upload the dump first (README \\"Moving from docker-compose\\")"
fi
mkdir -p "$SCRATCH_DIR/import"
rclone copyto "$src/$key" "$SCRATCH_DIR/import/$key" || fail "could not download $src/$key"
echo "import-fetch: $src/$key, $(wc -c < "$SCRATCH_DIR/import/$key" | tr -d ' ') bytes"
`;
}

/** Container of import-postgres: the postgres image of the server's major. */
export function importPostgresScript(): string {
  return `#!/bin/sh
# Loads the one dump in $SCRATCH_DIR/import/ into $PGDATABASE as TARGET_OWNER, in one transaction.
# Env: PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD (libpq: the superuser), SCRATCH_DIR,
# TARGET_OWNER (the app role), REPLACE_TARGET=yes to empty the database first (DROP OWNED BY the
# app role: its tables, views, sequences, schemas).
# Formats: pg_dump's custom format (-Fc; converted to SQL by pg_restore without owners and grants),
# plain SQL, either gzip-compressed. Ownership and grants of the compose-era roles are dropped
# (outside COPY data), and the SQL runs after SET ROLE TARGET_OWNER, so the app role owns everything.
# After the load the row count of every table must equal the rows of its COPY block in the dump.
set -eu
fail() { echo "import-postgres: $*" >&2; exit 1; }
psql_db() { psql --no-psqlrc -qAt -v ON_ERROR_STOP=1 "$@"; }

cd "$SCRATCH_DIR"
set -- import/*
if [ "$#" -ne 1 ] || [ ! -f "$1" ]; then fail "expected one dump in $SCRATCH_DIR/import (the fetch step puts it there)"; fi
dump=$1
if [ "$(head -c 2 "$dump" | od -An -tx1 | tr -d ' \\n')" = 1f8b ]; then
  gunzip -c "$dump" > raw.bin || fail "$dump is not a readable gzip file"
else
  mv "$dump" raw.bin
fi
if [ "$(head -c 5 raw.bin)" = PGDMP ]; then
  pg_restore --list raw.bin > /dev/null || fail "$dump is not a readable pg_dump archive"
  pg_restore --no-owner --no-privileges --file=raw.sql raw.bin || fail "pg_restore could not read $dump (a dump of a newer PostgreSQL than this client?)"
  format=custom
else
  mv raw.bin raw.sql
  format=plain
fi
rm -f raw.bin

# Outside COPY blocks: drop ALTER ... OWNER TO and GRANT/REVOKE (pg_dump writes each on one line),
# and count the rows of every COPY block.
awk -v counts=rows-in-dump.txt '
  incopy { if ($0 == "\\\\.") { incopy = 0; print table, rows > counts } else rows++; print; next }
  /^COPY [^ ]+ .*FROM stdin;$/ { incopy = 1; rows = 0; table = $2; print; next }
  /^ALTER .* OWNER TO .*;$/ { next }
  /^(GRANT|REVOKE) .*;$/ { next }
  { print }
' raw.sql > import.sql
rm -f raw.sql
touch rows-in-dump.txt

client=$(psql --version | sed -n 's/^psql (PostgreSQL) \\([0-9]*\\).*$/\\1/p')
server=$(psql_db -c 'SHOW server_version_num')
server=$((server / 10000))
# The app's relations: not the catalogs, not the platform's own (extension members such as
# pg_stat_statements' views, PgBouncer's auth schema).
apps_relations="FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgbouncer') AND n.nspname NOT LIKE 'pg_toast%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')"
existing=$(psql_db -c "SELECT count(*) $apps_relations")
: > load.sql
if [ "$existing" != 0 ]; then
  [ "\${REPLACE_TARGET:-no}" = yes ] || fail "$PGDATABASE already holds $existing tables, views or sequences; fix: import into an empty database (before the app's first migration), or set REPLACE_TARGET=yes to drop them"
  # In the load's transaction: everything the app role owns here goes, and comes back only if the
  # load succeeds. DROP OWNED also revokes the role's grants here, so the init SQL's are given back.
  printf 'DROP OWNED BY "%s";\nGRANT CONNECT, TEMPORARY ON DATABASE "%s" TO "%s";\n' "$TARGET_OWNER" "$PGDATABASE" "$TARGET_OWNER" >> load.sql
fi

# One transaction: an error anywhere (ON_ERROR_STOP) rolls everything back.
{ printf 'SET ROLE "%s";\n' "$TARGET_OWNER"; cat import.sql; } >> load.sql
psql --no-psqlrc -q -v ON_ERROR_STOP=1 --single-transaction -f load.sql > load.log 2>&1 || {
  grep -m 5 'ERROR' load.log >&2 || tail -n 5 load.log >&2
  fail "the $format dump did not load (nothing was kept: one transaction); the first error is above"
}

# Every table of the dump: its rows now equal the rows the dump carried.
tables=0
mismatch=''
while read -r table expected; do
  actual=$(psql_db -c "SELECT count(*) FROM $table")
  tables=$((tables + 1))
  [ "$actual" = "$expected" ] || mismatch="$mismatch $table($actual of $expected)"
done < rows-in-dump.txt
[ -z "$mismatch" ] || fail "row counts differ from the dump:$mismatch"
foreign=$(psql_db -c "SELECT count(*) $apps_relations AND pg_get_userbyid(c.relowner) <> '$TARGET_OWNER'")
[ "$foreign" = 0 ] || fail "$foreign objects are not owned by $TARGET_OWNER"
psql_db -c 'ANALYZE' > /dev/null
echo "import-postgres: $dump ($format) loaded into $PGDATABASE as $TARGET_OWNER: $tables tables, row counts equal to the dump, 0 errors (client $client, server $server)"
`;
}

/** Container of import-files: the rclone image. */
export function importFilesScript(): string {
  return `#!/bin/sh
# Copies b2raw:$IMPORT_PATH/files/<bucket>/ into each MinIO bucket of BUCKETS that has an upload
# (rclone copy: nothing is deleted, an identical object is not copied again), then checks one way
# that every uploaded file is in MinIO with the same size and hash. Buckets must exist (the
# provisioning Job creates them). Env: BUCKETS, IMPORT_PATH, SCRATCH_DIR, remotes "b2raw" and "minio".
set -eu
fail() { echo "import-files: $*" >&2; exit 1; }

rclone lsf --dirs-only "b2raw:$IMPORT_PATH/files" > "$SCRATCH_DIR/uploaded.txt" || fail "cannot list b2raw:$IMPORT_PATH/files; fix: check the B2 key and backup.b2"
[ -s "$SCRATCH_DIR/uploaded.txt" ] || fail "nothing under b2raw:$IMPORT_PATH/files/; fix: upload a folder to imports/files/<bucket>/ first (README \\"Moving from docker-compose\\")"
failed=''
done_buckets=''
while read -r dir; do
  bucket=\${dir%/}
  case " $BUCKETS " in *" $bucket "*) ;; *) fail "imports/files/$bucket/ names no bucket of minio.buckets ($BUCKETS); fix: upload under one of them, or add the bucket to minio.buckets" ;; esac
  rclone lsf --max-depth 1 "minio:$bucket" > /dev/null || fail "bucket $bucket is missing in MinIO; fix: sync the minio app first (its provisioning Job creates the buckets)"
  from="b2raw:$IMPORT_PATH/files/$bucket"
  if rclone copy --checksum --fast-list "$from" "minio:$bucket" && rclone check --one-way --fast-list "$from" "minio:$bucket"; then
    count=$(rclone lsf -R --files-only --fast-list "$from" | wc -l)
    echo "import-files: $bucket: $count files from $from, checked"
    done_buckets="$done_buckets $bucket"
  else
    failed="$failed $bucket"
  fi
done < "$SCRATCH_DIR/uploaded.txt"
[ -z "$failed" ] || fail "FAILED for$failed"
echo "import-files: imported$done_buckets"
`;
}
