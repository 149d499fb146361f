/**
 * The synth refuses a change Argo CD cannot apply by itself unless its manual step is accepted by name
 * (lib/gitops/manual-steps.ts, called by main.ts against the dist/ it replaces).
 */
import { Platform } from '../charts/platform';
import { assertStepsAccepted, manualSteps, ManualStepsError } from '../lib/gitops/manual-steps';
import { renderPlatform } from '../lib/synth';
import { configFor } from './helpers/platform';

const render = (env: string, overrides: Record<string, unknown>) => renderPlatform(new Platform(configFor(env, overrides)));
const prod = { stage: 'sample', domain: 'example.com', node: { cpu: 4, memory: '16Gi' } };

describe('GIVEN prod on one node (what the cluster runs)', () => {
  const before = render('prod', prod);

  test('WHEN nothing changes THEN no manual step is needed', () => {
    expect(manualSteps(before, render('prod', prod))).toEqual([]);
  });

  test('WHEN the team sets node.count 3 THEN the only manual step is the MinIO move: the standalone StatefulSet leaves with its data; Redis and Postgres grow in place', () => {
    const steps = manualSteps(before, render('prod', { ...prod, node: { ...prod.node, count: 3 } }));
    expect(steps.map((s) => s.id)).toEqual(['StatefulSet/data/minio']);
    expect(steps[0].what).toContain('data-minio-<n>');
    expect(steps[0].step).toContain('mc mirror');
  });

  test('WHEN a StatefulSet field Kubernetes cannot change in place changes (Redis storage size) THEN the step names the field and the orphaning delete', () => {
    const steps = manualSteps(before, render('prod', { ...prod, redis: { storage: { size: '4Gi' } } }));
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ id: 'StatefulSet/data/redis', env: 'prod' });
    expect(steps[0].what).toContain('spec.volumeClaimTemplates');
    expect(steps[0].step).toContain('kubectl -n data delete statefulset redis --cascade=orphan');
    expect(steps[0].step).toContain('only new pods get the new template');
  });

  test('WHEN only replicas or the pod template change (Redis maxmemory) THEN no step: Kubernetes rolls it', () => {
    expect(manualSteps(before, render('prod', { ...prod, redis: { maxmemory: '256Mi' } }))).toEqual([]);
  });

  test('THEN an unaccepted step stops the synth with its name, its step and the --accept to give; accepted, it passes', () => {
    const steps = manualSteps(before, render('prod', { ...prod, node: { ...prod.node, count: 3 } }));
    expect(() => assertStepsAccepted(steps, [])).toThrow(ManualStepsError);
    expect(() => assertStepsAccepted(steps, [])).toThrow(/StatefulSet data\/minio is removed[\s\S]*Accept: npm run synth -- --accept StatefulSet\/data\/minio/);
    expect(() => assertStepsAccepted(steps, ['StatefulSet/data/minio'])).not.toThrow();
  });

  test('THEN another environment\'s files are not compared (a new environment needs no step)', () => {
    expect(manualSteps(before, render('other', prod))).toEqual([]);
  });
});
