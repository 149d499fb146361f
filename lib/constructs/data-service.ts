/**
 * The contract of a data service (Postgres with PgBouncer, Redis, MinIO, and whatever comes next),
 * in the spirit of aws-cdk's `IQueue.grant*()` / `bind()`: the service says what an app needs to
 * use it (env, Secret references, the ports to reach), what to probe, which Secrets it reads,
 * and what it contributes to monitoring. The platform iterates a list of services; it names none.
 */
import { EnvVar } from '../k8s';
import { IMonitoringContributor } from './monitoring/contributions';
import { ProbeTarget } from './monitoring/probes';
import { FlowPeer } from './network-policy';

/** A Secret key, created out of band or sealed; never a literal. */
export interface SecretKeyRef {
  readonly name: string;
  readonly key: string;
}

/** A Secret key the platform reads in one namespace (checked against the `secrets` declarations). */
export interface DeclaredSecret extends SecretKeyRef {
  readonly namespace: string;
}

/** A port on a service's pods: what a client connects to (both NetworkPolicy sides, via connect()). */
export interface ServicePort extends FlowPeer {
  readonly port: number;
}

/** The app being bound. */
export interface AppRef {
  readonly name: string;
  readonly namespace: string;
}

/**
 * A plain env var of a binding (a URL, an endpoint, a bucket name). When its value names an
 * in-cluster endpoint, `reaches` is that endpoint's port and the flow comes with the var: the app
 * chart connects the pods that get it (the app's, or with `migrationOnly` its migration Job's), so an
 * app is never handed an address its NetworkPolicies do not let it reach. Build one with endpointEnv().
 */
export interface BindingEnv {
  readonly name: string;
  readonly value: string;
  /** The port the value points at. @default none (not an in-cluster endpoint) */
  readonly reaches?: ServicePort;
  /** Only the migration Job connects to `reaches` (the var is still set on every pod). @default false */
  readonly migrationOnly?: boolean;
}

/** An env var naming an in-cluster endpoint, with the flow to it. */
export const endpointEnv = (name: string, value: string, reaches: ServicePort, options: { migrationOnly?: boolean } = {}): BindingEnv =>
  ({ name, value, reaches, ...(options.migrationOnly ? { migrationOnly: true } : {}) });

/** What one app needs to use one data service. */
export interface AppBinding {
  /**
   * Env vars read from Secrets. The app lists every service's secret env before any plain value,
   * so that `$(VAR)` in the values can see them (Kubernetes expands only earlier variables).
   */
  readonly secretEnv: readonly EnvVar[];
  /** Plain env vars (URLs, endpoints, bucket names); an endpoint carries its port (`reaches`). */
  readonly env: readonly BindingEnv[];
  /** Ports the app's pods connect to besides those its env's endpoints reach (appPorts() has both). */
  readonly connectTo: readonly ServicePort[];
  /** Secrets the app reads in its own namespace (Secrets do not cross namespaces). */
  readonly secrets: readonly DeclaredSecret[];
  /**
   * Migration Jobs: the labels they carry and the ports they reach besides the app's (migrationPorts()
   * adds the `migrationOnly` endpoints of the env).
   * @default no extra access
   */
  readonly migration?: { readonly podLabels: Record<string, string>; readonly connectTo: readonly ServicePort[] };
}

const unique = (ports: ServicePort[]): ServicePort[] => ports.filter((p, i) => ports.indexOf(p) === i);

/** Every port the app's pods connect to: `connectTo` and the endpoints of its env. */
export const appPorts = (b: AppBinding): ServicePort[] =>
  unique([...b.connectTo, ...b.env.flatMap((e) => (e.reaches && !e.migrationOnly ? [e.reaches] : []))]);

/** The ports only the migration Job connects to: `migration.connectTo` and the env's `migrationOnly` endpoints. */
export const migrationPorts = (b: AppBinding): ServicePort[] =>
  unique([...(b.migration?.connectTo ?? []), ...b.env.flatMap((e) => (e.reaches && e.migrationOnly ? [e.reaches] : []))]);

/** The binding's plain env as a container gets it. */
export const plainEnv = (b: AppBinding): EnvVar[] => b.env.map((e) => ({ name: e.name, value: e.value }));

export interface IDataService extends IMonitoringContributor {
  /** Short name, e.g. `redis`. */
  readonly name: string;
  /** Env, Secret references and flows for one app. */
  bindApp(app: AppRef): AppBinding;
  /** Health checks (blackbox Probes and the status page), with their backends for the probers' flows. */
  readonly probeTargets: readonly ProbeTarget[];
  /** Secrets the service's own pods and Jobs read. */
  readonly declaredSecrets: readonly DeclaredSecret[];
}

/** An env var read from a Secret key. */
export const secretEnv = (name: string, ref: SecretKeyRef): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } });
