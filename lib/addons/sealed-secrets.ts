/**
 * The sealed-secrets controller: decrypts the SealedSecrets of the secrets chart. Installed where
 * kubeseal looks for it by default, so kubeseal needs no flags.
 */
import { Resources } from '../config/fields';
import { HelmResources, helmResources } from '../constructs/resources';
import { row, sized } from '../footprint';
import { CRD, RBAC } from '../gitops/helm-scope';
import { chartPin, HelmAddOn } from './addon';

/** Values we set on the sealed-secrets chart (keys from its values.yaml). */
export interface SealedSecretsValues {
  readonly fullnameOverride: string;
  readonly resources: HelmResources;
  readonly containerSecurityContext: {
    readonly enabled: boolean;
    readonly readOnlyRootFilesystem: boolean;
    readonly runAsNonRoot: boolean;
    readonly runAsUser: number;
    readonly allowPrivilegeEscalation: boolean;
    readonly capabilities: { readonly drop: string[] };
    readonly seccompProfile: { readonly type: 'RuntimeDefault' };
  };
}

/** kubeseal's defaults (`--controller-name`, `--controller-namespace`), so it needs no flags. */
export const SEALED_SECRETS_CONTROLLER = { name: 'sealed-secrets-controller', namespace: 'kube-system' } as const;

export function sealedSecretsValues(resources: Resources): SealedSecretsValues {
  return {
    fullnameOverride: SEALED_SECRETS_CONTROLLER.name,
    resources: helmResources(resources),
    // The chart's defaults lack these two for Pod Security "restricted".
    containerSecurityContext: {
      enabled: true, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 1001,
      allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}

export const sealedSecrets: HelmAddOn<SealedSecretsValues> = {
  id: 'sealed-secrets', host: 'secrets', ...chartPin('https://bitnami-labs.github.io/sealed-secrets', 'sealed-secrets'), releaseName: SEALED_SECRETS_CONTROLLER.name,
  kubernetes: { minimum: '1.16.0', reason: "Chart.yaml kubeVersion '>=1.16.0-0'" },
  namespace: () => SEALED_SECRETS_CONTROLLER.namespace,
  serverSideApply: true,
  crdGroups: ['bitnami.com'], clusterKinds: [CRD, ...RBAC], extraNamespaces: [],
  pods: { controller: { labels: { 'app.kubernetes.io/name': 'sealed-secrets' }, ports: { http: 8080 } } },
  resourceKey: () => 'gitops.resources.sealedSecrets',
  footprint: (v, _n, at) => [row('sealed-secrets-controller', 1, [sized(at('resources'), v.resources)])],
  values: ({ config }) => sealedSecretsValues(config.gitops.resources.sealedSecrets),
};
