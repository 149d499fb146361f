import * as fs from 'fs';
import * as path from 'path';
import { Helm } from 'cdk8s';
import { Construct } from 'constructs';
import * as yaml from 'js-yaml';
import { Application } from '../../imports/argoproj.io';
import { HelmChartScope } from '../gitops/helm-scope';

/** Argo CD annotation that orders objects within one sync (lower first). */
export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';

/** An exact chart version (optional leading v, optional pre-release/build), never a range. */
const EXACT_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

export type HelmRenderMode = 'application' | 'inline';

export interface HelmReleaseProps<V extends object = Record<string, unknown>> {
  /** Chart repository URL (from the add-on's descriptor in lib/addons/). */
  readonly repository: string;
  /** Chart name in the repository. */
  readonly chart: string;
  /** Exact chart version (CHART_VERSIONS in lib/config/versions.ts); ranges are rejected. */
  readonly version: string;
  /** Helm release name; chart objects derive their names from it. */
  readonly releaseName: string;
  /** Namespace the release installs into; it must already exist (the base chart creates them). */
  readonly namespace: string;
  /** Chart values, typed by the caller against the chart's values.yaml. */
  readonly values: V;
  /** Argo CD sync wave; CRD-bearing add-ons use a negative wave so that their CRDs exist first. */
  readonly syncWave: number;
  /**
   * Sync with server-side apply (needed when CRDs exceed the client-side annotation limit).
   * @default false
   */
  readonly serverSideApply?: boolean;
  /**
   * `application`: an Argo CD Application with a Helm source (Argo CD renders the chart).
   * `inline`: `helm template` at synth time through cdk8s' Helm construct (needs `localChartPath`).
   * @default 'application'
   */
  readonly render?: HelmRenderMode;
  /**
   * A chart directory on disk, for `render: 'inline'` (there is no network at synth time).
   * Its Chart.yaml version must equal `version`.
   * @default - none; required when render is 'inline'
   */
  readonly localChartPath?: string;
  /**
   * The helm executable for `render: 'inline'`.
   * @default 'helm'
   */
  readonly helmExecutable?: string;
  /**
   * What the chart installs outside its namespace (cluster-scoped kinds, CRD groups, extra
   * namespaces), for the AppProject and the sync order.
   * @default - none: an Application without a scope fails the argocd chart
   */
  readonly scope?: HelmChartScope;
  /**
   * Namespace holding Argo CD's Applications.
   * @default 'argocd'
   */
  readonly argoNamespace?: string;
  /**
   * Argo CD project.
   * @default 'platform'
   */
  readonly project?: string;
}

/**
 * One Helm release with pinned chart and typed values, rendered either as an Argo CD
 * Application (the default: Argo CD owns install, upgrade and drift) or inline as plain
 * objects from `helm template`.
 */
export class HelmRelease<V extends object = Record<string, unknown>> extends Construct {
  public readonly releaseName: string;
  public readonly namespace: string;
  public readonly version: string;
  public readonly values: V;
  public readonly chart: string;
  /** What the chart installs outside its namespace, when known. */
  public readonly scope?: HelmChartScope;
  /** Set when render is 'application'. */
  public readonly application?: Application;
  /** Set when render is 'inline'. */
  public readonly helm?: Helm;

  constructor(scope: Construct, id: string, props: HelmReleaseProps<V>) {
    super(scope, id);
    if (!EXACT_VERSION.test(props.version)) {
      throw new Error(
        `HelmRelease ${props.releaseName}: chart version "${props.version}" of ${props.chart} is not an exact version; ` +
          'fix: pin one release like 41.3.0 or v1.21.1 in lib/config/versions.ts (no ^, ~, *, x or >= ranges)',
      );
    }
    this.releaseName = props.releaseName;
    this.namespace = props.namespace;
    this.version = props.version;
    this.values = props.values;
    this.chart = props.chart;
    this.scope = props.scope;
    const wave = String(props.syncWave);

    if ((props.render ?? 'application') === 'application') {
      this.application = new Application(this, 'Application', {
        metadata: {
          name: props.releaseName,
          namespace: props.argoNamespace ?? 'argocd',
          annotations: { [SYNC_WAVE_ANNOTATION]: wave },
        },
        spec: {
          project: props.project ?? 'platform',
          source: {
            repoUrl: props.repository,
            chart: props.chart,
            targetRevision: props.version,
            helm: { releaseName: props.releaseName, valuesObject: props.values },
          },
          destination: { server: 'https://kubernetes.default.svc', namespace: props.namespace },
          syncPolicy: {
            automated: { prune: true, selfHeal: true },
            // Namespaces come from the base chart with Pod Security labels; never let Argo CD create bare ones.
            syncOptions: ['CreateNamespace=false', ...(props.serverSideApply ? ['ServerSideApply=true'] : [])],
          },
        },
      });
      return;
    }

    if (!props.localChartPath) {
      throw new Error(`HelmRelease ${props.releaseName}: render "inline" needs localChartPath; fix: point it at the chart directory`);
    }
    const local = (yaml.load(fs.readFileSync(path.join(props.localChartPath, 'Chart.yaml'), 'utf8')) ?? {}) as { name?: string; version?: string };
    if (local.version !== props.version.replace(/^v/, '') && local.version !== props.version) {
      throw new Error(
        `HelmRelease ${props.releaseName}: ${props.localChartPath} holds ${local.name} ${local.version}, not the pinned ${props.version}; ` +
          'fix: point localChartPath at the pinned chart or update the pin',
      );
    }
    this.helm = new Helm(this, 'Helm', {
      chart: props.localChartPath,
      releaseName: props.releaseName,
      namespace: props.namespace,
      values: props.values as Record<string, unknown>,
      helmExecutable: props.helmExecutable,
    });
    for (const object of this.helm.apiObjects) object.metadata.addAnnotation(SYNC_WAVE_ANNOTATION, wave);
  }
}
