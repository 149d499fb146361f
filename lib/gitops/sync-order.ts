/**
 * The one ordered table of Argo CD sync waves at the root (app-of-apps) level. Every chart id in
 * `platform.charts` must appear: a new chart without a place in the order is an error, not a
 * silent wave 0.
 */
import { serviceCharts } from '../services/registry';

/** Pseudo chart id of the CRD-bearing Helm add-ons (HelmRelease Applications with a negative wave). */
export const CRD_ADDONS = '(crd-bearing add-ons)';

/**
 * Pseudo chart id of the CRD-bearing add-ons whose pods read Secrets the `secrets` chart generates
 * (descriptor `readsGeneratedSecrets`): after `secrets`, still before the charts that use their CRDs.
 */
export const CRD_ADDONS_ON_SECRETS = '(crd-bearing add-ons that read generated secrets)';

/**
 * Pseudo chart id of the CRD-bearing add-ons whose charts render monitoring objects (ServiceMonitor):
 * after kube-prometheus-stack, whose CRDs those need (descriptor `rendersMonitoringObjects`).
 */
export const CRD_ADDONS_ON_MONITORING = '(crd-bearing add-ons that render monitoring objects)';

export interface SyncStep {
  readonly wave: number;
  /** Chart ids (folders of dist/<env>/) synced in this wave. */
  readonly charts: readonly string[];
  /** Why this step comes where it does. */
  readonly why: string;
}

export const SYNC_ORDER: readonly SyncStep[] = [
  { wave: -30, charts: ['argocd'], why: 'Argo CD itself (with the Application health check) and the AppProject every Application names' },
  {
    wave: -20,
    charts: ['base'],
    why: 'namespaces with their Pod Security labels, LimitRanges and every NetworkPolicy: the add-ons install into these namespaces (CreateNamespace=false) and need their allow rules; only core kinds, so no CRD is needed',
  },
  { wave: -10, charts: [CRD_ADDONS], why: 'CRD-bearing add-ons (cert-manager, Traefik, sealed-secrets, kube-prometheus-stack): their CRDs exist before any custom resource' },
  { wave: -5, charts: ['secrets'], why: 'SealedSecrets, once the controller and its CRD run, before the pods that read them' },
  {
    wave: -3,
    charts: [CRD_ADDONS_ON_SECRETS],
    why: 'CRD-bearing add-ons whose pods read generated Secrets (kube-prometheus-stack: Grafana\'s admin login); at -10 their pods waited for wave -5 while wave -5 waited for them (found by the first-install rehearsal)',
  },
  {
    wave: -2,
    charts: [CRD_ADDONS_ON_MONITORING],
    why: 'CRD-bearing add-ons whose charts render a ServiceMonitor (Traefik): the monitoring CRDs exist from wave -3 (found by the first-install rehearsal: "could not find monitoring.coreos.com/ServiceMonitor" until the retries ran out)',
  },
  {
    wave: -1,
    charts: ['edge'],
    why: 'issuers and middlewares before every Ingress that names them: at wave 20 the routes of MinIO (wave 0) and the apps (wave 10) answered 404 until then (Traefik drops a router whose middleware does not exist; found by the first-install rehearsal on the real Traefik), and cert-manager waited for the ClusterIssuer',
  },
  { wave: 0, charts: [...serviceCharts(0), 'data-services'], why: 'data services (lib/services/registry.ts; `data-services` holds those given to the Platform as options)' },
  { wave: 5, charts: serviceCharts(5), why: 'services on the data services (error tracking), before the apps that report to them' },
  {
    wave: 7,
    charts: ['backup'],
    why: 'backup scripts and jobs of the running data services, before the apps: each app\'s PreSync pre-migration dump mounts backup-scripts (at wave 40 the hook waited for a ConfigMap of a later wave, found by the faithful lab)',
  },
  { wave: 10, charts: ['app'], why: 'apps, with their PreSync migrations against a running database' },
  { wave: 30, charts: ['monitoring'], why: 'dashboards, rules and probes of everything above' },
];

/**
 * The wave of the root Application inside its own sync (it syncs its own file): after every other wave.
 * Argo CD waits for each wave's resources to be healthy before the next one, except in the final wave,
 * and an Application is Progressing while its own sync runs (lib/gitops/health-check.ts): in any earlier
 * wave the root would wait for itself forever (found by the first-install rehearsal: "waiting for healthy
 * state of argoproj.io/Application/root", nothing after wave -30 created).
 */
export const ROOT_SELF_WAVE = Math.max(...SYNC_ORDER.map((s) => s.wave)) + 10;

/** The root-level wave of a chart (or of CRD_ADDONS). */
export function chartWave(chartId: string): number {
  const step = SYNC_ORDER.find((s) => s.charts.includes(chartId));
  if (step === undefined) {
    const known = SYNC_ORDER.flatMap((s) => s.charts).filter((c) => c !== CRD_ADDONS);
    throw new Error(
      `chart "${chartId}" has no sync wave; fix: add "${chartId}" to SYNC_ORDER in lib/gitops/sync-order.ts at its place in the order (known: ${known.join(', ')})`,
    );
  }
  return step.wave;
}

/**
 * The root-level wave of a chart: its own `syncWave` when it carries one (the folder of an
 * inline-rendered Helm add-on, lib/addons/inline.ts), else its place in SYNC_ORDER.
 */
export function waveOf(chart: { readonly node: { readonly id: string }; readonly syncWave?: unknown }): number {
  return typeof chart.syncWave === 'number' ? chart.syncWave : chartWave(chart.node.id);
}

/** True when SYNC_ORDER lists the chart id. */
export const inSyncOrder = (chartId: string): boolean => SYNC_ORDER.some((s) => s.charts.includes(chartId));
