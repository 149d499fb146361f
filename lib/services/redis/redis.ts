import { Construct } from 'constructs';
import { ServiceMonitor } from '../../../imports/monitoring.coreos.com';
import { Resources } from '../../config/fields';
import { parseQuantity } from '../../config/quantity';
import { ALERT_ACTIONS, AlertThresholds } from '../../config/alerts';
import { IntOrString, KubeConfigMap, KubeService, KubeStatefulSet, Quantity } from '../../k8s';
import { componentLabels, selectorLabels } from '../../labels';
import { restrictedContainerSecurity, restrictedPodSecurity } from '../../constructs/pod-security';
import { dataVolumeClaim, governingService } from '../../constructs/storage';
import { containerResources } from '../../constructs/resources';
import { REDIS_SECRET_KEYS, redisPasswordEnv, renderRedisConf, renderRedisStartScript } from './redis-conf';
import { AppBinding, AppRef, DeclaredSecret, endpointEnv, IDataService, secretEnv, ServicePort } from '../../constructs/data-service';
import { AlertGroup, configKey, pair } from '../../constructs/monitoring/alert-rules';
import { DashboardKit, DashboardRow } from '../../constructs/monitoring/dashboards';
import { ProbeTarget } from '../../constructs/monitoring/probes';
import { AllowFlows, namespacePeer, tcp } from '../../constructs/network-policy';
import { RedisSentinel, RedisSentinelProps } from './redis-sentinel';

export interface RedisProps {
  /** Namespace of Redis, its Service and its policies. */
  readonly namespace: string;
  /** Namespace of Prometheus, which scrapes the exporter. */
  readonly monitoringNamespace: string;
  readonly image: string;
  readonly exporterImage: string;
  readonly storageSize: string;
  readonly storageClass: string;
  readonly resources: Resources;
  readonly exporterResources: Resources;
  readonly maxmemory: string;
  readonly maxmemoryPolicy: string;
  readonly appendfsync: string;
  readonly save: readonly { readonly seconds: number; readonly changes: number }[];
  /**
   * Object names (StatefulSet, Service, ConfigMap, PVC prefix); stable, the PVC depends on it.
   * @default 'redis'
   */
  readonly name?: string;
  /**
   * Secret with the keys app-password, exporter-password and admin-password, created out of band.
   * @default 'redis-auth'
   */
  readonly secretName?: string;
  /**
   * A primary and replicas with Sentinel, HAProxy in front (lib/services/redis/redis-sentinel.ts); the Service
   * apps use then selects HAProxy, which routes to the primary.
   * @default one server
   */
  readonly replication?: RedisReplication;
}

/** What a failover set needs beyond one server. */
export type RedisReplication = Pick<RedisSentinelProps, 'members' | 'nodes' | 'haproxyImage' | 'sentinelResources' | 'haproxyResources' | 'minReplicasToWrite' | 'proxies'>;

const UID = 999; // the redis user of the official image
const PORT = 6379;
const METRICS_PORT = 9121;
const CONF_DIR = '/etc/redis';
const SCRIPT_DIR = '/opt/redis';
const DATA_DIR = '/data';
const ACL_FILE = '/run/redis/users.acl';

/**
 * One Redis server with AOF and RDB persistence on a PVC, ACL users from a Secret (the
 * default user is off), redis_exporter as a sidecar with a ServiceMonitor, and a
 * NetworkPolicy that admits Prometheus and the clients bound with `bindApp` (or connected to `endpoint`).
 */
export class Redis extends Construct implements IDataService {
  public readonly name: string;
  public readonly namespace: string;
  /** In-cluster DNS name of the Service. */
  public readonly host: string;
  public readonly port = PORT;
  /** Secret that holds the passwords; apps read `secretKey` as user `username`. */
  public readonly secretName: string;
  public readonly secretKey = REDIS_SECRET_KEYS.app;
  public readonly username = 'app';
  public readonly serviceName: string;
  public readonly metricsPortName = 'metrics';
  /** Labels that select the Redis pod (NetworkPolicies, probes). */
  public readonly podLabels: Record<string, string>;
  /** The Redis port, for connect(). */
  public readonly endpoint: ServicePort;
  /** Sentinel and HAProxy, when `replication` is set. */
  public readonly sentinel?: RedisSentinel;

  constructor(scope: Construct, id: string, props: RedisProps) {
    super(scope, id);
    const name = props.name ?? 'redis';
    const ns = props.namespace;
    this.name = name;
    this.namespace = ns;
    if (parseQuantity(props.maxmemory) >= parseQuantity(props.resources.limits.memory)) {
      throw new Error(`Redis maxmemory ${props.maxmemory} must be below the memory limit ${props.resources.limits.memory}`);
    }
    this.secretName = props.secretName ?? 'redis-auth';
    this.serviceName = name;
    this.host = `${name}.${ns}.svc.cluster.local`;
    const labels = componentLabels(name, 'cache');
    const selector = selectorLabels(name);
    this.podLabels = selector;

    const config = new KubeConfigMap(this, 'Config', {
      metadata: { name: `${name}-config`, namespace: ns, labels },
      data: {
        'redis.conf': renderRedisConf({ ...props, port: PORT, dataDir: DATA_DIR, aclFile: ACL_FILE }),
        'start.sh': renderRedisStartScript({ confFile: `${CONF_DIR}/redis.conf`, aclFile: ACL_FILE }),
      },
    });

    const secretEnv = (env: string, key: string) => ({ name: env, valueFrom: { secretKeyRef: { name: this.secretName, key } } });
    // Probes authenticate as the exporter user: REDISCLI_AUTH keeps the password off the command line.
    const ping = { exec: { command: ['sh', '-c', `[ "$(redis-cli --no-auth-warning --user exporter -p ${PORT} ping)" = PONG ]`] } };

    const serviceName = governingService(this, { name, namespace: ns, labels, ports: [{ name: 'redis', port: PORT }] });
    const statefulSet = new KubeStatefulSet(this, 'StatefulSet', {
      metadata: { name, namespace: ns, labels },
      spec: {
        serviceName,
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels, annotations: { 'kubectl.kubernetes.io/default-container': 'redis' } },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurity(UID),
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                name: 'redis',
                image: props.image,
                command: ['sh', `${SCRIPT_DIR}/start.sh`],
                ports: [{ name: 'redis', containerPort: PORT }],
                env: [
                  ...(['app', 'exporter', 'admin'] as const).map((u) => secretEnv(redisPasswordEnv(u), REDIS_SECRET_KEYS[u])),
                  secretEnv('REDISCLI_AUTH', REDIS_SECRET_KEYS.exporter),
                ],
                resources: containerResources(props.resources),
                securityContext: restrictedContainerSecurity(),
                startupProbe: { ...ping, periodSeconds: 5, failureThreshold: 60, timeoutSeconds: 3 }, // AOF replay may take a while
                livenessProbe: { ...ping, periodSeconds: 10, failureThreshold: 6, timeoutSeconds: 3 },
                readinessProbe: { ...ping, periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 3 },
                volumeMounts: [
                  { name: 'data', mountPath: DATA_DIR },
                  { name: 'config', mountPath: `${CONF_DIR}/redis.conf`, subPath: 'redis.conf', readOnly: true },
                  { name: 'config', mountPath: `${SCRIPT_DIR}/start.sh`, subPath: 'start.sh', readOnly: true },
                  { name: 'run', mountPath: '/run/redis' },
                ],
              },
              {
                name: 'exporter',
                image: props.exporterImage,
                ports: [{ name: 'metrics', containerPort: METRICS_PORT }],
                env: [
                  { name: 'REDIS_ADDR', value: `redis://localhost:${PORT}` },
                  { name: 'REDIS_USER', value: 'exporter' },
                  secretEnv('REDIS_PASSWORD', REDIS_SECRET_KEYS.exporter),
                ],
                resources: containerResources(props.exporterResources),
                securityContext: restrictedContainerSecurity(),
                livenessProbe: { httpGet: { path: '/health', port: IntOrString.fromString('metrics') }, periodSeconds: 30 },
                readinessProbe: { httpGet: { path: '/health', port: IntOrString.fromString('metrics') }, periodSeconds: 10 },
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: config.name } },
              { name: 'run', emptyDir: { medium: 'Memory', sizeLimit: Quantity.fromString('1Mi') } },
            ],
          },
        },
        volumeClaimTemplates: [dataVolumeClaim(labels, props.storageClass, props.storageSize)],
      },
    });

    const policy = new AllowFlows(this, 'NetworkPolicy', {
      name,
      namespace: ns,
      podLabels: selector,
      labels,
      // The exporter is a sidecar (localhost); Prometheus reaches only its port. Clients are connected.
      ingress: [{ peers: [namespacePeer(props.monitoringNamespace)], ports: tcp(METRICS_PORT) }],
    });
    if (props.replication) {
      this.sentinel = new RedisSentinel(this, 'Sentinel', {
        ...props.replication, namespace: ns, monitoringNamespace: props.monitoringNamespace, statefulSet, name, governingServiceName: serviceName,
        podLabels: selector, policy, secretName: this.secretName, redisPort: PORT, image: props.image,
        confFile: `${CONF_DIR}/redis.conf`, startScript: `${SCRIPT_DIR}/start.sh`, runDir: '/run/redis',
      });
    }

    new KubeService(this, 'Service', {
      metadata: { name, namespace: ns, labels },
      spec: {
        // With Sentinel, HAProxy (which routes to the primary) answers both ports: its metrics are on `metrics`.
        selector: this.sentinel?.proxyLabels ?? selector,
        ports: [
          { name: 'redis', port: PORT, targetPort: IntOrString.fromString('redis') },
          { name: this.metricsPortName, port: METRICS_PORT, targetPort: IntOrString.fromString('metrics') },
        ],
      },
    });

    new ServiceMonitor(this, 'ServiceMonitor', {
      metadata: { name, namespace: ns, labels },
      spec: {
        selector: { matchLabels: selector },
        endpoints: [{ port: this.metricsPortName, interval: '30s' }],
      },
    });

    this.endpoint = this.sentinel ? { policy: this.sentinel.proxyPolicy, port: PORT } : { policy, port: PORT };
  }

  /** REDIS_URL as user `username`, the password from the Secret, and the flow to the Redis port. */
  public bindApp(app: AppRef): AppBinding {
    const secret = { name: this.secretName, key: this.secretKey };
    return {
      secretEnv: [secretEnv('REDIS_PASSWORD', secret)],
      env: [endpointEnv('REDIS_URL', `redis://${this.username}:$(REDIS_PASSWORD)@${this.host}:${this.port}/0`, this.endpoint)],
      connectTo: [],
      secrets: [{ namespace: app.namespace, ...secret }],
    };
  }

  public get probeTargets(): ProbeTarget[] {
    const podLabels = this.sentinel?.proxyLabels ?? this.podLabels;
    return [{ name: this.name, group: 'data', kind: 'tcp', target: `${this.host}:${this.port}`, backend: { namespace: this.namespace, podLabels, port: this.port } }];
  }

  public get declaredSecrets(): DeclaredSecret[] {
    return Object.values(REDIS_SECRET_KEYS).map((key) => ({ namespace: this.namespace, name: this.secretName, key }));
  }

  public alertRules(t: AlertThresholds): AlertGroup[] {
    const ns = this.namespace;
    return [{
      area: 'redis',
      rules: pair('RedisMemoryNearLimit', (level) => ({
        expr:
          `100 * max by (namespace, pod) (redis_memory_used_bytes{namespace="${ns}"}) / max by (namespace, pod) (redis_memory_max_bytes{namespace="${ns}"} > 0) > ${t.redisMemory[level]}`,
        for: t.redisMemory.for,
        summary: `Redis {{ $labels.pod }} uses more than ${t.redisMemory[level]} % of maxmemory`,
        description: `Used memory {{ $value | printf "%.1f" }} % of maxmemory for ${t.redisMemory.for}; beyond it keys are evicted. ${configKey('redisMemory')} (warning ${t.redisMemory.warning} %, critical ${t.redisMemory.critical} %).`,
        action: ALERT_ACTIONS.redisMemory,
      })),
    }];
  }

  public dashboardRows({ graph, rate, thresholds }: DashboardKit): DashboardRow[] {
    const sel = `namespace="${this.namespace}"`;
    return [{
      title: 'Redis',
      panels: [
        graph('Memory (% of maxmemory)', 'percent', [[
          `100 * max by (pod) (redis_memory_used_bytes{${sel}}) / max by (pod) (redis_memory_max_bytes{${sel}} > 0)`, '{{pod}}',
        ]], thresholds.redisMemory),
        graph('Connected clients', 'short', [[`sum by (pod) (redis_connected_clients{${sel}})`, '{{pod}}']]),
        graph('Commands and evictions per second', 'ops', [
          [`sum by (pod) (rate(redis_commands_processed_total{${sel}}${rate}))`, 'commands {{pod}}'],
          [`sum by (pod) (rate(redis_evicted_keys_total{${sel}}${rate}))`, 'evictions {{pod}}'],
        ]),
      ],
    }];
  }
}
