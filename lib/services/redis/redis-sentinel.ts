/**
 * Redis that fails over (environments with three nodes or more): the `redis` StatefulSet grows to
 * `members` pods, each a Redis server and a Sentinel; HAProxy routes every client to the member that
 * reports `role:master`, so apps keep one plain REDIS_URL (the anchor: the redis-ha chart Argo CD ships).
 *
 * Member 0 starts as the primary when no Sentinel answers (a fresh set, or a set grown from one
 * server: its data stays the primary's); every later start asks the Sentinels first, so a former
 * primary comes back as a replica of the one they promoted. Sentinel and replication authenticate as
 * the `admin` ACL user (no new Secret key, so a running environment grows without one).
 */
import { JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import { ServiceMonitor } from '../../../imports/monitoring.coreos.com';
import { Resources } from '../../config/fields';
import { Affinity, Container, EnvVar, IntOrString, KubeConfigMap, KubeDeployment, KubePodDisruptionBudget, KubeService, KubeStatefulSet, Quantity } from '../../k8s';
import { componentLabels, selectorLabels } from '../../labels';
import { AllowFlows, connect, namespacePeer, tcp } from '../../constructs/network-policy';
import { restrictedContainerSecurity, restrictedPodSecurity } from '../../constructs/pod-security';
import { containerResources } from '../../constructs/resources';

/** Sentinel's name for the primary it watches. */
export const SENTINEL_MASTER_NAME = 'primary';
export const SENTINEL_PORT = 26379;
const HAPROXY_UID = 99; // the haproxy user of the official image
const HAPROXY_PORT = 6379;
const HAPROXY_HEALTH_PORT = 8404;
const HA_DIR = '/opt/redis-ha';
const HAPROXY_DIR = '/usr/local/etc/haproxy';
const SENTINEL_DIR = '/run/sentinel';

/** Timings of the failover, written into sentinel.conf and haproxy.cfg. */
export const FAILOVER = {
  /** Sentinel calls the primary down after this long without a valid reply. */
  downAfterMs: 5000,
  failoverTimeoutMs: 60_000,
  /** HAProxy's check interval and the failed/passed checks that take a member out of / into rotation. */
  checkIntervalMs: 1000,
  fall: 2,
  rise: 2,
} as const;

export interface RedisSentinelProps {
  readonly namespace: string;
  /** Namespace of Prometheus (HAProxy's metrics). */
  readonly monitoringNamespace: string;
  /** The Redis StatefulSet this grows (its name names the pods). */
  readonly statefulSet: KubeStatefulSet;
  /** Name of the StatefulSet, e.g. `redis`. */
  readonly name: string;
  /** Its headless governing Service (the members' DNS names). */
  readonly governingServiceName: string;
  /** Labels that select the Redis pods. */
  readonly podLabels: Record<string, string>;
  /** The Redis pods' NetworkPolicy (replication and Sentinel flows are added to it). */
  readonly policy: AllowFlows;
  /** Secret with admin-password and exporter-password. */
  readonly secretName: string;
  /** Members (primary + replicas), one per node. */
  readonly members: number;
  /** Nodes in the cluster: spread is required when there are enough of them. */
  readonly nodes: number;
  readonly redisPort: number;
  /** The official redis image (it carries redis-sentinel). */
  readonly image: string;
  /** The official haproxy image. */
  readonly haproxyImage: string;
  readonly sentinelResources: Resources;
  readonly haproxyResources: Resources;
  /** The Redis container's config file and start script (the failover script wraps them). */
  readonly confFile: string;
  readonly startScript: string;
  /** A writable directory of the Redis container (the copy of redis.conf Sentinel may rewrite). */
  readonly runDir: string;
  /**
   * Writes a primary accepts only while this many replicas are connected, lagging at most `maxLagSeconds`:
   * bounds what a primary cut off from its replicas acknowledges before Sentinel replaces it.
   * @default { replicas: 1, maxLagSeconds: 10 }
   */
  readonly minReplicasToWrite?: { readonly replicas: number; readonly maxLagSeconds: number };
  /**
   * HAProxy pods (each routes to the current primary).
   * @default 2
   */
  readonly proxies?: number;
}

/**
 * Sentinel beside every Redis member, the failover start script, and HAProxy in front. The Redis
 * construct keeps its objects and calls this; the Service apps use selects `proxyLabels`.
 */
export class RedisSentinel extends Construct {
  /** Labels that select the HAProxy pods (the Service apps use). */
  public readonly proxyLabels: Record<string, string>;
  /** The HAProxy pods' NetworkPolicy: clients connect here. */
  public readonly proxyPolicy: AllowFlows;
  public readonly proxyPort = HAPROXY_PORT;
  /** HAProxy's metrics and health port (name `metrics`). */
  public readonly proxyMetricsPort = HAPROXY_HEALTH_PORT;
  /** DNS names of the members, in ordinal order. */
  public readonly memberHosts: readonly string[];

  constructor(scope: Construct, id: string, props: RedisSentinelProps) {
    super(scope, id);
    const { name, namespace: ns, members } = props;
    if (!Number.isInteger(members) || members < 3 || members % 2 === 0) {
      throw new Error(`Redis with Sentinel needs an odd number of members, at least 3 (got ${members}): a quorum must survive one loss`);
    }
    const minReplicas = props.minReplicasToWrite ?? { replicas: 1, maxLagSeconds: 10 };
    if (minReplicas.replicas > members - 2) {
      throw new Error(`minReplicasToWrite.replicas ${minReplicas.replicas} must be at most ${members - 2}: with one member down the primary would refuse every write`);
    }
    this.memberHosts = Array.from({ length: members }, (_, i) => `${name}-${i}.${props.governingServiceName}.${ns}.svc.cluster.local`);
    const proxyName = `${name}-haproxy`;
    this.proxyLabels = selectorLabels(proxyName);
    this.growMembers(props, minReplicas);
    // Replication (replica → primary) and Sentinel (Sentinels ↔ Sentinels, Sentinels → every Redis).
    const members$ = { policy: props.policy, podLabels: props.podLabels };
    connect(members$, members$, [props.redisPort, SENTINEL_PORT]);

    // HAProxy: the Service apps use points here.
    const proxyLabels = componentLabels(proxyName, 'cache-proxy');
    this.proxy(props, proxyName, proxyLabels);
    // The members' exporters: the Service `name` now selects the proxies.
    const membersName = `${name}-members`;
    const membersLabels = componentLabels(membersName, 'cache');
    new KubeService(this, 'MembersService', {
      metadata: { name: membersName, namespace: ns, labels: membersLabels },
      spec: { selector: props.podLabels, ports: [{ name: 'metrics', port: 9121, targetPort: IntOrString.fromString('metrics') }] },
    });
    new ServiceMonitor(this, 'MembersMonitor', {
      metadata: { name: membersName, namespace: ns, labels: membersLabels },
      spec: { selector: { matchLabels: selectorLabels(membersName) }, endpoints: [{ port: 'metrics', interval: '30s' }] },
    });
    this.proxyPolicy = new AllowFlows(this, 'ProxyNetworkPolicy', {
      name: proxyName,
      namespace: ns,
      podLabels: this.proxyLabels,
      labels: proxyLabels,
      ingress: [{ peers: [namespacePeer(props.monitoringNamespace)], ports: tcp(HAPROXY_HEALTH_PORT) }],
    });
    connect({ policy: this.proxyPolicy }, members$, [props.redisPort]);
  }

  /** The StatefulSet grows: the failover scripts, replicas, Sentinel beside Redis, one member per node, a disruption budget. */
  private growMembers(props: RedisSentinelProps, minReplicas: MinReplicasToWrite): void {
    const { name, namespace: ns, members } = props;
    const haName = `${name}-ha`;
    const labels = componentLabels(haName, 'cache');
    const scripts = new KubeConfigMap(this, 'Scripts', {
      metadata: { name: haName, namespace: ns, labels },
      data: {
        'members.sh': renderMembersScript({ hosts: this.memberHosts, redisPort: props.redisPort }),
        'redis.sh': renderRedisFailoverScript({ confFile: props.confFile, startScript: props.startScript, runDir: props.runDir, redisPort: props.redisPort, minReplicas }),
        'sentinel.sh': renderSentinelScript({ redisPort: props.redisPort, members, dir: SENTINEL_DIR }),
      },
    });

    // The StatefulSet grows: replicas, the failover start, Sentinel beside Redis, one member per node.
    const secretEnv = secretEnvOf(props.secretName);
    const podName: EnvVar = { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } };
    const sentinelPing = { exec: { command: ['sh', '-c', `[ "$(redis-cli --no-auth-warning -p ${SENTINEL_PORT} ping)" = PONG ]`] } };
    const sentinel: Container = {
      name: 'sentinel',
      image: props.image,
      command: ['sh', `${HA_DIR}/sentinel.sh`],
      ports: [{ name: 'sentinel', containerPort: SENTINEL_PORT }],
      env: [podName, secretEnv('REDIS_ADMIN_PASSWORD', 'admin-password'), secretEnv('REDISCLI_AUTH', 'admin-password')],
      resources: containerResources(props.sentinelResources),
      securityContext: restrictedContainerSecurity(),
      startupProbe: { ...sentinelPing, periodSeconds: 5, failureThreshold: 24, timeoutSeconds: 3 },
      livenessProbe: { ...sentinelPing, periodSeconds: 10, failureThreshold: 6, timeoutSeconds: 3 },
      readinessProbe: { ...sentinelPing, periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 3 },
      volumeMounts: [
        { name: 'ha', mountPath: HA_DIR, readOnly: true },
        { name: 'sentinel', mountPath: SENTINEL_DIR },
      ],
    };
    const sts = props.statefulSet;
    sts.addJsonPatch(
      JsonPatch.replace('/spec/replicas', members),
      // Members start one after another (the default OrderedReady): member 0 is the primary of a fresh set.
      JsonPatch.replace('/spec/template/spec/containers/0/command', ['sh', `${HA_DIR}/redis.sh`]),
      JsonPatch.add('/spec/template/spec/containers/0/env/-', podName),
      JsonPatch.add('/spec/template/spec/containers/0/volumeMounts/-', { name: 'ha', mountPath: HA_DIR, readOnly: true }),
      JsonPatch.add('/spec/template/spec/containers/1', sentinel),
      JsonPatch.add('/spec/template/spec/volumes/-', { name: 'ha', configMap: { name: scripts.name } }),
      JsonPatch.add('/spec/template/spec/volumes/-', { name: 'sentinel', emptyDir: { medium: 'Memory', sizeLimit: Quantity.fromString('1Mi') } }),
      JsonPatch.add('/spec/template/spec/affinity', spread(props.podLabels, members <= props.nodes)),
    );
    new KubePodDisruptionBudget(this, 'Budget', {
      metadata: { name, namespace: ns, labels: componentLabels(name, 'cache') },
      spec: { maxUnavailable: IntOrString.fromNumber(1), selector: { matchLabels: props.podLabels } },
    });
  }

  /** HAProxy: the proxies' config, Deployment (spread over the nodes) and disruption budget. */
  private proxy(props: RedisSentinelProps, proxyName: string, proxyLabels: Record<string, string>): void {
    const ns = props.namespace;
    const config = new KubeConfigMap(this, 'ProxyConfig', {
      metadata: { name: proxyName, namespace: ns, labels: proxyLabels },
      data: { 'haproxy.cfg': renderHaproxyConfig({ hosts: this.memberHosts, redisPort: props.redisPort, port: HAPROXY_PORT, healthPort: HAPROXY_HEALTH_PORT }) },
    });
    const proxies = props.proxies ?? 2;
    new KubeDeployment(this, 'Proxy', {
      metadata: { name: proxyName, namespace: ns, labels: proxyLabels },
      spec: {
        replicas: proxies,
        selector: { matchLabels: this.proxyLabels },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: IntOrString.fromNumber(0), maxSurge: IntOrString.fromNumber(1) } },
        template: {
          metadata: { labels: proxyLabels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurity(HAPROXY_UID),
            terminationGracePeriodSeconds: 30,
            affinity: spread(this.proxyLabels, false),
            // A proxy on a dead node leaves after 30 s instead of the default 300 s: it holds no data.
            tolerations: ['not-ready', 'unreachable'].map((t) => ({ key: `node.kubernetes.io/${t}`, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 })),
            containers: [{
              name: 'haproxy',
              image: props.haproxyImage,
              command: ['haproxy', '-W', '-db', '-f', `${HAPROXY_DIR}/haproxy.cfg`],
              ports: [{ name: 'redis', containerPort: HAPROXY_PORT }, { name: 'metrics', containerPort: HAPROXY_HEALTH_PORT }],
              env: [secretEnvOf(props.secretName)('REDIS_EXPORTER_PASSWORD', 'exporter-password')],
              resources: containerResources(props.haproxyResources),
              securityContext: restrictedContainerSecurity(),
              livenessProbe: { httpGet: { path: '/healthz', port: IntOrString.fromString('metrics') }, periodSeconds: 10, failureThreshold: 3 },
              readinessProbe: { httpGet: { path: '/ready', port: IntOrString.fromString('metrics') }, periodSeconds: 2, failureThreshold: 1 },
              volumeMounts: [{ name: 'config', mountPath: HAPROXY_DIR, readOnly: true }],
            }],
            volumes: [{ name: 'config', configMap: { name: config.name } }],
          },
        },
      },
    });
    new KubePodDisruptionBudget(this, 'ProxyBudget', {
      metadata: { name: proxyName, namespace: ns, labels: proxyLabels },
      spec: { maxUnavailable: IntOrString.fromNumber(1), selector: { matchLabels: this.proxyLabels } },
    });
  }
}

type MinReplicasToWrite = NonNullable<RedisSentinelProps['minReplicasToWrite']>;

/** An env var from a key of the Redis passwords' Secret. */
const secretEnvOf = (secretName: string) => (env: string, key: string): EnvVar => ({ name: env, valueFrom: { secretKeyRef: { name: secretName, key } } });

/** One pod per node: required when there are as many nodes as pods, preferred otherwise. */
function spread(labels: Record<string, string>, required: boolean): Affinity {
  const term = { labelSelector: { matchLabels: labels }, topologyKey: 'kubernetes.io/hostname' };
  return {
    podAntiAffinity: required
      ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
      : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] },
  };
}

/**
 * POSIX sh, sourced by both start scripts: the members' names, this pod's, and `current_primary`,
 * which asks every member's Sentinel for the primary it knows (printing nothing when none answers).
 */
export function renderMembersScript(o: { readonly hosts: readonly string[]; readonly redisPort: number }): string {
  return [
    '# shellcheck shell=sh disable=SC2034 # sourced by redis.sh and sentinel.sh, which use these variables',
    '# POD_NAME comes from the downward API (<statefulset>-<ordinal>).',
    `MEMBERS="${o.hosts.join(' ')}"`,
    `REDIS_PORT=${o.redisPort}`,
    `SENTINEL_PORT=${SENTINEL_PORT}`,
    `MASTER_NAME=${SENTINEL_MASTER_NAME}`,
    'ordinal="${POD_NAME##*-}"',
    'case "$ordinal" in ""|*[!0-9]*) echo "members: POD_NAME=$POD_NAME has no ordinal" >&2; exit 1 ;; esac',
    '# This member\'s name, and the first member\'s (the primary of a fresh set). Functions keep the caller\'s "$@".',
    '# shellcheck disable=SC2086 # $MEMBERS splits into the members on purpose',
    'count_members() { echo $#; }',
    'member_at() { i="$1"; shift; shift "$i"; echo "$1"; }',
    '# shellcheck disable=SC2086',
    '[ "$ordinal" -lt "$(count_members $MEMBERS)" ] || { echo "members: ordinal $ordinal beyond the members: $MEMBERS" >&2; exit 1; }',
    '# shellcheck disable=SC2086',
    'first="$(member_at 0 $MEMBERS)"',
    '# shellcheck disable=SC2086',
    'me="$(member_at "$ordinal" $MEMBERS)"',
    '',
    'current_primary() {',
    '  for member in $MEMBERS; do',
    '    answer=$(REDISCLI_AUTH="$REDIS_ADMIN_PASSWORD" timeout 3 redis-cli --no-auth-warning --raw -h "$member" -p "$SENTINEL_PORT" \\',
    '      sentinel get-master-addr-by-name "$MASTER_NAME" 2>/dev/null | head -n 1) || answer=""',
    '    case "$answer" in',
    '      ""|*ERR*|*NOAUTH*|*WRONGPASS*|*"Could not connect"*) ;;',
    '      *) echo "$answer"; return 0 ;;',
    '    esac',
    '  done',
    '}',
    '',
  ].join('\n');
}

/**
 * The Redis container's start: redis.conf copied to a writable place (Sentinel rewrites it on
 * failover), the replication settings appended, then the usual start script with that copy.
 */
export function renderRedisFailoverScript(o: {
  readonly confFile: string; readonly startScript: string; readonly runDir: string; readonly redisPort: number;
  readonly minReplicas: { readonly replicas: number; readonly maxLagSeconds: number };
}): string {
  return [
    '#!/bin/sh',
    '# shellcheck disable=SC2154 # first and me come from members.sh',
    '# Redis member: replica of the primary the Sentinels name, or the primary itself when they name this',
    '# member, or (no Sentinel answers: a fresh set) when this is member 0.',
    'set -eu',
    '# shellcheck source=/dev/null',
    `. ${HA_DIR}/members.sh`,
    'primary="$(current_primary)"',
    'if [ -z "$primary" ]; then primary="$first"; echo "redis: no Sentinel answered; $primary is the primary"; fi',
    `conf="${o.runDir}/redis.conf"`,
    'umask 077',
    `cp ${o.confFile} "$conf"`,
    '{',
    '  echo "replica-announce-ip $me"',
    '  echo "masteruser admin"',
    "  printf 'masterauth %s\\n' \"$REDIS_ADMIN_PASSWORD\"",
    `  echo "min-replicas-to-write ${o.minReplicas.replicas}"`,
    `  echo "min-replicas-max-lag ${o.minReplicas.maxLagSeconds}"`,
    '  # A replica that lost its primary keeps answering reads; HAProxy only sends to the primary anyway.',
    '  echo "replica-serve-stale-data yes"',
    '  if [ "$primary" != "$me" ]; then echo "replicaof $primary $REDIS_PORT"; fi',
    '} >> "$conf"',
    'echo "redis: $me starts as $([ "$primary" = "$me" ] && echo primary || echo "replica of $primary")"',
    `REDIS_CONF="$conf" exec sh ${o.startScript} "$@"`,
    '',
  ].join('\n');
}

/** The Sentinel container's start: sentinel.conf written to its own emptyDir (Sentinel rewrites it), then redis-sentinel. */
export function renderSentinelScript(o: { readonly redisPort: number; readonly members: number; readonly dir: string }): string {
  const quorum = Math.floor(o.members / 2) + 1;
  return [
    '#!/bin/sh',
    '# shellcheck disable=SC2154 # first and me come from members.sh',
    '# Sentinel of one member: watches the primary the other Sentinels name (member 0 in a fresh set).',
    '# Its password is the admin user\'s; so is the one it uses towards Redis and the other Sentinels.',
    'set -eu',
    '# shellcheck source=/dev/null',
    `. ${HA_DIR}/members.sh`,
    'case "${REDIS_ADMIN_PASSWORD:-}" in "") echo "sentinel: REDIS_ADMIN_PASSWORD is empty; set it in the Secret" >&2; exit 1 ;; *[[:space:]]*) echo "sentinel: REDIS_ADMIN_PASSWORD contains whitespace" >&2; exit 1 ;; esac',
    'primary="$(current_primary)"',
    '[ -n "$primary" ] || primary="$first"',
    `conf="\${SENTINEL_CONF:-${o.dir}/sentinel.conf}"`,
    'umask 077',
    '{',
    `  echo "port $SENTINEL_PORT"`,
    '  echo "bind * -::*"',
    '  echo "protected-mode no"',
    `  echo "dir ${o.dir}"`,
    "  echo 'logfile \"\"'",
    "  echo 'pidfile \"\"'",
    "  printf 'requirepass %s\\n' \"$REDIS_ADMIN_PASSWORD\"",
    "  printf 'sentinel sentinel-pass %s\\n' \"$REDIS_ADMIN_PASSWORD\"",
    '  echo "sentinel resolve-hostnames yes"',
    '  echo "sentinel announce-hostnames yes"',
    '  echo "sentinel announce-ip $me"',
    `  echo "sentinel monitor $MASTER_NAME $primary $REDIS_PORT ${quorum}"`,
    '  echo "sentinel auth-user $MASTER_NAME admin"',
    "  printf 'sentinel auth-pass %s %s\\n' \"$MASTER_NAME\" \"$REDIS_ADMIN_PASSWORD\"",
    `  echo "sentinel down-after-milliseconds $MASTER_NAME ${FAILOVER.downAfterMs}"`,
    `  echo "sentinel failover-timeout $MASTER_NAME ${FAILOVER.failoverTimeoutMs}"`,
    '  echo "sentinel parallel-syncs $MASTER_NAME 1"',
    '} > "$conf"',
    'echo "sentinel: $me watches $primary"',
    'exec redis-sentinel "$conf"',
    '',
  ].join('\n');
}

/**
 * haproxy.cfg: one frontend on the Redis port, one backend whose members pass the check only while
 * INFO replication says `role:master` (as the exporter user, whose password comes from the env).
 * When the primary fails its check, its client connections are cut so that clients reconnect to the next one.
 */
export function renderHaproxyConfig(o: { readonly hosts: readonly string[]; readonly redisPort: number; readonly port: number; readonly healthPort: number }): string {
  return [
    '# Rendered from lib/constructs/redis-sentinel.ts: every client goes to the member that says role:master.',
    'global',
    '  maxconn 4096',
    '',
    'defaults',
    '  mode tcp',
    '  timeout connect 3s',
    '  # Queue workers hold idle connections in blocking reads (BRPOP, XREAD BLOCK).',
    '  timeout client 1h',
    '  timeout server 1h',
    '  timeout check 2s',
    '',
    'resolvers cluster',
    '  parse-resolv-conf',
    '  hold valid 5s',
    '  hold nx 5s',
    '',
    'frontend redis',
    `  bind :${o.port}`,
    '  default_backend redis_primary',
    '',
    'backend redis_primary',
    '  option tcp-check',
    '  tcp-check connect',
    '  tcp-check send "AUTH exporter ${REDIS_EXPORTER_PASSWORD}\\r\\n"',
    '  tcp-check expect string +OK',
    '  tcp-check send "INFO replication\\r\\n"',
    '  tcp-check expect string role:master',
    '  tcp-check send "QUIT\\r\\n"',
    '  tcp-check expect string +OK',
    `  default-server check inter ${FAILOVER.checkIntervalMs}ms fall ${FAILOVER.fall} rise ${FAILOVER.rise} on-marked-down shutdown-sessions resolvers cluster init-addr last,libc,none`,
    ...o.hosts.map((h, i) => `  server member${i} ${h}:${o.redisPort}`),
    '',
    'frontend health',
    '  mode http',
    `  bind :${o.healthPort}`,
    '  timeout client 10s',
    '  # Alive: HAProxy answers. Ready: exactly one member passes the role:master check. At start every member',
    `  # counts as up until ${FAILOVER.fall} checks failed, and during a failover none or (briefly) two may: the`,
    '  # Service then leaves this proxy out rather than send writes to a replica or to two primaries.',
    '  http-request return status 200 content-type text/plain string "ok" if { path /healthz }',
    '  http-request return status 200 content-type text/plain string "ready" if { path /ready } { nbsrv(redis_primary) eq 1 }',
    '  http-request return status 503 content-type text/plain string "no single primary" if { path /ready }',
    '  http-request use-service prometheus-exporter if { path /metrics }',
    '',
  ].join('\n');
}
