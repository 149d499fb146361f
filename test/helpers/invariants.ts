/**
 * Checks that hold for every valid configuration, whatever its domain, apps, sizes or environments:
 * run over the team's own lib/config/environments (test/user-environments.test.ts) and over a copy
 * with the day-2 changes of issue 15 (test/make-it-yours.test.ts). Nothing here names a sample value.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ADD_ONS } from '../../lib/addons/registry';
import { listEnvironments, loadConfig } from '../../lib/config/load';
import { footprint } from '../../lib/footprint';
import { referenceDir } from '../../lib/project';
import { renderPlatform, writeManifests } from '../../lib/synth';
import { NetworkModel, workloadEndpoints } from '../../lib/validation/reachability';
import { validateDist } from '../../lib/validation/validate-dist';
import { Platform } from '../../charts/platform';

/** One describe block per environment found in `environmentsDir`. */
export function describeInvariants(title: string, environmentsDir: string): void {
  const envs = listEnvironments(environmentsDir);
  describe(title, () => {
    test('there is at least one environment', () => {
      expect(envs.length).toBeGreaterThan(0);
    });

    describe.each(envs)('environment %s', (env) => {
      let objects: { chart: string; file: string; object: any }[] = [];
      let files = new Map<string, string>();
      const config = () => loadConfig(env, { environmentsDir });

      beforeAll(() => {
        // Strict validation of the config, then the render with its own checks (secret declarations, construct validation).
        files = renderPlatform(new Platform(config()));
        objects = [...files].map(([file, text]) => ({ chart: file.split('/')[1], file, object: yaml.load(text) }));
      });

      test('THEN it synthesizes: the config validates strictly and every Secret a pod reads is declared', () => {
        expect(files.size).toBeGreaterThan(0);
        expect(new Set([...files.keys()].map((f) => f.split('/')[0]))).toEqual(new Set([env]));
      });

      test('THEN every object validates against the Kubernetes and CRD schemas of ../shared/reference', () => {
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'invariants-')), 'dist');
        writeManifests(files, out);
        expect(validateDist(out, referenceDir()).problems).toEqual([]);
      });

      // Every config must fit its nodes; the tighter per-environment budget (FOOTPRINT_LIMIT for prod-like
      // environments, checked on the samples by test/footprint.test.ts) is the synth-time budget of issue 21.
      test('THEN the requests of everything it runs fit on its nodes', () => {
        const f = footprint(objects, config(), ADD_ONS);
        expect({ cpu: f.cpu / f.capacity.cpu, memory: f.memory / f.capacity.memory }).toEqual({ cpu: expect.toBeWithin(0, 1), memory: expect.toBeWithin(0, 1) });
      });

      test('THEN apps reach Postgres only through PgBouncer, and a pod outside the platform reaches no data service', () => {
        const c = config();
        const all = objects.map((o) => o.object);
        const model = new NetworkModel(all);
        const endpoints = workloadEndpoints(all);
        const named = (name: string) => endpoints.find((e) => e.name === name && e.namespace !== undefined)!;
        const stranger = { name: 'stranger', namespace: 'default', labels: { app: 'something' }, namedPorts: {} };
        // With three nodes or more, Redis has HAProxy in front and MinIO is the pool (minio-pool).
        const data: [string, number][] = [['postgres', 5432], ['pgbouncer', 6432], ['redis', 6379], ['redis-haproxy', 6379], ['minio', 9000], ['minio-pool', 9000]]
          .filter(([name]) => endpoints.some((e) => e.name === name && e.namespace !== undefined)) as [string, number][];
        expect(data.length).toBeGreaterThanOrEqual(4);
        for (const [service, port] of data) expect([`stranger → ${service}:${port}`, model.allows(stranger, named(service), port)]).toEqual([`stranger → ${service}:${port}`, false]);
        for (const app of c.apps.filter((a) => a.replicas.max > 0)) {
          const pod = named(app.name);
          expect([app.name, model.allows(pod, named('pgbouncer'), 6432), model.allows(pod, named('postgres'), 5432)]).toEqual([app.name, true, false]);
        }
      });

      test('THEN no two objects of the environment share kind, namespace and name', () => {
        const ids = objects.map((o) => `${o.object.kind}/${o.object.metadata?.namespace ?? ''}/${o.object.metadata?.name}`);
        expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
      });
    });
  });
}

expect.extend({
  toBeWithin(received: number, low: number, high: number) {
    const pass = received >= low && received <= high;
    return { pass, message: () => `expected ${received} ${pass ? 'not ' : ''}to be within [${low}, ${high}]` };
  },
});

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    interface Expect {
      toBeWithin(low: number, high: number): any;
    }
    interface Matchers<R> {
      toBeWithin(low: number, high: number): R;
    }
  }
}
