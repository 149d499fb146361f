import { Construct } from 'constructs';
import { ServiceMonitor } from '../../imports/monitoring.coreos.com';
import { Resources } from '../config/fields';
import { parseQuantity } from '../config/quantity';
import { IntOrString, KubeConfigMap, KubeNetworkPolicy, KubeService, KubeStatefulSet, Quantity } from '../k8s';
import { componentLabels, selectorLabels } from '../labels';
import { restrictedContainerSecurity, restrictedPodSecurity } from './pod-security';
import { dataVolumeClaim } from './storage';
import { containerResources } from './resources';
import { REDIS_SECRET_KEYS, redisPasswordEnv, renderRedisConf, renderRedisStartScript } from './redis-conf';

export interface RedisProps {
  /** Namespace of Redis, its Service and its policies. */
  readonly namespace: string;
  /** Namespaces whose pods may connect (the apps). */
  readonly clientNamespaces: readonly string[];
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
}

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
 * NetworkPolicy that admits the app namespaces and Prometheus only.
 */
export class Redis extends Construct {
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

  constructor(scope: Construct, id: string, props: RedisProps) {
    super(scope, id);
    const name = props.name ?? 'redis';
    const ns = props.namespace;
    if (parseQuantity(props.maxmemory) >= parseQuantity(props.resources.limits.memory)) {
      throw new Error(`Redis maxmemory ${props.maxmemory} must be below the memory limit ${props.resources.limits.memory}`);
    }
    if (props.clientNamespaces.length === 0) throw new Error('Redis needs at least one client namespace');
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

    new KubeStatefulSet(this, 'StatefulSet', {
      metadata: { name, namespace: ns, labels },
      spec: {
        serviceName: name,
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

    new KubeService(this, 'Service', {
      metadata: { name, namespace: ns, labels },
      spec: {
        selector,
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

    const fromNamespace = (namespace: string) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } });
    new KubeNetworkPolicy(this, 'NetworkPolicy', {
      metadata: { name, namespace: ns, labels },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress'],
        ingress: [
          { from: props.clientNamespaces.map(fromNamespace), ports: [{ protocol: 'TCP', port: IntOrString.fromNumber(PORT) }] },
          // The exporter is a sidecar (localhost); Prometheus reaches only its port.
          { from: [fromNamespace(props.monitoringNamespace)], ports: [{ protocol: 'TCP', port: IntOrString.fromNumber(METRICS_PORT) }] },
        ],
      },
    });
  }
}
