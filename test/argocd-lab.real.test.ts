/**
 * The real Argo CD (application controller and repo-server v3.2.11, scripts/argocd/build.sh) against the
 * lab cluster, pulling from a loopback `git daemon` (scripts/lab/git-server.ts) and a loopback Helm chart
 * repository (scripts/lab/chart-repo.ts). Proves that the lab can run Argo CD's own sync: Git and Helm
 * sources rendered by the repo-server, applied by the controller, compared, healed, and reported on the
 * Application. Pods are kwok's: their Health is what kwok's stages report (Running and Ready).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { referenceDir } from '../lib/project';
import { argocdBuilt, ARGOCD_BIN, installArgoCdCrds, LabArgoCd, minimalArgoCdSettings } from '../scripts/lab/argocd';
import { ChartRepo, serveChartRepo } from '../scripts/lab/chart-repo';
import { LabCluster, missingLabPrograms } from '../scripts/lab/cluster';
import { bareRepoFromFolder, commitFolder, gitDaemonAvailable, GitServer, startGitServer } from '../scripts/lab/git-server';
import { findProgram } from '../scripts/lab/programs';
import { describeWithPrograms } from './helpers/real-programs';

const NS = 'argocd';
const IN_CLUSTER = 'https://kubernetes.default.svc';

/** A folder with a Namespace and a ConfigMap in it, as an Application's directory source. */
function writeManifests(dir: string, greeting: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'manifests'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'manifests', 'namespace.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: lab-demo\n');
  fs.writeFileSync(path.join(dir, 'manifests', 'configmap.yaml'), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\n  namespace: lab-demo\ndata:\n  greeting: ${greeting}\n`);
  fs.writeFileSync(path.join(dir, 'README.md'), 'not a manifest: outside the source path\n');
}

function application(name: string, source: object, namespace: string): any {
  return {
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Application',
    metadata: { name, namespace: NS },
    spec: {
      project: 'default', source, destination: { server: IN_CLUSTER, namespace },
      syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] },
    },
  };
}

describeWithPrograms('GIVEN a lab cluster, the real Argo CD controller and repo-server, a loopback git daemon and chart repository', {
  'lab programs (bash scripts/lab/build.sh)': missingLabPrograms().length === 0 ? 'built' : undefined,
  [`argocd (bash scripts/argocd/build.sh → ${ARGOCD_BIN})`]: argocdBuilt() ? ARGOCD_BIN : undefined,
  'redis-server': findProgram('redis-server'),
  'git daemon (git)': gitDaemonAvailable() ? 'git' : undefined,
}, () => {
  let work = '';
  let repos = '';
  let files = '';
  let lab: LabCluster;
  let argocd: LabArgoCd | undefined;
  let git: GitServer | undefined;
  let charts: ChartRepo | undefined;
  const times: string[] = [];
  const timed = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const result = await f();
    times.push(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return result;
  };

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'argocd-lab-'));
    [repos, files] = [path.join(work, 'repos'), path.join(work, 'files')];
    lab = await timed('lab cluster', () => LabCluster.start({ nodes: [{ name: 'lab-node-1', cpu: '4', memory: '8Gi', zone: 'lab-zone-a' }], crds: false }));
    await timed('Argo CD CRDs and settings', async () => {
      await installArgoCdCrds(lab);
      for (const o of minimalArgoCdSettings(NS)) {
        const res = await lab.apply(o, { fieldManager: 'lab' });
        if (res.status >= 300) throw new Error(`${o.kind} ${o.metadata.name}: ${res.status} ${res.body?.message}`);
      }
    });
    writeManifests(files, 'hello-from-git');
    fs.mkdirSync(repos);
    bareRepoFromFolder(repos, 'demo.git', files);
    git = await startGitServer(repos);
    charts = await serveChartRepo(path.join(referenceDir(), 'charts'));
    argocd = await timed('controller and repo-server start', () => LabArgoCd.start(lab, { namespace: NS }));
  }, 300_000);

  afterAll(async () => {
    console.log(`argocd lab timings:\n  ${times.join('\n  ')}`);
    await argocd?.stop();
    await git?.stop();
    await charts?.stop();
    await lab?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  }, 60_000);

  const app = async (name: string) => (await lab.request('GET', `/apis/argoproj.io/v1alpha1/namespaces/${NS}/applications/${name}`)).body;
  const configMap = async () => lab.request('GET', '/api/v1/namespaces/lab-demo/configmaps/hello');
  /** Waits, with the Application's status and the Argo CD logs in the error when it times out. */
  const waitFor = async (what: string, name: string, check: () => Promise<boolean>, timeoutMs: number) => {
    try {
      await timed(what, () => lab.waitFor(what, check, timeoutMs));
    } catch (err) {
      const status = (await app(name))?.status;
      throw new Error(`${(err as Error).message}\nApplication ${name} status: ${JSON.stringify({ sync: status?.sync, health: status?.health, conditions: status?.conditions, operationState: status?.operationState?.message })}\n${argocd?.tailLogs(25)}`);
    }
  };

  describe('WHEN an Application with automated sync points at a directory of manifests in the git repository', () => {
    beforeAll(async () => {
      const res = await lab.apply(application('demo', { repoURL: git!.url('demo.git'), targetRevision: 'main', path: 'manifests' }, 'lab-demo'), { fieldManager: 'lab' });
      if (res.status >= 300) throw new Error(`Application demo: ${res.status} ${res.body?.message}`);
    });

    test('THEN the ConfigMap appears with the content from git, and the Application is Synced and Healthy', async () => {
      await waitFor('the ConfigMap from git', 'demo', async () => (await configMap()).status === 200, 180_000);
      expect((await configMap()).body.data).toEqual({ greeting: 'hello-from-git' });
      await waitFor('Application demo Synced and Healthy', 'demo', async () => {
        const s = (await app('demo')).status;
        return s?.sync?.status === 'Synced' && s?.health?.status === 'Healthy';
      }, 120_000);
      const status = (await app('demo')).status;
      expect(status.sync.revision).toMatch(/^[0-9a-f]{40}$/);
      expect(status.resources.map((r: any) => `${r.kind}/${r.name}`).sort()).toEqual(['ConfigMap/hello', 'Namespace/lab-demo']);
    }, 320_000);

    test('THEN a deleted ConfigMap comes back (selfHeal), and a new commit is applied without a webhook (--app-resync)', async () => {
      expect((await lab.request('DELETE', '/api/v1/namespaces/lab-demo/configmaps/hello')).status).toBe(200);
      await waitFor('the deleted ConfigMap to be recreated', 'demo', async () => (await configMap()).status === 200, 60_000);

      writeManifests(files, 'second-commit');
      const revision = commitFolder(path.join(repos, 'demo.git'), files, { message: 'second' });
      await waitFor('the second commit to be applied', 'demo', async () => (await configMap()).body?.data?.greeting === 'second-commit', 90_000);
      await waitFor('Application demo Synced at the second commit', 'demo', async () => {
        const s = (await app('demo')).status;
        return s?.sync?.status === 'Synced' && s?.sync?.revision === revision;
      }, 60_000);
    }, 240_000);
  });

  describe('WHEN an Application with automated sync has a Helm source in the chart repository', () => {
    beforeAll(async () => {
      const res = await lab.apply(application('blackbox', {
        repoURL: charts!.url, chart: 'prometheus-blackbox-exporter', targetRevision: '11.17.2',
        helm: { releaseName: 'blackbox', valuesObject: { fullnameOverride: 'blackbox' } },
      }, 'lab-blackbox'), { fieldManager: 'lab' });
      if (res.status >= 300) throw new Error(`Application blackbox: ${res.status} ${res.body?.message}`);
    });

    test('THEN the chart is fetched from the repository, rendered and applied, and the Application is Synced and Healthy', async () => {
      await waitFor('Application blackbox Synced and Healthy', 'blackbox', async () => {
        const s = (await app('blackbox')).status;
        return s?.sync?.status === 'Synced' && s?.health?.status === 'Healthy';
      }, 240_000);
      expect(charts!.requests).toEqual(expect.arrayContaining(['200 /index.yaml', '200 /prometheus-blackbox-exporter-11.17.2.tgz']));
      const deployment = await lab.request('GET', '/apis/apps/v1/namespaces/lab-blackbox/deployments/blackbox');
      expect(deployment.status).toBe(200);
      expect(deployment.body.metadata.labels['app.kubernetes.io/instance']).toBe('blackbox');
      expect((await app('blackbox')).status.sync.revision).toBe('11.17.2');
    }, 320_000);
  });
});
