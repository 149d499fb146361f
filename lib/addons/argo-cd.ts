/**
 * Argo CD, managed through its own chart so that the Application health check that makes the
 * sync waves wait lives in git (README, "Application health check").
 */
import { ARGOCD_NAMESPACE, PlatformConfig } from '../config/schema';
import { NOTIFICATIONS_SECRET, notificationsValues, NotificationsValues } from '../gitops/notifications';
import { HelmResources, helmResources } from '../constructs/resources';
import { row, sized } from '../footprint';
import { APPLICATION_HEALTH_KEY, APPLICATION_HEALTH_LUA, EXTERNAL_SECRET_HEALTH_KEY, EXTERNAL_SECRET_HEALTH_LUA } from '../gitops/health-check';
import { CRD, RBAC } from '../gitops/helm-scope';
import { chartPin, HelmAddOn } from './addon';

/** Namespace of Argo CD and its Applications (HelmRelease's default). */
export { ARGOCD_NAMESPACE };
/** Components whose resources we set; Dex is switched off, notifications run when there are receivers. */
const COMPONENTS = ['controller', 'repoServer', 'server', 'redis', 'applicationSet', 'notifications'] as const;

/** Values we set on the argo-cd chart (keys from its values.yaml). */
export type ArgoCdValues = {
  readonly crds: { readonly install: boolean; readonly keep: boolean };
  readonly configs: { readonly cm: Readonly<Record<string, string>> };
  readonly dex: { readonly enabled: boolean };
  readonly notifications: {
    readonly enabled: boolean;
    readonly resources?: HelmResources;
    /** The Secret is created out of band (or sealed): `secrets.argocd.argocd-notifications-secret`. */
    readonly secret?: { readonly create: boolean; readonly name: string };
  } & Partial<NotificationsValues>;
  /** The pre-install hook Job that writes the Redis password into Secret argocd-redis. */
  readonly redisSecretInit: { readonly resources: HelmResources };
} & { readonly [C in Exclude<(typeof COMPONENTS)[number], 'notifications'>]: { readonly resources: HelmResources } };

/**
 * The hook Job `argocd-redis-secret-init` runs `argocd admin redis-initial-password` once per sync
 * (a Go binary that reads one Secret and writes one): a small fixed size, not a config key.
 */
export const REDIS_SECRET_INIT_RESOURCES: HelmResources = { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '128Mi' } };
/** The Secret that Job writes (the Redis password every Argo CD component reads). */
export const ARGOCD_REDIS_SECRET = 'argocd-redis';

export function argoCdValues(config: PlatformConfig): ArgoCdValues {
  const resources = config.gitops.resources.argoCd;
  const receivers = config.monitoring.alertmanager.receivers;
  return {
    // keep: uninstalling must not cascade-delete every Application.
    crds: { install: true, keep: true },
    configs: { cm: { [APPLICATION_HEALTH_KEY]: APPLICATION_HEALTH_LUA, [EXTERNAL_SECRET_HEALTH_KEY]: EXTERNAL_SECRET_HEALTH_LUA } },
    // No SSO: one pod less on a small node. Failed syncs, failed hooks and degraded Applications
    // go to the alert receivers (lib/gitops/notifications.ts); without receivers the controller is off.
    dex: { enabled: false },
    notifications: receivers.length === 0 ? { enabled: false } : {
      enabled: true,
      resources: helmResources(resources.notifications),
      secret: { create: false, name: NOTIFICATIONS_SECRET },
      ...notificationsValues(receivers, config.name),
    },
    controller: { resources: helmResources(resources.controller) },
    repoServer: { resources: helmResources(resources.repoServer) },
    server: { resources: helmResources(resources.server) },
    redis: { resources: helmResources(resources.redis) },
    applicationSet: { resources: helmResources(resources.applicationSet) },
    redisSecretInit: { resources: REDIS_SECRET_INIT_RESOURCES },
  };
}

export const argoCd: HelmAddOn<ArgoCdValues> = {
  id: 'argo-cd', host: 'argocd', ...chartPin('https://argoproj.github.io/argo-helm', 'argo-cd'), releaseName: 'argocd',
  kubernetes: { minimum: '1.25.0', reason: "Chart.yaml kubeVersion '>=1.25.0-0'" },
  namespace: () => ARGOCD_NAMESPACE,
  serverSideApply: true,
  crdGroups: ['argoproj.io'], clusterKinds: [CRD, ...RBAC], extraNamespaces: [],
  runtimeSecrets: [{ name: ARGOCD_REDIS_SECRET, producer: { kind: 'Job', name: 'argocd-redis-secret-init' } }],
  pods: { server: { labels: { 'app.kubernetes.io/name': 'argocd-server' }, ports: { http: 8080 } } },
  // The Redis password hook Job has a fixed size (REDIS_SECRET_INIT_RESOURCES), not a config key.
  resourceKey: (part) => (part === 'redis-secret-init' ? 'REDIS_SECRET_INIT_RESOURCES (lib/addons/argo-cd.ts, fixed)' : `gitops.resources.argoCd.${part}`),
  footprint: (v, _n, at) => [
    ...COMPONENTS.filter((part) => v[part]?.enabled !== false).map((part) => row(part, v[part]?.replicas ?? 1, [sized(at(`${part}.resources`), v[part]?.resources)])),
    row('redis-secret-init', 1, [sized(at('redisSecretInit.resources'), v.redisSecretInit?.resources)], true),
  ],
  values: ({ config }) => argoCdValues(config),
};
