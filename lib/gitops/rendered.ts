/**
 * One render of each chart, shared by every consumer: the secret check, the sync policy, the Argo
 * CD Applications and AppProject, and the writer of dist/ (lib/synth.ts). Rendering (cdk8s
 * `toJson`) is most of the synth's time, so no consumer renders a chart on its own.
 *
 * A chart is rendered the first time a consumer asks for it, which must be once the chart is
 * complete: Platform first asks after the last workload chart is built, and the writer asks for
 * charts nobody asked for before (the Argo CD chart, a chart added later). The sync policy changes a
 * few objects after their render; it re-renders exactly those (`rerender`). A chart that gains or
 * loses objects after its render fails loudly instead of serving a stale render.
 */
import { ApiObject, App, Chart } from 'cdk8s';
import { IConstruct } from 'constructs';

interface ChartRender {
  /** The chart's own ApiObjects, in construct-tree order (to notice a chart that changed). */
  readonly members: ApiObject[];
  /** Their JSON, in cdk8s's synthesis order (as `chart.toJson()`). */
  readonly objects: any[];
  /** The ApiObject of each entry of `objects`, index by index. */
  readonly constructs: ApiObject[];
}

const renders = new WeakMap<Chart, ChartRender>();

/** The JSON of every object of `chart`, in cdk8s's order (as `chart.toJson()`), rendered once. */
export function renderedObjects(chart: Chart): any[] {
  return renderOf(chart).objects;
}

/**
 * Renders `charts` (all complete) in one pass: cdk8s resolves the dependencies and validates the
 * whole app once, for the first chart not rendered yet, instead of once per chart.
 */
export function renderCharts(charts: readonly Chart[]): void {
  let resolved = false;
  for (const chart of charts) {
    if (renders.has(chart)) continue;
    // The first: cdk8s's own synthesis (dependencies of the whole app, validation, then its objects).
    // The others: the same objects in the same order, without resolving and validating again.
    const order = synthOrder(chart);
    const objects = resolved ? order.map((o) => o.toJson()) : chart.toJson();
    resolved = true;
    remember(chart, objects, order);
  }
}

const jsonTexts = new WeakMap<object, string>();

/**
 * `JSON.stringify(object)` of a rendered object, computed once: the sync policy measures it and the
 * writer of dist/ keys its YAML cache by it. Consumers never change a rendered object in place (a
 * changed construct is rendered again, into a new object), so the text stays the object's.
 */
export function renderedJsonText(object: object): string {
  let text = jsonTexts.get(object);
  if (text === undefined) {
    text = JSON.stringify(object);
    jsonTexts.set(object, text);
  }
  return text;
}

/** Each ApiObject of `chart` with its rendered JSON. */
export function renderedPairs(chart: Chart): { construct: ApiObject; json: any }[] {
  const { constructs, objects } = renderOf(chart);
  return constructs.map((construct, i) => ({ construct, json: objects[i] }));
}

/** Renders `object` again after a change made once its chart was rendered (the sync policy). */
export function rerender(object: ApiObject): void {
  const render = renders.get(Chart.of(object));
  const index = render?.constructs.indexOf(object) ?? -1;
  if (render && index >= 0) render.objects[index] = object.toJson();
}

function renderOf(chart: Chart): ChartRender {
  const cached = renders.get(chart);
  if (cached !== undefined) {
    const now = ownApiObjects(chart);
    if (now.length !== cached.members.length || now.some((o, i) => o !== cached.members[i])) {
      throw new Error(`chart "${chart.node.id}" changed after it was rendered; fix: build every object of a chart before the GitOps charts (lib/platform.ts)`);
    }
    return cached;
  }
  return remember(chart, chart.toJson());
}

function remember(chart: Chart, objects: any[], constructs: ApiObject[] = synthOrder(chart)): ChartRender {
  const members = ownApiObjects(chart);
  // `objects` is in cdk8s's synthesis order, which synthOrder reproduces: pair them by position (a
  // JSON patch may change an object's rendered namespace or name, so identities need not match).
  if (constructs.length !== objects.length || constructs.some((c, i) => c.kind !== objects[i]?.kind)) {
    throw new Error(`chart "${chart.node.id}": its rendered objects do not match its ApiObjects one to one; fix: render charts with cdk8s's own order (lib/gitops/rendered.ts)`);
  }
  const render = { members, objects, constructs };
  renders.set(chart, render);
  return render;
}

/** What `Chart.toJson()` renders after the app's dependencies are resolved (cdk8s's chartToKube). */
function synthOrder(chart: Chart): ApiObject[] {
  return dependencyOrder(chart).filter((c): c is ApiObject => c instanceof ApiObject && Chart.of(c) === chart);
}

/** The charts of `app` in dependency order, as cdk8s's `App.charts` lists them. */
export function appCharts(app: App): Chart[] {
  return dependencyOrder(app).filter((c): c is Chart => c instanceof Chart);
}

/**
 * `root` and every construct below it, dependencies first: the order of cdk8s's
 * `new DependencyGraph(root.node).topology()` (cdk8s is pinned in package.json; test/gitops.test.ts
 * compares the two). Constructs without dependants start a walk, in construct-tree order; each walk
 * lists a construct after its dependencies (those below `root`), in the order they were added.
 * Here each construct is walked once: cdk8s walks shared dependencies again each time and checks
 * every edge for a cycle, which made its order a sizeable part of a synth.
 */
export function dependencyOrder(root: IConstruct): IConstruct[] {
  const all = root.node.findAll();
  const below = new Set(all);
  const dependencies = new Map<IConstruct, Set<IConstruct>>();
  const depended = new Set<IConstruct>();
  for (const source of all) {
    for (const target of source.node.dependencies) {
      if (!below.has(target)) continue; // like cdk8s: a dependency outside `root` is not ordered here
      let targets = dependencies.get(source);
      if (targets === undefined) dependencies.set(source, (targets = new Set()));
      targets.add(target);
      depended.add(target);
    }
  }
  const order: IConstruct[] = [];
  const listed = new Set<IConstruct>();
  const walking = new Set<IConstruct>();
  const walk = (construct: IConstruct): void => {
    if (listed.has(construct)) return;
    if (walking.has(construct)) throw new Error(`dependency cycle through ${construct.node.path}`);
    walking.add(construct);
    for (const dependency of dependencies.get(construct) ?? []) walk(dependency);
    walking.delete(construct);
    listed.add(construct);
    order.push(construct);
  };
  for (const construct of all) if (!depended.has(construct)) walk(construct);
  if (order.length !== all.length) throw new Error(`dependency cycle below ${root.node.path || 'the app'}`);
  return order;
}

/**
 * The ApiObjects whose closest chart is `chart` (those `Chart.toJson()` renders), in construct-tree
 * order (as `chart.node.findAll()`, without descending into nested charts).
 */
function ownApiObjects(chart: Chart): ApiObject[] {
  const found: ApiObject[] = [];
  const visit = (scope: IConstruct): void => {
    for (const child of scope.node.children) {
      if (child instanceof Chart) continue;
      if (child instanceof ApiObject) found.push(child);
      visit(child);
    }
  };
  visit(chart);
  return found;
}

