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

/** What one app needs to use one data service. */
export interface AppBinding {
  /**
   * Env vars read from Secrets. The app lists every service's secret env before any plain value,
   * so that `$(VAR)` in the values can see them (Kubernetes expands only earlier variables).
   */
  readonly secretEnv: readonly EnvVar[];
  /** Plain env vars (URLs, endpoints, bucket names). */
  readonly env: readonly EnvVar[];
  /** Ports the app's pods connect to. */
  readonly connectTo: readonly ServicePort[];
  /** Secrets the app reads in its own namespace (Secrets do not cross namespaces). */
  readonly secrets: readonly DeclaredSecret[];
  /**
   * Migration Jobs: the labels they carry and the ports they reach besides the app's.
   * @default no extra access
   */
  readonly migration?: { readonly podLabels: Record<string, string>; readonly connectTo: readonly ServicePort[] };
}

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
