import { JsonPatch, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { PostgresSettings } from './config';
import {
  Affinity, EnvVar, IntOrString, KubeConfigMap, PodTemplateSpec, KubePodDisruptionBudget, KubeRole, KubeRoleBinding, KubeService, KubeServiceAccount, KubeStatefulSet, Quantity, Volume, VolumeMount,
} from '../../k8s';
import { componentLabels } from '../../labels';
import { restrictedContainerSecurity, restrictedPodSecurity } from '../../constructs/pod-security';
import { containerResources } from '../../constructs/resources';
import { dataVolumeClaim } from '../../constructs/storage';
import { initScript, initSql, PATHS, ServiceDatabase, serviceDatabase, ServiceLogin, serviceLogin, pgbouncerAuthSql, pgHbaConf, postgresqlConf, ROLES, restartSettingLines } from './config-files';
import { PATRONI_LABELS, PATRONI_PATHS, PATRONI_PORT, PATRONI_SCOPE, patroniYaml, ROLE_LABEL, ROLE_VALUES } from './patroni';
import { restartFingerprint } from '../../gitops/rollout-checksums';
import { IPostgresExtension, POSTGRES_UID, PostgresPodAdditions } from './extension';

export { POSTGRES_UID };

/** A Secret reference: the Secret is created out of band or sealed; never a literal here. */
export interface SecretKeyRef {
  readonly name: string;
  readonly key: string;
}

export interface PostgresClusterProps {
  readonly config: PostgresSettings;
  /** Namespace of the data services. */
  readonly namespace: string;
  /** The postgres image: PostgreSQL of config.postgres.major with Patroni (checked at config load). */
  readonly image: string;
  /** postgres_exporter image, run as a sidecar of every Postgres pod. */
  readonly exporterImage: string;
  /** Additions to every Postgres pod (settings, env, volumes, sidecars), e.g. point-in-time recovery. @default none */
  readonly extensions?: readonly IPostgresExtension[];
}

const SECRET_KEY = 'password';

/**
 * PostgreSQL run by Patroni: one StatefulSet `postgres` of 1 + postgres.replicas members (same code
 * path for dev, prod and ha). Patroni keeps its leader lock in the Endpoints object `postgres`
 * through the Kubernetes API, promotes a replica when the leader is lost, rejoins a former leader
 * with pg_rewind, and labels each pod with its role: the `postgres-rw` Service selects the leader
 * by that label, `postgres-ro` the replicas.
 */
export class PostgresCluster extends Construct {
  /** Read-write Service host (the leader). Apps use it only for migrations (DIRECT_URL). */
  public readonly primaryHost: string;
  /** Read-only Service host (replicas); undefined when the environment runs no replica. */
  public readonly readOnlyHost?: string;
  public readonly port = 5432;
  public readonly database: string;
  public readonly appUser: string;
  /** Secrets the platform expects, by role. */
  public readonly secrets: Readonly<Record<'superuser' | 'app' | 'replication' | 'pgbouncerAuth' | 'metrics' | 'backup', SecretKeyRef>>;
  /** Databases of platform services (GlitchTip), each with its owner role and password Secret (addDatabase). */
  public get serviceDatabases(): readonly ServiceDatabase[] {
    return this.databases;
  }
  private readonly databases: ServiceDatabase[] = [];
  /** Read-only logins of platform services (pgAdmin), each with its password Secret (addReadOnlyLogin). */
  public get serviceLogins(): readonly ServiceLogin[] {
    return this.logins;
  }
  private readonly logins: ServiceLogin[] = [];
  /** Where the init script's password env of the service databases goes in the postgres container's env. */
  private readonly databaseEnvIndex: number;
  /** Labels that select every Postgres pod (any member may become the leader). */
  public readonly podLabels: Record<string, string>;
  /** Labels of the current leader (Patroni's role label), as the rw Service selects it. */
  public readonly primaryPodLabels: Record<string, string>;
  /** Labels of the replicas (Patroni's role label), as the ro Service selects them. */
  public readonly replicaPodLabels: Record<string, string>;
  public readonly metricsPort = 9187;
  public readonly patroniPort = PATRONI_PORT;
  public readonly metricsServiceName = 'postgres-metrics';
  /** Members: 1 + postgres.replicas. */
  public readonly members: number;
  /** The StatefulSet of the members (integrations add sidecars to its pod template). */
  public readonly statefulSet: KubeStatefulSet;

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
    this.podLabels = { ...PATRONI_LABELS };
    this.primaryPodLabels = { ...this.podLabels, [ROLE_LABEL]: ROLE_VALUES.leader };
    this.replicaPodLabels = { ...this.podLabels, [ROLE_LABEL]: ROLE_VALUES.replica };
    this.members = 1 + config.postgres.replicas;

    // Extensions see the pod's mounts and add settings, env, volumes and sidecars (bindPod).
    const baseMounts: VolumeMount[] = [
      { name: 'data', mountPath: PATHS.dataMount },
      { name: 'run', mountPath: PATHS.socketDir },
    ];
    const added = (props.extensions ?? []).map((e) => e.bindPod({ mounts: baseMounts, port: this.port, podLabels: this.podLabels, superuserSecret: this.secrets.superuser }));
    this.configFiles(config, namespace, added);
    const serviceAccountName = this.patroniAccount(namespace);
    this.services(config, namespace);
    this.statefulSet = new KubeStatefulSet(this, 'StatefulSet', {
      metadata: { name: 'postgres', namespace, labels: componentLabels('postgres', 'database') },
      spec: {
        serviceName: 'postgres-members',
        replicas: this.members,
        // Patroni orders the members itself: they start together, the first to take the lock bootstraps.
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: this.podLabels },
        volumeClaimTemplates: [
          dataVolumeClaim(componentLabels('postgres', 'data'), config.postgres.storage.storageClass ?? config.storageClass, config.postgres.storage.size),
        ],
        template: this.podTemplate(props, added, serviceAccountName),
      },
    });

    const containerEnv = this.statefulSet.toJson().spec.template.spec.containers[0].env as unknown[];
    this.databaseEnvIndex = containerEnv.length - added.flatMap((a) => a.env).length;

    if (this.members > 1) {
      // At most one database pod down at a time during voluntary disruptions (drains, upgrades).
      new KubePodDisruptionBudget(this, 'Budget', {
        metadata: { name: 'postgres', namespace, labels: componentLabels('postgres', 'database') },
        spec: { maxUnavailable: IntOrString.fromNumber(1), selector: { matchLabels: this.podLabels } },
      });
    }
  }

  /** postgresql.conf (with the extensions' settings) and pg_hba.conf, patroni.yml, and the init scripts, each a ConfigMap. */
  private configFiles(config: PostgresSettings, namespace: string, added: readonly PostgresPodAdditions[]): void {
    const conf = postgresqlConf(config, { port: this.port }) + added.flatMap((a) => a.parameters.map(([k, v]) => `${k} = ${v}\n`)).join('');
    const configMap = new KubeConfigMap(this, 'Config', {
      metadata: { name: 'postgres-config', namespace, labels: componentLabels('postgres', 'config') },
      data: { 'postgresql.conf': conf, 'pg_hba.conf': pgHbaConf(config) },
    });
    // Restart vs reload: only settings read at server start roll the pods; the rest (work_mem,
    // effective_cache_size, logging, pg_hba.conf, ...) apply on pg_reload_conf() without a restart.
    restartFingerprint(configMap, restartSettingLines(conf));
    const patroni = new KubeConfigMap(this, 'Patroni', {
      metadata: { name: 'postgres-patroni', namespace, labels: componentLabels('postgres', 'config') },
      data: { 'patroni.yml': patroniYaml(config, { port: this.port }) },
    });
    restartFingerprint(patroni, patroniYaml(config, { port: this.port }));
    const scripts = new KubeConfigMap(this, 'Scripts', {
      metadata: { name: 'postgres-scripts', namespace, labels: componentLabels('postgres', 'config') },
      data: {
        '10-init.sh': lazyText(() => initScript(this.databases, this.logins)),
        'init.sql': lazyText(() => initSql(config, this.databases, this.logins)),
        'pgbouncer-auth.sql': lazyText(() => pgbouncerAuthSql(config, this.databases)),
      },
    });
    // Init scripts run once, on a new cluster: a change never needs a restart of a running server.
    restartFingerprint(scripts, 'read at initialization only');
  }

  /** Patroni's ServiceAccount and what it may touch; returns the account's name. */
  private patroniAccount(namespace: string): string {
    // Patroni's store is the Kubernetes API, in this namespace only: its leader lock and config
    // (Endpoints) and its members' role labels and status (Pods).
    const serviceAccount = new KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: 'postgres', namespace, labels: componentLabels('postgres', 'database') },
      automountServiceAccountToken: false,
    });
    new KubeRole(this, 'PatroniRole', {
      metadata: { name: 'postgres-patroni', namespace, labels: componentLabels('postgres', 'database') },
      rules: [
        { apiGroups: [''], resources: ['endpoints'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'patch', 'update'] },
      ],
    });
    new KubeRoleBinding(this, 'PatroniRoleBinding', {
      metadata: { name: 'postgres-patroni', namespace, labels: componentLabels('postgres', 'database') },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'postgres-patroni' },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount.name, namespace }],
    });
    return serviceAccount.name;
  }

  /** The members' governing Service, Patroni's leader lock and config, the rw, ro and metrics Services. */
  private services(config: PostgresSettings, namespace: string): void {
    const postgresPort = [{ name: 'postgres', port: this.port, targetPort: IntOrString.fromString('postgres') }];
    // The StatefulSet's governing Service: stable member DNS names (postgres-0.postgres-members).
    new KubeService(this, 'Members', {
      metadata: { name: 'postgres-members', namespace, labels: componentLabels('postgres', 'database') },
      spec: { clusterIp: 'None', publishNotReadyAddresses: true, selector: this.podLabels, ports: postgresPort },
    });
    // Patroni's leader lock (Endpoints `postgres`) and cluster config (Endpoints `postgres-config`)
    // are written by Patroni; these selector-less Services keep Kubernetes from deleting them.
    new KubeService(this, 'LeaderLock', {
      metadata: { name: PATRONI_SCOPE, namespace, labels: componentLabels('postgres', 'leader-lock') },
      spec: { ports: [{ name: 'postgres', port: this.port, targetPort: IntOrString.fromNumber(this.port) }] },
    });
    new KubeService(this, 'PatroniConfig', {
      metadata: { name: `${PATRONI_SCOPE}-config`, namespace, labels: componentLabels('postgres', 'leader-lock') },
      spec: { clusterIp: 'None' },
    });
    new KubeService(this, 'ReadWrite', {
      metadata: { name: 'postgres-rw', namespace, labels: componentLabels('postgres', 'primary') },
      spec: { selector: this.primaryPodLabels, ports: postgresPort },
    });
    new KubeService(this, 'Metrics', {
      metadata: { name: this.metricsServiceName, namespace, labels: componentLabels('postgres', 'metrics') },
      spec: {
        selector: this.podLabels,
        ports: [
          { name: 'metrics', port: this.metricsPort, targetPort: IntOrString.fromString('metrics') },
          { name: 'patroni', port: this.patroniPort, targetPort: IntOrString.fromString('patroni') },
        ],
      },
    });
    if (config.postgres.replicas > 0) {
      new KubeService(this, 'ReadOnly', {
        metadata: { name: 'postgres-ro', namespace, labels: componentLabels('postgres', 'replica') },
        spec: { selector: this.replicaPodLabels, ports: postgresPort },
      });
    }
  }

  /** The pod of every member: postgres under Patroni, the exporter, the extensions' additions. */
  private podTemplate(props: PostgresClusterProps, added: readonly PostgresPodAdditions[], serviceAccountName: string): PodTemplateSpec {
    const { config, image } = props;
    const env = (name: string, ref: SecretKeyRef): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } });
    const field = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
    const volumes: Volume[] = [
      { name: 'config', configMap: { name: 'postgres-config' } },
      { name: 'patroni', configMap: { name: 'postgres-patroni' } },
      { name: 'scripts', configMap: { name: 'postgres-scripts', defaultMode: 0o555 } },
      { name: 'run', emptyDir: {} },
      { name: 'tmp', emptyDir: {} },
      // Postgres uses POSIX shared memory for parallel queries; the container default is 64 MiB.
      { name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: Quantity.fromString('256Mi') } },
      ...added.flatMap((a) => a.volumes),
    ];
    const mounts: VolumeMount[] = [
      { name: 'data', mountPath: PATHS.dataMount },
      { name: 'config', mountPath: PATHS.configDir, readOnly: true },
      { name: 'patroni', mountPath: PATRONI_PATHS.configDir, readOnly: true },
      { name: 'scripts', mountPath: PATHS.scriptsDir, readOnly: true },
      { name: 'run', mountPath: PATHS.socketDir },
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'shm', mountPath: '/dev/shm' },
      ...added.flatMap((a) => a.mounts),
    ];
    const extensionEnv = added.flatMap((a) => a.env);
    const initEnv = [
      // For the post_bootstrap init script (roles, databases, auth function); addDatabase() adds one per service database.
      env('APP_PASSWORD', this.secrets.app),
      env('REPLICATION_PASSWORD', this.secrets.replication),
      env('PGBOUNCER_AUTH_PASSWORD', this.secrets.pgbouncerAuth),
      env('METRICS_PASSWORD', this.secrets.metrics),
      env('BACKUP_PASSWORD', this.secrets.backup),
    ];
    const sidecars = added.flatMap((a) => a.sidecars);
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
    const patroniHttp = (path: string) => ({ httpGet: { path, port: IntOrString.fromString('patroni') } });
    const affinity = antiAffinity(this.podLabels, this.members <= config.node.count && config.node.count > 1);
    return {
    metadata: { labels: { ...componentLabels('postgres', 'database'), ...this.podLabels } },
    spec: {
      securityContext: restrictedPodSecurity(POSTGRES_UID),
      serviceAccountName,
      // Patroni's in-cluster login (a short-lived projected token); the account may touch only
      // Endpoints and Pods in this namespace (Role postgres-patroni).
      automountServiceAccountToken: true,
      enableServiceLinks: false,
      // Patroni stops Postgres with a checkpoint and releases the leader lock on SIGTERM.
      terminationGracePeriodSeconds: 60,
      affinity,
      volumes,
      containers: [
        {
          name: 'postgres',
          image,
          command: ['patroni', PATRONI_PATHS.config],
          ports: [{ name: 'postgres', containerPort: this.port }, { name: 'patroni', containerPort: this.patroniPort }],
          env: [
            // patronictl in this container (the runbooks' `kubectl exec ... -- patronictl list`) reads the mounted patroni.yml.
            { name: 'PATRONICTL_CONFIG_FILE', value: PATRONI_PATHS.config },
            field('PATRONI_NAME', 'metadata.name'),
            field('PATRONI_KUBERNETES_NAMESPACE', 'metadata.namespace'),
            field('PATRONI_KUBERNETES_POD_IP', 'status.podIP'),
            { name: 'PATRONI_POSTGRESQL_CONNECT_ADDRESS', value: `$(PATRONI_KUBERNETES_POD_IP):${this.port}` },
            { name: 'PATRONI_RESTAPI_CONNECT_ADDRESS', value: `$(PATRONI_KUBERNETES_POD_IP):${this.patroniPort}` },
            { name: 'PATRONI_RESTAPI_USERNAME', value: 'patroni' },
            env('PATRONI_RESTAPI_PASSWORD', this.secrets.superuser),
            env('PATRONI_SUPERUSER_PASSWORD', this.secrets.superuser),
            env('PATRONI_REWIND_PASSWORD', this.secrets.superuser),
            env('PATRONI_REPLICATION_PASSWORD', this.secrets.replication),
            ...initEnv,
            ...extensionEnv,
          ],
          volumeMounts: mounts,
          resources: containerResources(config.postgres.resources),
          securityContext: restrictedContainerSecurity(),
          // Ready: the leader, or a running replica (Patroni's REST API).
          readinessProbe: { ...patroniHttp('/readiness'), periodSeconds: 5, timeoutSeconds: 5 },
          // Live: Patroni's HA loop runs (a replica cloning a large database still passes).
          livenessProbe: { ...patroniHttp('/liveness'), periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
        },
        exporter,
        ...sidecars,
      ],
    },
  };
  }

  /**
   * A platform service's own database and login role (owner of it, password from the Secret
   * `postgres-<database>`, key `password`, in this namespace): created by the init script, served by
   * PgBouncer, admitted by its auth_query. The service asks; Postgres never reads the service's config.
   */
  public addDatabase(database: string): ServiceDatabase {
    if (database === this.database || this.databases.some((d) => d.database === database)) {
      throw new Error(`database ${database} is already on the platform Postgres; fix: give each service its own database name`);
    }
    const d = serviceDatabase(database);
    this.addInitPassword(d.env, d.secret);
    this.databases.push(d);
    return d;
  }

  /**
   * A platform service's read-only login on the apps' database (ServiceLogin: reads every table,
   * writes nothing), created by the init script with its password from the Secret `postgres-<role>`.
   */
  public addReadOnlyLogin(role: string): ServiceLogin {
    const taken = [this.appUser, ...Object.values(ROLES), ...this.databases.map((d) => d.owner), ...this.logins.map((l) => l.role)];
    if (taken.includes(role)) throw new Error(`role ${role} is already on the platform Postgres; fix: give each service its own role name`);
    const l = serviceLogin(role);
    this.addInitPassword(l.env, l.secret);
    this.logins.push(l);
    return l;
  }

  /** The init script's env of one more service password, after those already added (a JSON patch of the pod). */
  private addInitPassword(name: string, secret: string): void {
    const at = this.databaseEnvIndex + this.databases.length + this.logins.length;
    const value: EnvVar = { name, valueFrom: { secretKeyRef: { name: secret, key: SECRET_KEY } } };
    this.statefulSet.addJsonPatch(JsonPatch.add(`/spec/template/spec/containers/0/env/${at}`, value));
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

/** A ConfigMap value rendered at synth time, once every service has asked for its database. */
const lazyText = (produce: () => string): string => Lazy.any({ produce }) as string;
