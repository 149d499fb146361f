/**
 * Argo CD, managed through its own chart so that the Application health check that makes the
 * sync waves wait lives in git (README, "Application health check").
 */
import { ARGOCD_NAMESPACE, PlatformConfig } from '../config/schema';
import { NOTIFICATIONS_SECRET, notificationsValues, NotificationsValues } from '../gitops/notifications';
import { HelmResources, helmResources } from '../constructs/resources';
import { row, sized } from '../footprint';
import { APPLICATION_HEALTH_KEY, APPLICATION_HEALTH_LUA } from '../gitops/health-check';
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
} & { readonly [C in Exclude<(typeof COMPONENTS)[number], 'notifications'>]: { readonly resources: HelmResources } };

export function argoCdValues(config: PlatformConfig): ArgoCdValues {
  const resources = config.gitops.resources.argoCd;
  const receivers = config.monitoring.alertmanager.receivers;
  return {
    // keep: uninstalling must not cascade-delete every Application.
    crds: { install: true, keep: true },
    configs: { cm: { [APPLICATION_HEALTH_KEY]: APPLICATION_HEALTH_LUA } },
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
  };
}

export const argoCd: HelmAddOn<ArgoCdValues> = {
  id: 'argo-cd', host: 'argocd', ...chartPin('https://argoproj.github.io/argo-helm', 'argo-cd'), releaseName: 'argocd',
  namespace: () => ARGOCD_NAMESPACE,
  serverSideApply: true,
  crdGroups: ['argoproj.io'], clusterKinds: [CRD, ...RBAC], extraNamespaces: [],
  pods: { server: { labels: { 'app.kubernetes.io/name': 'argocd-server' }, ports: { http: 8080 } } },
  resourceKey: (part) => `gitops.resources.argoCd.${part}`,
  footprint: (v, _n, at) => COMPONENTS.filter((part) => v[part]?.enabled !== false).map((part) => row(part, v[part]?.replicas ?? 1, [sized(at(`${part}.resources`), v[part]?.resources)])),
  values: ({ config }) => argoCdValues(config),
};
