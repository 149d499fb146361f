/**
 * Changes Argo CD cannot apply by itself, found by comparing a new synth with the dist/ it replaces
 * (what the cluster runs): a StatefulSet field Kubernetes refuses to change in place (anything in its
 * spec but replicas, template, updateStrategy, minReadySeconds, ordinals and the claim retention
 * policy), a Deployment's or DaemonSet's selector, and a StatefulSet that disappears while its volumes
 * keep data. The synth refuses such a change until it is accepted by name (`--accept <Kind>/<ns>/<name>`),
 * and its error names the manual step.
 */
import * as yaml from 'js-yaml';

/** Fields of a StatefulSet's spec the API server lets an update change (apps/v1 validation). */
const STATEFULSET_MUTABLE = new Set(['replicas', 'template', 'updateStrategy', 'minReadySeconds', 'ordinals', 'persistentVolumeClaimRetentionPolicy']);

export interface ManualStep {
  /** `<Kind>/<namespace>/<name>`: what `--accept` names. */
  readonly id: string;
  /** The environment's folder in dist/. */
  readonly env: string;
  readonly what: string;
  /** The step to take, with the command or the README section. */
  readonly step: string;
}

/** The objects of the kinds this checks, by id, from files (relative path → YAML text). */
function workloads(files: ReadonlyMap<string, string>): Map<string, { env: string; object: any }> {
  const out = new Map<string, { env: string; object: any }>();
  for (const [file, text] of files) {
    if (!/\/(StatefulSet|Deployment|DaemonSet)\./.test(file)) continue;
    const object = yaml.load(text) as any;
    out.set(`${file.split('/')[0]}:${object.kind}/${object.metadata.namespace}/${object.metadata.name}`, { env: file.split('/')[0], object });
  }
  return out;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Manual steps between `previous` (the dist/ files a cluster runs) and `next` (this synth), for the
 * environments of `next`. Environments absent from `previous` (new ones) need none.
 */
export function manualSteps(previous: ReadonlyMap<string, string>, next: ReadonlyMap<string, string>): ManualStep[] {
  const before = workloads(previous);
  const after = workloads(next);
  const envs = new Set([...after.values()].map((w) => w.env));
  const steps: ManualStep[] = [];
  for (const [key, { env, object: old }] of before) {
    if (!envs.has(env)) continue;
    const id = key.slice(env.length + 1);
    const { kind, metadata: { namespace: ns, name } } = old;
    const now = after.get(key)?.object;
    if (kind === 'StatefulSet') {
      const claims = (old.spec.volumeClaimTemplates ?? []).map((t: any) => `${t.metadata.name}-${name}-<n>`);
      if (!now) {
        if (claims.length === 0) continue;
        steps.push({
          id, env, what: `StatefulSet ${ns}/${name} is removed; its volumes (${claims.join(', ')}) keep their data but no pod serves it`,
          step: `move its data first (README "One node to three": for MinIO, mc mirror into the pool), then accept`,
        });
        continue;
      }
      const changed = Object.keys({ ...old.spec, ...now.spec }).filter((f) => !STATEFULSET_MUTABLE.has(f) && !same(old.spec[f], now.spec[f])).sort();
      if (changed.length === 0) continue;
      const claimsToo = changed.includes('volumeClaimTemplates')
        ? '; existing volumes keep their old claims (size, class, names): only new pods get the new template, so move or resize the data by hand'
        : '';
      steps.push({
        id, env, what: `StatefulSet ${ns}/${name} changes ${changed.map((f) => `spec.${f}`).join(', ')}, which Kubernetes cannot change in place`,
        step: `before Argo CD syncs: kubectl -n ${ns} delete statefulset ${name} --cascade=orphan (the pods keep running; the new StatefulSet adopts them)${claimsToo}`,
      });
    } else if (now && !same(old.spec.selector, now.spec.selector)) {
      steps.push({
        id, env, what: `${kind} ${ns}/${name} changes spec.selector, which Kubernetes cannot change in place`,
        step: `before Argo CD syncs: kubectl -n ${ns} delete ${kind.toLowerCase()} ${name} (its pods stop until the new one starts)`,
      });
    }
  }
  return steps;
}

/** Steps not accepted: the synth stops before writing anything. */
export class ManualStepsError extends Error {
  constructor(public readonly steps: readonly ManualStep[]) {
    super(describeSteps(steps));
    this.name = 'ManualStepsError';
  }
}

/** Throws ManualStepsError for the steps not in `accepted`. */
export function assertStepsAccepted(steps: readonly ManualStep[], accepted: readonly string[]): void {
  const open = steps.filter((s) => !accepted.includes(s.id));
  if (open.length > 0) throw new ManualStepsError(open);
}

function describeSteps(open: readonly ManualStep[]): string {
  return [
    `This change needs manual steps that Argo CD cannot take (compared with the dist/ it replaces):`,
    ...open.map((s) => `  - ${s.env}: ${s.what}.\n    Step: ${s.step}.\n    Accept: npm run synth -- --accept ${s.id}`),
    'Nothing was written. Take each step (or plan it before the sync), then run the synth again with --accept for each.',
  ].join('\n');
}
