/**
 * Every bundled environment (lib/config/environments) with every add-on rendered inline from the exact pinned charts (../shared/reference/charts,
 * served on loopback and pulled by `npm run charts:pull`'s code), synced to the lab cluster
 * (scripts/lab: a real v1.34 API server with Pod Security admission, controllers, scheduler, kwok
 * nodes) in Argo CD's order: what only a server sees about the real charts' objects. Every object is
 * accepted by strict server-side apply without a warning, Pod Security "restricted" admits every
 * chart pod the controllers create, the scheduler places them on prod's node, hook Jobs complete and
 * every Application is healthy.
 *
 * The charts' admission webhooks (cert-manager, External Secrets, prometheus-operator) cannot answer
 * here (kwok runs no process), and a registered webhook with failurePolicy Fail would refuse every
 * later Certificate, ExternalSecret or PrometheusRule. So the webhook configurations are dry-run
 * applied (the server validates and admits them, nothing is stored) and the rest is synced.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ADD_ONS } from '../lib/addons/registry';
import { listEnvironments, loadConfig } from '../lib/config/load';
import { PlatformConfig } from '../lib/config/schema';
import { helmBinary } from '../lib/helm-binary';
import { referenceDir } from '../lib/project';
import { renderPlatform } from '../lib/synth';
import { Platform } from '../charts/platform';
import { pullCharts } from '../scripts/charts-pull';
import { serveChartRepo } from '../scripts/lab/chart-repo';
import { LabCluster, missingLabPrograms, nodesFor } from '../scripts/lab/cluster';
import { LabSyncReport, syncToLab } from '../scripts/lab/sync';
import { describeWithPrograms } from './helpers/real-programs';

const missing = missingLabPrograms();
const helm = helmBinary();
const WEBHOOKS = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];

describeWithPrograms('GIVEN each environment with every add-on rendered inline from the pinned charts, synced to a lab cluster', { helm, ...Object.fromEntries(missing.map((m) => [m, undefined])) }, () => {
  let cache: string;
  beforeAll(async () => {
    const repo = await serveChartRepo(path.join(referenceDir(), 'charts'));
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'pinned-lab-cache-'));
    try {
      const problems = await pullCharts(ADD_ONS.map((a) => ({ repo: repo.url, chart: a.chart, version: a.version })), cache, { helm: helm!, log: () => undefined });
      if (problems.length > 0) throw new Error(problems.join('\n'));
    } finally {
      await repo.stop();
    }
  }, 300_000);

  describe.each(listEnvironments())('WHEN %s is synced', (env) => {
  let lab: LabCluster;
  let report: LabSyncReport;
  let webhooks: { id: string; status: number; message?: string }[];
  let objects: { file: string; object: any }[];
  const progress: string[] = [];

  beforeAll(async () => {
    const loaded = loadConfig(env);
    const config: PlatformConfig = { ...loaded, helm: { ...loaded.helm, render: 'inline', addOns: {}, chartCache: cache } };
    objects = [...renderPlatform(new Platform(config))].map(([file, text]) => ({ file, object: yaml.load(text) as any }));
    const log = (line: string) => progress.push(line);
    lab = await LabCluster.start({ nodes: nodesFor(env, config.node), log });
    report = await syncToLab(lab, objects.filter((o) => !WEBHOOKS.includes(o.object.kind)), { nodes: config.node.count, log, healthTimeoutMs: 240_000 });
    webhooks = [];
    for (const { object } of objects.filter((o) => WEBHOOKS.includes(o.object.kind))) {
      const res = await lab.apply(object, { dryRun: true });
      webhooks.push({ id: `${object.kind} ${object.metadata.name}`, status: res.status, ...(res.status >= 300 ? { message: res.body?.message } : {}) });
    }
    if (report.errors.length > 0 || report.unhealthy.length > 0) console.log(`lab progress:\n${progress.slice(-80).join('\n')}`);
  }, 1_200_000);
  afterAll(async () => {
    await lab?.stop();
  });

  test('THEN every object is accepted by strict server-side apply; the only warnings are Pod Security\'s for the two host readers of the privileged monitoring namespace', () => {
    expect(report.errors).toEqual([]);
    // monitoring enforces "privileged" and warns at "restricted" (charts/base.ts): node-exporter and Alloy read the
    // host (hostNetwork, hostPID, hostPath). Every other chart pod runs restricted, without a warning.
    const warned = report.warnings.map((w) => {
      expect(w).toContain('would violate PodSecurity \\"restricted:latest\\"');
      return w.split(' (')[0];
    });
    const monitoring = loadConfig(env).namespaces.monitoring;
    expect(warned.sort()).toEqual([`DaemonSet ${monitoring}/alloy`, `DaemonSet ${monitoring}/kube-prometheus-stack-prometheus-node-exporter`]);
    const addOnFolders = new Set(ADD_ONS.map((a) => (a.host === 'argocd' ? 'argocd' : a.id)));
    expect(report.order.filter((o) => addOnFolders.has(o.file.split('/')[1])).length).toBeGreaterThan(300);
    expect(report.placeholders).toEqual([]);
  });

  test('THEN the charts\' webhook configurations are valid for the API server (dry run)', () => {
    expect(webhooks.length).toBeGreaterThan(0);
    expect(webhooks.filter((w) => w.status >= 300)).toEqual([]);
  });

  test('THEN every Application is healthy: Pod Security admitted every chart pod, the scheduler placed them, hook Jobs completed', async () => {
    expect(report.unhealthy).toEqual([]);
    const pods = await lab.list('/api/v1/pods');
    const notRunning = pods.filter((p) => !['Running', 'Succeeded'].includes(p.status.phase)).map((p) => `${p.metadata.namespace}/${p.metadata.name} ${p.status.phase}`);
    expect(notRunning).toEqual([]);
    const monitoring = pods.filter((p) => p.metadata.namespace === loadConfig(env).namespaces.monitoring).map((p) => p.metadata.labels?.['app.kubernetes.io/name']);
    expect(monitoring).toEqual(expect.arrayContaining(['grafana', 'kube-state-metrics', 'loki', 'alloy']));
  });
  });
});
