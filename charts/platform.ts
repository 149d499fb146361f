import { ApiObject, App, Chart, JsonPatch } from 'cdk8s';
import { BaseChart } from './base';
import { AppChart } from './app';
import { EdgeChart } from './edge';
import { MonitoringChart } from './monitoring';
import { ProbeTarget } from '../lib/constructs/monitoring/probes';
import { GlitchTip } from '../lib/services/glitchtip/glitchtip';
import { Postgres } from '../lib/services/postgres/postgres';
import { DATABASE_SERVICE, SERVICES } from '../lib/services/registry';
import { ServiceContext } from '../lib/services/service';
import { BackupChart } from './backup';
import { ROLES } from '../lib/services/postgres/config-files';
import { ARGOCD_NAMESPACE, PlatformConfig, SECRET_SCOPES, SecretScope, secretScopeNamespace } from '../lib/config/schema';
import { notificationsSecretRefs } from '../lib/gitops/notifications';
import { ArgoCdChart } from './argocd';
import { SecretsChart } from './secrets';
import { assertSecretsDeclared } from '../lib/gitops/secret-references';
import { addRolloutChecksums } from '../lib/gitops/rollout-checksums';
import { appCharts } from '../lib/gitops/rendered';
import { Minio } from '../lib/services/minio/minio';
import { Redis } from '../lib/services/redis/redis';
import { IDataService } from '../lib/constructs/data-service';
import { HelmAddOn } from '../lib/addons/addon';
import { ADD_ONS } from '../lib/addons/registry';
import { IMAGES } from '../lib/config/versions';
import { TRAEFIK_PORTS } from '../lib/addons/traefik';
import { assertKnownAddOnIds } from '../lib/addons/inline';
import { clusterPeers, isSecondary } from '../lib/config/shared-cluster';

/** The edge as the database sees it, built before the edge chart: it has no route. */
const NO_EDGE: ServiceContext<unknown>['edge'] = {
  attachment: () => {
    throw new Error('the database service is built before the edge chart and has no route; fix: route it from a service built after it');
  },
  traefikPodLabels: {},
};

/** The chart that holds data services given through `PlatformOptions.dataServices`. */
export const EXTRA_DATA_SERVICES_CHART = 'data-services';

export interface PlatformOptions {
  /**
   * The Helm add-ons; each is installed by the chart its descriptor names as host.
   * @default ADD_ONS (lib/addons/registry.ts)
   */
  readonly addOns?: readonly HelmAddOn[];
  /**
   * More data services, built into the chart `data-services` (synced with the other data
   * services). Apps are bound to them after the built-in ones; their probes, Secrets, alert rules
   * and dashboard rows are collected like those of Postgres, Redis and MinIO.
   * @default none
   */
  readonly dataServices?: (scope: Chart, config: PlatformConfig) => readonly IDataService[];
}

/**
 * The whole platform of one environment: one cdk8s App whose charts each become one
 * folder in dist/<env>/ and one Argo CD Application.
 */
export class Platform {
  public readonly app: App;
  public readonly config: PlatformConfig;
  public readonly base: BaseChart;
  /** The database (Patroni cluster and PgBouncer); services ask it for theirs (addDatabase). */
  public readonly postgres: Postgres;
  /** Every data service, in the order apps are bound to them (env, flows) and dashboards list them. */
  public readonly services: IDataService[];
  public readonly apps: AppChart;
  public readonly edge: EdgeChart;
  /** Host, port and Secret of Redis, for the app chart. */
  public readonly redis: Redis;
  /** GlitchTip (error tracking), when `glitchtip.enabled`. */
  public readonly glitchtip?: GlitchTip;
  /** S3 endpoint, buckets and Secrets of MinIO, for the app chart and backups. */
  public readonly minio: Minio;
  /** Prometheus, Alertmanager, Grafana, Loki, Alloy, probes and the status page. */
  public readonly monitoring: MonitoringChart;
  /** pg_dump CronJobs, MinIO mirror, restore and drill (Backblaze B2). */
  public readonly backup: BackupChart;
  /** SealedSecrets of the `secrets` declarations and the sealed-secrets controller. */
  public readonly secrets: SecretsChart;
  /** Argo CD: AppProject, root and one Application per chart, derived from the charts above. */
  public readonly argocd: ArgoCdChart;

  constructor(config: PlatformConfig, options: PlatformOptions = {}) {
    assertKnownAddOnIds(config, (options.addOns ?? ADD_ONS).map((a) => a.id));
    // A secondary environment uses the add-ons of the cluster's primary (lib/config/shared-cluster.ts).
    const addOns = isSecondary(config) ? [] : options.addOns ?? ADD_ONS;
    this.config = config;
    this.app = new App();
    this.base = new BaseChart(this.app, 'base', { config });
    // The built-in services of lib/services/registry.ts, each in its own chart: the database first,
    // then the edge (MinIO's and the admin UIs' routes attach to it), then the others in registry order.
    const built = new Map<string, IDataService>();
    const context = (): ServiceContext<PlatformConfig> => ({
      config, built, postgres: built.get(DATABASE_SERVICE.key) as Postgres | undefined, peers: clusterPeers(config),
      // The database is built before the edge chart: it reaches neither.
      edge: this.edge ? { attachment: (role, access) => this.edge.attachment(role, access), traefikPodLabels: this.edge.traefikPodLabels } : NO_EDGE,
    });
    const serviceChart = (key: string) => new Chart(this.app, key, { labels: { 'app.kubernetes.io/part-of': 'platform' } });
    this.postgres = DATABASE_SERVICE.build(serviceChart(DATABASE_SERVICE.key), context());
    built.set(DATABASE_SERVICE.key, this.postgres);
    this.edge = new EdgeChart(this.app, 'edge', { config, addOns });
    for (const service of SERVICES) {
      if (service === DATABASE_SERVICE || !(service.enabled?.(config) ?? true)) continue;
      built.set(service.key, service.build(serviceChart(service.key), context()));
    }
    this.redis = built.get('redis') as Redis;
    this.minio = built.get('minio') as Minio;
    this.glitchtip = built.get('glitchtip') as GlitchTip | undefined;
    this.services = [...built.values()];
    if (options.dataServices) {
      const chart = new Chart(this.app, EXTRA_DATA_SERVICES_CHART, { labels: { 'app.kubernetes.io/part-of': 'platform' } });
      this.services.push(...options.dataServices(chart, config));
    }

    const { cluster } = this.postgres;
    this.backup = new BackupChart(this.app, 'backup', {
      config,
      postgres: {
        host: cluster.primaryHost, port: cluster.port, database: cluster.database, appUser: cluster.appUser,
        backupUser: ROLES.backup, backupSecret: cluster.secrets.backup,
        superuser: ROLES.superuser, superuserSecret: cluster.secrets.superuser, servers: this.postgres.servers,
        serviceDatabases: cluster.serviceDatabases.map((d) => d.database),
      },
      minio: {
        endpoint: this.minio.s3Endpoint, secretName: this.minio.backupSecretName!, rootSecretName: this.minio.rootSecretName,
        buckets: config.backup.minioMirror.buckets ?? this.minio.bucketNames, api: this.minio.endpoint,
      },
    });
    this.apps = new AppChart(this.app, 'app', { config, services: this.services, edge: this.edge.attachment('app', 'public'), backups: this.backup.backups,
      smoke: {
        image: config.images.curl ?? IMAGES.curl,
        // Staging and self-signed certificates are not publicly trusted; the route, not the CA, is under test then.
        insecure: config.edge.issuer !== 'letsencrypt-prod',
        edge: {
          namespace: clusterPeers(config).edge, serviceHost: `traefik.${clusterPeers(config).edge}.svc.cluster.local`, servicePort: 443,
          podLabels: { ...this.edge.traefikPodLabels }, podPort: TRAEFIK_PORTS.websecure,
        },
      },
    });

    this.monitoring = new MonitoringChart(this.app, 'monitoring', {
      addOns,
      config,
      edge: {
        namespace: clusterPeers(config).edge,
        public: this.edge.attachment('monitoring', 'public'),
        admin: this.edge.attachment('monitoring', 'admin'),
        traefikPodLabels: { ...this.edge.traefikPodLabels },
      },
      targets: this.probeTargets(),
      publicHosts: this.publicHosts(),
      contributors: this.services,
      s3: { endpoint: this.minio.s3Endpoint, backend: { namespace: this.minio.namespace, podLabels: this.minio.podLabels, port: this.minio.apiPort } },
    });

    // cert-manager's HTTP-01 solvers, reachable for every namespace that now holds a route.
    this.edge.openSolverPaths(this.app.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject));
    if (isSecondary(config)) this.prefixPoliciesInSharedNamespaces();

    // --- GitOps: keep these lines last; they derive from every chart above (README, "GitOps") ---
    this.secrets = new SecretsChart(this.app, 'secrets', { config, addOns });
    const roleOf = new Map<string, SecretScope>(SECRET_SCOPES.map((scope) => [secretScopeNamespace(config, scope), scope]));
    addRolloutChecksums(this.charts, (namespace, name) => {
      const scope = roleOf.get(namespace);
      return scope === undefined ? undefined : config.secrets[scope][name]?.encryptedData;
    });
    assertSecretsDeclared(config, this.charts, this.declaredSecrets);
    this.argocd = new ArgoCdChart(this.app, 'argocd', { config, charts: this.charts, addOns });
  }

  /**
   * Health checks of the apps and data services, from the attributes of their constructs. Data
   * services are listed HTTP checks first, then TCP connects, each in service order.
   */
  private probeTargets(): ProbeTarget[] {
    const apps = this.apps.apps.flatMap((w): ProbeTarget[] => {
      const app = this.config.apps.find((a) => a.name === w.name);
      if (!app || app.kind !== 'web' || !w.serviceName) return [];
      return [{
        name: w.name, group: 'apps', kind: 'http',
        target: `http://${w.serviceName}.${this.config.namespaces.app}.svc.cluster.local:${w.servicePort}${app.healthPath}`,
        backend: { namespace: this.config.namespaces.app, podLabels: w.podLabels, port: app.port },
      }];
    });
    const data = this.services.flatMap((s) => s.probeTargets);
    const kinds: ProbeTarget['kind'][] = ['http', 'tcp', 'tls'];
    return [...apps, ...kinds.flatMap((kind) => data.filter((t) => t.kind === kind))];
  }

  /** Every host an Ingress or HTTPRoute of the charts built so far serves (their certificates are checked). */
  private publicHosts(): string[] {
    const routes = this.app.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject && ['Ingress', 'HTTPRoute'].includes(c.kind));
    const hosts = routes
      .flatMap((route) => {
        const spec = route.toJson().spec ?? {};
        return route.kind === 'Ingress' ? ((spec.rules ?? []) as { host?: string }[]).map((r) => r.host) : ((spec.hostnames ?? []) as string[]);
      })
      .filter((h): h is string => Boolean(h));
    return [...new Set(hosts)].sort();
  }

  /**
   * Secrets the platform reads, by namespace. References in pod specs are also found by scanning
   * the synthesized objects; list here what a scan cannot see (a Helm value naming an existing
   * Secret). Each must be declared under `secrets` in the config, or the synth fails.
   */
  public get declaredSecrets(): { namespace: string; name: string; key: string }[] {
    return [
      // Each data service's own Secrets, and what the apps read in their namespace through their bindings.
      ...this.services.flatMap((s) => s.declaredSecrets),
      ...this.apps.secrets,
      // Alertmanager receivers, the Grafana admin, Loki's S3 key pair (when Loki uses S3).
      ...this.monitoring.secrets.map((ref) => ({ namespace: this.monitoring.namespace, ...ref })),
      ...this.backup.backups.secrets.map((ref) => ({ namespace: this.config.namespaces.backup, ...ref })),
      // Traefik's basicAuth on the admin UIs (the edge credential, in each admin namespace).
      ...this.edge.secrets,
      // Argo CD's notifications controller: one key per alert receiver (a Helm value names the Secret).
      ...notificationsSecretRefs(this.config.monitoring.alertmanager.receivers, ARGOCD_NAMESPACE),
    ];
  }

  /**
   * A secondary environment's NetworkPolicies on the other side of a flow, in its primary's namespaces
   * (Traefik's and Prometheus'), carry its name as a prefix there (lib/config/shared-cluster.ts).
   */
  private prefixPoliciesInSharedNamespaces(): void {
    const own = new Set(Object.values(this.config.namespaces));
    for (const object of this.app.node.findAll()) {
      if (!(object instanceof ApiObject) || object.kind !== 'NetworkPolicy') continue;
      const namespace = object.metadata.namespace;
      if (namespace !== undefined && !own.has(namespace)) object.addJsonPatch(JsonPatch.replace('/metadata/name', `${this.config.name}-${object.name}`));
    }
  }

  /** Charts in construct order (cdk8s's App.charts: dependencies first); the id of each is its folder name. */
  public get charts(): Chart[] {
    return appCharts(this.app);
  }
}
