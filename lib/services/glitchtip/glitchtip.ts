/**
 * GlitchTip, the Sentry-compatible error tracker, as one of the platform's services: the official
 * image in all-in-one mode (web and worker in one process, GlitchTip's documented small-footprint
 * setup), its own database and role on the platform Postgres through PgBouncer, Redis for cache
 * and task queue, uploads on its own volume (or in a private S3 bucket), the UI on an admin host
 * behind the admin allow-list, and NetworkPolicies for exactly those flows. Apps that report to it
 * (`apps.<app>.sentry`) are bound like to any data service and get SENTRY_DSN.
 */
import { Construct } from 'constructs';
import { AlertThresholds } from '../../config/alerts';
import { GlitchTipConfig } from './config';
import { EnvVar, IntOrString, KubeService, Quantity } from '../../k8s';
import { componentLabels, selectorLabels } from '../../labels';
import { AppBinding, appPorts, AppRef, DeclaredSecret, endpointEnv, IDataService, SecretKeyRef, secretEnv, ServicePort } from '../../constructs/data-service';
import { EdgeAttachment, PublicIngress } from '../../constructs/edge/public-ingress';
import { AlertGroup } from '../../constructs/monitoring/alert-rules';
import { DashboardRow } from '../../constructs/monitoring/dashboards';
import { ProbeTarget } from '../../constructs/monitoring/probes';
import { AllowFlows, anywhere, connect, tcp } from '../../constructs/network-policy';
import { restrictedContainerSecurity, restrictedPodSecurity } from '../../constructs/pod-security';
import { containerResources } from '../../constructs/resources';
import { singleVolumePod } from '../../constructs/storage';

/** The database GlitchTip uses, as bound by the Postgres service (through PgBouncer). */
export interface GlitchTipDatabase {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly secret: SecretKeyRef;
  readonly connectTo: readonly ServicePort[];
}

export interface GlitchTipProps {
  readonly config: GlitchTipConfig;
  readonly namespace: string;
  readonly image: string;
  /** Its database on the platform Postgres (`Postgres.addDatabase`). */
  readonly database: GlitchTipDatabase;
  /** Redis as bound for GlitchTip (REDIS_PASSWORD and the flow); GlitchTip uses its own logical database. */
  readonly redis: { readonly host: string; readonly port: number; readonly username: string; readonly binding: AppBinding };
  /** The platform's S3, for `config.s3`. @default none */
  readonly s3?: { readonly endpoint: string; readonly api: ServicePort };
  /** Admin attachment of the edge (allow-list) for the UI. */
  readonly edge: EdgeAttachment;
  /** Where the ingress controller runs, and its pods: the only ones that reach the UI from outside (both policy sides). */
  readonly edgeNamespace: string;
  readonly traefikPodLabels: Readonly<Record<string, string>>;
  /** Apps that report errors (get SENTRY_DSN). */
  readonly sentryApps: readonly string[];
  readonly storageClass: string;
  /**
   * Object names.
   * @default 'glitchtip'
   */
  readonly name?: string;
}

const UID = 5000; // the `app` user of the official image
const PORT = 8000;
const UPLOADS_DIR = '/code/uploads';
/** GlitchTip's health endpoint (no database query, answers as soon as the server runs). */
const HEALTH_PATH = '/_health/';
/** Logical Redis database for GlitchTip's keys (the apps use 0). */
const REDIS_DB = 1;
/** Keys of the Secrets GlitchTip reads in its namespace (besides the database password). */
export const GLITCHTIP_SECRET_KEYS = { secretKey: 'secret-key' } as const;

export class GlitchTip extends Construct implements IDataService {
  public readonly name: string;
  public readonly namespace: string;
  public readonly port = PORT;
  /** In-cluster URL of the web server; SDKs in the cluster send events here. */
  public readonly internalUrl: string;
  /** Public (admin allow-listed) URL of the UI. */
  public readonly url: string;
  public readonly podLabels: Record<string, string>;
  /** Its port, for connect() (apps sending events). */
  public readonly endpoint: ServicePort;
  /** The Secret in the app namespace with each app's DSN parts (`<app>-public-key`, `<app>-project-id`). */
  public readonly dsnSecretName: string;
  private readonly props: GlitchTipProps;
  private readonly ownSecrets: DeclaredSecret[];

  constructor(scope: Construct, id: string, props: GlitchTipProps) {
    super(scope, id);
    const name = props.name ?? 'glitchtip';
    const ns = props.namespace;
    const g = props.config;
    this.props = props;
    this.name = name;
    this.namespace = ns;
    this.internalUrl = `http://${name}.${ns}.svc.cluster.local:${PORT}`;
    this.url = `https://${g.host}`;
    this.dsnSecretName = `${name}-dsn`;
    this.podLabels = selectorLabels(name);
    const labels = componentLabels(name, 'error-tracking');

    const db = props.database;
    const appSecret = { name, key: GLITCHTIP_SECRET_KEYS.secretKey };
    const redisEnv = props.redis.binding;
    const s3Secret = g.s3 ? { key: { name: g.s3.secret, key: 'access-key' }, secret: { name: g.s3.secret, key: 'secret-key' } } : undefined;
    this.ownSecrets = [
      { namespace: ns, ...appSecret },
      { namespace: ns, ...db.secret },
      ...redisEnv.secrets,
      ...(s3Secret ? [{ namespace: ns, ...s3Secret.key }, { namespace: ns, ...s3Secret.secret }] : []),
    ];

    const env: EnvVar[] = [
      // Secret references first: later values expand $(VAR) only of earlier variables.
      secretEnv('SECRET_KEY', appSecret),
      secretEnv('DATABASE_PASSWORD', db.secret),
      ...redisEnv.secretEnv,
      ...(s3Secret ? [secretEnv('AWS_ACCESS_KEY_ID', s3Secret.key), secretEnv('AWS_SECRET_ACCESS_KEY', s3Secret.secret)] : []),
      { name: 'SERVER_ROLE', value: 'all_in_one' },
      { name: 'PORT', value: String(PORT) },
      { name: 'GLITCHTIP_DOMAIN', value: this.url },
      // Through PgBouncer (transaction mode): GlitchTip disables server-side cursors, and psycopg's
      // prepared statements are tracked by PgBouncer >= 1.21 (max_prepared_statements).
      { name: 'DATABASE_HOST', value: db.host },
      { name: 'DATABASE_PORT', value: String(db.port) },
      { name: 'DATABASE_NAME', value: db.database },
      { name: 'DATABASE_USER', value: db.user },
      { name: 'VALKEY_URL', value: `redis://${props.redis.username}:$(REDIS_PASSWORD)@${props.redis.host}:${props.redis.port}/${REDIS_DB}` },
      { name: 'GLITCHTIP_RETENTION_DAYS', value: String(g.retentionDays) },
      { name: 'ENABLE_OPEN_USER_REGISTRATION', value: 'False' },
      { name: 'ENABLE_ADMIN', value: 'False' },
      { name: 'DUCKDB_TEMP_DIRECTORY', value: '/tmp' },
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      ...(g.s3 && props.s3 ? [
        { name: 'DEFAULT_FILE_STORAGE', value: 'storages.backends.s3boto3.S3Boto3Storage' },
        { name: 'AWS_STORAGE_BUCKET_NAME', value: g.s3.bucket },
        { name: 'AWS_S3_ENDPOINT_URL', value: props.s3.endpoint },
      ] : []),
    ];

    const health = { httpGet: { path: HEALTH_PATH, port: IntOrString.fromString('http') } };
    singleVolumePod(this, 'StatefulSet', {
      name, namespace: ns, labels, podLabels: this.podLabels,
      storageClass: g.storage.storageClass ?? props.storageClass, storageSize: g.storage.size,
      pod: {
        securityContext: restrictedPodSecurity(UID),
        containers: [{
          name: 'glitchtip',
          image: props.image,
          env,
          ports: [{ name: 'http', containerPort: PORT }],
          resources: containerResources(g.resources),
          securityContext: restrictedContainerSecurity(),
          // The all-in-one start runs the database migrations first: give it time.
          startupProbe: { ...health, periodSeconds: 10, failureThreshold: 60 },
          readinessProbe: { ...health, periodSeconds: 10 },
          livenessProbe: { ...health, periodSeconds: 30, failureThreshold: 3 },
          // Uploads go to the `data` volume (or to S3 with glitchtip.s3).
          volumeMounts: [
            { name: 'data', mountPath: UPLOADS_DIR },
            { name: 'tmp', mountPath: '/tmp' },
          ],
        }],
        volumes: [{ name: 'tmp', emptyDir: { sizeLimit: Quantity.fromString('256Mi') } }],
      },
    });
    new KubeService(this, 'Service', {
      metadata: { name, namespace: ns, labels },
      spec: { selector: selectorLabels(name), ports: [{ name: 'http', port: PORT, targetPort: IntOrString.fromString('http') }] },
    });
    new PublicIngress(this, 'Ingress', { name, namespace: ns, hosts: [g.host], serviceName: name, servicePort: PORT, edge: props.edge });

    // The UI from the ingress controller; events from the apps (connect() by their binding);
    // out: PgBouncer, Redis (and S3), HTTPS for its alert webhooks.
    const policy = new AllowFlows(this, 'flows', { name, namespace: ns, podLabels: this.podLabels, egress: [{ peers: anywhere(), ports: tcp(443) }] });
    this.endpoint = { policy, podLabels: this.podLabels, port: PORT };
    const traefik = new AllowFlows(this, 'traefik-flows', { name: `traefik-to-${name}`, namespace: props.edgeNamespace, podLabels: { ...props.traefikPodLabels } });
    connect({ policy: traefik }, this.endpoint, [PORT]);
    for (const port of [...db.connectTo, ...appPorts(redisEnv), ...(g.s3 && props.s3 ? [props.s3.api] : [])]) connect({ policy }, port, [port.port]);
  }

  /**
   * SENTRY_DSN for apps that report errors: the project's public key and id from the Secret
   * `glitchtip-dsn` (created from the DSN GlitchTip shows for the project), the host this
   * Service's in-cluster URL, so events never leave the cluster. Other apps get nothing.
   */
  public bindApp(app: AppRef): AppBinding {
    if (!this.props.sentryApps.includes(app.name)) return { secretEnv: [], env: [], connectTo: [], secrets: [] };
    const key = { name: this.dsnSecretName, key: `${app.name}-public-key` };
    const project = { name: this.dsnSecretName, key: `${app.name}-project-id` };
    const host = this.internalUrl.replace(/^http:\/\//, '');
    return {
      secretEnv: [secretEnv('SENTRY_PUBLIC_KEY', key), secretEnv('SENTRY_PROJECT_ID', project)],
      env: [endpointEnv('SENTRY_DSN', `http://$(SENTRY_PUBLIC_KEY)@${host}/$(SENTRY_PROJECT_ID)`, this.endpoint)],
      connectTo: [],
      secrets: [{ namespace: app.namespace, ...key }, { namespace: app.namespace, ...project }],
    };
  }

  public get probeTargets(): ProbeTarget[] {
    return [{
      name: this.name, group: 'apps', kind: 'http', target: `${this.internalUrl}${HEALTH_PATH}`,
      backend: { namespace: this.namespace, podLabels: this.podLabels, port: PORT },
    }];
  }

  public get declaredSecrets(): DeclaredSecret[] {
    return this.ownSecrets;
  }

  /** Its uptime is watched by the probes (ProbeFailing); it has no metrics of its own to alert on. */
  public alertRules(_t: AlertThresholds): AlertGroup[] {
    return [];
  }

  public dashboardRows(): DashboardRow[] {
    return [];
  }
}
