/**
 * pgAdmin 4 (the official dpage/pgadmin4 image) in the data namespace: its UI on an admin host
 * behind the admin access (edge.adminAccess), its own generated login, its state (settings database,
 * saved queries) on a small volume, one saved server that reaches the Postgres primary directly,
 * as a read-only role by default (Postgres.addReadOnlyLogin), and NetworkPolicies for exactly
 * those flows: Traefik in, Postgres out.
 */
import { Construct } from 'constructs';
import { AlertThresholds } from '../../config/alerts';
import { Resources } from '../../config/fields';
import { Container, EnvVar, IntOrString, KubeConfigMap, KubeService, Quantity } from '../../k8s';
import { componentLabels, selectorLabels } from '../../labels';
import { AppBinding, DeclaredSecret, IDataService, SecretKeyRef, secretEnv, ServicePort } from '../../constructs/data-service';
import { EdgeAttachment, PublicIngress } from '../../constructs/edge/public-ingress';
import { AlertGroup } from '../../constructs/monitoring/alert-rules';
import { DashboardKit, DashboardRow } from '../../constructs/monitoring/dashboards';
import { ProbeTarget } from '../../constructs/monitoring/probes';
import { AllowFlows, connect } from '../../constructs/network-policy';
import { restrictedContainerSecurity, restrictedPodSecurity } from '../../constructs/pod-security';
import { containerResources } from '../../constructs/resources';
import { singleVolumePod } from '../../constructs/storage';

/** The Postgres login of the saved server. */
export interface PgAdminServer {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** Its password, stored for pgAdmin's user (a pgpass file on the volume). @default none: pgAdmin asks at each connect */
  readonly secret?: SecretKeyRef;
  /** The port to connect pgAdmin's pods to. */
  readonly connectTo: readonly ServicePort[];
}

export interface PgAdminProps {
  readonly namespace: string;
  readonly image: string;
  readonly host: string;
  /** pgAdmin's login e-mail; its password is `login`. */
  readonly email: string;
  readonly login: SecretKeyRef;
  readonly server: PgAdminServer;
  readonly resources: Resources;
  readonly storageSize: string;
  readonly storageClass: string;
  /** Admin attachment of the edge for the UI. */
  readonly edge: EdgeAttachment;
  /** Where the ingress controller runs, and its pods: the only ones that reach the UI. */
  readonly edgeNamespace: string;
  readonly traefikPodLabels: Readonly<Record<string, string>>;
  /** @default 'pgadmin' */
  readonly name?: string;
}

/** The image's facts: its `pgadmin` user, the port it is told to listen on, its data dir, its health path. */
const IMAGE = { uid: 5050, port: 5050, dataDir: '/var/lib/pgadmin', serversDir: '/etc/pgadmin-servers', healthPath: '/misc/ping' } as const;
const PORT = IMAGE.port;

export class PgAdmin extends Construct implements IDataService {
  public readonly name: string;
  public readonly namespace: string;
  public readonly port = PORT;
  public readonly podLabels: Record<string, string>;
  /** Its port, for connect(). */
  public readonly endpoint: ServicePort;
  private readonly secrets: DeclaredSecret[];

  constructor(scope: Construct, id: string, props: PgAdminProps) {
    super(scope, id);
    const { server, namespace: ns, name = 'pgadmin' } = props;
    [this.name, this.namespace, this.podLabels] = [name, ns, selectorLabels(name)];
    const labels = componentLabels(name, 'database-admin');
    this.secrets = [props.login, ...(server.secret ? [server.secret] : [])].map((ref) => ({ namespace: ns, ...ref }));

    new KubeConfigMap(this, 'Servers', {
      metadata: { name: `${name}-servers`, namespace: ns, labels },
      data: { 'servers.json': serversJson(server) },
    });
    singleVolumePod(this, 'StatefulSet', {
      name, namespace: ns, labels, podLabels: this.podLabels, storageClass: props.storageClass, storageSize: props.storageSize,
      pod: {
        securityContext: restrictedPodSecurity(IMAGE.uid),
        ...(server.secret ? { initContainers: [pgpassWriter(props)] } : {}),
        containers: [pgadminContainer(props)],
        volumes: [{ name: 'servers', configMap: { name: `${name}-servers` } }, { name: 'tmp', emptyDir: { sizeLimit: Quantity.fromString('64Mi') } }],
      },
    });
    new KubeService(this, 'Service', {
      metadata: { name, namespace: ns, labels },
      spec: { selector: this.podLabels, ports: [{ name: 'http', port: PORT, targetPort: IntOrString.fromString('http') }] },
    });
    new PublicIngress(this, 'Ingress', { name, namespace: ns, hosts: [props.host], serviceName: name, servicePort: PORT, edge: props.edge });

    // In: Traefik only. Out: the Postgres port of its saved server, nothing else.
    const policy = new AllowFlows(this, 'flows', { name, namespace: ns, podLabels: this.podLabels });
    this.endpoint = { policy, podLabels: this.podLabels, port: PORT };
    const traefik = new AllowFlows(this, 'traefik-flows', { name: `traefik-to-${name}`, namespace: props.edgeNamespace, podLabels: { ...props.traefikPodLabels } });
    connect({ policy: traefik }, this.endpoint, [PORT]);
    for (const port of server.connectTo) connect({ policy }, port, [port.port]);
  }

  /** An admin UI: apps get nothing from it. */
  public bindApp(): AppBinding {
    return { secretEnv: [], env: [], connectTo: [], secrets: [] };
  }

  public get probeTargets(): ProbeTarget[] {
    return [{
      name: this.name, group: 'data', kind: 'http', target: `http://${this.name}.${this.namespace}.svc.cluster.local:${PORT}${IMAGE.healthPath}`,
      backend: { namespace: this.namespace, podLabels: this.podLabels, port: PORT },
    }];
  }

  public get declaredSecrets(): DeclaredSecret[] {
    return this.secrets;
  }

  /**
   * Restarting often: usually its memory limit, hit by a large result set (its route being down is
   * ProbeFailing's, service="pgadmin").
   */
  public alertRules(_t: AlertThresholds): AlertGroup[] {
    return [{
      area: this.name,
      rules: [{
        alert: 'PgAdminRestarting', severity: 'warning',
        expr: `max by (namespace, pod) (increase(kube_pod_container_status_restarts_total{${this.pods}}[1h])) > 3`,
        summary: 'pgAdmin restarted more than 3 times in the last hour',
        description: 'The database admin UI keeps restarting (the databases are not affected): most often a query result larger than its memory limit (pgadmin.resources).',
        action: 'check the pgAdmin pod',
      }],
    }];
  }

  public dashboardRows({ graph, rate }: DashboardKit): DashboardRow[] {
    return [{
      title: 'pgAdmin',
      panels: [
        graph('Up (probe, 1 = up)', 'short', [[`min(probe_success{service="${this.name}"})`, 'pgAdmin']]),
        graph('Restarts', 'short', [[`sum by (pod) (increase(kube_pod_container_status_restarts_total{${this.pods}}${rate}))`, '{{pod}}']]),
      ],
    }];
  }

  /** Its pods, as a label selector of kube-state-metrics series. */
  private get pods(): string {
    return `namespace="${this.namespace}", pod=~"${this.name}-[0-9]+"`;
  }
}

/** pgAdmin's saved server (setup.py load-servers on its first start): the platform's Postgres. */
export function serversJson(server: PgAdminServer): string {
  const entry = {
    Name: `platform (${server.user})`,
    Group: 'Platform',
    Host: server.host,
    Port: server.port,
    MaintenanceDB: server.database,
    Username: server.user,
    SSLMode: 'prefer',
    // In server mode pgAdmin reads a PassFile below the user's storage directory.
    ...(server.secret ? { PassFile: '/pgpass' } : {}),
  };
  return JSON.stringify({ Servers: { 1: entry } }, null, 2) + '\n';
}

/**
 * The pgpass line of the saved server, written into pgAdmin's storage directory of the login's user
 * (`storage/<email with @ as _>/pgpass`, mode 600) from the Secret: the password never enters the config.
 */
export function pgpassScript(server: PgAdminServer): string {
  return `set -eu
umask 077
dir="${IMAGE.dataDir}/storage/$(printf '%s' "$PGADMIN_DEFAULT_EMAIL" | tr '@' '_')"
mkdir -p "$dir"
# pgpass escapes ":" and "\\\\" in a field.
password=$(printf '%s' "$SERVER_PASSWORD" | sed 's/[\\\\:]/\\\\&/g')
printf '%s:%s:%s:%s:%s\\n' '${server.host}' '${server.port}' '${server.database}' '${server.user}' "$password" > "$dir/pgpass"
`;
}

const SMALL = { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } };

function pgpassWriter(props: PgAdminProps): Container {
  return {
    name: 'pgpass',
    image: props.image,
    command: ['/bin/sh', '-c', pgpassScript(props.server)],
    env: [{ name: 'PGADMIN_DEFAULT_EMAIL', value: props.email }, secretEnv('SERVER_PASSWORD', props.server.secret!)],
    volumeMounts: [{ name: 'data', mountPath: IMAGE.dataDir }],
    resources: containerResources(SMALL),
    securityContext: restrictedContainerSecurity(),
  };
}

function pgadminContainer(props: PgAdminProps): Container {
  const env: EnvVar[] = [
    secretEnv('PGADMIN_DEFAULT_PASSWORD', props.login),
    { name: 'PGADMIN_DEFAULT_EMAIL', value: props.email },
    { name: 'PGADMIN_LISTEN_PORT', value: String(PORT) },
    { name: 'PGADMIN_SERVER_JSON_FILE', value: `${IMAGE.serversDir}/servers.json` },
    // No local mail server (its start needs root); no update check from the cluster.
    { name: 'PGADMIN_DISABLE_POSTFIX', value: 'true' },
    { name: 'PGADMIN_CONFIG_UPGRADE_CHECK_ENABLED', value: 'False' },
  ];
  const health = { httpGet: { path: IMAGE.healthPath, port: IntOrString.fromString('http') } };
  return {
    name: 'pgadmin',
    image: props.image,
    env,
    ports: [{ name: 'http', containerPort: PORT }],
    resources: containerResources(props.resources),
    // The entrypoint writes its config_distro.py into /pgadmin4 at the first start.
    securityContext: restrictedContainerSecurity({ readOnlyRootFilesystem: false }),
    // The first start creates pgAdmin's database and loads the saved server.
    startupProbe: { ...health, periodSeconds: 5, failureThreshold: 60 },
    readinessProbe: { ...health, periodSeconds: 10 },
    livenessProbe: { ...health, periodSeconds: 30, failureThreshold: 3 },
    volumeMounts: [
      { name: 'data', mountPath: IMAGE.dataDir },
      { name: 'servers', mountPath: IMAGE.serversDir, readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };
}
