import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, Helm, JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import * as yaml from 'js-yaml';
import { Application } from '../../imports/argoproj.io';
import { HelmChartScope } from '../gitops/helm-scope';

/** Argo CD annotation that orders objects within one sync (lower first). */
export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';
/** Argo CD annotation with per-object sync options (`ServerSideApply=true`, `Prune=false`, ...). */
export const SYNC_OPTIONS_ANNOTATION = 'argocd.argoproj.io/sync-options';

/** An exact chart version (optional leading v, optional pre-release/build), never a range. */
const EXACT_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

export type HelmRenderMode = 'application' | 'inline';

/** Argo CD's hook annotations, which inline rendering writes in place of Helm's. */
export const ARGO_HOOK_ANNOTATION = 'argocd.argoproj.io/hook';
export const ARGO_HOOK_DELETE_POLICY_ANNOTATION = 'argocd.argoproj.io/hook-delete-policy';
const HELM_HOOK = 'helm.sh/hook';
const HELM_HOOK_WEIGHT = 'helm.sh/hook-weight';
const HELM_HOOK_DELETE_POLICY = 'helm.sh/hook-delete-policy';
/** Helm hooks that run on install or upgrade, as Argo CD sync phases (others, like test and delete hooks, are left out). */
const HOOK_PHASES: Readonly<Record<string, string>> = { 'pre-install': 'PreSync', 'pre-upgrade': 'PreSync', 'post-install': 'PostSync', 'post-upgrade': 'PostSync' };
const HOOK_DELETE_POLICIES: Readonly<Record<string, string>> = { 'before-hook-creation': 'BeforeHookCreation', 'hook-succeeded': 'HookSucceeded', 'hook-failed': 'HookFailed' };

/** Built-in cluster-scoped kinds (Kubernetes 1.28–1.34): objects of every other kind get the release namespace when the chart leaves it out. */
export const CLUSTER_SCOPED_KINDS: readonly string[] = [
  'Namespace', 'Node', 'PersistentVolume', 'StorageClass', 'CSIDriver', 'CSINode', 'VolumeAttachment', 'ClusterRole', 'ClusterRoleBinding',
  'CustomResourceDefinition', 'APIService', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding', 'PriorityClass', 'RuntimeClass', 'IngressClass', 'CertificateSigningRequest', 'FlowSchema',
  'PriorityLevelConfiguration', 'IPAddress', 'ServiceCIDR', 'DeviceClass',
];

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
   * More `helm template` flags for `render: 'inline'` (`--kube-version`, `--api-versions`); CRDs of
   * `crds/` are always included and test hooks always skipped.
   * @default none
   */
  readonly helmFlags?: string[];
  /**
   * Kinds of custom resources that are cluster-scoped (besides CLUSTER_SCOPED_KINDS and the CRDs the
   * chart itself renders), for `render: 'inline'`: objects of other kinds without a namespace get `namespace`.
   * @default none
   */
  readonly clusterScopedKinds?: readonly string[];
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
  /** The Argo CD sync wave of its Application (application mode) or of its objects (inline). */
  public readonly syncWave: number;
  /** Set when render is 'application'. */
  public readonly application?: Application;
  /** Set when render is 'inline'. */
  public readonly helm?: Helm;

  /** The objects of an inline render, after hooks were mapped and namespaces filled in (none for an Application). */
  public get renderedObjects(): ApiObject[] {
    return this.helm ? this.helm.node.children.filter((c): c is ApiObject => c instanceof ApiObject) : [];
  }

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
    this.syncWave = props.syncWave;
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
    const helmExecutable = props.helmExecutable ?? 'helm';
    const local = chartMetadata(props.localChartPath, helmExecutable);
    if (local.version !== props.version.replace(/^v/, '') && local.version !== props.version) {
      throw new Error(
        `HelmRelease ${props.releaseName}: ${props.localChartPath} holds ${local.name} ${local.version}, not the pinned ${props.version}; ` +
          'fix: point localChartPath at the pinned chart or update the pin',
      );
    }
    try {
      this.helm = new Helm(this, 'Helm', {
        chart: props.localChartPath,
        releaseName: props.releaseName,
        namespace: props.namespace,
        values: props.values as Record<string, unknown>,
        helmExecutable,
        helmFlags: ['--include-crds', '--skip-tests', ...(props.helmFlags ?? [])],
      });
    } catch (err) {
      throw new Error(`HelmRelease ${props.releaseName}: helm template of ${props.chart} ${props.version} failed: ${(err as Error).message.trim()}; fix: correct the values in its add-on descriptor (lib/addons/) against the chart's values.schema.json`);
    }
    const objects = this.renderedObjects;
    const clusterScoped = new Set([
      ...CLUSTER_SCOPED_KINDS, ...(props.clusterScopedKinds ?? []),
      ...objects.map((o) => o.toJson()).filter((o) => o.kind === 'CustomResourceDefinition' && o.spec?.scope === 'Cluster').map((o) => o.spec.names.kind as string),
    ]);
    for (const object of objects) {
      if (!shapeInlineObject(object, { namespace: props.namespace, clusterScoped, wave: props.syncWave })) this.helm.node.tryRemoveChild(object.node.id);
    }
  }
}

/** name and version of a chart directory or archive (`helm show chart` reads an archive without unpacking it). */
function chartMetadata(chartPath: string, helm: string): { name?: string; version?: string } {
  if (fs.existsSync(path.join(chartPath, 'Chart.yaml'))) return (yaml.load(fs.readFileSync(path.join(chartPath, 'Chart.yaml'), 'utf8')) ?? {}) as { name?: string; version?: string };
  const shown = spawnSync(helm, ['show', 'chart', chartPath], { encoding: 'utf8' });
  if (shown.status !== 0) throw new Error(`helm show chart ${chartPath} failed: ${(shown.stderr || shown.error?.message || '').trim()}`);
  return (yaml.load(shown.stdout) ?? {}) as { name?: string; version?: string };
}

/**
 * One object of `helm template` as Argo CD should apply it from dist/: Helm hooks become Argo CD
 * hooks (phase, delete policy, weight as sync wave), objects without a namespace get the release's
 * (Argo CD would put them there), CRDs sync server-side (their schemas overflow client-side apply's
 * annotation), and other objects carry `wave` when it is not 0. False for a hook that does not run
 * on install or upgrade (test, delete, rollback): it is left out.
 */
function shapeInlineObject(object: ApiObject, at: { namespace: string; clusterScoped: ReadonlySet<string>; wave: number }): boolean {
  const json = object.toJson();
  const annotations: Record<string, string> = json.metadata?.annotations ?? {};
  const hooks = (annotations[HELM_HOOK] ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  if (hooks.length > 0) {
    const phases = [...new Set(hooks.map((h) => HOOK_PHASES[h]).filter(Boolean))];
    if (phases.length === 0) return false;
    object.metadata.addAnnotation(ARGO_HOOK_ANNOTATION, phases.join(','));
    const policies = (annotations[HELM_HOOK_DELETE_POLICY] ?? 'before-hook-creation').split(',').map((p) => HOOK_DELETE_POLICIES[p.trim()]).filter(Boolean);
    if (policies.length > 0) object.metadata.addAnnotation(ARGO_HOOK_DELETE_POLICY_ANNOTATION, policies.join(','));
    const weight = annotations[HELM_HOOK_WEIGHT];
    if (weight !== undefined && Number(weight) !== 0) object.metadata.addAnnotation(SYNC_WAVE_ANNOTATION, String(Number(weight)));
    for (const key of [HELM_HOOK, HELM_HOOK_WEIGHT, HELM_HOOK_DELETE_POLICY]) {
      if (key in annotations) object.addJsonPatch(JsonPatch.remove(`/metadata/annotations/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`));
    }
  } else if (at.wave !== 0) {
    object.metadata.addAnnotation(SYNC_WAVE_ANNOTATION, String(at.wave));
  }
  if (!json.metadata?.namespace && !at.clusterScoped.has(json.kind)) object.addJsonPatch(JsonPatch.add('/metadata/namespace', at.namespace));
  if (json.kind === 'CustomResourceDefinition') object.metadata.addAnnotation(SYNC_OPTIONS_ANNOTATION, 'ServerSideApply=true');
  return true;
}
