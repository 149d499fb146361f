import { configFor, find, one, synth } from './helpers/platform';

const hook = (o: any) => o.metadata.annotations?.['argocd.argoproj.io/hook'];
const wave = (o: any) => Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);

describe('GIVEN an app with a migration', () => {
  const s = synth(configFor('prod', {}));

  test('THEN a PreSync Job of the app chart dumps the app database to the backup bucket before the migration runs', () => {
    const dump = one(s, 'Job', 'crm-pre-migration-dump');
    const migrate = one(s, 'Job', 'crm-migrate');
    const account = one(s, 'ServiceAccount', 'crm-migrate');
    expect(s.objects.find((o) => o.object === dump)!.chart).toBe('app');
    expect([hook(dump), hook(migrate)]).toEqual(['PreSync', 'PreSync']);
    expect(wave(dump)).toBeLessThan(wave(account));
    expect(wave(account)).toBeLessThan(wave(migrate));
    expect(dump.metadata.namespace).toBe(s.config.namespaces.backup);
    const spec = dump.spec.template.spec;
    const env = (c: any) => Object.fromEntries(c.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
    // The dump runs first (init container), the upload to B2 after it; a failure fails the hook and stops the sync.
    expect(env(spec.initContainers[0])).toMatchObject({ PGDATABASE: s.config.postgres.database, SCHEDULE: 'pre-migration-crm' });
    expect(env(spec.containers[0]).B2_PATH).toBe(`${s.config.backup.b2.bucket}/${s.config.backup.b2.prefix}/${s.config.name}/postgres`);
    expect(dump.spec.backoffLimit).toBe(1);
  });

  test('WHEN the app skips the dump THEN only the migration runs', () => {
    const skipped = synth(configFor('prod', { apps: { crm: { migration: { command: ['npx', 'prisma', 'migrate', 'deploy'], dumpFirst: false } } } }));
    expect(find(skipped, 'Job', 'crm-pre-migration-dump')).toEqual([]);
    expect(find(skipped, 'Job', 'crm-migrate')).toHaveLength(1);
  });
});
