/**
 * How Helm add-ons reach dist/ (README, "Helm add-ons: render modes"). `application`: an Argo CD
 * Application with a Helm source, Argo CD renders the chart in the cluster. `inline`: the synth
 * renders the pinned chart from the chart cache (`npm run charts:pull`) with our values into
 * `dist/<env>/<add-on id>/`, so every object is in the pull request, validated and applied in the lab.
 */
import { z } from './zod';

/**
 * The Kubernetes (k3s) versions the platform supports (README "Supported Kubernetes versions"),
 * derived in lib/addons/kubernetes.ts from the pinned charts, our own objects and the schemas we
 * validate against; test/pinned-charts.test.ts re-derives them from the packed charts.
 */
export const SUPPORTED_KUBERNETES = {
  /**
   * The oldest supported version: `helm.kubeVersion`'s default and the schema `npm run validate`
   * checks against. The charts need 1.32 (cert-manager's CRDs use selectableFields); 1.33 is the
   * oldest schema in ../shared/reference/kubernetes that is not older.
   */
  minimum: '1.33.0',
  /** The newest version tested: the lab's API server (scripts/lab/go/kube, k8s.io/kubernetes v1.34.4). */
  testedUpTo: '1.34.4',
  /** Versions whose OpenAPI schemas ../shared/reference/kubernetes holds. */
  referenceSchemas: ['1.28.0', '1.33.0'],
} as const;

export const HELM_RENDER_MODES = ['application', 'inline'] as const;
export type HelmRenderModeConfig = (typeof HELM_RENDER_MODES)[number];

const renderMode = () =>
  z.enum(HELM_RENDER_MODES, {
    error: 'must be "application" or "inline"; fix: use application (Argo CD renders the chart) or inline (rendered into dist/ from the chart cache filled by `npm run charts:pull`)',
  });

export const helmSchema = z.strictObject({
  /** The render mode of every add-on of this environment. */
  render: renderMode(),
  /** Per add-on (by its descriptor's `id`, e.g. `traefik`): a mode that differs from `render`. */
  addOns: z.record(z.string(), z.strictObject({ render: renderMode() })).default({}),
  /**
   * Folder of the pulled chart archives (`<chart>-<version>.tgz` and `charts.lock.json`), relative to
   * the project root: `.cache/charts` (git-ignored) or `vendor/charts` (committed).
   */
  chartCache: z.string().regex(/^[^\s]+$/, 'must be a folder path without spaces; fix: use .cache/charts (git-ignored) or vendor/charts (committed)'),
  /**
   * The oldest Kubernetes the environment's clusters run: what `helm template` renders for
   * (`.Capabilities.KubeVersion`), and a pinned chart that needs a newer one fails the synth.
   * @default SUPPORTED_KUBERNETES.minimum (lib/config/defaults.ts)
   */
  kubeVersion: z.string().regex(/^\d+\.\d+\.\d+$/, `is not a Kubernetes version; fix: write it like ${SUPPORTED_KUBERNETES.minimum}`),
  /**
   * One Helm repository that serves every pinned chart (a mirror: Harbor, ChartMuseum, a static
   * `index.yaml` folder): the add-ons' Applications fetch their charts from it instead of each chart's
   * upstream repository (air-gapped clusters; the lab's loopback repository). OCI mirrors are not supported.
   * @default each chart's own repository (lib/addons/)
   */
  mirror: z.string().regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, 'is not an http(s) URL of a Helm repository; fix: write the URL its index.yaml is under, like https://charts.example.org/platform, or remove helm.mirror to use each chart\'s own repository').optional(),
});
export type HelmConfig = z.output<typeof helmSchema>;

/** The render mode of one add-on: its entry under `helm.addOns`, else `helm.render`. */
/** The repository Argo CD fetches an add-on's chart from: `helm.mirror` when set, else the chart's own. */
export const chartRepositoryOf = (helm: HelmConfig, upstream: string): string => helm.mirror ?? upstream;

export const renderModeOf = (helm: HelmConfig, addOnId: string): HelmRenderModeConfig => helm.addOns[addOnId]?.render ?? helm.render;
