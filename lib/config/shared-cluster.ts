/**
 * Environments side by side on one cluster (README "Environments side by side"). An environment with
 * `cluster.sharedWith: <primary>` is a secondary on the primary's cluster: it installs none of the
 * Helm add-ons (Argo CD, cert-manager, Traefik, sealed-secrets, the monitoring stack: cluster-wide, or
 * one per cluster) and no cluster-scoped object of its own (ClusterIssuers), and everything else it
 * names in a shared place carries its name as a prefix: its namespaces (`<env>-app`, ... unless the
 * file sets `namespaces`) and its Argo CD Applications and AppProject (`<env>-root`, ...), and so do
 * the NetworkPolicies it places in the primary's edge namespace (Traefik's side of its routes). Its
 * policies admit the primary's Traefik and Prometheus (clusterPeers). Its hosts come from its own `domain`.
 */
import { NAMESPACE_ROLES, NamespaceRole } from './schema';

/** The config keys this file reads. */
interface SharedClusterConfig {
  readonly name: string;
  readonly cluster: { readonly sharedWith?: string; readonly edgeNamespace?: string; readonly monitoringNamespace?: string };
  readonly namespaces: Readonly<Record<NamespaceRole, string>>;
}

/** True for an environment that runs on another environment's cluster. */
export const isSecondary = (config: SharedClusterConfig): boolean => config.cluster.sharedWith !== undefined;

/** The name of an Argo CD object (Application, AppProject) of `config` in Argo CD's shared namespace. */
export const argoName = (config: SharedClusterConfig, name: string): string => (isSecondary(config) ? `${config.name}-${name}` : name);

/** The namespaces of a secondary environment that does not name its own: `<env>-<role>`. */
export const prefixedNamespaces = (env: string): Record<NamespaceRole, string> =>
  Object.fromEntries(NAMESPACE_ROLES.map((role) => [role, `${env}-${role}`])) as Record<NamespaceRole, string>;

/**
 * The namespaces of the cluster's Traefik (`edge`) and Prometheus (`monitoring`): the peers this
 * environment's NetworkPolicies admit. A secondary's are its primary's.
 */
export const clusterPeers = (config: SharedClusterConfig): { readonly edge: string; readonly monitoring: string } => ({
  edge: config.cluster.edgeNamespace ?? config.namespaces.edge,
  monitoring: config.cluster.monitoringNamespace ?? config.namespaces.monitoring,
});
