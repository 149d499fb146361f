import { Construct } from 'constructs';
import { ServiceMonitor } from '../../../imports/monitoring.coreos.com';
import { Resources } from '../../config/fields';
import { isS3BucketName } from '../../config/fields';
import { Container, EnvVar, IntOrString, KubeConfigMap, KubeJob, KubeService, KubeStatefulSet, Quantity, Volume } from '../../k8s';
import { componentLabels, selectorLabels } from '../../labels';
import {
  AppAccessSpec,
  BACKUP_READER,
  readOnlyPolicy,
  appEnvPrefix,
  appPolicy,
  appPolicyName,
  BucketSpec,
  renderAdminScript,
  renderBucketsScript,
  renderMcClient,
  renderProvisionScript,
} from './minio-provisioning';
import { restrictedContainerSecurity, restrictedPodSecurity } from '../../constructs/pod-security';
import { dataVolumeClaim, governingService } from '../../constructs/storage';
import { containerResources } from '../../constructs/resources';
import { AppBinding, AppRef, DeclaredSecret, endpointEnv, IDataService, secretEnv, ServicePort } from '../../constructs/data-service';
import { AlertGroup } from '../../constructs/monitoring/alert-rules';
import { DashboardKit, DashboardRow } from '../../constructs/monitoring/dashboards';
import { ProbeTarget } from '../../constructs/monitoring/probes';
import { AllowFlows, namespacePeer, podsPeer, tcp } from '../../constructs/network-policy';
import { MinioDistributed, MinioDistributedProps, minioPoolLabels } from './minio-distributed';

export interface MinioProps {
  readonly namespace: string;
  /** Namespace of the ingress controller (API and console). */
  readonly edgeNamespace: string;
  /** Namespace of Prometheus (metrics on the API port). */
  readonly monitoringNamespace: string;
  readonly image: string;
  /** The mc image of the provisioning Job. */
  readonly clientImage: string;
  readonly storageSize: string;
  readonly storageClass: string;
  readonly resources: Resources;
  readonly provisioningResources: Resources;
  /** Host of the web console, e.g. minio.example.com (an admin UI, served over https by the edge). */
  readonly consoleHost: string;
  /** Host of public downloads, e.g. files.example.com: the base of S3_PUBLIC_URL. */
  readonly publicHost: string;
  /** Public host of the S3 API, e.g. s3.example.com. */
  readonly apiHost: string;
  readonly buckets: readonly BucketSpec[];
  readonly appAccess: readonly AppAccessSpec[];
  /**
   * Object names (StatefulSet, Service, PVC prefix); stable, the PVC depends on it.
   * @default 'minio'
   */
  readonly name?: string;
  /**
   * Creates a read-only key (list and get on every bucket) for the backup mirror, from the
   * Secret `minio-backup` (access-key, secret-key) in this namespace.
   * @default false
   */
  readonly backupReader?: boolean;
  /**
   * Secret with the keys root-user and root-password, created out of band.
   * @default 'minio-root'
   */
  readonly rootSecretName?: string;
  /**
   * Distributed: `pods` servers × `drivesPerPod` volumes, one server per node (lib/services/minio/minio-distributed.ts),
   * in place of the standalone server; `storageSize` is then the usable capacity.
   * @default one standalone server
   */
  readonly distributed?: Pick<MinioDistributedProps, 'pods' | 'drivesPerPod' | 'nodes'>;
}

const UID = 1000; // the image runs as root by default; any non-root uid owns the PVC via fsGroup
const API_PORT = 9000;
const CONSOLE_PORT = 9001;
/** The ports MinIO serves routes on (S3 API and console): what Traefik's side of its routes opens. */
export const MINIO_ROUTED_PORTS: readonly number[] = [API_PORT, CONSOLE_PORT];
const SCRIPT_DIR = '/opt/provision';
const METRICS_PATH = '/minio/v2/metrics/cluster';

/**
 * A standalone MinIO server (one drive on a PVC) with its console, a ServiceMonitor, and a
 * PostSync Job that provisions buckets and per-app access keys. Everything that consumes it
 * uses plain S3 attributes (endpoint, bucket, keys), so another S3 server can replace it.
 * Clients (apps through `bindApp`, the backup mirror) are connected to `endpoint`.
 */
export class Minio extends Construct implements IDataService {
  public readonly name: string;
  public readonly namespace: string;
  /** The S3 API port, for connect(). */
  public readonly endpoint: ServicePort;
  /** In-cluster S3 endpoint, e.g. http://minio.data.svc.cluster.local:9000. */
  public readonly s3Endpoint: string;
  /** Public S3 URL, for links to objects of public-download buckets. */
  public readonly publicUrl: string;
  /** The S3 API as browsers reach it through the edge (https://s3.<domain>): presigned URLs are signed for it. */
  public readonly publicEndpoint: string;
  public readonly consoleUrl: string;
  public readonly bucketNames: readonly string[];
  /** Secret with root-user / root-password (operators and the provisioning Job only). */
  public readonly rootSecretName: string;
  public readonly serviceName: string;
  public readonly consoleServiceName: string;
  /** Secret (access-key, secret-key) of the read-only backup key; undefined unless backupReader. */
  public readonly backupSecretName?: string;
  public readonly apiPort = API_PORT;
  public readonly consolePort = CONSOLE_PORT;
  /** Labels that select the MinIO pod (NetworkPolicies, probes). */
  public readonly podLabels: Record<string, string>;
  /** The distributed pool, when `distributed` is set. */
  public readonly pool?: MinioDistributed;
  private readonly buckets: readonly BucketSpec[];
  private readonly appAccess: readonly AppAccessSpec[];

  constructor(scope: Construct, id: string, props: MinioProps) {
    super(scope, id);
    const name = props.name ?? 'minio';
    const ns = props.namespace;
    validate(props);
    this.buckets = props.buckets;
    this.appAccess = props.appAccess;
    this.name = name;
    this.namespace = ns;
    this.bucketNames = props.buckets.map((b) => b.name);
    this.rootSecretName = props.rootSecretName ?? 'minio-root';
    this.backupSecretName = props.backupReader ? 'minio-backup' : undefined;
    this.serviceName = name;
    this.consoleServiceName = `${name}-console`;
    this.s3Endpoint = `http://${name}.${ns}.svc.cluster.local:${API_PORT}`;
    this.publicUrl = `https://${props.publicHost}`;
    this.publicEndpoint = `https://${props.apiHost}`;
    this.consoleUrl = `https://${props.consoleHost}`;
    const labels = componentLabels(name, 'object-storage');
    const selector = selectorLabels(name);
    this.podLabels = props.distributed ? minioPoolLabels(name) : selector;
    const rootEnv = (env: string, key: string): EnvVar => ({ name: env, valueFrom: { secretKeyRef: { name: this.rootSecretName, key } } });

    const container: Container = {
      name: 'minio',
      image: props.image,
      args: ['server', '/data', '--address', `:${API_PORT}`, '--console-address', `:${CONSOLE_PORT}`, '--certs-dir', '/tmp/certs'],
      ports: [
        { name: 'api', containerPort: API_PORT },
        { name: 'console', containerPort: CONSOLE_PORT },
      ],
      env: [
        rootEnv('MINIO_ROOT_USER', 'root-user'),
        rootEnv('MINIO_ROOT_PASSWORD', 'root-password'),
        { name: 'MINIO_BROWSER_REDIRECT_URL', value: this.consoleUrl },
        { name: 'MINIO_PROMETHEUS_AUTH_TYPE', value: 'public' },
        { name: 'MINIO_UPDATE', value: 'off' },
        { name: 'HOME', value: '/tmp' },
      ],
      resources: containerResources(props.resources),
      securityContext: restrictedContainerSecurity(),
      startupProbe: { httpGet: { path: '/minio/health/live', port: IntOrString.fromString('api') }, periodSeconds: 5, failureThreshold: 60 },
      livenessProbe: { httpGet: { path: '/minio/health/live', port: IntOrString.fromString('api') }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 5 },
      readinessProbe: { httpGet: { path: '/minio/health/ready', port: IntOrString.fromString('api') }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 5 },
      volumeMounts: [
        { name: 'data', mountPath: '/data' },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    };
    const volumes: Volume[] = [{ name: 'tmp', emptyDir: { sizeLimit: Quantity.fromString('64Mi') } }];
    if (props.distributed) {
      this.pool = new MinioDistributed(this, 'Pool', {
        ...props.distributed, name, namespace: ns, container, securityContext: restrictedPodSecurity(UID), volumes,
        apiPort: API_PORT, consolePort: CONSOLE_PORT, storageClass: props.storageClass, usableSize: props.storageSize,
      });
    } else {
      const serviceName = governingService(this, { name, namespace: ns, labels, ports: [{ name: 'api', port: API_PORT }, { name: 'console', port: CONSOLE_PORT }] });
      new KubeStatefulSet(this, 'StatefulSet', {
        metadata: { name, namespace: ns, labels },
        spec: {
          serviceName,
          replicas: 1,
          selector: { matchLabels: selector },
          template: {
            metadata: { labels },
            spec: {
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              securityContext: restrictedPodSecurity(UID),
              containers: [container],
              volumes,
            },
          },
          volumeClaimTemplates: [dataVolumeClaim(labels, props.storageClass, props.storageSize)],
        },
      });
    }

    new KubeService(this, 'Service', {
      metadata: { name, namespace: ns, labels },
      spec: { selector: this.podLabels, ports: [{ name: 'api', port: API_PORT, targetPort: IntOrString.fromString('api') }] },
    });
    new KubeService(this, 'ConsoleService', {
      metadata: { name: this.consoleServiceName, namespace: ns, labels: componentLabels(this.consoleServiceName, 'object-storage-console') },
      spec: { selector: this.podLabels, ports: [{ name: 'console', port: CONSOLE_PORT, targetPort: IntOrString.fromString('console') }] },
    });

    new ServiceMonitor(this, 'ServiceMonitor', {
      metadata: { name, namespace: ns, labels },
      spec: {
        // Matches the API Service only: the console Service carries another name label.
        selector: { matchLabels: selector },
        endpoints: [{ port: 'api', path: METRICS_PATH, interval: '60s' }],
      },
    });

    const provisionName = `${name}-provision`;
    const provisionLabels = componentLabels(provisionName, 'provisioning');
    const policy = new AllowFlows(this, 'NetworkPolicy', {
      name,
      namespace: ns,
      podLabels: this.podLabels,
      labels,
      // Clients (apps, the backup mirror) are connected to `endpoint`; these admits are MinIO's own.
      ingress: [
        { peers: [namespacePeer(props.edgeNamespace)], ports: tcp(API_PORT, CONSOLE_PORT) },
        { peers: [namespacePeer(props.monitoringNamespace)], ports: tcp(API_PORT) },
        { peers: [podsPeer(selectorLabels(provisionName))], ports: tcp(API_PORT) },
      ],
    });
    this.endpoint = { policy, port: API_PORT };
    this.pool?.connectPeers(policy, API_PORT);
    // Part of MinIO itself; listed after the connected clients on MinIO's side, hence not connect().
    new AllowFlows(this, 'ProvisionNetworkPolicy', {
      name: provisionName,
      namespace: ns,
      podLabels: selectorLabels(provisionName),
      labels: provisionLabels,
      egress: [{ peers: [podsPeer(this.podLabels)], ports: tcp(API_PORT) }],
    });

    const policies = Object.fromEntries(props.appAccess.map((a) => [`${appPolicyName(a.app)}.json`, JSON.stringify(appPolicy(a.buckets), null, 2) + '\n']));
    if (props.backupReader) policies[`${BACKUP_READER.policy}.json`] = JSON.stringify(readOnlyPolicy(this.bucketNames), null, 2) + '\n';
    const scripts = new KubeConfigMap(this, 'ProvisionScripts', {
      metadata: { name: provisionName, namespace: ns, labels: provisionLabels },
      data: {
        'provision.sh': renderProvisionScript(),
        'client-mc.sh': renderMcClient(),
        'buckets.sh': renderBucketsScript(props.buckets),
        'admin.sh': renderAdminScript(props.appAccess, SCRIPT_DIR, { backupReader: props.backupReader }),
        ...policies,
      },
    });

    const appKeyEnv = props.appAccess.flatMap((a): EnvVar[] => {
      const secret = this.appSecretName(a.app);
      return [
        { name: `${appEnvPrefix(a.app)}_ACCESS_KEY`, valueFrom: { secretKeyRef: { name: secret, key: 'access-key' } } },
        { name: `${appEnvPrefix(a.app)}_SECRET_KEY`, valueFrom: { secretKeyRef: { name: secret, key: 'secret-key' } } },
      ];
    });
    if (this.backupSecretName) {
      appKeyEnv.push(
        { name: `${BACKUP_READER.envPrefix}_ACCESS_KEY`, valueFrom: { secretKeyRef: { name: this.backupSecretName, key: 'access-key' } } },
        { name: `${BACKUP_READER.envPrefix}_SECRET_KEY`, valueFrom: { secretKeyRef: { name: this.backupSecretName, key: 'secret-key' } } },
      );
    }
    new KubeJob(this, 'Provision', {
      metadata: {
        name: provisionName,
        namespace: ns,
        labels: provisionLabels,
        annotations: {
          // After every sync, once MinIO is up; the previous run is deleted first.
          'argocd.argoproj.io/hook': 'PostSync',
          'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
        },
      },
      spec: {
        backoffLimit: 3,
        activeDeadlineSeconds: 900,
        template: {
          metadata: { labels: provisionLabels },
          spec: {
            restartPolicy: 'Never',
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { runAsNonRoot: true, runAsUser: UID, runAsGroup: UID, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'provision',
                image: props.clientImage,
                command: ['sh', `${SCRIPT_DIR}/provision.sh`],
                env: [
                  { name: 'S3_ENDPOINT', value: this.s3Endpoint },
                  rootEnv('S3_ACCESS_KEY', 'root-user'),
                  rootEnv('S3_SECRET_KEY', 'root-password'),
                  // mc keeps its aliases under $HOME/.mc: on the writable emptyDir.
                  { name: 'HOME', value: '/tmp' },
                  ...appKeyEnv,
                ],
                resources: containerResources(props.provisioningResources),
                securityContext: restrictedContainerSecurity(),
                volumeMounts: [
                  { name: 'scripts', mountPath: SCRIPT_DIR, readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'scripts', configMap: { name: scripts.name } },
              { name: 'tmp', emptyDir: { sizeLimit: Quantity.fromString('16Mi') } },
            ],
          },
        },
      },
    });
  }

  /** Secret (keys access-key, secret-key) with the S3 key pair of `app`; created out of band in the data and app namespaces. */
  public appSecretName(app: string): string {
    if (!this.appAccess.some((a) => a.app === app)) throw new Error(`MinIO grants no access to app "${app}"; add it to minio.appAccess`);
    return `minio-app-${app}`;
  }

  /** Base URL of public objects in `bucket`; only public-download buckets have one. */
  public publicBucketUrl(bucket: string): string {
    const spec = this.buckets.find((b) => b.name === bucket);
    if (spec?.access !== 'public-download') throw new Error(`bucket "${bucket}" is not public-download; it has no public URL`);
    return `${this.publicUrl}/${bucket}`;
  }

  /**
   * Every app reaches the S3 API; an app granted buckets (`minio.appAccess`) also gets its own key
   * pair and its first bucket as S3_* (plain S3, so another S3 server can replace MinIO).
   */
  public bindApp(app: AppRef): AppBinding {
    const access = this.appAccess.find((a) => a.app === app.name);
    if (!access || access.buckets.length === 0) return { secretEnv: [], env: [], connectTo: [this.endpoint], secrets: [] };
    const name = this.appSecretName(app.name);
    const accessKey = { name, key: 'access-key' };
    const secretKey = { name, key: 'secret-key' };
    return {
      secretEnv: [secretEnv('S3_ACCESS_KEY', accessKey), secretEnv('S3_SECRET_KEY', secretKey)],
      env: [
        endpointEnv('S3_ENDPOINT', this.s3Endpoint, this.endpoint),
        { name: 'S3_PUBLIC_URL', value: this.publicUrl },
        // The address browsers reach the S3 API at: presigned URLs must be signed for this host, not S3_ENDPOINT.
        { name: 'S3_PUBLIC_ENDPOINT', value: this.publicEndpoint },
        { name: 'S3_BUCKET', value: access.buckets[0] },
        { name: 'S3_REGION', value: 'us-east-1' },
        { name: 'S3_FORCE_PATH_STYLE', value: 'true' },
      ],
      connectTo: [],
      secrets: [accessKey, secretKey].map((ref) => ({ namespace: app.namespace, ...ref })),
    };
  }

  public get probeTargets(): ProbeTarget[] {
    return [{
      name: this.name, group: 'data', kind: 'http', target: `${this.s3Endpoint}/minio/health/live`,
      backend: { namespace: this.namespace, podLabels: this.podLabels, port: this.apiPort },
    }];
  }

  /** Root credentials, every app's key pair (read by the provisioning Job) and the backup reader's. */
  public get declaredSecrets(): DeclaredSecret[] {
    const keyPair = (name: string) => ['access-key', 'secret-key'].map((key) => ({ namespace: this.namespace, name, key }));
    return [
      ...['root-user', 'root-password'].map((key) => ({ namespace: this.namespace, name: this.rootSecretName, key })),
      ...this.appAccess.flatMap((a) => keyPair(this.appSecretName(a.app))),
      ...(this.backupSecretName ? keyPair(this.backupSecretName) : []),
    ];
  }

  public alertRules(): AlertGroup[] {
    return [];
  }

  public dashboardRows({ graph, stat, rate, thresholds }: DashboardKit): DashboardRow[] {
    const sel = `namespace="${this.namespace}"`;
    return [{
      title: 'MinIO',
      panels: [
        stat('Usable capacity in use', 'percent', [[
          `100 * (1 - max(minio_cluster_capacity_usable_free_bytes{${sel}}) / max(minio_cluster_capacity_usable_total_bytes{${sel}}))`, 'in use',
        ]], { warning: thresholds.disk.warning, critical: thresholds.disk.critical }),
        graph('S3 requests per second', 'reqps', [[`sum by (api) (rate(minio_s3_requests_total{${sel}}${rate}))`, '{{api}}']]),
        graph('S3 errors per second', 'reqps', [[`sum by (api) (rate(minio_s3_requests_errors_total{${sel}}${rate}))`, '{{api}}']]),
      ],
    }];
  }
}

function validate(props: MinioProps): void {
  const names = props.buckets.map((b) => b.name);
  for (const name of names) {
    if (!isS3BucketName(name)) throw new Error(`"${name}" is not a valid S3 bucket name`);
    if (names.indexOf(name) !== names.lastIndexOf(name)) throw new Error(`bucket "${name}" is listed twice`);
  }
  for (const a of props.appAccess) {
    const unknown = a.buckets.filter((b) => !names.includes(b));
    if (unknown.length > 0) throw new Error(`app "${a.app}" is granted unknown buckets: ${unknown.join(', ')}`);
  }
}
