/**
 * What each Helm chart installs outside the namespace its Application targets: cluster-scoped
 * kinds and extra namespaces. Argo CD renders these charts, so they never appear in dist/; the
 * AppProject must still allow them, and nothing more. One entry per chart in CHARTS
 * (lib/config/versions.ts); a chart without an entry is an error.
 */
export interface GroupKind {
  readonly group: string;
  readonly kind: string;
}

const CRD: GroupKind = { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' };
const CLUSTER_ROLE: GroupKind = { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole' };
const CLUSTER_ROLE_BINDING: GroupKind = { group: 'rbac.authorization.k8s.io', kind: 'ClusterRoleBinding' };
const VALIDATING_WEBHOOK: GroupKind = { group: 'admissionregistration.k8s.io', kind: 'ValidatingWebhookConfiguration' };
const MUTATING_WEBHOOK: GroupKind = { group: 'admissionregistration.k8s.io', kind: 'MutatingWebhookConfiguration' };
const INGRESS_CLASS: GroupKind = { group: 'networking.k8s.io', kind: 'IngressClass' };
const RBAC = [CLUSTER_ROLE, CLUSTER_ROLE_BINDING];

export interface HelmChartScope {
  /** API groups of the CRDs the chart installs (their custom resources must sync after it). */
  readonly crdGroups: readonly string[];
  readonly clusterKinds: readonly GroupKind[];
  /** Namespaces the chart writes to besides its destination. */
  readonly extraNamespaces: readonly string[];
}

/** Keyed by chart name (CHARTS.<x>.chart). */
export const HELM_CHART_SCOPE: Readonly<Record<string, HelmChartScope>> = {
  // Leader-election Role and RoleBinding live in kube-system (global.leaderElection.namespace).
  'cert-manager': { crdGroups: ['cert-manager.io', 'acme.cert-manager.io'], clusterKinds: [CRD, ...RBAC, VALIDATING_WEBHOOK, MUTATING_WEBHOOK], extraNamespaces: ['kube-system'] },
  traefik: { crdGroups: ['traefik.io'], clusterKinds: [CRD, ...RBAC, INGRESS_CLASS], extraNamespaces: [] },
  'sealed-secrets': { crdGroups: ['bitnami.com'], clusterKinds: [CRD, ...RBAC], extraNamespaces: [] },
  'argo-cd': { crdGroups: ['argoproj.io'], clusterKinds: [CRD, ...RBAC], extraNamespaces: [] },
  // Services for the control-plane exporters (kube-controller-manager, kube-scheduler, ...) go to kube-system.
  'kube-prometheus-stack': { crdGroups: ['monitoring.coreos.com'], clusterKinds: [CRD, ...RBAC, VALIDATING_WEBHOOK, MUTATING_WEBHOOK], extraNamespaces: ['kube-system'] },
  loki: { crdGroups: [], clusterKinds: RBAC, extraNamespaces: [] },
  alloy: { crdGroups: [], clusterKinds: RBAC, extraNamespaces: [] },
  'prometheus-blackbox-exporter': { crdGroups: [], clusterKinds: [], extraNamespaces: [] },
};

export function helmChartScope(chart: string): HelmChartScope {
  const scope = HELM_CHART_SCOPE[chart];
  if (scope === undefined) {
    throw new Error(
      `Helm chart "${chart}" has no entry in HELM_CHART_SCOPE; fix: add the cluster-scoped kinds and extra namespaces it installs to lib/gitops/helm-scope.ts`,
    );
  }
  return scope;
}

/** The Helm chart whose CRDs serve an API group, if any. */
export function addOnServing(group: string): string | undefined {
  return Object.entries(HELM_CHART_SCOPE).find(([, scope]) => scope.crdGroups.includes(group))?.[0];
}
