/**
 * Sizes as profiles (lib/config/sizing.ts): `node` drives the size-dependent defaults, the seed's
 * 16 GiB tuning is kept exactly, the trade-offs of a small box are the stated ones, and a budget
 * that is not met stops the synth before anything is written.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ADD_ONS } from '../lib/addons/registry';
import { ENVIRONMENTS_DIR } from '../lib/config/load';
import { parseQuantity } from '../lib/config/quantity';
import { allocatable, k3sReserved, sizeOf } from '../lib/config/sizing';
import { budgetProblems, footprint } from '../lib/footprint';
import { findProjectRoot } from '../lib/project';
import { configFor, ENVIRONMENTS, find, synth, synthEnv } from './helpers/platform';

const GI = 2 ** 30;
const MAIN = path.join(findProjectRoot(__dirname), 'build', 'main.js');
const SHAPES = { small: { cpu: 2, memory: '4Gi' }, medium: { cpu: 4, memory: '8Gi' }, large: { cpu: 4, memory: '16Gi' } } as const;

describe('GIVEN one node of 4 vCPU / 16 GiB (the seed size)', () => {
  const config = configFor('prod', { node: SHAPES.large });

  test('THEN Postgres carries the seed tuning exactly', () => {
    expect(config.postgres.tuning).toMatchObject({
      sharedBuffers: '1Gi', effectiveCacheSize: '3Gi', workMem: '32Mi', maintenanceWorkMem: '256Mi', maxConnections: 100, walBuffers: '32Mi',
    });
  });

  test('THEN there is no Postgres replica, because a replica on the same node adds memory and no availability', () => {
    expect(config.postgres.replicas).toBe(0);
  });
});

describe.each(Object.entries(SHAPES))('GIVEN a %s node', (size, shape) => {
  const config = configFor('prod', { node: shape });
  const pg = config.postgres;
  const q = parseQuantity;

  test('THEN the node shape picks that size', () => {
    expect(sizeOf(config.node)).toBe(size);
  });

  test('THEN Postgres memory follows the stated rules from a quarter of the node', () => {
    const limit = q(pg.resources.limits.memory);
    expect(limit).toBe(q(shape.memory) / 4);
    expect(q(pg.tuning.sharedBuffers)).toBe(limit / 4);
    expect(q(pg.tuning.effectiveCacheSize)).toBe(3 * q(pg.tuning.sharedBuffers));
    expect(q(pg.tuning.maintenanceWorkMem)).toBe(limit / 16);
    expect(q(pg.tuning.workMem)).toBe(limit / 128);
    expect(q(pg.tuning.walBuffers)).toBe(q(pg.tuning.sharedBuffers) / 32);
    // The request covers shared_buffers plus the backends' working memory.
    expect(q(pg.resources.requests.memory)).toBe(1.5 * q(pg.tuning.sharedBuffers));
  });

  test('THEN Redis gets 1/32 of the node as maxmemory, with the AOF-rewrite headroom below its limit', () => {
    expect(q(config.redis.maxmemory)).toBe(q(shape.memory) / 32);
    expect(q(config.redis.resources.limits.memory)).toBeGreaterThanOrEqual(1.25 * q(config.redis.maxmemory));
  });

  test('THEN every Next.js web app requests at least the ~500 MB it uses where the size promises it', () => {
    // The sizes state their apps: two Next.js apps at 16 and 8 GB, one on 4 GB (README, "Sizes").
    const nextJs = size === 'small' ? ['crm'] : ['crm', 'web'];
    for (const name of nextJs) {
      const app = config.apps.find((a) => a.name === name)!;
      expect({ app: name, request: q(app.resources.requests.memory) >= 500e6 }).toEqual({ app: name, request: true });
    }
  });

  test('THEN an environment file still overrides a derived value', () => {
    const tuned = configFor('prod', { node: shape, postgres: { tuning: { workMem: '4Mi' } }, redis: { maxmemory: '64Mi' } });
    expect(tuned.postgres.tuning.workMem).toBe('4Mi');
    expect(tuned.postgres.tuning.sharedBuffers).toBe(pg.tuning.sharedBuffers);
    expect(tuned.redis.maxmemory).toBe('64Mi');
  });
});

describe('GIVEN three nodes', () => {
  test('THEN Postgres gets a replica per extra node (at most 2) and PgBouncer one pod per node', () => {
    const config = configFor('ha', { node: { count: 3 } });
    expect(config.postgres.replicas).toBe(2);
    expect(config.pgbouncer.replicas).toBe(3);
  });
});

describe('k3s reservation', () => {
  test('THEN allocatable is capacity minus k3s\'s reservation minus the 100Mi eviction threshold', () => {
    for (const shape of Object.values(SHAPES)) {
      const reserved = k3sReserved(shape);
      expect(allocatable({ cpu: String(shape.cpu), memory: shape.memory }).memory).toBe(parseQuantity(shape.memory) - reserved.memory - 100 * 2 ** 20);
      // At least the 768 MB k3s's own profiling measured for a server with a workload.
      expect(reserved.memory).toBeGreaterThanOrEqual(768 * 2 ** 20);
    }
    expect(k3sReserved({ memory: '16Gi' }).memory).toBe(1.5 * GI);
  });
});

describe.each(ENVIRONMENTS)('GIVEN the shipped environment %s', (env) => {
  const s = synthEnv(env);
  const kinds = (kind: string) => find(s, kind);

  test('THEN its footprint meets the budget of its size', () => {
    expect(budgetProblems(footprint(s.objects, s.config, ADD_ONS), s.config)).toEqual([]);
  });

  test('THEN alerting, backups, TLS and network isolation are never dropped, whatever the size', () => {
    const charts = find(s, 'Application').map((a) => a.spec.source?.chart).filter(Boolean);
    expect(charts).toEqual(expect.arrayContaining(['kube-prometheus-stack', 'cert-manager', 'traefik', 'prometheus-blackbox-exporter']));
    expect(kinds('PrometheusRule').length).toBeGreaterThan(0);
    expect(kinds('CronJob').map((c) => c.metadata.name)).toEqual(expect.arrayContaining(['pg-backup-daily', 'pg-restore-drill', 'minio-mirror']));
    expect(kinds('ClusterIssuer').length).toBe(3);
    const denyAll = kinds('NetworkPolicy').filter((p) => p.metadata.name === 'default-deny');
    expect(denyAll.length).toBe(Object.keys(s.config.namespaces).length);
  });

  test('THEN the stated trade-offs hold: no same-node replica, Loki caches only on the large size', () => {
    const members = find(s, 'StatefulSet', 'postgres')[0].spec.replicas;
    expect(members > 1).toBe(s.config.node.count > 1);
    const loki = find(s, 'Application', 'loki')[0].spec.source.helm.valuesObject;
    expect(Boolean(loki.chunksCache?.enabled)).toBe(sizeOf(s.config.node) === 'large');
  });
});

describe('GIVEN an environment whose requests exceed the budget of its size', () => {
  // A second Next.js app at its real size on the 4 GB box.
  const overBudget = 'stage: development\ndomain: dev.example.com\nnode: { cpu: 2, memory: 4Gi }\napps:\n  web:\n    resources: { requests: { cpu: 50m, memory: 512Mi }, limits: { memory: 768Mi } }\n';

  test('WHEN the footprint is checked THEN the problem names the share, the largest requests with their keys, and the fix', () => {
    const config = configFor('small', { node: SHAPES.small, apps: { web: { resources: { requests: { cpu: '50m', memory: '512Mi' }, limits: { memory: '768Mi' } } } } });
    const problems = budgetProblems(footprint(synth(config).objects, config, ADD_ONS), config);
    expect(problems).toHaveLength(1);
    expect(problems[0].key).toBe('node');
    const share = Number(/memory, (\d+\.\d) % of the allocatable 3228Mi .* over the 85 % budget of a small node \(2744Mi\)/.exec(problems[0].message)?.[1]);
    expect(share).toBeGreaterThan(85);
    expect(problems[0].message).toMatch(/Deployment\/crm 512Mi \(apps\.crm\.resources\)/);
    expect(problems[0].message).toMatch(/fix: lower those requests by \d+Mi in the environment file, or run on a larger node \(node\.memory\)/);
  });

  test('WHEN the budget is met but the free memory cannot hold a rolling update of the largest Deployment THEN that is the problem, with the fix', () => {
    // 32Mi more for web: 84.6 % is within 85 %, but 496Mi stay free beside crm's 512Mi surge pod.
    // Without PITR's sidecar, like the shipped dev of this size.
    const config = configFor('small', { node: SHAPES.small, backup: { pitr: { enabled: false } }, apps: { web: { resources: { requests: { cpu: '50m', memory: '208Mi' }, limits: { memory: '384Mi' } } } } });
    const f = footprint(synth(config).objects, config, ADD_ONS);
    expect(f.memory).toBeLessThanOrEqual(f.capacity.memory * f.budget.memory);
    const problems = budgetProblems(f, config);
    expect(problems.map((p) => p.message)).toEqual([expect.stringMatching(/^leaves 496Mi of memory beside the requests, less than the 512Mi a rolling update of Deployment\/crm starts .*fix: lower requests .* by 16Mi, or run on a larger node/)]);
  });

  test('WHEN npm run synth runs THEN it exits 1 with that error and leaves the old dist/ untouched', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sizing-'));
    const envs = path.join(dir, 'environments');
    fs.mkdirSync(envs);
    fs.copyFileSync(path.join(ENVIRONMENTS_DIR, 'prod.yaml'), path.join(envs, 'prod.yaml'));
    fs.writeFileSync(path.join(envs, 'small.yaml'), overBudget);
    const out = path.join(dir, 'dist');
    fs.mkdirSync(path.join(out, 'old'), { recursive: true });
    fs.writeFileSync(path.join(out, 'old', 'marker.yaml'), 'kept: true\n');

    const result = spawnSync(process.execPath, [MAIN, '--environments', envs, '--out', out], { encoding: 'utf8', cwd: dir });

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/(^|\n)Invalid configuration in environments\/small\.yaml \(footprint budget\):\n {2}- node = \{"cpu":"2","memory":"4Gi","count":1\}: the requests take/);
    expect(result.stderr).toMatch(/apps\.web\.resources/);
    expect(result.stderr).toMatch(/Nothing was written\.\n$/);
    expect(fs.readdirSync(out)).toEqual(['old']);
    expect(fs.readFileSync(path.join(out, 'old', 'marker.yaml'), 'utf8')).toBe('kept: true\n');
  }, 120_000);
});
