/**
 * The JSON of each chart, rendered once for the GitOps derivation (secret check, sync policy,
 * Applications, AppProject) instead of once per use: rendering is most of the synth's time. It is
 * the state before the sync policy adds its annotations, which the derivation does not read.
 */
import { ApiObject, Chart } from 'cdk8s';

const cache = new WeakMap<Chart, any[]>();

export function renderedObjects(chart: Chart): any[] {
  let objects = cache.get(chart);
  if (objects === undefined) {
    objects = chart.toJson();
    cache.set(chart, objects);
  }
  return objects;
}

/** apiVersion, kind, namespace and name: unique within one chart. */
export const identity = (o: any): string => `${o.apiVersion}|${o.kind}|${o.metadata?.namespace ?? ''}|${o.metadata?.name}`;
export const apiObjectIdentity = (o: ApiObject): string => `${o.apiVersion}|${o.kind}|${o.metadata.namespace ?? ''}|${o.name}`;
