/**
 * Issue 15, environments side by side in a real control plane (scripts/lab): prod and a staging
 * that shares its cluster (`cluster.sharedWith: prod`) applied one after the other to ONE lab
 * cluster shaped like prod's node. The API server accepts both (no object of one overwrites the
 * other's: server-side apply would merge them silently, so the objects are checked one by one) and
 * the scheduler places every pod of both beside prod's add-ons. Called last in test/lab.real.test.ts,
 * so that this lab starts after the environments' labs have stopped.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { loadConfig } from '../../lib/config/load';
import { renderPlatform } from '../../lib/synth';
import { Platform } from '../../charts/platform';
import { LabCluster, missingLabPrograms, nodesFor } from '../../scripts/lab/cluster';
import { LabSyncReport, syncToLab } from '../../scripts/lab/sync';
import { FIXTURE_ENVIRONMENTS_DIR } from './platform';

export function describeSideBySideLab(describeLab: jest.Describe): void {
  describeLab('GIVEN prod and a staging sharing its cluster, applied to one lab cluster', () => {
    const missing = missingLabPrograms();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'side-by-side-lab-'));
    const prodText = fs.readFileSync(path.join(FIXTURE_ENVIRONMENTS_DIR, 'prod.yaml'), 'utf8').replace(/^node: .*$/m, '');
    // One 8 vCPU / 32 GiB node: both environments' requests fit its budget together (README "Make it yours").
    fs.writeFileSync(path.join(dir, 'prod.yaml'), `${prodText}\nnode: { cpu: 8, memory: 32Gi }\n`);
    fs.writeFileSync(path.join(dir, 'staging.yaml'), 'stage: development\ndomain: staging.example.org\ncluster: { sharedWith: prod }\n');
    const synth = (env: string) => {
      const config = loadConfig(env, { environmentsDir: dir });
      return { config, objects: [...renderPlatform(new Platform(config))].map(([file, text]) => ({ file, object: yaml.load(text) as any })) };
    };
    const prod = synth('prod');
    const staging = synth('staging');
    let lab: LabCluster;
    const reports: Record<string, LabSyncReport> = {};

    beforeAll(async () => {
      if (missing.length > 0) throw new Error(`CI=true but the lab programs are not built (${missing.join(', ')}): .ci/run must run scripts/lab/build.sh`);
      const nodes = nodesFor('shared', prod.config.node);
      lab = await LabCluster.start({ nodes });
      reports.prod = await syncToLab(lab, prod.objects, { nodes: nodes.length });
      reports.staging = await syncToLab(lab, staging.objects, { nodes: nodes.length });
    }, 900_000);

    afterAll(async () => {
      await lab?.stop();
    });

    test('THEN the API server accepts every object of both environments', () => {
      expect(reports.prod.errors).toEqual([]);
      expect(reports.staging.errors).toEqual([]);
      expect(reports.prod.applied + reports.staging.applied).toBe(prod.objects.length + staging.objects.length);
    });

    test('THEN every object of each environment exists in the cluster as its own object (none was merged into the other\'s)', async () => {
      const kinds = ['Deployment', 'StatefulSet', 'Service', 'NetworkPolicy', 'ConfigMap', 'CronJob'];
      const paths: Record<string, string> = {
        Deployment: '/apis/apps/v1/deployments', StatefulSet: '/apis/apps/v1/statefulsets', Service: '/api/v1/services',
        NetworkPolicy: '/apis/networking.k8s.io/v1/networkpolicies', ConfigMap: '/api/v1/configmaps', CronJob: '/apis/batch/v1/cronjobs',
      };
      for (const kind of kinds) {
        const inCluster = new Set((await lab.list(paths[kind])).map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
        const ours = [...prod.objects, ...staging.objects].filter((o) => o.object.kind === kind).map((o) => `${o.object.metadata.namespace}/${o.object.metadata.name}`);
        expect(new Set(ours).size).toBe(ours.length);
        expect(ours.filter((id) => !inCluster.has(id))).toEqual([]);
      }
    });

    test('THEN the workloads of both are healthy: every pod admitted and scheduled beside prod\'s add-ons', async () => {
      expect(reports.prod.unhealthy).toEqual([]);
      expect(reports.staging.unhealthy).toEqual([]);
      const pods = await lab.list('/api/v1/pods');
      const stagingPods = pods.filter((p) => p.metadata.namespace.startsWith('staging-'));
      expect(stagingPods.length).toBeGreaterThan(0);
      expect(pods.filter((p) => !p.spec.nodeName).map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual([]);
    });
  });
}
