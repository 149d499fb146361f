/**
 * How Helm add-ons reach dist/ (README, "Helm add-ons: render modes"). `application`: an Argo CD
 * Application with a Helm source, Argo CD renders the chart in the cluster. `inline`: the synth
 * renders the pinned chart from the chart cache (`npm run charts:pull`) with our values into
 * `dist/<env>/<add-on id>/`, so every object is in the pull request, validated and applied in the lab.
 */
import { z } from './zod';

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
  /** The Kubernetes version `helm template` renders for (`.Capabilities.KubeVersion`): the oldest the environment's clusters run. */
  kubeVersion: z.string().regex(/^\d+\.\d+\.\d+$/, 'is not a Kubernetes version; fix: write it like 1.28.0'),
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
