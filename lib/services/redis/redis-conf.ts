/**
 * redis.conf and the start script of the Redis container, rendered from typed config. The
 * passwords never appear here: the start script writes the ACL file from Secret env vars.
 */
import { parseQuantity, toRedisMemory } from '../../config/quantity';

export interface RedisConfOptions {
  readonly port: number;
  /** `maxmemory` as a Kubernetes quantity (512Mi → `maxmemory 512mb`). */
  readonly maxmemory: string;
  readonly maxmemoryPolicy: string;
  readonly appendfsync: string;
  readonly save: readonly { readonly seconds: number; readonly changes: number }[];
  /** Where the PVC is mounted. */
  readonly dataDir: string;
  /** The ACL file the start script writes (on an emptyDir). */
  readonly aclFile: string;
}

export function renderRedisConf(o: RedisConfOptions): string {
  return [
    '# Rendered from lib/config (redis.*). Users live in the ACL file written at start.',
    'bind * -::*',
    `port ${o.port}`,
    // Refuses remote clients while the default user has no password; ours is off instead.
    'protected-mode yes',
    `dir ${o.dataDir}`,
    `aclfile ${o.aclFile}`,
    'appendonly yes',
    'appenddirname appendonlydir',
    `appendfsync ${o.appendfsync}`,
    ...o.save.map((s) => `save ${s.seconds} ${s.changes}`),
    `maxmemory ${toRedisMemory(parseQuantity(o.maxmemory))}`,
    `maxmemory-policy ${o.maxmemoryPolicy}`,
    'loglevel notice',
    // Logs go to stdout; no pid file on a read-only root filesystem.
    'logfile ""',
    'pidfile ""',
    '',
  ].join('\n');
}

/** ACL rules of the users the start script creates; `default` is switched off. */
export const REDIS_ACL_RULES = {
  // Sessions, cache, rate limits and queues; no flushing, CONFIG, DEBUG, KEYS, MONITOR, ...
  // INFO and CLIENT SETNAME stay allowed: client libraries (ioredis, BullMQ) need them.
  app: '~* &* +@all -@dangerous +info +client|setname +client|getname +client|id +client|info -flushall -flushdb -config -debug',
  // What redis_exporter reads, and the ping of the probes.
  exporter: '~* &* -@all +@connection +info +ping +config|get +client|list +slowlog|get +slowlog|len +latency|latest +memory|stats +dbsize +select +type +strlen +llen +scard +zcard +hlen +xlen +pfcount',
  // For operators (kubectl exec), never handed to an app.
  admin: '~* &* +@all',
} as const;

/** The Secret keys the start script reads, by user. */
export const REDIS_SECRET_KEYS = { app: 'app-password', exporter: 'exporter-password', admin: 'admin-password' } as const;

/** Env var holding a user's password in the Redis container. */
export const redisPasswordEnv = (user: keyof typeof REDIS_ACL_RULES): string => `REDIS_${user.toUpperCase()}_PASSWORD`;

/** POSIX sh: writes the ACL file from env, refusing empty or unsafe passwords, then execs redis-server. */
export function renderRedisStartScript(o: { readonly confFile: string; readonly aclFile: string }): string {
  const users = Object.keys(REDIS_ACL_RULES) as (keyof typeof REDIS_ACL_RULES)[];
  return [
    '#!/bin/sh',
    '# Writes the Redis ACL file from passwords in the environment (Secret redis-auth), so no',
    '# password lands in a ConfigMap, then starts Redis. Extra arguments go to redis-server.',
    'set -eu',
    `conf="\${REDIS_CONF:-${o.confFile}}"`,
    `acl_file="\${REDIS_ACL_FILE:-${o.aclFile}}"`,
    '',
    'check_password() {',
    '  # The ACL file splits on whitespace: such a password would change the rules.',
    '  case "$2" in',
    '    "") echo "start: $1 is empty; set it in the Secret" >&2; exit 1 ;;',
    '    *[[:space:]]*) echo "start: $1 contains whitespace; use letters, digits and symbols only" >&2; exit 1 ;;',
    '  esac',
    '}',
    ...users.map((u) => `check_password ${redisPasswordEnv(u)} "\${${redisPasswordEnv(u)}:-}"`),
    '',
    'umask 077',
    '{',
    "  echo 'user default off resetpass -@all'",
    // printf, not echo: a backslash in a password must stay as it is.
    ...users.map((u) => `  printf 'user %s on >%s %s\\n' ${u} "\$${redisPasswordEnv(u)}" '${REDIS_ACL_RULES[u]}'`),
    '} > "$acl_file"',
    '',
    'exec redis-server "$conf" --aclfile "$acl_file" "$@"',
    '',
  ].join('\n');
}
