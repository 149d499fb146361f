/**
 * Two environments on one cluster, rehearsed as a team grows into it: prod installed by its README
 * runbook until healthy, then `staging` (cluster.sharedWith: prod) added by the README's second-environment
 * runbook, until both are healthy with prod's Argo CD, Traefik and controllers. prod's node is the one the
 * README names for the pair (8 vCPU / 32 GB: both environments' requests must fit it together).
 */
import * as fs from 'fs';
import * as path from 'path';
import { applicationsOf, formatReport, RehearsalReport } from '../scripts/lab/rehearsal';
import { describeRehearsal, expectFirstInstall, REHEARSAL_TIMEOUT_MS, startRehearsal } from './helpers/rehearsal';

const STAGING = 'stage: development\ndomain: staging.example.org\ncluster: { sharedWith: prod }\n';

describeRehearsal()('GIVEN prod on a node sized for two environments, rehearsed from an empty cluster', () => {
  const run = startRehearsal({
    env: 'prod',
    prepare: (repo) => {
      const file = path.join(repo, 'lib', 'config', 'environments', 'prod.yaml');
      fs.writeFileSync(file, `${fs.readFileSync(file, 'utf8').replace(/^node: .*$/m, '')}\nnode: { cpu: 8, memory: 32Gi }\n`);
    },
  });
  expectFirstInstall(() => run.report, run);

  describe('WHEN staging (cluster.sharedWith: prod) is added with the README\'s second-environment runbook', () => {
    let staging: RehearsalReport;
    beforeAll(async () => {
      if (!run.rehearsal || run.report.minutesToHealthy === undefined) throw new Error('prod did not become healthy: staging is not added');
      await run.rehearsal.addEnvironment('staging', STAGING);
      const apps = [...applicationsOf(path.join(run.rehearsal.repoDir, 'dist', 'staging')), ...applicationsOf(path.join(run.rehearsal.repoDir, 'dist', 'prod'))];
      staging = { ...(await run.rehearsal.waitHealthy(apps, REHEARSAL_TIMEOUT_MS)), env: 'staging (beside prod)' };
      console.log(formatReport(staging));
    }, REHEARSAL_TIMEOUT_MS + 10 * 60_000);

    expectFirstInstall(() => staging, run);

    test('THEN staging runs in its own namespaces and installed no Argo CD, sealing key or add-on of its own', async () => {
      const namespaces = (await run.rehearsal!.lab.list('/api/v1/namespaces')).map((n) => n.metadata.name as string);
      expect(namespaces.filter((n) => n.startsWith('staging-')).length).toBeGreaterThan(3);
      const apps = staging.applications.map((a) => a.name);
      expect(apps.filter((a) => a.startsWith('staging-')).sort()).toEqual(applicationsOf(path.join(run.rehearsal!.repoDir, 'dist', 'staging')).sort());
      expect(apps.filter((a) => a.startsWith('staging-') && /argocd|traefik|cert-manager|sealed|external-secrets|prometheus|loki|alloy/.test(a))).toEqual([]);
    });
  });
});
