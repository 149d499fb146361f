import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { Application, AppProject, ApplicationSpecIgnoreDifferences, ApplicationSpecSource } from '../imports/argoproj.io';
import { HelmAddOn, installAddOns, releaseOf } from '../lib/addons/addon';
import { argoCd, ARGOCD_NAMESPACE, ArgoCdValues } from '../lib/addons/argo-cd';

export { ARGOCD_NAMESPACE };
import { ADD_ONS } from '../lib/addons/registry';
import { PlatformConfig } from '../lib/config/schema';
import { HelmRelease, SYNC_WAVE_ANNOTATION } from '../lib/constructs/helm-release';
import { GroupKind, HelmChartScope } from '../lib/gitops/helm-scope';
import { argoName } from '../lib/config/shared-cluster';
import { ARGOCD_CHART, globOf, groupOf, kindGlob, ROOT_APPLICATION, syncOwner } from '../lib/gitops/placement';
import { renderedObjects } from '../lib/gitops/rendered';
import { applyObjectPolicy, applySyncPolicy, helmReleases, isCrdBearing, isHelmApplication, scopeOf, shapeHelmApplication, SYNC_RETRY } from '../lib/gitops/sync-policy';
import { chartWave, ROOT_SELF_WAVE, waveOf } from '../lib/gitops/sync-order';


export interface ArgoCdChartProps {
  readonly config: PlatformConfig;
  /** Every other chart of the platform; this chart must be constructed after all of them. */
  readonly charts: readonly Chart[];
  /**
   * Helm add-ons; this chart installs those whose `host` is its id (Argo CD itself).
   * @default ADD_ONS (lib/addons/registry.ts)
   */
  readonly addOns?: readonly HelmAddOn[];
}
export const PROJECT = 'platform';
const IN_CLUSTER = 'https://kubernetes.default.svc';
/** `kubectl apply -f dist/<env>/argocd/ -l platform.io/bootstrap=true` applies the project and the root only. */
export const BOOTSTRAP_LABEL = { 'platform.io/bootstrap': 'true' };
const LABELS = { 'app.kubernetes.io/part-of': 'platform' };

interface RenderedChart {
  readonly id: string;
  readonly objects: any[];
}

/**
 * GitOps for one environment, derived from the other charts: the AppProject `platform`, the root
 * Application (app of apps) that syncs this chart's folder, one Application per chart folder with
 * its sync wave from SYNC_ORDER, and Argo CD itself as a Helm add-on carrying the Application health
 * check that makes the waves wait. Applies the sync policy (lib/gitops/sync-policy.ts) to every chart.
 */
export class ArgoCdChart extends Chart {
  public readonly project: AppProject;
  public readonly root: Application;
  /** Chart Applications by chart id. */
  public readonly applications: Readonly<Record<string, Application>>;
  public readonly argoCd: HelmRelease<ArgoCdValues>;

  constructor(scope: Construct, id: string, props: ArgoCdChartProps) {
    super(scope, id, { labels: LABELS });
    if (id !== ARGOCD_CHART) throw new Error(`the Argo CD chart must have the id "${ARGOCD_CHART}" (its folder), not "${id}"`);
    const { config } = props;
    const charts = props.charts.filter((c) => c !== this);
    this.node.addValidation({
      validate: () => {
        const now = this.node.scope!.node.children.filter((c) => c instanceof Chart);
        return now[now.length - 1] === this && now.length === charts.length + 1
          ? []
          : [`charts were added after "${ARGOCD_CHART}", so they have no Application; fix: construct ArgoCdChart last in charts/platform.ts`];
      },
    });

    applySyncPolicy(charts);
    // Waves of every chart up front: a chart missing from SYNC_ORDER fails here, by name.
    const waves = new Map(charts.map((chart) => [chart.node.id, waveOf(chart)]));

    // Argo CD itself (lib/addons/argo-cd.ts), in this chart's wave: the sync policy above covers only the other charts.
    const own = installAddOns(this, props.addOns ?? ADD_ONS, { config });
    for (const release of own) {
      if (release.application) shapeHelmApplication(release.application, chartWave(ARGOCD_CHART), isCrdBearing(release));
      for (const object of release.renderedObjects) applyObjectPolicy(ARGOCD_CHART, object, object.toJson());
    }
    this.argoCd = releaseOf(own, argoCd);

    const rendered: RenderedChart[] = charts.map((c) => ({ id: c.node.id, objects: renderedObjects(c) }));
    const source = (chartId: string): ApplicationSpecSource => ({
      repoUrl: config.gitops.repoUrl,
      targetRevision: config.gitops.targetRevision,
      path: `${config.gitops.pathPrefix}/${config.name}/${chartId}`,
    });
    const sourcesOf = (ownerId: string, folders: RenderedChart[]): ApplicationSpecSource[] => {
      const out: ApplicationSpecSource[] = [];
      for (const folder of folders) {
        const kinds = [...new Set(folder.objects.map((o) => o.kind as string))];
        if (folder.id === ownerId) {
          const away = kinds.filter((k) => syncOwner(folder.id, k) !== ownerId).sort();
          out.unshift(away.length > 0 ? { ...source(folder.id), directory: { exclude: globOf(away.map(kindGlob)) } } : source(folder.id));
        } else {
          const here = kinds.filter((k) => syncOwner(folder.id, k) === ownerId).sort();
          if (here.length > 0) out.push({ ...source(folder.id), directory: { include: globOf(here.map(kindGlob)) } });
        }
      }
      return out;
    };

    const applications: Record<string, Application> = {};
    for (const chart of rendered) {
      const owned = rendered.flatMap((c) => c.objects.filter((o) => syncOwner(c.id, o.kind) === chart.id));
      if (owned.length === 0) continue; // everything it renders is synced by another Application
      const ignoreDifferences = hpaManagedReplicas(owned, rendered.flatMap((c) => c.objects));
      applications[chart.id] = new Application(this, `app-${chart.id}`, {
        metadata: { name: argoName(config, chart.id), namespace: ARGOCD_NAMESPACE, annotations: { [SYNC_WAVE_ANNOTATION]: String(waves.get(chart.id)) } },
        spec: {
          project: argoName(config, PROJECT),
          ...oneOrMany(sourcesOf(chart.id, rendered)),
          destination: { server: IN_CLUSTER, namespace: mainNamespace(owned) ?? ARGOCD_NAMESPACE },
          ignoreDifferences: ignoreDifferences.length > 0 ? ignoreDifferences : undefined,
          syncPolicy: syncPolicy(ignoreDifferences.length > 0),
        },
      });
    }
    this.applications = applications;
    const names = Object.keys(applications);
    for (const helm of rendered.flatMap((c) => c.objects.filter(isHelmApplication))) {
      if (names.includes(helm.metadata.name) || helm.metadata.name === ROOT_APPLICATION) {
        throw new Error(`the Helm Application "${helm.metadata.name}" has the name of a chart Application; fix: give the HelmRelease another releaseName`);
      }
    }

    // The root syncs this folder and the Helm add-on Applications of every other folder.
    const self: RenderedChart = { id: ARGOCD_CHART, objects: [{ kind: 'Application' }, { kind: 'AppProject' }] };
    this.root = new Application(this, 'root', {
      metadata: {
        name: argoName(config, ROOT_APPLICATION), namespace: ARGOCD_NAMESPACE, labels: BOOTSTRAP_LABEL,
        annotations: { [SYNC_WAVE_ANNOTATION]: String(ROOT_SELF_WAVE) },
      },
      spec: {
        project: argoName(config, PROJECT),
        ...oneOrMany(sourcesOf(ARGOCD_CHART, [self, ...rendered])),
        destination: { server: IN_CLUSTER, namespace: ARGOCD_NAMESPACE },
        // The root's sync is the whole first install: every wave waits for its Applications to be healthy, and a
        // child that is Degraded for a moment (a CRD not yet Established, an HPA before its first metrics) fails
        // the attempt. With a limit it stops for good after a few such moments (Argo CD does not auto-sync a
        // revision whose sync failed), so the root retries without one, at most every 3 minutes.
        syncPolicy: syncPolicy(false, { ...SYNC_RETRY, limit: -1 }),
      },
    });

    const helmApplications = [...rendered.flatMap((c) => c.objects), ...own.flatMap((r) => (r.application ? [r.application.toJson()] : []))].filter(isHelmApplication);
    const scopes = helmReleases(...charts, this).map(scopeOf);
    const allObjects = [...rendered.flatMap((c) => c.objects), ...this.toJson()];
    this.project = new AppProject(this, 'project', {
      metadata: {
        name: argoName(config, PROJECT), namespace: ARGOCD_NAMESPACE, labels: BOOTSTRAP_LABEL,
        annotations: { [SYNC_WAVE_ANNOTATION]: String(chartWave(ARGOCD_CHART)) },
      },
      spec: {
        description: `The ${config.name} platform, synthesized from ${config.gitops.repoUrl}`,
        sourceRepos: [config.gitops.repoUrl, ...unique(helmApplications.map((a) => a.spec.source.repoURL as string))],
        destinations: projectNamespaces(allObjects, scopes).map((namespace) => ({ server: IN_CLUSTER, namespace })),
        clusterResourceWhitelist: clusterKinds(allObjects, scopes),
      },
    });
  }
}

function oneOrMany(sources: ApplicationSpecSource[]): { source?: ApplicationSpecSource; sources?: ApplicationSpecSource[] } {
  return sources.length === 1 ? { source: sources[0] } : { sources };
}

function syncPolicy(respectIgnoreDifferences: boolean, retry: typeof SYNC_RETRY = SYNC_RETRY) {
  return {
    automated: { prune: true, selfHeal: true },
    retry,
    // Namespaces come from the base chart with Pod Security labels; prune only after everything else applied.
    syncOptions: ['CreateNamespace=false', 'PruneLast=true', ...(respectIgnoreDifferences ? ['RespectIgnoreDifferences=true'] : [])],
  };
}

/** `/spec/replicas` of every workload an HPA scales belongs to the HPA, not to git. */
function hpaManagedReplicas(owned: any[], all: any[]): ApplicationSpecIgnoreDifferences[] {
  const targets = all
    .filter((o) => o.kind === 'HorizontalPodAutoscaler')
    .map((h) => ({ kind: h.spec.scaleTargetRef.kind as string, name: h.spec.scaleTargetRef.name as string, namespace: h.metadata.namespace as string }));
  return owned
    .filter((o) => targets.some((t) => t.kind === o.kind && t.name === o.metadata.name && t.namespace === o.metadata.namespace))
    .map((o) => ({ group: groupOf(o.apiVersion), kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace, jsonPointers: ['/spec/replicas'] }))
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

/** The namespace most of an Application's namespaced objects live in (ties: alphabetical). */
function mainNamespace(objects: any[]): string | undefined {
  const counts = new Map<string, number>();
  for (const o of objects) if (o.metadata?.namespace) counts.set(o.metadata.namespace, (counts.get(o.metadata.namespace) ?? 0) + 1);
  return [...counts].sort(([a, x], [b, y]) => y - x || a.localeCompare(b))[0]?.[0];
}

/** Every namespace an object, a Helm release or what a Helm chart installs elsewhere lands in. */
function projectNamespaces(objects: any[], scopes: HelmChartScope[]): string[] {
  return unique([
    ...objects.map((o) => o.metadata?.namespace).filter(Boolean),
    ...objects.filter((o) => o.kind === 'Application').map((a) => a.spec?.destination?.namespace).filter(Boolean),
    ...scopes.flatMap((s) => s.extraNamespaces),
  ]);
}

/** Cluster-scoped kinds: those in dist (no namespace) and those the Helm charts install. */
function clusterKinds(objects: any[], scopes: HelmChartScope[]): GroupKind[] {
  const kinds: GroupKind[] = [
    ...objects.filter((o) => !o.metadata?.namespace).map((o) => ({ group: groupOf(o.apiVersion), kind: o.kind as string })),
    ...scopes.flatMap((s) => s.clusterKinds),
  ];
  const byKey = new Map(kinds.map((k) => [`${k.group}/${k.kind}`, { group: k.group, kind: k.kind }]));
  return [...byKey].sort(([a], [b]) => a.localeCompare(b)).map(([, k]) => k);
}

const unique = (values: string[]): string[] => [...new Set(values)].sort();
