import { Construct } from 'constructs';
import { PlatformConfig } from '../../config/schema';
import {
  Affinity, EnvVar, IntOrString, KubeConfigMap, KubePodDisruptionBudget, KubeService, KubeStatefulSet, Probe, Quantity, Volume, VolumeMount,
} from '../../k8s';
import { componentLabels } from '../../labels';
import { restrictedContainerSecurity, restrictedPodSecurity } from '../pod-security';
import { containerResources } from '../resources';
import { dataVolumeClaim } from '../storage';
import { initScript, initSql, PATHS, ServiceDatabase, serviceDatabases, pgbouncerAuthSql, pgHbaConf, postgresqlConf, replicaBootstrapScript, ROLES, restartSettingLines } from './config-files';
import { restartFingerprint } from '../../gitops/rollout-checksums';
import type { IPostgresExtension } from './pitr';

/** A Secret reference: the Secret is created out of band or sealed; never a literal here. */
export interface SecretKeyRef {
  readonly name: string;
  readonly key: string;
}

export interface PostgresClusterProps {
  readonly config: PlatformConfig;
  /** Namespace of the data services. */
  readonly namespace: string;
  /** The postgres image (major must match config.postgres.major; checked at config load). */
  readonly image: string;
  /** postgres_exporter image, run as a sidecar of every Postgres pod. */
  readonly exporterImage: string;
  /** Additions to every Postgres pod (settings, env, volumes, sidecars), e.g. point-in-time recovery. @default none */
  readonly extensions?: readonly IPostgresExtension[];
}

const UID = 999; // the postgres user of the official image
const SECRET_KEY = 'password';

/**
 * A PostgreSQL primary and N streaming replicas. Two StatefulSets with fixed names
 * (`postgres-primary`, `postgres-replica`) so the read-write Service selects only the primary;
 * replicas clone it with pg_basebackup into their own replication slot.
 */
export class PostgresCluster extends Construct {
  /** Read-write Service host (the primary). Apps use it only for migrations (DIRECT_URL). */
  public readonly primaryHost: string;
  /** Read-only Service host (replicas); undefined when the environment runs no replica. */
  public readonly readOnlyHost?: string;
  public readonly port = 5432;
  public readonly database: string;
  public readonly appUser: string;
  /** Secrets the platform expects, by role. */
  public readonly secrets: Readonly<Record<'superuser' | 'app' | 'replication' | 'pgbouncerAuth' | 'metrics' | 'backup', SecretKeyRef>>;
  /** Databases of platform services (GlitchTip), each with its owner role and password Secret. */
  public readonly serviceDatabases: readonly ServiceDatabase[];
  /** Labels that select every Postgres pod (primary and replicas). */
  public readonly podLabels: Record<string, string>;
  public readonly primaryPodLabels: Record<string, string>;
  public readonly metricsPort = 9187;
  public readonly metricsServiceName = 'postgres-metrics';

  constructor(scope: Construct, id: string, props: PostgresClusterProps) {
    super(scope, id);
    const { config, namespace } = props;
    const svc = (name: string) => `${name}.${namespace}.svc.cluster.local`;
    this.database = config.postgres.database;
    this.appUser = config.postgres.appUser;
    this.primaryHost = svc('postgres-rw');
    this.readOnlyHost = config.postgres.replicas > 0 ? svc('postgres-ro') : undefined;
    this.secrets = {
      superuser: { name: 'postgres-superuser', key: SECRET_KEY },
      app: { name: 'postgres-app', key: SECRET_KEY },
      replication: { name: 'postgres-replication', key: SECRET_KEY },
      pgbouncerAuth: { name: 'pgbouncer-auth', key: SECRET_KEY },
      metrics: { name: 'postgres-metrics', key: SECRET_KEY },
      backup: { name: 'postgres-backup', key: SECRET_KEY },
    };
    this.serviceDatabases = serviceDatabases(config);
    this.podLabels = { 'app.kubernetes.io/name': 'postgres' };
    this.primaryPodLabels = { ...this.podLabels, 'app.kubernetes.io/component': 'primary' };
    const replicaPodLabels = { ...this.podLabels, 'app.kubernetes.io/component': 'replica' };

    // Extensions see the pod's mounts and add settings, env, volumes and sidecars (bindPod).
    const baseMounts: VolumeMount[] = [
      { name: 'data', mountPath: '/var/lib/postgresql/data' },
      { name: 'run', mountPath: PATHS.socketDir },
    ];
    const added = (props.extensions ?? []).map((e) => e.bindPod({ mounts: baseMounts, port: this.port, podLabels: this.podLabels, superuserSecret: this.secrets.superuser }));
    const conf = postgresqlConf(config, { port: this.port }) + added.flatMap((a) => a.parameters.map(([k, v]) => `${k} = ${v}\n`)).join('');
    const configMap = new KubeConfigMap(this, 'Config', {
      metadata: { name: 'postgres-config', namespace, labels: componentLabels('postgres', 'config') },
      data: { 'postgresql.conf': conf, 'pg_hba.conf': pgHbaConf(config) },
    });
    // Restart vs reload: only settings read at server start roll the pods; the rest (work_mem,
    // effective_cache_size, logging, pg_hba.conf, ...) apply on pg_reload_conf() without a restart.
    restartFingerprint(configMap, restartSettingLines(conf));
    const scripts = new KubeConfigMap(this, 'Scripts', {
      metadata: { name: 'postgres-scripts', namespace, labels: componentLabels('postgres', 'config') },
      data: {
        '10-init.sh': initScript(config),
        'init.sql': initSql(config),
        'pgbouncer-auth.sql': pgbouncerAuthSql(),
        'bootstrap-replica.sh': replicaBootstrapScript({ primaryPort: this.port }),
      },
    });
    // Init scripts run once, on an empty volume: a change never needs a restart of a running server.
    restartFingerprint(scripts, 'read at initialization only');

    const env = (name: string, ref: SecretKeyRef): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } });
    const pgIsReady: Probe['exec'] = { command: ['pg_isready', '-q', '-h', '127.0.0.1', '-p', String(this.port)] };
    const configVolumes: Volume[] = [
      { name: 'config', configMap: { name: 'postgres-config' } },
      { name: 'scripts', configMap: { name: 'postgres-scripts', defaultMode: 0o555 } },
      { name: 'run', emptyDir: {} },
      { name: 'tmp', emptyDir: {} },
      // Postgres uses POSIX shared memory for parallel queries; the container default is 64 MiB.
      { name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: Quantity.fromString('256Mi') } },
      ...added.flatMap((a) => a.volumes),
    ];
    const mounts: VolumeMount[] = [
      { name: 'data', mountPath: '/var/lib/postgresql/data' },
      { name: 'config', mountPath: PATHS.configDir, readOnly: true },
      { name: 'run', mountPath: PATHS.socketDir },
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'shm', mountPath: '/dev/shm' },
      ...added.flatMap((a) => a.mounts),
    ];
    const extensionEnv = added.flatMap((a) => a.env);
    const sidecars = added.flatMap((a) => a.sidecars);
    const postgresArgs = ['postgres', '-c', `config_file=${PATHS.configDir}/postgresql.conf`];
    const exporter = {
      name: 'exporter',
      image: props.exporterImage,
      ports: [{ name: 'metrics', containerPort: this.metricsPort }],
      env: [
        { name: 'DATA_SOURCE_URI', value: `127.0.0.1:${this.port}/postgres?sslmode=disable` },
        { name: 'DATA_SOURCE_USER', value: ROLES.metrics },
        env('DATA_SOURCE_PASS', this.secrets.metrics),
      ],
      resources: { requests: { cpu: Quantity.fromString('10m'), memory: Quantity.fromString('32Mi') }, limits: { memory: Quantity.fromString('64Mi') } },
      securityContext: { ...restrictedContainerSecurity(), runAsUser: 65534, runAsGroup: 65534 },
      readinessProbe: { httpGet: { path: '/metrics', port: IntOrString.fromString('metrics') }, periodSeconds: 30, timeoutSeconds: 5 },
    };
    const probes = {
      startupProbe: { exec: pgIsReady, periodSeconds: 5, failureThreshold: 120 },
      readinessProbe: { exec: pgIsReady, periodSeconds: 10, timeoutSeconds: 5 },
      livenessProbe: { exec: pgIsReady, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 6 },
    };
    const podCount = 1 + config.postgres.replicas;
    const affinity = antiAffinity(this.podLabels, podCount <= config.node.count && config.node.count > 1);
    const volumeClaimTemplates = [
      dataVolumeClaim(componentLabels('postgres', 'data'), config.postgres.storage.storageClass ?? config.storageClass, config.postgres.storage.size),
    ];

    new KubeService(this, 'PrimaryHeadless', {
      metadata: { name: 'postgres-primary', namespace, labels: componentLabels('postgres', 'primary') },
      spec: { clusterIp: 'None', selector: this.primaryPodLabels, ports: [{ name: 'postgres', port: this.port, targetPort: IntOrString.fromString('postgres') }] },
    });
    new KubeService(this, 'ReadWrite', {
      metadata: { name: 'postgres-rw', namespace, labels: componentLabels('postgres', 'primary') },
      spec: { selector: this.primaryPodLabels, ports: [{ name: 'postgres', port: this.port, targetPort: IntOrString.fromString('postgres') }] },
    });
    new KubeService(this, 'Metrics', {
      metadata: { name: this.metricsServiceName, namespace, labels: componentLabels('postgres', 'metrics') },
      spec: { selector: this.podLabels, ports: [{ name: 'metrics', port: this.metricsPort, targetPort: IntOrString.fromString('metrics') }] },
    });

    // Primary and replicas run the same way: restricted, no API token, time to checkpoint on stop.
    const podBasics = {
      securityContext: restrictedPodSecurity(UID),
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 60,
      affinity,
    };

    new KubeStatefulSet(this, 'Primary', {
      metadata: { name: 'postgres-primary', namespace, labels: componentLabels('postgres', 'primary') },
      spec: {
        serviceName: 'postgres-primary',
        replicas: 1,
        selector: { matchLabels: this.primaryPodLabels },
        volumeClaimTemplates,
        template: {
          metadata: { labels: { ...componentLabels('postgres', 'primary'), ...this.primaryPodLabels } },
          spec: {
            ...podBasics,
            volumes: [
              ...configVolumes,
              { name: 'initdb', configMap: { name: 'postgres-scripts', defaultMode: 0o555, items: [{ key: '10-init.sh', path: '10-init.sh' }] } },
            ],
            containers: [
              {
                name: 'postgres',
                image: props.image,
                args: postgresArgs,
                ports: [{ name: 'postgres', containerPort: this.port }],
                env: [
                  { name: 'PGDATA', value: PATHS.pgdata },
                  { name: 'POSTGRES_USER', value: ROLES.superuser },
                  env('POSTGRES_PASSWORD', this.secrets.superuser),
                  env('APP_PASSWORD', this.secrets.app),
                  env('REPLICATION_PASSWORD', this.secrets.replication),
                  env('PGBOUNCER_AUTH_PASSWORD', this.secrets.pgbouncerAuth),
                  env('METRICS_PASSWORD', this.secrets.metrics),
                  env('BACKUP_PASSWORD', this.secrets.backup),
                  ...this.serviceDatabases.map((d) => env(d.env, { name: d.secret, key: SECRET_KEY })),
                  ...extensionEnv,
                ],
                volumeMounts: [
                  ...mounts,
                  { name: 'initdb', mountPath: '/docker-entrypoint-initdb.d', readOnly: true },
                  { name: 'scripts', mountPath: PATHS.scriptsDir, readOnly: true },
                ],
                resources: containerResources(config.postgres.resources),
                securityContext: restrictedContainerSecurity(),
                ...probes,
              },
              exporter,
              ...sidecars,
            ],
          },
        },
      },
    });

    if (config.postgres.replicas > 0) {
      new KubeService(this, 'ReplicaHeadless', {
        metadata: { name: 'postgres-replica', namespace, labels: componentLabels('postgres', 'replica') },
        spec: { clusterIp: 'None', selector: replicaPodLabels, ports: [{ name: 'postgres', port: this.port, targetPort: IntOrString.fromString('postgres') }] },
      });
      new KubeService(this, 'ReadOnly', {
        metadata: { name: 'postgres-ro', namespace, labels: componentLabels('postgres', 'replica') },
        spec: { selector: replicaPodLabels, ports: [{ name: 'postgres', port: this.port, targetPort: IntOrString.fromString('postgres') }] },
      });
      const replicationEnv: EnvVar[] = [
        { name: 'PGDATA', value: PATHS.pgdata },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'PRIMARY_HOST', value: this.primaryHost },
        { name: 'REPLICATION_USER', value: ROLES.replication },
        env('REPLICATION_PASSWORD', this.secrets.replication),
      ];
      new KubeStatefulSet(this, 'Replica', {
        metadata: { name: 'postgres-replica', namespace, labels: componentLabels('postgres', 'replica') },
        spec: {
          serviceName: 'postgres-replica',
          replicas: config.postgres.replicas,
          podManagementPolicy: 'Parallel',
          selector: { matchLabels: replicaPodLabels },
          volumeClaimTemplates,
          template: {
            metadata: { labels: { ...componentLabels('postgres', 'replica'), ...replicaPodLabels } },
            spec: {
              ...podBasics,
              volumes: configVolumes,
              initContainers: [
                {
                  name: 'bootstrap',
                  image: props.image,
                  command: [`${PATHS.scriptsDir}/bootstrap-replica.sh`],
                  env: replicationEnv,
                  volumeMounts: [...mounts, { name: 'scripts', mountPath: PATHS.scriptsDir, readOnly: true }],
                  resources: containerResources(config.postgres.resources),
                  securityContext: restrictedContainerSecurity(),
                },
              ],
              containers: [
                {
                  name: 'postgres',
                  image: props.image,
                  args: postgresArgs,
                  ports: [{ name: 'postgres', containerPort: this.port }],
                  env: [{ name: 'PGDATA', value: PATHS.pgdata }, ...extensionEnv],
                  volumeMounts: mounts,
                  resources: containerResources(config.postgres.resources),
                  securityContext: restrictedContainerSecurity(),
                  ...probes,
                },
                exporter,
                ...sidecars,
              ],
            },
          },
        },
      });
    }

    if (podCount > 1) {
      // At most one database pod down at a time during voluntary disruptions (drains, upgrades).
      new KubePodDisruptionBudget(this, 'Budget', {
        metadata: { name: 'postgres', namespace, labels: componentLabels('postgres', 'database') },
        spec: { maxUnavailable: IntOrString.fromNumber(1), selector: { matchLabels: this.podLabels } },
      });
    }
  }
}

/** Spread pods of one kind across nodes: required when there are enough nodes, preferred otherwise. */
export function antiAffinity(labels: Record<string, string>, required: boolean): Affinity {
  const term = { labelSelector: { matchLabels: labels }, topologyKey: 'kubernetes.io/hostname' };
  return {
    podAntiAffinity: required
      ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
      : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] },
  };
}
