/**
 * The pieces of the day-2 rehearsal (scripts/lab/rehearsal-day2.ts) that need no lab: the README's rollback
 * block is what the rehearsal runs, the README names a command for every restore CronJob, the chart pin is
 * bumped where it lives, and the data-path check of the restore Jobs, on the committed dist/prod and on
 * copies of it with the defects it guards against (a restore writing beside the server's data).
 */
import * as fs from 'fs';
import * as path from 'path';
import { CHART_VERSIONS } from '../lib/config/versions';
import { findProjectRoot } from '../lib/project';
import { bumpPin, nextPatch, restoreCommands, restoreDataPaths, rollbackBlock, rollbackScript, RESTORE_CRONJOBS } from '../scripts/lab/rehearsal-day2';
import { loadDist } from '../scripts/lab/sync';

const root = findProjectRoot(__dirname);
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

describe("GIVEN the README's rollback block", () => {
  const block = rollbackBlock(readme);
  const commands = block.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));

  test('WHEN the rehearsal prepares prod and the Application app (the README example) THEN it runs the block exactly as written', () => {
    expect(rollbackScript(block, 'prod', 'app')).toBe(block);
  });

  test('WHEN it prepares another environment and Application THEN only those names differ', () => {
    const other = rollbackScript(block, 'ha', 'monitoring');
    expect(other).not.toBe(block);
    expect(other.replace(/\bha\b/g, 'prod').replace(/\bmonitoring\b/g, 'app')).toBe(block);
  });

  test('THEN it is a git revert of what changed the Application since its last successful sync, pushed (not argocd app rollback)', () => {
    expect(commands).toHaveLength(2);
    expect(commands[0]).toContain('.status.history[-1:].revision');
    expect(commands[1]).toMatch(/git revert --no-edit \$\(git rev-list "\$good"\.\.HEAD -- dist\/prod\/app\) && git push$/);
    expect(block).not.toMatch(/argocd app rollback/);
  });
});

describe('GIVEN the README restore runbooks', () => {
  test('THEN each restore CronJob has the command that creates its Job (pitr: written to a file, then created)', () => {
    expect(Object.fromEntries(RESTORE_CRONJOBS.map((n) => [n, restoreCommands(readme, n)]))).toEqual({
      'pg-restore': ['kubectl -n backup create job restore-$(date +%s) --from=cronjob/pg-restore'],
      'pitr-restore': ['kubectl -n data create job pitr-x --from=cronjob/pitr-restore --dry-run=client -o yaml > pitr.yaml', 'kubectl create -f pitr.yaml'],
      'minio-restore': ['kubectl -n backup create job minio-restore-$(date +%s) --from=cronjob/minio-restore'],
    });
  });

  test('WHEN a runbook loses its command THEN the rehearsal says which CronJob has none', () => {
    expect(() => restoreCommands(readme.replace(/--from=cronjob\/minio-restore/g, '--from=cronjob/minio-restor'), 'minio-restore')).toThrow(/no `kubectl \.\.\. --from=cronjob\/minio-restore` command/);
  });
});

describe('GIVEN the chart pins in lib/config/versions.ts', () => {
  const text = fs.readFileSync(path.join(root, 'lib', 'config', 'versions.ts'), 'utf8');
  test('WHEN the blackbox exporter is bumped to its next patch THEN only its pin changes', () => {
    const to = nextPatch(CHART_VERSIONS['prometheus-blackbox-exporter']);
    const { text: bumped, from } = bumpPin(text, 'prometheus-blackbox-exporter', to);
    expect(from).toBe(CHART_VERSIONS['prometheus-blackbox-exporter']);
    expect(bumped.split('\n').filter((l, i) => l !== text.split('\n')[i])).toEqual([`  'prometheus-blackbox-exporter': '${to}',`]);
    expect(bumpPin(text, 'loki', nextPatch(CHART_VERSIONS.loki)).from).toBe(CHART_VERSIONS.loki);
    expect(nextPatch('v1.21.1')).toBe('v1.21.2');
    expect(() => bumpPin(text, 'no-such-chart', '1.0.0')).toThrow(/no-such-chart is not pinned/);
  });
});

describe('GIVEN the committed dist/prod WHEN the restore Jobs are checked against the servers whose data they restore', () => {
  const objects = loadDist(path.join(root, 'dist'), 'prod').map((d) => d.object);
  const jobsOf = (objs: any[]) => objs.filter((o) => o?.kind === 'CronJob' && (RESTORE_CRONJOBS as readonly string[]).includes(o.metadata.name))
    .map((c) => ({ name: c.metadata.name, namespace: c.metadata.namespace, spec: c.spec.jobTemplate.spec.template.spec }));
  const check = (objs: any[]) => Object.fromEntries(restoreDataPaths(jobsOf(objs), objs).map((d) => [d.job, d]));
  /** dist/prod with one change (a deep copy). */
  const mutated = (change: (objs: any[]) => void) => {
    const copy = JSON.parse(JSON.stringify(objects));
    change(copy);
    return copy;
  };
  const pitrContainer = (objs: any[]) => objs.find((o) => o?.kind === 'CronJob' && o.metadata.name === 'pitr-restore').spec.jobTemplate.spec.template.spec.containers[0];

  test('THEN pitr-restore writes PGDATA and pg1-path = the server data directory, on member 0\'s claim at the server\'s mount', () => {
    const paths = check(objects);
    expect(paths['pitr-restore']).toMatchObject({
      kind: 'volume', server: 'postgres', claim: 'data-postgres-0', serverMount: '/home/postgres/pgdata', restoreMount: '/home/postgres/pgdata',
      serverDataDir: '/home/postgres/pgdata/data', restoreTargets: ['/home/postgres/pgdata/data'], problems: [],
    });
  });

  test('THEN pg-restore and minio-restore restore through the Services of the servers, whose data lies on their claims', () => {
    const paths = check(objects);
    expect(paths['pg-restore']).toMatchObject({ kind: 'network', service: 'data/postgres-rw', server: 'postgres', serverDataDir: '/home/postgres/pgdata/data', problems: [] });
    expect(paths['minio-restore']).toMatchObject({ kind: 'network', service: 'data/minio', server: 'minio', serverDataDir: '/data', serverMount: '/data', problems: [] });
  });

  test('WHEN pitr-restore mounts the claim where the Debian image keeps its data (the defect of #27) THEN the check says it writes outside the server\'s mount', () => {
    const paths = check(mutated((objs) => { pitrContainer(objs).volumeMounts.find((m: any) => m.name === 'data').mountPath = '/var/lib/postgresql/data'; }));
    expect(paths['pitr-restore'].problems).toEqual([
      'pitr-restore mounts data-postgres-0 at /var/lib/postgresql/data, the server at /home/postgres/pgdata',
      'pitr-restore restores into /home/postgres/pgdata/data, outside its mount of data-postgres-0 (/var/lib/postgresql/data): the container\'s root filesystem',
    ]);
  });

  test('WHEN pitr-restore restores into another directory than the server reads THEN the check names both', () => {
    const paths = check(mutated((objs) => { pitrContainer(objs).env.find((e: any) => e.name === 'PGDATA').value = '/home/postgres/pgdata/pgdata'; }));
    expect(paths['pitr-restore'].problems).toEqual(['pitr-restore restores into /home/postgres/pgdata/pgdata, the server reads /home/postgres/pgdata/data']);
  });

  test('WHEN pitr-restore mounts a claim no server pod uses THEN the check says so', () => {
    const paths = check(mutated((objs) => {
      objs.find((o) => o?.kind === 'CronJob' && o.metadata.name === 'pitr-restore').spec.jobTemplate.spec.template.spec.volumes.find((v: any) => v.name === 'data').persistentVolumeClaim.claimName = 'data-postgres';
    }));
    expect(paths['pitr-restore'].problems).toEqual(['pitr-restore mounts claim data-postgres, which is no StatefulSet pod\'s claim in data']);
  });

  test('WHEN Patroni reads another directory than the image\'s PGDATA THEN the check says so', () => {
    const paths = check(mutated((objs) => {
      const cm = objs.find((o) => o?.kind === 'ConfigMap' && o.metadata.name === 'postgres-patroni');
      for (const k of Object.keys(cm.data)) cm.data[k] = cm.data[k].replace('data_dir: /home/postgres/pgdata/data', 'data_dir: /home/postgres/pgdata/pg16');
    }));
    expect(paths['pitr-restore'].problems).toEqual(expect.arrayContaining(['the server postgres reads /home/postgres/pgdata/pg16, but its image\'s PGDATA is /home/postgres/pgdata/data']));
  });

  test('WHEN MinIO serves a directory outside its claim THEN minio-restore\'s check says its data is not on the claim', () => {
    const paths = check(mutated((objs) => {
      const args = objs.find((o) => o?.kind === 'StatefulSet' && o.metadata.name === 'minio').spec.template.spec.containers[0].args;
      args[args.indexOf('/data')] = '/tmp/data';
    }));
    expect(paths['minio-restore'].problems).toEqual(['the server minio behind data/minio keeps its data (/tmp/data) outside its claim (/data)']);
  });
});
