import { Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { PostgresSettings } from './config';
import { IntOrString, KubeConfigMap, KubeDeployment, KubePodDisruptionBudget, KubeService, Quantity } from '../../k8s';
import { componentLabels } from '../../labels';
import { restrictedContainerSecurity, restrictedPodSecurity } from '../../constructs/pod-security';
import { containerResources } from '../../constructs/resources';
import { PATHS, pgbouncerHbaConf, pgbouncerIni, pgbouncerStartScript, ROLES } from './config-files';
import { antiAffinity, PostgresCluster, SecretKeyRef } from './postgres-cluster';

export interface PgBouncerProps {
  readonly config: PostgresSettings;
  readonly namespace: string;
  /** The cluster whose primary PgBouncer pools connections to. */
  readonly cluster: PostgresCluster;
  readonly image: string;
  readonly exporterImage: string;
}

/**
 * PgBouncer in transaction mode: many app connections onto few server connections, with
 * scram-sha-256 through auth_query so that no app password is copied into the pooler.
 */
export class PgBouncer extends Construct {
  /** Service host apps connect to (DATABASE_URL). */
  public readonly host: string;
  public readonly port = 6432;
  public readonly database: string;
  /** The app role's password Secret (the same role authenticates through the pooler). */
  public readonly appSecret: SecretKeyRef;
  public readonly podLabels = { 'app.kubernetes.io/name': 'pgbouncer' };
  public readonly metricsPort = 9127;
  public readonly serviceName = 'pgbouncer';

  constructor(scope: Construct, id: string, props: PgBouncerProps) {
    super(scope, id);
    const { config, namespace, cluster } = props;
    this.host = `${this.serviceName}.${namespace}.svc.cluster.local`;
    this.database = cluster.database;
    this.appSecret = cluster.secrets.app;
    const auth = cluster.secrets.pgbouncerAuth;

    new KubeConfigMap(this, 'Config', {
      metadata: { name: 'pgbouncer-config', namespace, labels: componentLabels('pgbouncer', 'config') },
      // Rendered at synth time: the service databases are added after this construct (Postgres.addDatabase).
      data: {
        'pgbouncer.ini': Lazy.any({ produce: () => pgbouncerIni(config, { primaryHost: cluster.primaryHost, primaryPort: cluster.port, listenPort: this.port, databases: cluster.serviceDatabases }) }),
        'start.sh': pgbouncerStartScript(),
        'pgbouncer_hba.conf': Lazy.any({ produce: () => pgbouncerHbaConf(config, cluster.serviceDatabases) }),
      },
    });

    new KubeService(this, 'Service', {
      metadata: { name: this.serviceName, namespace, labels: componentLabels('pgbouncer', 'pooler') },
      spec: {
        selector: this.podLabels,
        ports: [
          { name: 'pgbouncer', port: this.port, targetPort: IntOrString.fromString('pgbouncer') },
          { name: 'metrics', port: this.metricsPort, targetPort: IntOrString.fromString('metrics') },
        ],
      },
    });

    const tcpProbe = { tcpSocket: { port: IntOrString.fromString('pgbouncer') } };
    new KubeDeployment(this, 'Deployment', {
      metadata: { name: 'pgbouncer', namespace, labels: componentLabels('pgbouncer', 'pooler') },
      spec: {
        replicas: config.pgbouncer.replicas,
        selector: { matchLabels: this.podLabels },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: IntOrString.fromNumber(0), maxSurge: IntOrString.fromNumber(1) } },
        template: {
          metadata: { labels: { ...componentLabels('pgbouncer', 'pooler'), ...this.podLabels } },
          spec: {
            securityContext: restrictedPodSecurity(65532),
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 30,
            affinity: antiAffinity(this.podLabels, false),
            volumes: [
              { name: 'config', configMap: { name: 'pgbouncer-config', defaultMode: 0o555 } },
              { name: 'run', emptyDir: { medium: 'Memory', sizeLimit: Quantity.fromString('8Mi') } },
            ],
            containers: [
              {
                name: 'pgbouncer',
                image: props.image,
                command: ['/bin/sh', `${PATHS.pgbouncerConfigDir}/start.sh`],
                ports: [{ name: 'pgbouncer', containerPort: this.port }],
                env: [{ name: 'PGBOUNCER_AUTH_PASSWORD', valueFrom: { secretKeyRef: { name: auth.name, key: auth.key } } }],
                volumeMounts: [
                  { name: 'config', mountPath: PATHS.pgbouncerConfigDir, readOnly: true },
                  { name: 'run', mountPath: PATHS.pgbouncerRunDir },
                ],
                resources: containerResources(config.pgbouncer.resources),
                securityContext: restrictedContainerSecurity(),
                readinessProbe: { ...tcpProbe, periodSeconds: 5 },
                livenessProbe: { ...tcpProbe, periodSeconds: 20, failureThreshold: 3 },
                // Let clients finish their transactions: stop accepting, then drain (SIGINT = safe shutdown).
                lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', 'sleep 5'] } } },
              },
              {
                name: 'exporter',
                image: props.exporterImage,
                args: [`--pgBouncer.connectionString=postgres://$(PGBOUNCER_USER):$(PGBOUNCER_PASSWORD)@127.0.0.1:${this.port}/pgbouncer?sslmode=disable`],
                env: [
                  { name: 'PGBOUNCER_USER', value: ROLES.pgbouncerAuth },
                  { name: 'PGBOUNCER_PASSWORD', valueFrom: { secretKeyRef: { name: auth.name, key: auth.key } } },
                ],
                ports: [{ name: 'metrics', containerPort: this.metricsPort }],
                resources: { requests: { cpu: Quantity.fromString('10m'), memory: Quantity.fromString('16Mi') }, limits: { memory: Quantity.fromString('32Mi') } },
                securityContext: restrictedContainerSecurity(),
                readinessProbe: { httpGet: { path: '/metrics', port: IntOrString.fromString('metrics') }, periodSeconds: 30, timeoutSeconds: 5 },
              },
            ],
          },
        },
      },
    });

    if (config.pgbouncer.replicas > 1) {
      new KubePodDisruptionBudget(this, 'Budget', {
        metadata: { name: 'pgbouncer', namespace, labels: componentLabels('pgbouncer', 'pooler') },
        spec: { maxUnavailable: IntOrString.fromNumber(1), selector: { matchLabels: this.podLabels } },
      });
    }
  }
}
