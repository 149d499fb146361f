/**
 * Inline-rendered Helm objects applied to the lab cluster (scripts/lab): the fixture chart
 * (test/fixtures/charts/fixture-app) rendered inline for prod, synced with the base chart
 * (namespaces with Pod Security labels, default-deny) in Argo CD's order. Proves what only a
 * server sees: the CRD from crds/ is accepted and established, every object passes strict
 * server-side apply, Pod Security admits the chart's pods, the PreSync hook Job completes before
 * the Deployments roll out, and the scheduler places every pod.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ADD_ONS } from '../lib/addons/registry';
import { helmBinary } from '../lib/helm-binary';
import { renderPlatform } from '../lib/synth';
import { Platform } from '../charts/platform';
import { LabCluster, missingLabPrograms, nodesFor } from '../scripts/lab/cluster';
import { LabSyncReport, syncToLab } from '../scripts/lab/sync';
import { fixtureAddOn, packageFixtures } from './helpers/chart-fixtures';
import { configFor } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const missing = missingLabPrograms();
const helm = helmBinary();

describeWithPrograms('GIVEN the fixture chart rendered inline for prod and synced with base to a lab cluster', { helm, ...Object.fromEntries(missing.map((m) => [m, undefined])) }, () => {
  let lab: LabCluster;
  let report: LabSyncReport;
  let pods: any[];

  beforeAll(async () => {
    const cache = packageFixtures(helm!, fs.mkdtempSync(path.join(os.tmpdir(), 'chart-cache-')), [{ version: '1.0.0' }]);
    const config = configFor('prod', { helm: { addOns: { fixture: { render: 'inline' } }, chartCache: cache } });
    const objects = [...renderPlatform(new Platform(config, { addOns: [...ADD_ONS, fixtureAddOn()] }))]
      .map(([file, text]) => ({ file, object: yaml.load(text) as any }))
      // The two folders, every NetworkPolicy (base syncs them all) and the two folders' Applications (their waves).
      .filter(({ file, object }) => ['base', 'fixture'].includes(file.split('/')[1]) || object.kind === 'NetworkPolicy'
        || (file.split('/')[1] === 'argocd' && object.kind === 'Application' && ['base', 'fixture'].includes(object.metadata.name)));
    const progress: string[] = [];
    const log = (line: string) => progress.push(line);
    lab = await LabCluster.start({ nodes: nodesFor('prod', config.node), log });
    report = await syncToLab(lab, objects, { nodes: config.node.count, log });
    pods = await lab.list(`/api/v1/namespaces/${config.namespaces.edge}/pods`);
    if (report.unhealthy.length > 0 || report.errors.length > 0) console.log(`lab progress:\n${progress.join('\n')}\n${JSON.stringify(pods.map((p) => [p.metadata.name, p.status.phase, p.status.conditions]), null, 1)}`);
  }, 300_000);
  afterAll(async () => {
    await lab?.stop();
  });

  test('THEN every object is accepted without a warning, and both Applications are healthy', () => {
    expect(report.errors).toEqual([]);
    expect(report.warnings).toEqual([]);
    expect(report.unhealthy).toEqual([]);
    expect(report.order.filter((o) => o.application === 'fixture').length).toBe(10);
  });

  test('THEN the CRD from crds/ is established and its kind is served', async () => {
    const crd = (await lab.request('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.fixtures.platform.io')).body;
    expect(crd.status.conditions.find((c: any) => c.type === 'Established')?.status).toBe('True');
    expect((await lab.resourceOf('fixtures.platform.io/v1', 'Gadget')).namespaced).toBe(true);
  });

  test('THEN the PreSync hook ran first and completed, and the chart\'s pods are admitted (restricted) and running', async () => {
    const fixture = report.order.filter((o) => o.application === 'fixture');
    expect(fixture[0]).toMatchObject({ phase: 'PreSync', object: { kind: 'Job', metadata: { name: 'fixture-app-migrate' } } });
    const job = (await lab.request('GET', '/apis/batch/v1/namespaces/edge/jobs/fixture-app-migrate')).body;
    expect(job.status.succeeded).toBe(1);
    const running = pods.filter((p) => p.status.phase === 'Running').map((p) => p.metadata.labels['app.kubernetes.io/name']).sort();
    expect(running).toEqual(['fixture-app', 'fixture-app', 'fixture-worker']);
  });
});
