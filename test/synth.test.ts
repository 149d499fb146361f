import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Platform } from '../charts/platform';
import { loadConfig } from '../lib/config/load';
import { renderPlatform, writeManifests } from '../lib/synth';
import { ENVIRONMENTS, find, synthEnv } from './helpers/platform';

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
    const first = renderPlatform(new Platform(loadConfig(env)));
    const second = renderPlatform(new Platform(loadConfig(env)));
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

describe('writing dist/', () => {
  test('GIVEN an existing folder WHEN manifests are written THEN it holds exactly the new files', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-'));
    fs.mkdirSync(path.join(out, 'stale'));
    fs.writeFileSync(path.join(out, 'stale', 'Old.yaml'), 'kind: Old\n');
    writeManifests(new Map([['prod/base/Namespace.app.yaml', 'kind: Namespace\n']]), out);
    expect(fs.readdirSync(out)).toEqual(['prod']);
    expect(fs.readFileSync(path.join(out, 'prod/base/Namespace.app.yaml'), 'utf8')).toBe('kind: Namespace\n');
  });

  test('one folder per chart in every environment', () => {
    for (const env of ENVIRONMENTS) {
      const s = synthEnv(env);
      expect(new Set(s.objects.map((o) => o.file.split('/')[0]))).toEqual(new Set([env]));
      expect(s.platform.charts.map((c) => c.node.id)).toEqual(expect.arrayContaining(['base', 'redis', 'minio']));
    }
  });
});
