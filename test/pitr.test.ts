/**
 * Point-in-time recovery's objects (lib/services/postgres/pitr.ts): what the Postgres pods gain,
 * the pitr Jobs, their policies and Secrets, and the config's errors. What the scripts and
 * pgbackrest.conf do is proven with the real programs in pitr.real.test.ts.
 */
import * as path from 'path';
import * as yaml from 'js-yaml';
import { PITR_JOBS } from '../lib/services/postgres/pitr';
import { configFor, ENVIRONMENTS, find, one, synth, synthEnv, synthUserEnv } from './helpers/platform';

const s = synthEnv('prod');
const podSpec = (o: any) => o.spec.template?.spec ?? o.spec.jobTemplate.spec.template.spec;
const envOf = (c: any) => Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

describe('GIVEN prod with backup.pitr enabled (the default)', () => {
  test('THEN postgresql.conf archives every segment through pgBackRest, at the latest after archive_timeout', () => {
    const conf = one(s, 'ConfigMap', 'postgres-config').data['postgresql.conf'];
    expect(conf).toContain('archive_mode = on\n');
    expect(conf).toContain("archive_command = 'pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=postgres archive-push %p'\n");
    expect(conf).toContain('archive_timeout = 300s\n');
  });

  test('THEN every Postgres pod (the Patroni members) runs the base-backup sidecar, and the server gets the repository key only from Secrets', () => {
    const ha = synthEnv('ha'); // three members
    const postgres = find(ha, 'StatefulSet').filter((o) => o.metadata.name === 'postgres');
    expect(postgres.map((o) => o.spec.replicas)).toEqual([3]);
    for (const spec of postgres.map(podSpec)) {
      const sidecar = spec.containers.find((c: any) => c.name === 'pgbackrest');
      expect(sidecar.command).toEqual(['/bin/sh', '/etc/pgbackrest/base-backup.sh']);
      expect(sidecar.volumeMounts.map((m: any) => m.name)).toEqual(expect.arrayContaining(['data', 'run', 'pgbackrest-config']));
      expect(sidecar.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      expect(sidecar.resources.limits.memory).toBeDefined();
      const server = envOf(spec.containers.find((c: any) => c.name === 'postgres'));
      expect(server.PGBACKREST_REPO1_CIPHER_PASS).toEqual({ secretKeyRef: { name: 'backup-encryption', key: 'pgbackrest-cipher-pass' } });
      expect(server.PGBACKREST_REPO1_S3_KEY).toEqual({ secretKeyRef: { name: 'b2-backup', key: 'key-id' } });
    }
  });

  test('THEN pitr-check runs hourly and pitr-restore is suspended and mounts the volume of member 0, both restricted', () => {
    const check = one(s, 'CronJob', PITR_JOBS.check);
    const restore = one(s, 'CronJob', PITR_JOBS.restore);
    expect(check.spec.schedule).toBe('30 * * * *');
    expect(check.spec.suspend).toBeUndefined();
    expect(restore.spec.suspend).toBe(true);
    expect(podSpec(restore).volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'data-postgres-0' } });
    expect(envOf(podSpec(restore).containers[0]).TARGET).toBe('latest');
    for (const cj of [check, restore]) {
      expect(podSpec(cj).securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(cj.metadata.namespace).toBe(s.config.namespaces.data);
    }
  });

  test('THEN only the Postgres pods and the pitr Jobs may reach B2 (HTTPS), and their Secrets are declared in the data namespace', () => {
    const policies = find(s, 'NetworkPolicy').filter((p) => ['postgres-to-b2', 'pitr-to-b2'].includes(p.metadata.name));
    expect(policies.map((p) => p.metadata.name)).toEqual(['pitr-to-b2', 'postgres-to-b2']);
    expect(policies[0].spec.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'pitr' });
    // The Postgres policy selects the Patroni members' pods (every label of the selector is on the pod template).
    const members = one(s, 'StatefulSet', 'postgres').spec.template.metadata.labels;
    expect(Object.entries(policies[1].spec.podSelector.matchLabels).every(([k, v]) => members[k] === v)).toBe(true);
    expect(policies[1].spec.podSelector.matchLabels['app.kubernetes.io/name']).toBe('postgres');
    for (const p of policies) expect(p.spec.egress[0].ports).toEqual([{ protocol: 'TCP', port: 443 }]);
    const data = s.platform.declaredSecrets.filter((d) => d.namespace === s.config.namespaces.data).map((d) => `${d.name}/${d.key}`);
    expect(data).toEqual(expect.arrayContaining(['b2-backup/key-id', 'b2-backup/application-key', 'backup-encryption/pgbackrest-cipher-pass']));
  });
});

/** `inner` is `outer` or a path below it (POSIX paths of the containers). */
const under = (inner: string, outer: string) => !path.posix.relative(outer, inner).startsWith('..') && !path.posix.isAbsolute(path.posix.relative(outer, inner));

describe.each(ENVIRONMENTS.filter((env) => synthEnv(env).config.backup.pitr.enabled))('GIVEN %s (PITR on): every Job that mounts a Postgres data volume', (env) => {
  const e = synthEnv(env);
  const sts = one(e, 'StatefulSet', 'postgres');
  const server = podSpec(sts).containers.find((c: any) => c.name === 'postgres');
  // Member i's claim is <template>-postgres-<i>; the server mounts the template's volume by its name.
  const claims = sts.spec.volumeClaimTemplates.flatMap((t: any) => Array.from({ length: sts.spec.replicas }, (_, i) => ({ claim: `${t.metadata.name}-${sts.metadata.name}-${i}`, volume: t.metadata.name })));
  const serverMount = (volume: string) => server.volumeMounts.find((m: any) => m.name === volume).mountPath;
  const dataDir = (yaml.load(one(e, 'ConfigMap', 'postgres-patroni').data['patroni.yml']) as any).postgresql.data_dir;
  const pg1Path = /^pg1-path=(.*)$/m.exec(one(e, 'ConfigMap', 'pgbackrest').data['pgbackrest.conf'])![1];
  const jobs = [...find(e, 'Job'), ...find(e, 'CronJob')].flatMap((job) => {
    const spec = podSpec(job);
    return (spec.volumes ?? []).flatMap((v: any) => {
      const claim = claims.find((c: any) => c.claim === v.persistentVolumeClaim?.claimName);
      return claim ? spec.containers.flatMap((c: any) => (c.volumeMounts ?? []).filter((m: any) => m.name === v.name).map((m: any) => ({ job: `${job.kind}/${job.metadata.name}`, container: c, claim, mountPath: m.mountPath }))) : [];
    });
  });

  test('THEN pitr-restore is among them', () => {
    expect(jobs.map((j) => j.job)).toContain(`CronJob/${PITR_JOBS.restore}`);
  });

  test("THEN each mounts the claim where the Postgres container mounts it, and the server's data_dir, pgBackRest's pg1-path and the Job's PGDATA are one directory under that mount", () => {
    for (const j of jobs) {
      const pgdata = envOf(j.container).PGDATA;
      expect({ job: j.job, mountPath: j.mountPath }).toEqual({ job: j.job, mountPath: serverMount(j.claim.volume) });
      expect({ job: j.job, dataDir, pg1Path, pgdata }).toEqual({ job: j.job, dataDir: pgdata, pg1Path: pgdata, pgdata });
      expect({ job: j.job, pgdata, underMount: under(pgdata, j.mountPath) }).toEqual({ job: j.job, pgdata, underMount: true });
    }
  });
});

describe("GIVEN the team's dev environment (backup.pitr.enabled: false, its 4 GB node's budget)", () => {
  test('THEN no archive_command, no sidecar, no pitr Jobs', () => {
    const dev = synthUserEnv('dev');
    expect(one(dev, 'ConfigMap', 'postgres-config').data['postgresql.conf']).not.toContain('archive_command');
    expect(podSpec(one(dev, 'StatefulSet', 'postgres')).containers.map((c: any) => c.name)).toEqual(['postgres', 'exporter']);
    expect(find(dev, 'CronJob').filter((c) => c.metadata.name.startsWith('pitr-'))).toEqual([]);
  });
});

describe('GIVEN bad backup.pitr input', () => {
  test('WHEN archiveTimeout is 10s THEN the error names the key, the value and the range', () => {
    expect(() => configFor('prod', { backup: { pitr: { archiveTimeout: '10s' } } })).toThrow(/backup\.pitr\.archiveTimeout = "10s": is 10s, outside 30s\.\.3600s .*fix: set backup\.pitr\.archiveTimeout to a duration in that range, like 5m/);
  });

  test('WHEN fullEvery is shorter than every THEN the error says so', () => {
    expect(() => configFor('prod', { backup: { pitr: { baseBackup: { every: '48h', fullEvery: '24h' } } } })).toThrow(/backup\.pitr\.baseBackup\.fullEvery = "24h": is 24h, shorter than backup\.pitr\.baseBackup\.every \(48h\); fix:/);
  });

  test('WHEN archiveTimeout is 2m THEN the synthesized setting follows (RPO bound)', () => {
    expect(one(synth(configFor('prod', { backup: { pitr: { archiveTimeout: '2m' } } })), 'ConfigMap', 'postgres-config').data['postgresql.conf']).toContain('archive_timeout = 120s\n');
  });
});
