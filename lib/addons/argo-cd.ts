/**
 * Argo CD, managed through its own chart so that the Application health check that makes the
 * sync waves wait lives in git (README, "Application health check").
 */
import { PlatformConfig } from '../config/schema';
import { HelmResources, helmResources } from '../constructs/resources';
import { row, sized } from '../footprint';
import { APPLICATION_HEALTH_KEY, APPLICATION_HEALTH_LUA } from '../gitops/health-check';
import { CRD, RBAC } from '../gitops/helm-scope';
import { chartPin, HelmAddOn } from './addon';

/** Namespace of Argo CD and its Applications (HelmRelease's default). */
export const ARGOCD_NAMESPACE = 'argocd';
/** Components whose resources we set; Dex and notifications are switched off in our values. */
const COMPONENTS = ['controller', 'repoServer', 'server', 'redis', 'applicationSet'] as const;

/** Values we set on the argo-cd chart (keys from its values.yaml). */
export type ArgoCdValues = {
  readonly crds: { readonly install: boolean; readonly keep: boolean };
  readonly configs: { readonly cm: Readonly<Record<string, string>> };
  readonly dex: { readonly enabled: boolean };
  readonly notifications: { readonly enabled: boolean };
} & { readonly [C in (typeof COMPONENTS)[number]]: { readonly resources: HelmResources } };

export function argoCdValues(resources: PlatformConfig['gitops']['resources']['argoCd']): ArgoCdValues {
  return {
    // keep: uninstalling must not cascade-delete every Application.
    crds: { install: true, keep: true },
    configs: { cm: { [APPLICATION_HEALTH_KEY]: APPLICATION_HEALTH_LUA } },
    // No SSO and no notification targets are configured: two pods less on a small node.
    dex: { enabled: false },
    notifications: { enabled: false },
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
  footprint: (v, _n, at) => COMPONENTS.map((part) => row(part, v[part]?.replicas ?? 1, [sized(at(`${part}.resources`), v[part]?.resources)])),
  values: ({ config }) => argoCdValues(config.gitops.resources.argoCd),
};
