/**
 * Every Helm add-on the platform installs, one descriptor per file in this folder. The charts that
 * host add-ons install those of this list whose `host` is their id; the AppProject's cluster
 * scope, the sync waves, the footprint rules and the add-ons' NetworkPolicies all come from the
 * descriptors. A new add-on: one file here (plus its version in lib/config/versions.ts) and one
 * line below.
 */
import { HelmAddOn } from './addon';
import { alloy } from './alloy';
import { argoCd } from './argo-cd';
import { certManager } from './cert-manager';
import { externalSecrets } from './external-secrets';
import { kubePrometheusStack } from './kube-prometheus-stack';
import { loki } from './loki';
import { blackboxExporter } from './prometheus-blackbox-exporter';
import { sealedSecrets } from './sealed-secrets';
import { traefik } from './traefik';

export const ADD_ONS: readonly HelmAddOn[] = [traefik, certManager, kubePrometheusStack, loki, alloy, blackboxExporter, sealedSecrets, externalSecrets, argoCd];

/** The descriptor of a chart name, or an error naming the fix. */
export function addOnOf(chart: string, addOns: readonly HelmAddOn[] = ADD_ONS): HelmAddOn {
  const addOn = addOns.find((a) => a.chart === chart);
  if (addOn === undefined) throw new Error(`Helm chart "${chart}" has no add-on descriptor; fix: add one in lib/addons/ and list it in ADD_ONS (lib/addons/registry.ts)`);
  return addOn;
}

/** The chart whose CRDs serve an API group, if any. */
export function addOnServing(group: string, addOns: readonly HelmAddOn[] = ADD_ONS): string | undefined {
  return addOns.find((a) => a.crdGroups.includes(group))?.chart;
}
