/**
 * What a Helm chart installs outside the namespace its Application targets: cluster-scoped kinds
 * and extra namespaces. In `helm.render: application` Argo CD renders these charts, so they never
 * appear in dist/; the AppProject must still allow them, and nothing more. Each add-on descriptor (lib/addons/) states
 * its own; a Helm Application without one fails the synth.
 */
export interface GroupKind {
  readonly group: string;
  readonly kind: string;
}

export const CRD: GroupKind = { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' };
export const CLUSTER_ROLE: GroupKind = { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' };
export const CLUSTER_ROLE_BINDING: GroupKind = { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' };
export const VALIDATING_WEBHOOK: GroupKind = { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration' };
export const MUTATING_WEBHOOK: GroupKind = { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration' };
export const INGRESS_CLASS: GroupKind = { group: 'networking.k8s.io', kind: 'IngressClass' };
export const RBAC: readonly GroupKind[] = [CLUSTER_ROLE, CLUSTER_ROLE_BINDING];

export interface HelmChartScope {
  /** API groups of the CRDs the chart installs (their custom resources must sync after it). */
  readonly crdGroups: readonly string[];
  readonly clusterKinds: readonly GroupKind[];
  /** Namespaces the chart writes to besides its destination. */
  readonly extraNamespaces: readonly string[];
}
