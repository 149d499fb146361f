/**
 * The first install never waits on a later wave: Argo CD applies the root's waves in order and waits for
 * every Application of a wave to be healthy before the next one, so an object whose readiness needs an
 * object of a LATER wave stalls the install for good. The first-install rehearsal (test/rehearsal-*.real)
 * found two such cases with the real Argo CD, Traefik and a faithful kubelet; this is the fast guard, for
 * every environment of the team, on the rendered objects:
 * - a pod (workload or hook) reads a ConfigMap or Secret of dist/, or one a dist/ ExternalSecret or
 *   SealedSecret produces, in its volumes or env: that object's wave is not later than the pod's;
 * - an Ingress names Traefik Middlewares (`router.middlewares`): each exists in dist/ at a wave not later
 *   than the Ingress's (Traefik drops a router whose middleware does not exist: the host answers 404).
 */
import { listEnvironments } from '../lib/config/load';
import { applicationWaveOf, DistObject, folderWavesOf } from '../lib/gitops/argo-order';
import { MIDDLEWARES_ANNOTATION } from '../lib/constructs/edge/middlewares';
import { blocksWhenMissing, podReferences } from '../scripts/lab/pod-references';
import { synthUserEnv } from './helpers/platform';

/** Problems of one environment's objects, as readable lines (empty when the order holds). */
export function laterWaveDependencies(objects: readonly DistObject[]): string[] {
  const folderWaves = folderWavesOf(objects);
  const wave = (d: DistObject) => applicationWaveOf(d, folderWaves);
  const id = (kind: string, namespace: string, name: string) => `${kind} ${namespace}/${name}`;
  /** Where each ConfigMap/Secret/Middleware comes from: the object itself, or its producer. */
  const source = new Map<string, DistObject>();
  for (const d of objects) {
    const { kind, metadata } = d.object;
    if (['ConfigMap', 'Secret', 'Middleware'].includes(kind)) source.set(id(kind, metadata.namespace, metadata.name), d);
    if (kind === 'ExternalSecret') source.set(id('Secret', metadata.namespace, d.object.spec?.target?.name ?? metadata.name), d);
    if (kind === 'SealedSecret') source.set(id('Secret', metadata.namespace, metadata.name), d);
  }
  const problems: string[] = [];
  for (const d of objects) {
    const o = d.object;
    for (const ref of podReferences([o]).filter(blocksWhenMissing)) {
      const from = source.get(id(ref.kind, ref.namespace, ref.name));
      if (from && wave(from) > wave(d)) {
        problems.push(`${ref.workload} (wave ${wave(d)}) reads ${ref.kind} ${ref.namespace}/${ref.name} (${ref.via}), which ${from.file} brings at wave ${wave(from)}`);
      }
    }
    if (o.kind === 'Ingress') {
      for (const entry of String(o.metadata.annotations?.[MIDDLEWARES_ANNOTATION] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
        const [qualified, provider] = entry.split('@');
        if (provider !== 'kubernetescrd') continue;
        // <namespace>-<name>: the namespace is the Ingress's own unless another is named (cross-namespace).
        const ns = o.metadata.namespace as string;
        const name = qualified.startsWith(`${ns}-`) ? qualified.slice(ns.length + 1) : qualified;
        const from = source.get(id('Middleware', ns, name)) ?? [...source.entries()].find(([k]) => k.startsWith('Middleware ') && `${k.split(' ')[1].replace('/', '-')}` === qualified)?.[1];
        if (!from) problems.push(`Ingress ${ns}/${o.metadata.name} (wave ${wave(d)}) names Middleware ${entry}, which no object of dist/ defines`);
        else if (wave(from) > wave(d)) problems.push(`Ingress ${ns}/${o.metadata.name} (wave ${wave(d)}) names Middleware ${entry}, which ${from.file} brings at wave ${wave(from)}: the route answers 404 until then`);
      }
    }
  }
  return problems;
}

describe.each(listEnvironments())('GIVEN the %s environment as rendered', (env) => {
  const { objects } = synthUserEnv(env);

  test('WHEN Argo CD installs it wave by wave THEN no pod and no route waits on an object of a later wave', () => {
    expect(laterWaveDependencies(objects)).toEqual([]);
  });

  test('THEN the check sees the references it guards (Ingresses with Middlewares, pods reading ConfigMaps)', () => {
    expect(objects.some((d) => d.object.kind === 'Ingress' && d.object.metadata.annotations?.[MIDDLEWARES_ANNOTATION])).toBe(true);
    expect(podReferences(objects.map((d) => d.object)).some((r) => r.kind === 'ConfigMap' && blocksWhenMissing(r))).toBe(true);
  });
});
