/**
 * Issue 15, environments side by side: a staging environment on prod's cluster
 * (`cluster.sharedWith: prod`) installs no cluster-wide add-on and no cluster-scoped object but its
 * own namespaces, prefixes its namespaces and Argo CD objects, and collides with prod nowhere.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { loadConfig } from '../lib/config/load';
import { referenceDir } from '../lib/project';
import { Manifests, renderPlatform, writeManifests } from '../lib/synth';
import { clusterCollisions } from '../lib/validation/collisions';
import { NetworkModel, workloadEndpoints } from '../lib/validation/reachability';
import { KPS } from '../lib/addons/kube-prometheus-stack';
import { traefik } from '../lib/addons/traefik';
import { blackboxExporter } from '../lib/addons/prometheus-blackbox-exporter';
import { validateDist } from '../lib/validation/validate-dist';
import { Platform } from '../charts/platform';
import { MAIN, treeHash } from './helpers/bad-input';
import { FIXTURE_ENVIRONMENTS_DIR } from './helpers/platform';

const STAGING = 'stage: development\ndomain: staging.example.org\ncluster: { sharedWith: prod }\n';

/**
 * prod (the fixture, on one 8 vCPU / 32 GiB node unless `prodNode` says otherwise: both environments'
 * requests share its budget) and `staging` (the given text) in a scratch environments folder.
 */
function environments(staging: string, prodNode = '{ cpu: 8, memory: 32Gi }'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'side-by-side-'));
  const prod = fs.readFileSync(path.join(FIXTURE_ENVIRONMENTS_DIR, 'prod.yaml'), 'utf8');
  fs.writeFileSync(path.join(dir, 'prod.yaml'), `${prod.replace(/^node: .*$/m, '')}\nnode: ${prodNode}\n`);
  fs.writeFileSync(path.join(dir, 'staging.yaml'), staging);
  return dir;
}
const render = (env: string, dir: string): Manifests => renderPlatform(new Platform(loadConfig(env, { environmentsDir: dir })));
const objectsOf = (files: Manifests): any[] => [...files.values()].map((text) => yaml.load(text));

describe('GIVEN prod and a staging environment that shares its cluster', () => {
  const dir = environments(STAGING);
  const prod = render('prod', dir);
  const staging = render('staging', dir);

  test('THEN no two objects collide: kind, namespace and name, cluster-scoped names, hosts and Argo CD Applications', () => {
    expect(clusterCollisions([{ name: 'prod', files: prod }, { name: 'staging', files: staging }])).toEqual([]);
    const applications = (files: Manifests) => objectsOf(files).filter((o) => o.kind === 'Application').map((o) => o.metadata.name);
    expect(applications(staging).filter((name) => applications(prod).includes(name))).toEqual([]);
  });

  test('THEN staging lives in its own prefixed namespaces; in the shared ones (Argo CD\'s, Traefik\'s, Prometheus\') its objects carry its prefix', () => {
    const namespaces = new Set(objectsOf(staging).map((o) => o.metadata.namespace).filter(Boolean));
    expect([...namespaces].filter((ns) => ns.startsWith('staging-')).sort()).toEqual(['staging-app', 'staging-backup', 'staging-data', 'staging-edge', 'staging-monitoring']);
    expect([...namespaces].filter((ns) => !ns.startsWith('staging-')).sort()).toEqual(['argocd', 'edge', 'monitoring']);
    const argo = objectsOf(staging).filter((o) => o.metadata.namespace === 'argocd');
    expect(argo.length).toBeGreaterThan(0);
    for (const o of argo) expect(o.metadata.name).toMatch(/^staging-/);
    for (const o of argo) if (o.spec.project) expect(o.spec.project).toBe('staging-platform');
    const inEdge = objectsOf(staging).filter((o) => ['edge', 'monitoring'].includes(o.metadata.namespace));
    expect(inEdge.map((o) => `${o.kind}/${o.metadata.name.replace(/^staging-.*/, 'staging-…')}`)).toEqual(inEdge.map(() => 'NetworkPolicy/staging-…'));
  });

  test('THEN prod\'s Traefik and Prometheus reach staging\'s apps, and neither environment\'s apps reach the other\'s data services', () => {
    const all = [...objectsOf(prod), ...objectsOf(staging)];
    const model = new NetworkModel(all);
    const endpoints = workloadEndpoints(all);
    const at = (name: string, namespace: string) => endpoints.find((e) => e.name === name && e.namespace === namespace)!;
    const traefikPod = { name: 'traefik', namespace: 'edge', labels: { ...traefik.pods.traefik.labels }, namedPorts: {} };
    const prometheusPod = { name: 'prometheus', namespace: 'monitoring', labels: { ...KPS.prometheus.pods }, namedPorts: {} };
    const blackboxPod = { name: 'blackbox', namespace: 'monitoring', labels: { ...blackboxExporter.pods.exporter.labels }, namedPorts: {} };
    const crm = loadConfig('staging', { environmentsDir: dir }).apps.find((a) => a.name === 'crm')!;
    const flows = {
      'traefik → staging crm': model.allows(traefikPod, at('crm', 'staging-app'), crm.port),
      'traefik → prod crm': model.allows(traefikPod, at('crm', 'app'), crm.port),
      'prometheus → staging crm metrics': model.allows(prometheusPod, at('crm', 'staging-app'), crm.metricsPort!),
      'blackbox exporter → staging crm health': model.allows(blackboxPod, at('crm', 'staging-app'), crm.port),
      'staging crm → staging pgbouncer': model.allows(at('crm', 'staging-app'), at('pgbouncer', 'staging-data'), 6432),
      'staging crm → prod pgbouncer': model.allows(at('crm', 'staging-app'), at('pgbouncer', 'data'), 6432),
      'prod crm → staging pgbouncer': model.allows(at('crm', 'app'), at('pgbouncer', 'staging-data'), 6432),
    };
    expect(flows).toEqual({
      'traefik → staging crm': true, 'traefik → prod crm': true, 'prometheus → staging crm metrics': true, 'blackbox exporter → staging crm health': true,
      'staging crm → staging pgbouncer': true, 'staging crm → prod pgbouncer': false, 'prod crm → staging pgbouncer': false,
    });
  });

  test('THEN staging\'s probes call prod\'s blackbox exporter, and staging routes no Grafana of its own', () => {
    const probes = objectsOf(staging).filter((o) => o.kind === 'Probe');
    expect(probes.length).toBeGreaterThan(0);
    for (const p of probes) expect(p.spec.prober.url).toBe('prometheus-blackbox-exporter.monitoring.svc.cluster.local:9115');
    expect(objectsOf(staging).filter((o) => o.kind === 'Ingress' && o.metadata.name === 'grafana')).toEqual([]);
  });

  test('THEN staging installs none of the cluster-wide add-ons and no cluster-scoped object but its namespaces', () => {
    const objects = objectsOf(staging);
    expect(objects.filter((o) => o.kind === 'Application' && (o.spec.source?.chart || o.spec.sources?.some((s: any) => s.chart)))).toEqual([]);
    expect(objects.filter((o) => !o.metadata.namespace && o.kind !== 'Namespace').map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    // prod still installs them
    expect(objectsOf(prod).filter((o) => o.kind === 'Application' && o.spec.source?.chart).map((o) => o.metadata.name)).toEqual(expect.arrayContaining(['argocd', 'cert-manager', 'traefik', 'kube-prometheus-stack']));
  });

  test('THEN every staging object validates strictly against ../shared/reference', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'side-by-side-dist-')), 'dist');
    writeManifests(staging, out);
    expect(validateDist(out, referenceDir()).problems).toEqual([]);
  });
});

describe('GIVEN a staging environment that would collide with prod', () => {
  test('WHEN it keeps prod\'s domain THEN the collision check names the shared hosts', () => {
    const dir = environments('stage: development\ndomain: example.com\ncluster: { sharedWith: prod }\n');
    const collisions = clusterCollisions([{ name: 'prod', files: render('prod', dir) }, { name: 'staging', files: render('staging', dir) }]);
    expect(collisions).toContain('host crm.example.com is in prod and in staging (staging/app/Ingress.staging-app.crm.yaml)');
  });

  test('WHEN it names prod\'s namespaces THEN the check names the objects of both', () => {
    const dir = environments(`${STAGING}namespaces: { app: app }\n`);
    const collisions = clusterCollisions([{ name: 'prod', files: render('prod', dir) }, { name: 'staging', files: render('staging', dir) }]);
    expect(collisions).toContain('Deployment.apps app/crm is in prod and in staging (staging/app/Deployment.app.crm.yaml)');
    expect(collisions).toContain('cluster-scoped Namespace.core app is in prod and in staging (staging/base/Namespace.app.yaml)');
  });

  /** Synthesizes both into a fresh dist/, applies `edit` to the environment files, then synthesizes `env` alone. */
  const partialSynthAfter = (edit: (dir: string) => void, env: string) => {
    const dir = environments(STAGING);
    const out = path.join(dir, 'dist');
    expect(spawnSync(process.execPath, [MAIN, '--environments', dir, '--out', out], { encoding: 'utf8' }).status).toBe(0);
    const before = treeHash(out);
    edit(dir);
    const run = spawnSync(process.execPath, [MAIN, '--environments', dir, '--out', out, env], { encoding: 'utf8' });
    return { run, unchanged: treeHash(out) === before };
  };

  test('WHEN the compiled synth runs only staging THEN it renders prod for the check, exits 1 naming cluster.sharedWith and the fix, and dist/ is unchanged', () => {
    const { run, unchanged } = partialSynthAfter((dir) => fs.writeFileSync(path.join(dir, 'staging.yaml'), 'stage: development\ndomain: example.com\ncluster: { sharedWith: prod }\n'), 'staging');

    expect(run.status).toBe(1);
    expect(run.stderr).toContain('cluster.sharedWith = "prod": puts objects on prod\'s cluster that prod has too: host');
    expect(run.stderr).toContain('fix: give this environment its own domain (hosts)');
    expect(unchanged).toBe(true);
  });

  test('WHEN only prod is synthesized and it now serves a host staging has THEN the compiled synth renders staging for the check, exits 1 naming the key, and dist/ is unchanged', () => {
    const { run, unchanged } = partialSynthAfter(
      (dir) => fs.appendFileSync(path.join(dir, 'prod.yaml'), 'extraHosts: [files.staging.example.org]\nminio: { publicHost: files.staging.example.org }\n'), 'prod');

    expect(run.status).toBe(1);
    expect(run.stderr).toContain('staging.yaml:\n  - cluster.sharedWith = "prod": puts objects on prod\'s cluster that prod has too: host files.staging.example.org is in prod and in staging');
    expect(unchanged).toBe(true);
  });

  test('WHEN both do not fit prod\'s node together THEN the compiled synth exits 1 with the footprint of both, naming the node and the fix, and dist/ is unchanged', () => {
    const dir = environments('stage: development\ndomain: staging.example.org\ncluster: { sharedWith: prod }\n', '{ cpu: 4, memory: 16Gi }');
    const out = path.join(dir, 'dist');
    fs.mkdirSync(path.join(out, 'old'), { recursive: true });
    fs.writeFileSync(path.join(out, 'old', 'Kept.yaml'), 'kind: Kept\n');
    const before = treeHash(out);

    const run = spawnSync(process.execPath, [MAIN, '--environments', dir, '--out', out], { encoding: 'utf8' });

    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/staging\.yaml together with prod on its cluster \(footprint budget\):\n {2}- node = \{"cpu":"4","memory":"16Gi","count":1\}: the requests take \d+Mi memory/);
    expect(run.stderr).toContain('fix: lower those requests');
    expect(treeHash(out)).toBe(before);
  });

  test.each([
    ['itself', 'staging', 'names this environment itself; fix:'],
    ['an environment that does not exist', 'qa', 'names no environment'],
  ])('WHEN cluster.sharedWith names %s THEN loading fails naming the key and the fix', (_name, primary, message) => {
    const dir = environments(`stage: development\ndomain: staging.example.org\ncluster: { sharedWith: ${primary} }\n`);
    expect(() => loadConfig('staging', { environmentsDir: dir })).toThrow(`cluster.sharedWith = "${primary}": ${message}`);
  });
});
