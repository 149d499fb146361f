/**
 * pgBackRest's configuration and the scripts of point-in-time recovery, rendered from config by
 * pure functions. Tests run these exact texts with PostgreSQL 16 and pgBackRest 2.55 (scripts/lab/pitr-lab.ts) against a
 * real S3 server on loopback; only the paths, ports and the endpoint differ (PgbackrestLocal).
 *
 * Object layout under `<bucket>/<prefix>/<environment>/pgbackrest/`: pgBackRest's own
 * (archive/<stanza>/... WAL, backup/<stanza>/... base backups), every file encrypted with
 * aes-256-cbc (repo1-cipher-type) by a key that lives outside the cluster.
 */
import { PostgresSettings } from './config';
import { parseDuration } from '../../config/duration';
import { PATHS, ROLES } from './config-files';

/** Where pgBackRest's files live in the containers. */
export const PITR_PATHS = {
  /** pgbackrest.conf and the scripts (ConfigMap pgbackrest). */
  configDir: '/etc/pgbackrest',
  /** Lock files and the async spool: an emptyDir. */
  tmp: '/tmp/pgbackrest',
} as const;

/** The stanza: pgBackRest's name of this cluster inside the repository. */
export const STANZA = 'postgres';

/** What a test (or another host) swaps in: loopback paths, ports and the S3 endpoint. */
export interface PgbackrestLocal {
  readonly pgPath?: string;
  readonly pgPort?: number;
  readonly socketPath?: string;
  readonly tmpPath?: string;
  /** host[:port] of the S3 server. */
  readonly endpoint?: string;
  /** `false` only for a test's self-signed certificate. @default true */
  readonly verifyTls?: boolean;
}

/** The B2 endpoint as pgBackRest wants it: host, and a port when not 443. */
export function s3Endpoint(url: string): { host: string; port?: number } {
  const m = /^https?:\/\/([^/:]+)(?::(\d+))?$/.exec(url);
  if (!m) throw new Error(`backup.b2.endpoint ${JSON.stringify(url)} is not scheme://host[:port]; fix: write it like https://s3.eu-central-003.backblazeb2.com`);
  return { host: m[1], port: m[2] ? Number(m[2]) : undefined };
}

/** The repository path inside the bucket: beside the dumps, `/<prefix>/<env>/pgbackrest`. */
export const repoPath = (config: PostgresSettings): string => `/${config.backup.b2.prefix}/${config.name}/pgbackrest`;

/** Days of base backups (and their WAL) kept: the pitr setting, else the first dump schedule's. */
export const retentionDays = (config: PostgresSettings): number => config.backup.pitr.retentionDays ?? config.backup.schedules[0].retentionDays;

/**
 * pgbackrest.conf. Keys and the cipher pass come from the environment (PGBACKREST_REPO1_S3_KEY,
 * PGBACKREST_REPO1_S3_KEY_SECRET, PGBACKREST_REPO1_CIPHER_PASS), never from this file.
 */
export function pgbackrestConf(config: PostgresSettings, local: PgbackrestLocal = {}): string {
  const b2 = config.backup.b2;
  const fromConfig = s3Endpoint(b2.endpoint);
  const endpoint = local.endpoint ? s3Endpoint(`https://${local.endpoint}`) : fromConfig;
  const region = b2.region ?? /^s3\.([a-z0-9-]+)\.backblazeb2\.com$/.exec(fromConfig.host)?.[1] ?? 'us-east-1';
  const tmp = local.tmpPath ?? PITR_PATHS.tmp;
  const global: [string, string | number | undefined][] = [
    ['repo1-type', 's3'],
    ['repo1-s3-bucket', b2.bucket],
    ['repo1-s3-endpoint', endpoint.host],
    ['repo1-storage-port', endpoint.port],
    ['repo1-s3-region', region],
    ['repo1-s3-uri-style', 'path'],
    ['repo1-storage-verify-tls', local.verifyTls === false ? 'n' : undefined],
    ['repo1-path', repoPath(config)],
    // Client-side encryption: B2 only ever holds ciphertext.
    ['repo1-cipher-type', 'aes-256-cbc'],
    // Time-based retention keeps every backup (and its WAL) needed to reach any second of the last N days.
    ['repo1-retention-full-type', 'time'],
    ['repo1-retention-full', retentionDays(config)],
    ['compress-type', 'zst'],
    ['process-max', 2],
    // A base backup starts with an immediate checkpoint instead of waiting up to checkpoint_timeout.
    ['start-fast', 'y'],
    // A restore rewrites only the files that differ (fast when the old data directory is still there).
    ['delta', 'y'],
    // If B2 is unreachable for long, drop WAL (and alert) rather than fill the data volume.
    ['archive-push-queue-max', '4GiB'],
    ['log-level-console', 'info'],
    ['log-level-stderr', 'warn'],
    ['log-level-file', 'off'],
    ['lock-path', tmp],
    ['spool-path', tmp],
  ];
  const stanza: [string, string | number][] = [
    ['pg1-path', local.pgPath ?? PATHS.pgdata],
    ['pg1-port', local.pgPort ?? 5432],
    ['pg1-socket-path', local.socketPath ?? PATHS.socketDir],
    ['pg1-user', ROLES.superuser],
  ];
  const lines = (entries: [string, string | number | undefined][]) => entries.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  return ['# Rendered by the platform from backup.b2 and backup.pitr; edit the config, not this file.', '[global]', ...lines(global), '', `[${STANZA}]`, ...lines(stanza)].join('\n') + '\n';
}

/** The postgresql.conf lines that archive every WAL segment to the repository. */
export function archiveSettings(config: PostgresSettings, configDir: string = PITR_PATHS.configDir): [string, string][] {
  return [
    ['archive_mode', 'on'],
    ['archive_command', `'pgbackrest --config=${configDir}/pgbackrest.conf --stanza=${STANZA} archive-push %p'`],
    ['archive_timeout', `${parseDuration(config.backup.pitr.archiveTimeout)}s`],
  ];
}

/**
 * The `pgbackrest` sidecar of every Postgres pod: every POLL_SECONDS it asks its own server
 * whether it is the primary and, only there, takes a base backup when the repository's newest
 * one is older than EVERY_SECONDS (full when the newest full is older than FULL_EVERY_SECONDS,
 * else differential). The schedule's state is the repository, not the pod: after a failover the
 * new primary picks up where the old one stopped. ONCE=1 runs one round and exits (tests).
 */
export function baseBackupScript(): string {
  return `#!/bin/sh
# Env: PGBACKREST_CONFIG, STANZA, EVERY_SECONDS, FULL_EVERY_SECONDS, POLL_SECONDS, the libpq
# socket (PGHOST, PGPORT, PGUSER, PGPASSWORD) and pgBackRest's secrets (PGBACKREST_REPO1_*).
set -u
log() { echo "pitr-backup: $*"; }
stanza_ready=no
round() {
  primary=$(psql --no-psqlrc -qAtX -c 'SELECT NOT pg_is_in_recovery()' 2>/dev/null) || { log "server not reachable yet"; return 0; }
  [ "$primary" = t ] || return 0
  if [ "$stanza_ready" = no ]; then
    # Idempotent: creates the stanza on the first primary, checks it on every later one.
    pgbackrest --stanza="$STANZA" stanza-create || { log "stanza-create FAILED"; return 1; }
    stanza_ready=yes
  fi
  ages=$(pgbackrest --stanza="$STANZA" --output=json info | python3 -c '
import json, sys, time
backups = [b for s in json.load(sys.stdin) for b in s.get("backup", [])]
stop = lambda kinds: max([b["timestamp"]["stop"] for b in backups if b["type"] in kinds] or [0])
now = int(time.time())
print(now - stop(["full"]), now - stop(["full", "diff", "incr"]))') || { log "pgbackrest info FAILED"; return 1; }
  full_age=\${ages% *}
  any_age=\${ages#* }
  if [ "$full_age" -ge "$FULL_EVERY_SECONDS" ]; then type='full'
  elif [ "$any_age" -ge "$EVERY_SECONDS" ]; then type='diff'
  else return 0
  fi
  log "newest full $full_age s old, newest backup $any_age s old: taking a $type backup"
  # backup also expires what retention no longer needs.
  pgbackrest --stanza="$STANZA" --type="$type" backup || { log "$type backup FAILED"; return 1; }
  log "$type backup done"
}
while :; do
  round
  rc=$?
  [ "\${ONCE:-}" = 1 ] && exit "$rc"
  sleep "$POLL_SECONDS"
done
`;
}

/**
 * The hourly check (CronJob pitr-check): reads the repository only and fails when its newest
 * base backup is older than MAX_AGE_SECONDS or the WAL archive is empty; its failing (or not
 * succeeding) is the alert PitrBaseBackupTooOld.
 */
export function checkScript(): string {
  return `#!/bin/sh
# Env: PGBACKREST_CONFIG, STANZA, MAX_AGE_SECONDS and pgBackRest's secrets (PGBACKREST_REPO1_*).
set -eu
fail() { echo "pitr-check: FAILED: $*" >&2; exit 1; }
check=$(cat <<'PY'
import json, sys, time
max_age = int(sys.argv[1])
stanzas = json.loads(sys.stdin.read(), strict=False)  # pgBackRest may put a raw newline in an error message
def fail(message):
    print(f"pitr-check: FAILED: {message}", file=sys.stderr)
    sys.exit(1)
if not stanzas or stanzas[0]["status"]["code"] != 0:
    why = " ".join(r["status"]["message"] for r in (stanzas[0].get("repo", []) if stanzas else []) if r["status"]["code"] != 0)
    if "unable to load info file" in why and "FormatError" in why:
        # A wrong cipher pass decrypts the info files to garbage: say so instead of printing it.
        fail("the repository's info files do not decrypt; fix: backup-encryption's pgbackrest-cipher-pass must be the pass the repository was created with")
    fail(f"the repository is not usable: {why[:300] or (stanzas[0]['status']['message'] if stanzas else 'no stanza')}; fix: check the B2 key and the backup-encryption Secret")
backups = stanzas[0].get("backup", [])
if not backups:
    fail("no base backup in the repository")
newest = max(b["timestamp"]["stop"] for b in backups)
age = int(time.time()) - newest
wal = [a for a in stanzas[0].get("archive", []) if a.get("max")]
if not wal:
    fail("no WAL archived")
if age > max_age:
    fail(f"the newest base backup is {age} s old, more than {max_age} s; fix: read the logs of the pgbackrest container of the primary")
print(f"pitr-check: {len(backups)} base backups, newest {age} s old, WAL up to {wal[-1]['max']}")
PY
)
info=$(pgbackrest --stanza="$STANZA" --output=json info) || fail "pgbackrest info could not read the repository"
printf '%s\n' "$info" | python3 -c "$check" "$MAX_AGE_SECONDS"
`;
}

/**
 * The restore (suspended CronJob pitr-restore): with Postgres stopped, rewrites the primary's
 * data directory from the repository to TARGET, "latest" (every archived WAL) or a time like
 * "2026-01-31 14:05:00+00". Postgres then replays WAL up to it on start and promotes.
 */
export function restoreScript(): string {
  return `#!/bin/sh
# pgBackRest itself refuses to write over a running server (postmaster.pid).
# Env: PGBACKREST_CONFIG, STANZA, PGDATA, TARGET, and pgBackRest's secrets (PGBACKREST_REPO1_*).
set -eu
fail() { echo "pitr-restore: $*" >&2; exit 1; }
target=\${TARGET:-}
case "$target" in
  latest) set -- --type=default ;;
  [0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]\\ [0-2][0-9]:[0-5][0-9]:[0-5][0-9]*)
    set -- --type=time "--target=$target" --target-action=promote ;;
  *) fail "TARGET is \\"$target\\"; fix: set TARGET=latest or a time like \\"2026-01-31 14:05:00+00\\" (UTC unless an offset is given)" ;;
esac
echo "pitr-restore: restoring $PGDATA to $target"
pgbackrest --stanza="$STANZA" "$@" restore
echo "pitr-restore: done; start Postgres: it replays WAL to $target and then accepts writes"
`;
}
