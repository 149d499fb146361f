/**
 * The Kubernetes (k3s) versions the platform supports, derived from what it installs:
 *
 * - our own objects: every apiVersion and field is in Kubernetes 1.28 (cdk8s-plus-28's API level;
 *   test/pinned-charts.test.ts validates application-mode dist/ against the 1.28 schema);
 * - each pinned chart's need (`kubernetes` of its add-on descriptor): the lower bound of its
 *   Chart.yaml `kubeVersion` and of the API features its objects use (KUBERNETES_FEATURES), both
 *   re-derived from the packed charts by test/pinned-charts.test.ts, so a chart bump that
 *   raises them fails until the descriptor, `helm.kubeVersion`'s default and the README follow;
 * - the schemas we validate against (../shared/reference/kubernetes): the supported minimum is the
 *   oldest of them that is not older than what the charts and our objects need.
 *
 * An environment's `helm.kubeVersion` is the oldest Kubernetes its clusters run: a pinned chart that
 * needs a newer one fails the synth (`assertChartsFitKubernetes`).
 */
import { ConfigProblem } from '../config/errors';
import { SUPPORTED_KUBERNETES } from '../config/helm';

export { SUPPORTED_KUBERNETES };

/** A Kubernetes version as `major.minor.patch` (a Chart.yaml bound like `>=1.25.0-0` reads 1.25.0). */
export type KubeVersion = string;

/** What an add-on's chart needs of Kubernetes, and why (the constraint or the feature). */
export interface KubernetesNeed {
  readonly minimum: KubeVersion;
  readonly reason: string;
}

/** Our own objects: every apiVersion and field validates against Kubernetes 1.28 (cdk8s-plus-28). */
export const OWN_OBJECTS_MINIMUM: KubernetesNeed = { minimum: '1.28.0', reason: 'our objects use the Kubernetes 1.28 API (cdk8s-plus-28)' };

/**
 * API features newer than 1.28 that chart objects use, with the first version that serves them
 * by default (GA or beta enabled by default). A field the 1.28 schema does not know and this table
 * does not name fails test/pinned-charts.test.ts: look up its version and add it here.
 */
export const KUBERNETES_FEATURES: readonly { readonly name: string; readonly since: KubeVersion; readonly field: RegExp; readonly kind: string }[] = [
  // KEP-4358: alpha 1.30, beta 1.31, GA 1.32 (before 1.31 the API server drops the field).
  { name: 'CustomResourceDefinition selectableFields', since: '1.32.0', kind: 'CustomResourceDefinition', field: /^spec\.versions\[\d+\]\.selectableFields$/ },
];

const parts = (v: string): number[] => v.replace(/^v/, '').split(/[.-]/).slice(0, 3).map((p) => Number(p) || 0);

/** -1, 0 or 1 as `a` is older than, equal to or newer than `b` (major.minor.patch). */
export function compareKube(a: KubeVersion, b: KubeVersion): number {
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

export const newestKube = (versions: readonly KubeVersion[]): KubeVersion => [...versions].sort(compareKube).at(-1)!;

/**
 * The lower bound of a Chart.yaml `kubeVersion` constraint (`>=1.25.0-0`, `>= 1.22.0-0`, `^1.25.0-0`),
 * or undefined when it sets none. Upper bounds (`<`) are not used by the pinned charts.
 */
export function constraintMinimum(constraint: string | undefined): KubeVersion | undefined {
  if (!constraint) return undefined;
  const bounds = [...constraint.matchAll(/(>=|\^|~|=)?\s*v?(\d+)\.(\d+)(?:\.(\d+))?/g)]
    .filter((m) => m[1] !== undefined || !constraint.includes('<'))
    .map((m) => `${m[2]}.${m[3]}.${m[4] ?? 0}`);
  return bounds.length > 0 ? newestKube(bounds) : undefined;
}

/** A chart with what it needs (an add-on descriptor: lib/addons/addon.ts). */
export interface ChartNeeds {
  readonly id: string;
  readonly chart: string;
  readonly version: string;
  readonly kubernetes?: KubernetesNeed;
}

/**
 * Problems (key `helm.kubeVersion`) for each pinned chart, and our own objects, that need a newer
 * Kubernetes than `declared`, the oldest the environment's clusters run; none when all fit.
 */
export function kubernetesProblems(declared: KubeVersion, charts: readonly ChartNeeds[]): ConfigProblem[] {
  const needs = [
    { what: 'the platform\'s own objects', need: OWN_OBJECTS_MINIMUM },
    ...charts.filter((c) => c.kubernetes).map((c) => ({ what: `chart ${c.chart} ${c.version} (add-on ${c.id})`, need: c.kubernetes! })),
  ].filter(({ need }) => compareKube(need.minimum, declared) > 0);
  return needs.map(({ what, need }) => ({
    key: 'helm.kubeVersion',
    value: declared,
    message: `is older than ${what} needs: Kubernetes ${need.minimum} (${need.reason}); fix: run k3s v${need.minimum.replace(/\.0$/, '')} or newer on the environment's clusters and set helm.kubeVersion to the oldest they run (the platform supports ${SUPPORTED_KUBERNETES.minimum} and newer, README "Supported Kubernetes versions"), or pin an older chart in lib/config/versions.ts`,
  }));
}
