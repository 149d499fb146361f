/**
 * What the restore drill compares a restore with: at dump time, pg-dump.sh writes
 * `<dump>.stats` next to the dump (the database's name, the time, the newest timestamp of any
 * timestamp column and the row count of every table); after restoring, the drill checks that the
 * dump is of the expected database, every table is there with its row count within
 * `backup.drill.rowTolerancePercent`, and the newest timestamp is no older than
 * `backup.drill.maxDataAge` before the dump. Shipped in the ConfigMap `backup-scripts`.
 *
 * `<dump>.stats`:
 *   # database app
 *   # dumped <epoch seconds>
 *   # newest <epoch seconds, or "none" without a timestamp value>
 *   <schema.table>\t<rows>
 */

/** One query per table of the user schemas, each printing "<schema.table>\t<rows>" (psql \gexec). */
export function tableRowsSql(): string {
  return `SELECT format('SELECT %L || chr(9) || count(*) FROM %I.%I', quote_ident(n.nspname) || '.' || quote_ident(c.relname), n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY 1 \\gexec
`;
}

/**
 * One query per timestamp/date column, each printing its newest value not in the future (epoch
 * seconds; empty for an empty table). Future values (expiry dates) would fake freshness.
 */
export function newestSql(): string {
  return `SELECT format('SELECT extract(epoch FROM max(%I))::bigint FROM %I.%I WHERE %I <= now()', a.attname, n.nspname, c.relname, a.attname)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
  AND a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype)
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY 1 \\gexec
`;
}

/** Called by pg-dump.sh with the dump's name: writes <name>.stats from the live database. */
export function dumpStatsScript(): string {
  return `#!/bin/sh
# Env: libpq (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD), SCRIPTS_DIR. $1: the dump's file name.
# Counted after pg_dump, in another snapshot: the drill allows a tolerance for the writes in between.
set -eu
q() { psql --no-psqlrc -qAtX -v ON_ERROR_STOP=1 -f "$SCRIPTS_DIR/$1"; }
newest=$(q newest.sql | sort -n | tail -n 1)
{
  echo "# database $PGDATABASE"
  echo "# dumped $(date -u +%s)"
  echo "# newest \${newest:-none}"
  q table-rows.sql
} > "$1.stats.partial"
mv "$1.stats.partial" "$1.stats"
echo "pg-dump: $1.stats, $(grep -vc '^#' "$1.stats" | tr -d ' ') tables"
`;
}

/** Called by drill.sh after the restore into the scratch database `drill`; exits non-zero with the failed checks. */
export function drillVerifyScript(): string {
  return `#!/bin/sh
# Env: SCRATCH_DIR (the fetched dump and its .stats), SCRIPTS_DIR, EXPECTED_DATABASE,
# ROW_TOLERANCE_PERCENT, MAX_DATA_AGE_SECONDS, libpq of the scratch server.
set -eu
set -- "$SCRATCH_DIR"/*.dump
dump=$1
stats="$dump.stats"
name=\${dump##*/}
if [ ! -f "$stats" ]; then
  echo "drill: no $name.stats next to the dump, so nothing to compare the restore with; fix: let a dump job run (it writes one since this version)" >&2
  exit 1
fi
q() { psql --no-psqlrc -qAtX -v ON_ERROR_STOP=1 --dbname=drill "$@"; }
failures=0
checked=0
bad() { echo "drill: $*" >&2; failures=$((failures + 1)); }

checked=$((checked + 1))
dump_db=$(pg_restore --list "$dump" | sed -n 's/^;[[:space:]]*dbname: //p')
stats_db=$(sed -n 's/^# database //p' "$stats")
if [ "$dump_db" != "$EXPECTED_DATABASE" ] || [ "$stats_db" != "$EXPECTED_DATABASE" ]; then
  bad "the dump is of database \\"$dump_db\\" and its stats of \\"$stats_db\\", expected \\"$EXPECTED_DATABASE\\""
fi

tab=$(printf '\\t')
while IFS="$tab" read -r table rows; do
  case "$table" in '' | '#'*) continue ;; esac
  checked=$((checked + 1))
  present=$(q -v tbl="$table" <<'SQL'
SELECT to_regclass(:'tbl') IS NOT NULL;
SQL
)
  if [ "$present" != t ]; then
    bad "$table ($rows rows at dump time) is missing from the restore"
    continue
  fi
  restored=$(q -v tbl="$table" <<'SQL'
SELECT format('SELECT count(*) FROM %s', to_regclass(:'tbl')) \\gexec
SQL
)
  diff=$((restored - rows))
  [ "$diff" -ge 0 ] || diff=$((-diff))
  if [ $((diff * 100)) -gt $((rows * ROW_TOLERANCE_PERCENT)) ]; then
    bad "$table has $restored rows, $rows at dump time: more than $ROW_TOLERANCE_PERCENT % apart"
  fi
done < "$stats"

recorded=$(sed -n 's/^# newest //p' "$stats")
if [ "$recorded" != none ]; then
  checked=$((checked + 1))
  dumped=$(sed -n 's/^# dumped //p' "$stats")
  newest=$(q -f "$SCRIPTS_DIR/newest.sql" | sort -n | tail -n 1)
  if [ -z "$newest" ]; then
    bad "the restore has no timestamp value, the source had one at $recorded"
  elif [ $((dumped - newest)) -gt "$MAX_DATA_AGE_SECONDS" ]; then
    bad "the newest timestamp in the restore is $((dumped - newest)) s older than the dump, more than backup.drill.maxDataAge ($MAX_DATA_AGE_SECONDS s)"
  fi
fi
if [ "$failures" -gt 0 ]; then
  echo "drill: $failures of $checked comparisons with $name.stats failed" >&2
  exit 1
fi
echo "drill: $name is of $EXPECTED_DATABASE, $checked comparisons with its stats passed (rows within $ROW_TOLERANCE_PERCENT %, data at most $MAX_DATA_AGE_SECONDS s older than the dump)"
`;
}
