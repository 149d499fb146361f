/**
 * The External Secrets Operator: generates the platform's internal credentials in the cluster
 * (`secrets.<role>.<name>` declared `generated`, rendered by lib/constructs/generated-secrets.ts) and
 * keeps the copies of a Secret in other namespaces equal to their source (its Kubernetes provider).
 * Only the controller runs: no admission webhook (and so no certificate controller), as the platform's
 * objects are checked at synth time against the CRDs; CRD conversion is off in the chart already.
 * Installed beside the sealed-secrets controller, in kube-system.
 */
import { Resources } from '../config/fields';
import { HelmResources, helmResources } from '../constructs/resources';
import { row, sized } from '../footprint';
import { CRD, RBAC } from '../gitops/helm-scope';
import { chartPin, HelmAddOn } from './addon';

/** Values we set on the external-secrets chart (keys from its values.yaml). */
export interface ExternalSecretsValues {
  readonly fullnameOverride: string;
  readonly installCRDs: boolean;
  readonly resources: HelmResources;
  readonly webhook: { readonly create: boolean };
  readonly certController: { readonly create: boolean };
  /** The platform uses namespaced SecretStores and generators only. */
  readonly processClusterStore: boolean;
  readonly processClusterExternalSecret: boolean;
  readonly processPushSecret: boolean;
  readonly processClusterPushSecret: boolean;
}

/** Where the controller runs; its release name is also the name of its Deployment. */
export const EXTERNAL_SECRETS_CONTROLLER = { name: 'external-secrets', namespace: 'kube-system' } as const;

export function externalSecretsValues(resources: Resources): ExternalSecretsValues {
  return {
    fullnameOverride: EXTERNAL_SECRETS_CONTROLLER.name,
    installCRDs: true,
    resources: helmResources(resources),
    webhook: { create: false },
    certController: { create: false },
    processClusterStore: false,
    processClusterExternalSecret: false,
    processPushSecret: false,
    processClusterPushSecret: false,
  };
}

export const externalSecrets: HelmAddOn<ExternalSecretsValues> = {
  id: 'external-secrets', host: 'secrets', ...chartPin('https://charts.external-secrets.io', 'external-secrets'), releaseName: EXTERNAL_SECRETS_CONTROLLER.name,
  kubernetes: { minimum: '1.19.0', reason: "Chart.yaml kubeVersion '>= 1.19.0-0'" },
  namespace: () => EXTERNAL_SECRETS_CONTROLLER.namespace,
  // The CRDs carry large OpenAPI schemas (every provider): client-side apply's annotation would overflow.
  serverSideApply: true,
  crdGroups: ['external-secrets.io', 'generators.external-secrets.io'], clusterKinds: [CRD, ...RBAC], extraNamespaces: [],
  pods: { controller: { labels: { 'app.kubernetes.io/name': 'external-secrets', 'app.kubernetes.io/instance': EXTERNAL_SECRETS_CONTROLLER.name }, ports: { metrics: 8080 } } },
  resourceKey: () => 'gitops.resources.externalSecrets',
  footprint: (v, _n, at) => [row('external-secrets', 1, [sized(at('resources'), v.resources)])],
  values: ({ config }) => externalSecretsValues(config.gitops.resources.externalSecrets),
};
