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
});
export type HelmConfig = z.output<typeof helmSchema>;

/** The render mode of one add-on: its entry under `helm.addOns`, else `helm.render`. */
export const renderModeOf = (helm: HelmConfig, addOnId: string): HelmRenderModeConfig => helm.addOns[addOnId]?.render ?? helm.render;
