/**
 * Checks dist/<env> against a live cluster: the API server version, that every kind is served,
 * and a server-side dry-run apply of every object in sync-wave order, reporting each failure.
 * The cluster is behind the ClusterApi interface (lib/gitops/kube-client.ts talks to a real one).
 */
import { crdAddOnStep } from '../addons/addon';
import { SUPPORTED_KUBERNETES } from '../config/helm';
import { KUBERNETES_VERSIONS as VALIDATED_KUBERNETES_VERSIONS } from '../validation/validate-dist';
import { ADD_ONS, addOnServing } from '../addons/registry';
import { argoSyncOrder, DistObject } from './argo-order';
import { groupOf } from './placement';
import { chartWave } from './sync-order';

export type { DistObject } from './argo-order';

export interface ClusterApi {
  /** The API server address, for messages. */
  readonly server: string;
  serverVersion(): Promise<{ major: string; minor: string; gitVersion: string }>;
  /** kind → namespaced, for the kinds asked that the API server serves under `apiVersion`; undefined when the group version is not served. */
  servedKinds(apiVersion: string, kinds: readonly string[]): Promise<Map<string, boolean> | undefined>;
  namespaceExists(name: string): Promise<boolean>;
  /** Server-side apply with dryRun=All; rejects with the API server's message. */
  dryRunApply(object: any): Promise<void>;
}

/** apiVersion → kind → namespaced, as discovered. */
export type Discovery = ReadonlyMap<string, ReadonlyMap<string, boolean> | undefined>;

export interface PlannedApply extends DistObject {
  readonly wave: number;
  readonly id: string;
}

export interface UnservedKind {
  readonly apiVersion: string;
  readonly kind: string;
  readonly objects: number;
  readonly hint: string;
}

export interface VerificationPlan {
  readonly applies: PlannedApply[];
  readonly unserved: UnservedKind[];
}

const minorOf = (version: string) => Number(version.split('.')[1]);
/** The platform's Kubernetes API range (lib/config/helm.ts SUPPORTED_KUBERNETES): from the supported minimum to the newest schema dist/ is validated against. */
export const SUPPORTED_MINOR = { min: minorOf(SUPPORTED_KUBERNETES.minimum), validatedUpTo: Math.max(...VALIDATED_KUBERNETES_VERSIONS.map(minorOf)) };

export const objectId = (o: any): string => `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;

export function planVerification(objects: readonly DistObject[], discovery: Discovery): VerificationPlan {
  const served = (o: any) => discovery.get(o.apiVersion)?.has(o.kind) ?? false;
  const unserved = new Map<string, UnservedKind>();
  for (const { object } of objects.filter((d) => !served(d.object))) {
    const key = `${object.apiVersion} ${object.kind}`;
    const previous = unserved.get(key);
    unserved.set(key, { apiVersion: object.apiVersion, kind: object.kind, objects: (previous?.objects ?? 0) + 1, hint: hintFor(object.apiVersion) });
  }
  // In Argo CD's order: Application waves, hook phases, object waves, kinds.
  const applies = argoSyncOrder(objects.filter((d) => served(d.object)))
    .map((d) => ({ file: d.file, object: d.object, wave: d.applicationWave, id: objectId(d.object) }));
  return { applies, unserved: [...unserved.values()].sort((a, b) => `${a.apiVersion}${a.kind}`.localeCompare(`${b.apiVersion}${b.kind}`)) };
}

function hintFor(apiVersion: string): string {
  const addOn = addOnServing(groupOf(apiVersion));
  if (addOn === 'argo-cd') return 'install Argo CD first (README, "Bootstrap")';
  const descriptor = ADD_ONS.find((a) => a.chart === addOn);
  if (addOn && descriptor) return `its CRD comes with the ${addOn} add-on: sync the add-ons first (wave ${chartWave(crdAddOnStep(descriptor)!)})`;
  return 'this API server does not serve it';
}

export interface VerificationReport {
  readonly failures: string[];
  readonly skipped: string[];
  readonly applied: number;
}

/** Runs the checks; `log` receives one line per finding, in order. */
export async function runVerification(env: string, objects: readonly DistObject[], api: ClusterApi, log: (line: string) => void): Promise<VerificationReport> {
  const failures: string[] = [];
  const skipped: string[] = [];
  const fail = (line: string) => {
    failures.push(line);
    log(`FAIL ${line}`);
  };

  const version = await api.serverVersion();
  const minor = Number.parseInt(version.minor, 10);
  log(`API server ${api.server}: Kubernetes ${version.gitVersion}`);
  if (version.major !== '1' || minor < SUPPORTED_MINOR.min) fail(`Kubernetes ${version.gitVersion} is older than 1.${SUPPORTED_MINOR.min}, the oldest the platform is validated against; fix: upgrade the cluster`);
  else if (minor > SUPPORTED_MINOR.validatedUpTo) log(`note: Kubernetes 1.${minor} is newer than 1.${SUPPORTED_MINOR.validatedUpTo}, the newest dist/ is validated against`);

  const kindsByVersion = new Map<string, Set<string>>();
  for (const { object } of objects) kindsByVersion.set(object.apiVersion, (kindsByVersion.get(object.apiVersion) ?? new Set()).add(object.kind));
  const discovery = new Map<string, Map<string, boolean> | undefined>();
  for (const [apiVersion, kinds] of [...kindsByVersion].sort(([a], [b]) => a.localeCompare(b))) discovery.set(apiVersion, await api.servedKinds(apiVersion, [...kinds].sort()));

  const plan = planVerification(objects, discovery);
  for (const u of plan.unserved) fail(`not served: ${u.apiVersion} ${u.kind} (${u.objects} object${u.objects === 1 ? '' : 's'}): ${u.hint}`);

  const createdHere = new Set(objects.filter((d) => d.object.kind === 'Namespace').map((d) => d.object.metadata.name as string));
  const missing = new Set<string>();
  for (const ns of [...new Set(plan.applies.map((a) => a.object.metadata?.namespace).filter(Boolean))].sort()) {
    if (createdHere.has(ns) && !(await api.namespaceExists(ns))) missing.add(ns);
  }
  let applied = 0;
  for (const step of plan.applies) {
    const ns = step.object.metadata?.namespace;
    if (ns && missing.has(ns)) {
      skipped.push(`${step.id} (namespace ${ns} is created by this sync)`);
      continue;
    }
    try {
      await api.dryRunApply(step.object);
      applied++;
    } catch (err) {
      fail(`wave ${step.wave} ${step.id} (${step.file}): ${(err as Error).message}`);
    }
  }
  if (skipped.length > 0) log(`skipped ${skipped.length} object(s) in namespaces this sync creates: ${[...missing].join(', ')}`);
  log(`verify ${env}: ${applied} of ${objects.length} objects pass a server-side dry-run apply; ${failures.length} failure(s), ${skipped.length} skipped`);
  return { failures, skipped, applied };
}
