/**
 * Argo CD sync behaviour applied to every chart's objects after the charts are built, so that no
 * chart has to remember it: data-bearing objects are never pruned or deleted, large objects sync
 * server-side, Helm add-on Applications get their wave from SYNC_ORDER, retries and PruneLast,
 * and no Secret with a literal value can be rendered.
 */
import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import { HelmRelease, SYNC_OPTIONS_ANNOTATION, SYNC_WAVE_ANNOTATION } from '../constructs/helm-release';
import { renderedJsonText, renderedPairs, rerender } from './rendered';
import { HelmChartScope } from './helm-scope';
import { isGeneratorBacked } from './secret-producers';

export { SYNC_OPTIONS_ANNOTATION };
/** Options that keep Argo CD from deleting an object: not on prune (bad commit), not on Application deletion. */
export const KEEP_DATA_OPTIONS = ['Prune=false', 'Delete=false'];
/**
 * Client-side apply stores the whole object in an annotation, and all annotations together must stay
 * under 256 KiB; objects above half of that sync server-side.
 */
export const LARGE_OBJECT_BYTES = 128 * 1024;
/** Retry a failed sync: 10 s, 20 s, 40 s, 80 s, 160 s (capped at 3 min). */
export const SYNC_RETRY = { limit: 5, backoff: { duration: '10s', factor: 2, maxDuration: '3m' } };

/**
 * True for objects whose deletion deletes data: PVCs, StatefulSets with claim templates, Namespaces (cascade),
 * and generator-backed ExternalSecrets (the only record of a generated credential's origin: re-created, the
 * controller would draw new values; lib/constructs/generated-secrets.ts).
 */
export function holdsData(object: any): boolean {
  if (object.kind === 'PersistentVolumeClaim' || object.kind === 'Namespace') return true;
  if (object.kind === 'ExternalSecret' && String(object.apiVersion).startsWith('external-secrets.io/')) return isGeneratorBacked(object);
  return object.kind === 'StatefulSet' && (object.spec?.volumeClaimTemplates?.length ?? 0) > 0;
}

/** A Helm-source Argo CD Application (from a HelmRelease). */
export const isHelmApplication = (object: any): boolean => object.kind === 'Application' && typeof object.spec?.source?.chart === 'string';

/** The Helm releases rendered as Argo CD Applications below `scope` (one chart or more). */
export function helmReleases(...scopes: Construct[]): HelmRelease<object>[] {
  return scopes.flatMap((s) => s.node.findAll().filter((c): c is HelmRelease<object> => c instanceof HelmRelease && c.application !== undefined));
}

/** What a release's chart installs outside its namespace; a release that does not say fails the synth. */
export function scopeOf(release: HelmRelease<object>): HelmChartScope {
  if (release.scope === undefined) {
    throw new Error(
      `Helm release "${release.releaseName}" (chart ${release.chart}) states no scope; fix: install it from an add-on descriptor in lib/addons/ that lists the cluster-scoped kinds and extra namespaces it installs`,
    );
  }
  return release.scope;
}

/** A Helm add-on whose chart installs CRDs must sync before the objects of those kinds. */
export const isCrdBearing = (release: HelmRelease<object>): boolean => scopeOf(release).crdGroups.length > 0;

/**
 * Applies the policy to every ApiObject of `charts` (call once, after all charts are built). Reads
 * the shared render of each chart and re-renders only the objects it changes.
 */
export function applySyncPolicy(charts: readonly Chart[]): void {
  for (const chart of charts) {
    for (const { construct: object, json } of renderedPairs(chart)) {
      if (applyObjectPolicy(chart.node.id, object, json)) rerender(object);
    }
  }
}

/** The policy for one object of the chart `chartId`, whose JSON is `json`; true when it changed the object. */
export function applyObjectPolicy(chartId: string, object: ApiObject, json: any): boolean {
  const where = `${chartId}: ${json.kind} ${json.metadata?.namespace ?? ''}/${json.metadata?.name}`;
  if (json.kind === 'Secret' && (json.data !== undefined || json.stringData !== undefined)) {
    throw new Error(`${where} carries data, so a credential would reach git; fix: declare it under secrets in the config (mode sealed or existing) and reference it by name`);
  }
  const options: string[] = [];
  if (holdsData(json)) options.push(...KEEP_DATA_OPTIONS);
  if (Buffer.byteLength(renderedJsonText(json)) > LARGE_OBJECT_BYTES) options.push('ServerSideApply=true');
  if (options.length > 0) addSyncOptions(object, json, options);
  const release = object.node.scope;
  if (isHelmApplication(json)) {
    if (!(release instanceof HelmRelease)) throw new Error(`${where} is a Helm Application outside a HelmRelease; fix: install it from an add-on descriptor in lib/addons/`);
    shapeHelmApplication(object, release.syncWave, isCrdBearing(release), json);
  }
  return options.length > 0 || isHelmApplication(json);
}

function addSyncOptions(object: ApiObject, json: any, options: string[]): void {
  const existing = String(json.metadata?.annotations?.[SYNC_OPTIONS_ANNOTATION] ?? '').split(',').filter(Boolean);
  const merged = [...existing, ...options.filter((o) => !existing.includes(o))];
  object.metadata.addAnnotation(SYNC_OPTIONS_ANNOTATION, merged.join(','));
}

/**
 * Wave from SYNC_ORDER, retries, PruneLast, and server-side apply for CRD-bearing releases.
 * @param json the object's JSON (its spec as rendered before this call)
 */
export function shapeHelmApplication(object: ApiObject, wave: number, crdBearing: boolean, json: any = object.toJson()): void {
  object.metadata.addAnnotation(SYNC_WAVE_ANNOTATION, String(wave));
  const syncPolicy = json.spec.syncPolicy ?? {};
  if (json.spec.syncPolicy === undefined) object.addJsonPatch(JsonPatch.add('/spec/syncPolicy', {}));
  if (syncPolicy.retry === undefined) object.addJsonPatch(JsonPatch.add('/spec/syncPolicy/retry', SYNC_RETRY));
  const options: string[] = syncPolicy.syncOptions ?? [];
  // CRDs carry large OpenAPI schemas: client-side apply's annotation can overflow.
  const wanted = ['PruneLast=true', ...(crdBearing ? ['ServerSideApply=true'] : [])].filter((o) => !options.includes(o));
  if (wanted.length === 0) return;
  if (syncPolicy.syncOptions === undefined) object.addJsonPatch(JsonPatch.add('/spec/syncPolicy/syncOptions', []));
  for (const option of wanted) object.addJsonPatch(JsonPatch.add('/spec/syncPolicy/syncOptions/-', option));
}
