/**
 * Names shared by the monitoring constructs. The names, ports and pod labels of what each Helm
 * add-on creates live in that add-on's file in lib/addons/ (KPS, LOKI, ALLOY, BLACKBOX).
 */

/** Labels of pods that may probe other namespaces (blackbox exporter, status page). */
export const PROBER_LABELS = { 'platform.io/prober': 'true' } as const;

/** In-cluster DNS name of a Service. */
export const serviceHost = (service: string, namespace: string) => `${service}.${namespace}.svc.cluster.local`;
