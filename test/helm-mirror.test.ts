/**
 * `helm.mirror`: one Helm repository serving every pinned chart (air-gapped clusters, the lab's
 * loopback repository). Every add-on Application fetches from it and the AppProject allows it alone.
 */
import { ADD_ONS } from '../lib/addons/registry';
import { configFor, find, synth } from './helpers/platform';

describe('GIVEN prod with helm.mirror set', () => {
  const mirror = 'https://charts.internal.example.org/platform';
  const s = synth(configFor('prod', { helm: { mirror } }));
  const helmApps = find(s, 'Application').filter((a) => a.spec.source?.chart);

  test('WHEN synthesized THEN every Helm add-on Application fetches its chart from the mirror', () => {
    expect(helmApps.length).toBeGreaterThan(0);
    expect(helmApps.map((a) => [a.metadata.name, a.spec.source.repoURL])).toEqual(helmApps.map((a) => [a.metadata.name, mirror]));
  });

  test('THEN the AppProject allows the git repository and the mirror, and no upstream chart repository', () => {
    const [project] = find(s, 'AppProject');
    expect(project.spec.sourceRepos).toEqual([s.config.gitops.repoUrl, mirror]);
    for (const addOn of ADD_ONS) expect(project.spec.sourceRepos).not.toContain(addOn.repo);
  });
});

describe('GIVEN prod without helm.mirror', () => {
  test('WHEN synthesized THEN each Helm add-on Application fetches from its own upstream repository', () => {
    const s = synth(configFor('prod'));
    for (const app of find(s, 'Application').filter((a) => a.spec.source?.chart)) {
      const addOn = ADD_ONS.find((a) => a.chart === app.spec.source.chart);
      expect([app.metadata.name, app.spec.source.repoURL]).toEqual([app.metadata.name, addOn?.repo]);
    }
  });
});
