/**
 * The contract of a built-in data service (lib/services/registry.ts): one folder per service holds
 * its construct, its config section (schema, defaults, cross-checks, the Secrets it declares when
 * on), its footprint keys, and a `build` that turns the environment's config into the construct.
 * The platform iterates the registry; it names no service. A service that needs a database asks the
 * platform's Postgres for one (`context.postgres.addDatabase(...)`); Postgres reads no service's config.
 *
 * `Config` is the part of an environment's configuration the service reads, written by the service
 * itself: its files never name the whole PlatformConfig, and charts/platform.ts (which passes the
 * whole one) checks at compile time that it has every key each service reads.
 */
import { Chart } from 'cdk8s';
import { z } from '../config/zod';
import { CrossCheckIssue } from '../config/errors';
import { ImageName } from '../config/versions';
import { IDataService } from '../constructs/data-service';
import { EdgeAttachment } from '../constructs/edge/public-ingress';
import type { Postgres } from './postgres/postgres';

/** Keys most services read besides their own section. */
export interface PlatformBasics {
  readonly domain: string;
  readonly extraHosts: readonly string[];
  /** The platform-wide StorageClass (a service's `storage.storageClass` overrides it). */
  readonly storageClass: string;
}

/** Keys a service in the data namespace reads: the namespace, the platform's StorageClass, the image overrides. */
export interface InDataNamespace {
  readonly namespaces: { readonly data: string };
  readonly storageClass: string;
  readonly images: Partial<Record<ImageName, string>>;
}

/** A service's admin host must be served by the environment's certificates: under `domain` or in `extraHosts`. */
export function hostIssues(config: PlatformBasics, key: string, host: string): CrossCheckIssue[] {
  if (host.endsWith(`.${config.domain}`) || config.extraHosts.includes(host)) return [];
  return [{ path: [key, 'host'], message: `is outside the domain ${config.domain}; fix: use a host under ${config.domain} or list it in extraHosts` }];
}

/** Namespace roles that hold routes (the edge chart's attachments). */
export type RouteRole = 'app' | 'data' | 'monitoring';

/** What a service's `build` gets besides the config. */
export interface ServiceContext<Config> {
  readonly config: Config;
  /** Where the cluster's Traefik (edge) and Prometheus (monitoring) run: the peers its NetworkPolicies admit. */
  readonly peers: { readonly edge: string; readonly monitoring: string };
  /** The Middlewares and credential of a namespace's routes, public or admin (allow-list / basic auth). */
  readonly edge: { attachment(role: RouteRole, access: 'public' | 'admin'): EdgeAttachment; readonly traefikPodLabels: Readonly<Record<string, string>> };
  /** The services built before this one, by key (the registry's order). */
  readonly built: ReadonlyMap<string, IDataService>;
  /** The platform's Postgres, to ask for a database or a login (`addDatabase`). Absent only while Postgres itself is built. */
  readonly postgres?: Postgres;
}

/** A service's config section: its key's schema, defaults and the rules across keys. */
export interface ServiceSection<Schema extends z.ZodType, Config> {
  readonly schema: Schema;
  /** Merged under the environment file (lib/config/defaults.ts). */
  readonly defaults: z.input<Schema>;
  /**
   * Secret declarations the service adds under `secrets.<scope>` while it is enabled, under what the
   * environment file declares (which may seal or replace them). @default none
   */
  readonly secrets?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Rules between this section and the rest of the config, run once every key parses. @default none */
  readonly crossChecks?: (config: Config) => CrossCheckIssue[];
}

export interface BuiltInService<Key extends string, Config, Section extends ServiceSection<z.ZodType, Config> | undefined = undefined, Built extends IDataService = IDataService> {
  /** Its config key (when it owns a section), its chart and so its folder dist/<env>/<key>/ and Argo CD Application. */
  readonly key: Key;
  /** Its config section, when the service owns one here. @default none (its keys are in lib/config/schema.ts) */
  readonly section: Section;
  /** Argo CD sync wave: 0 beside the other data services, 5 for a service on top of them (before the apps). @default 0 */
  readonly wave?: 0 | 5;
  /** Whether the environment runs it. @default always */
  readonly enabled?: (config: Config) => boolean;
  /**
   * The config key that sets the requests of each of its workloads, by workload name (the footprint's
   * budget error names it). @default none
   */
  readonly resourceKeys?: Readonly<Record<string, string>>;
  /** Builds the service into its chart. */
  readonly build: (chart: Chart, context: ServiceContext<Config>) => Built;
}

/** A service descriptor with its literal key kept (for the config's type). */
export const builtInService = <Key extends string, Config, Section extends ServiceSection<z.ZodType, Config> | undefined, Built extends IDataService>(
  service: BuiltInService<Key, Config, Section, Built>,
): BuiltInService<Key, Config, Section, Built> => service;
