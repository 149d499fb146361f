import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import { KubeConfigMap } from 'cdk8s-plus-28/lib/imports/k8s';
import { renderedObjects } from '../lib/gitops/rendered';
import { Platform } from '../charts/platform';
import { renderPlatform, toYaml, writeManifests } from '../lib/synth';
import { ENVIRONMENTS, find, synthEnv, loadFixture } from './helpers/platform';

describe.each(ENVIRONMENTS)('the %s environment', (env) => {
  const s = synthEnv(env);

  test('matches its snapshot, chart by chart', () => {
    const charts = [...new Set(s.objects.map((o) => o.chart))].sort();
    for (const chart of charts) {
      const files = Object.fromEntries(s.objects.filter((o) => o.chart === chart).map((o) => [o.file, o.object]));
      expect(files).toMatchSnapshot(`${env}/${chart}`);
    }
  });

  test('GIVEN the same config WHEN synthesized twice THEN the files are byte-identical', () => {
    const first = renderPlatform(new Platform(loadFixture(env)));
    const second = renderPlatform(new Platform(loadFixture(env)));
    expect([...second]).toEqual([...first]);
  });

  test('every namespace enforces a Pod Security level, restricted unless it must host node agents', () => {
    const namespaces = find(s, 'Namespace');
    expect(namespaces.length).toBe(5);
    for (const ns of namespaces) {
      const level = ns.metadata.labels['pod-security.kubernetes.io/enforce'];
      expect(level).toBe(ns.metadata.name === s.config.namespaces.monitoring ? 'privileged' : 'restricted');
    }
  });

  test('every namespace has a default-deny NetworkPolicy that only lets DNS out', () => {
    for (const ns of find(s, 'Namespace').map((n) => n.metadata.name)) {
      const deny = find(s, 'NetworkPolicy', 'default-deny').find((p) => p.metadata.namespace === ns);
      expect(deny.spec.podSelector).toEqual({});
      expect(deny.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(deny.spec.ingress).toBeUndefined();
      expect(deny.spec.egress).toHaveLength(1);
      expect(deny.spec.egress[0].ports.map((p: any) => p.port)).toEqual([53, 53]);
    }
  });

  test('every namespace sets LimitRange defaults from config', () => {
    for (const lr of find(s, 'LimitRange')) {
      expect(lr.spec.limits[0].defaultRequest).toEqual(s.config.limitRange.defaultRequest);
      expect(lr.spec.limits[0].default).toEqual(s.config.limitRange.defaultLimit);
    }
  });
});

describe('one render per chart, shared by the GitOps derivation and the writer', () => {
  test.each(ENVIRONMENTS)('GIVEN the %s platform WHEN written THEN every file equals a fresh cdk8s render of its chart', (env) => {
    const platform = new Platform(loadFixture(env));
    const written = renderPlatform(platform);

    const fresh = new Map(platform.charts.flatMap((chart) => Chart.of(chart).toJson().map((o): [string, string] => [`${chart.node.id}/${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`, toYaml(o)])));
    const shared = new Map(platform.charts.flatMap((chart) => renderedObjects(chart).map((o): [string, string] => [`${chart.node.id}/${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`, toYaml(o)])));
    expect(shared).toEqual(fresh);
    expect([...written.values()].sort()).toEqual([...fresh.values()].sort());
  });

  test('GIVEN a rendered chart WHEN an object is added to it afterwards THEN reading its render fails instead of going stale', () => {
    const chart = Testing.chart();
    new KubeConfigMap(chart, 'first', { metadata: { name: 'first' } });
    expect(renderedObjects(chart).map((o) => o.metadata.name)).toEqual(['first']);

    new KubeConfigMap(chart, 'late', { metadata: { name: 'late' } });

    expect(() => renderedObjects(chart)).toThrow(/changed after it was rendered/);
  });
});

describe('writing dist/', () => {
  test('GIVEN an existing folder WHEN manifests are written THEN it holds exactly the new files', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-'));
    fs.mkdirSync(path.join(out, 'stale'));
    fs.writeFileSync(path.join(out, 'stale', 'Old.yaml'), 'kind: Old\n');
    writeManifests(new Map([['prod/base/Namespace.app.yaml', 'kind: Namespace\n']]), out);
    expect(fs.readdirSync(out)).toEqual(['prod']);
    expect(fs.readFileSync(path.join(out, 'prod/base/Namespace.app.yaml'), 'utf8')).toBe('kind: Namespace\n');
  });

  test('GIVEN an existing dist/ WHEN written again THEN unchanged files are carried over and changed ones replaced', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dist-')), 'dist');
    writeManifests(new Map([['prod/a/Same.yaml', 'kind: Same\n'], ['prod/a/Changed.yaml', 'kind: Old\n']]), out);
    const sameInode = fs.statSync(path.join(out, 'prod/a/Same.yaml')).ino;

    writeManifests(new Map([['prod/a/Same.yaml', 'kind: Same\n'], ['prod/a/Changed.yaml', 'kind: New\n']]), out);

    expect(fs.readFileSync(path.join(out, 'prod/a/Same.yaml'), 'utf8')).toBe('kind: Same\n');
    expect(fs.statSync(path.join(out, 'prod/a/Same.yaml')).ino).toBe(sameInode);
    expect(fs.readFileSync(path.join(out, 'prod/a/Changed.yaml'), 'utf8')).toBe('kind: New\n');
    expect(fs.readdirSync(path.dirname(out))).toEqual(['dist']);
  });

  test('GIVEN a dist/ that already holds exactly the files WHEN written again THEN it is left as it is', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dist-')), 'dist');
    const files = new Map([['prod/a/One.yaml', 'kind: One\n'], ['dev/b/Two.yaml', 'kind: Two\n']]);
    writeManifests(files, out);
    const folderInode = fs.statSync(out).ino;

    writeManifests(files, out);
    expect(fs.statSync(out).ino).toBe(folderInode);

    fs.mkdirSync(path.join(out, 'prod', 'empty-leftover'));
    writeManifests(files, out);
    expect(fs.statSync(out).ino).not.toBe(folderInode);
    expect(fs.readdirSync(path.join(out, 'prod'))).toEqual(['a']);
  });

  test('one folder per chart in every environment', () => {
    for (const env of ENVIRONMENTS) {
      const s = synthEnv(env);
      expect(new Set(s.objects.map((o) => o.file.split('/')[0]))).toEqual(new Set([env]));
      expect(s.platform.charts.map((c) => c.node.id)).toEqual(expect.arrayContaining(['base', 'redis', 'minio']));
    }
  });
});
