/**
 * The images carry what our manifests assume. lib/config/image-facts.yaml records, per image of versions.ts and from
 * its upstream Dockerfile, the user, paths, programs, entrypoint and start-up writes; these tests hold the
 * synthesized manifests (dev, prod, ha) against it: commands name programs the image has, on its PATH; every
 * write of a read-only-root container has a writable mount; and the Postgres pods' mounts, data directory,
 * sockets and pgBackRest/PgBouncer paths are where the image and the synthesized config files put them.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { IMAGES } from '../lib/config/versions';
import { synthEnv } from './helpers/platform';

interface Facts {
  image: string;
  source: string;
  user?: { name?: string; uid: number; gid?: number };
  runAsImageUser?: boolean;
  entrypoint?: string[];
  env?: Record<string, string>;
  programs?: Record<string, { path: string; version: string }>;
  paths?: Record<string, string>;
  writes?: Record<string, string[]>;
}

const FACTS = yaml.load(fs.readFileSync(path.join(__dirname, '..', 'lib', 'config', 'image-facts.yaml'), 'utf8')) as Record<string, Facts>;
const byImage = new Map(Object.entries(FACTS).map(([key, f]) => [f.image, { key, ...f }]));

interface Container { env: string; owner: string; kind: string; spec: any; container: any; volumeClaims: string[] }

/** Every container (init containers too) of every workload of a synthesized environment. */
function containers(env: string): Container[] {
  return synthEnv(env).objects.map((o) => o.object).flatMap((o: any) => {
    const spec = o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.kind) ? o.spec.template.spec : undefined;
    if (!spec) return [];
    const volumeClaims = (o.spec.volumeClaimTemplates ?? []).map((t: any) => t.metadata.name);
    return [...(spec.initContainers ?? []), ...spec.containers].map((container: any) => ({ env, owner: `${o.kind}/${o.metadata.name}/${container.name}`, kind: o.kind, spec, container, volumeClaims }));
  });
}

const ENVS = ['dev', 'prod', 'ha'];
const all = ENVS.flatMap(containers);
const ofImage = (key: keyof typeof IMAGES) => all.filter((c) => c.container.image === IMAGES[key]);

/** The container's mounts with whether each is writable storage (emptyDir, PVC) rather than a ConfigMap/Secret or read-only. */
function mounts(c: Container): { path: string; writable: boolean; volume: any; claim: boolean }[] {
  return (c.container.volumeMounts ?? []).map((m: any) => {
    const volume = (c.spec.volumes ?? []).find((v: any) => v.name === m.name);
    const claim = c.volumeClaims.includes(m.name) || volume?.persistentVolumeClaim !== undefined;
    return { path: m.mountPath, writable: !m.readOnly && (claim || volume?.emptyDir !== undefined), volume, claim };
  });
}

/** The mount a path falls under (the deepest), if any. */
function mountOf(c: Container, p: string) {
  return mounts(c).filter((m) => p === m.path || p.startsWith(`${m.path}/`)).sort((a, b) => b.path.length - a.path.length)[0];
}

const writableAt = (c: Container, p: string) => mountOf(c, p)?.writable === true;
const rofs = (c: Container) => c.container.securityContext?.readOnlyRootFilesystem === true;
const runAsUser = (c: Container) => c.container.securityContext?.runAsUser ?? c.spec.securityContext?.runAsUser;

/** key = value lines of an ini-like file (postgresql.conf, pgbackrest.conf, pgbouncer.ini). */
function settings(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').map((l) => /^\s*([\w.-]+)\s*=\s*(.*?)\s*$/.exec(l)).filter(Boolean).map((m) => [m![1], m![2].replace(/^'(.*)'$/, '$1')]));
}

const configMap = (env: string, name: string): Record<string, string> => synthEnv(env).objects.map((o) => o.object).find((o: any) => o.kind === 'ConfigMap' && o.metadata.name === name)?.data ?? {};

describe('GIVEN lib/config/image-facts.yaml', () => {
  test('THEN every image of versions.ts has an entry for exactly its pinned tag, with the upstream source the facts come from', () => {
    expect(Object.keys(FACTS).sort()).toEqual(Object.keys(IMAGES).sort());
    for (const [key, image] of Object.entries(IMAGES)) {
      expect({ key, image: FACTS[key].image, source: typeof FACTS[key].source }).toEqual({ key, image, source: 'string' });
    }
  });
});

describe('GIVEN every container of dev, prod and ha that runs an image of versions.ts', () => {
  const known = all.filter((c) => byImage.has(c.container.image));

  test('THEN there are such containers (the test is not vacuous)', () => {
    expect(known.length).toBeGreaterThan(20);
  });

  test("THEN a command's program is one the image carries: an absolute path it has, or a name found on its PATH", () => {
    const problems: string[] = [];
    for (const c of known.filter((x) => x.container.command)) {
      const facts = byImage.get(c.container.image)!;
      const program = c.container.command[0] as string;
      const paths = Object.values(facts.programs ?? {}).map((p) => p.path);
      const onPath = (facts.env?.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':');
      const ok = program.startsWith('/') ? paths.includes(program) : paths.some((p) => path.posix.basename(p) === program && onPath.includes(path.posix.dirname(p)));
      if (!ok) problems.push(`${c.env} ${c.owner}: runs ${program}, which image-facts.yaml's ${facts.key} does not record (fix: read the image's Dockerfile and record it, or run a program it has)`);
    }
    expect(problems).toEqual([]);
  });

  test('THEN with readOnlyRootFilesystem, every path the image writes at start-up has a writable mount', () => {
    const problems: string[] = [];
    for (const c of known.filter(rofs)) {
      const facts = byImage.get(c.container.image)!;
      const program = path.posix.basename((c.container.command ?? facts.entrypoint ?? [''])[0]);
      for (const w of facts.writes?.[program] ?? []) {
        if (!writableAt(c, w)) problems.push(`${c.env} ${c.owner}: the image writes ${w} at start-up and the root filesystem is read-only, but no emptyDir or volume is mounted there`);
      }
    }
    expect(problems).toEqual([]);
  });

  test("THEN containers of images whose files belong to the image's user run as that uid", () => {
    const problems = known.filter((c) => byImage.get(c.container.image)!.runAsImageUser)
      .filter((c) => runAsUser(c) !== byImage.get(c.container.image)!.user?.uid)
      .map((c) => `${c.env} ${c.owner}: runs as ${runAsUser(c)}, the image's files (its PGROOT) belong to uid ${byImage.get(c.container.image)!.user?.uid}`);
    expect(problems).toEqual([]);
  });
});

describe.each(ENVS)('GIVEN the Postgres pods of %s', (env) => {
  const facts = FACTS.postgres;
  const pg = ofImage('postgres').filter((c) => c.env === env);
  const server = pg.find((c) => c.owner === 'StatefulSet/postgres/postgres')!;
  const patroni: any = yaml.load(configMap(env, 'postgres-patroni')['patroni.yml']);
  const conf = settings(configMap(env, 'postgres-config')['postgresql.conf']);
  const backrest = settings(configMap(env, 'pgbackrest')['pgbackrest.conf'] ?? '');

  test("THEN every mount path of the postgres image's containers is a path the image facts record", () => {
    expect(pg.length).toBeGreaterThanOrEqual(1);
    const unknown = pg.flatMap((c) => mounts(c).map((m) => m.path).filter((p) => !(p in (facts.paths ?? {}))).map((p) => `${c.owner}: ${p}`));
    expect(unknown).toEqual([]);
  });

  test("THEN the server runs Patroni from the image's PATH, over the image's PostgreSQL major, as the image's user", () => {
    expect(server.container.command[0]).toBe('patroni');
    const major = /pg(\d+)\./.exec(facts.image)![1];
    expect(patroni.postgresql.bin_dir).toBeUndefined(); // so Patroni finds postgres, pg_rewind, ... on PATH:
    expect(facts.env!.PATH.split(':')).toContain(`/usr/lib/postgresql/${major}/bin`);
    expect(facts.programs!.pg_rewind.path).toBe(`/usr/lib/postgresql/${major}/bin/pg_rewind`);
    expect(runAsUser(server)).toBe(facts.user!.uid);
  });

  test("THEN Patroni's data_dir is the image's PGDATA, on the data volume (a PersistentVolumeClaim), and the restore Job's PGDATA is the same", () => {
    expect(patroni.postgresql.data_dir).toBe(facts.env!.PGDATA);
    expect(mountOf(server, patroni.postgresql.data_dir)).toMatchObject({ claim: true, writable: true });
    for (const c of pg.filter((x) => x.container.env?.some((e: any) => e.name === 'PGDATA'))) {
      expect({ owner: c.owner, pgdata: c.container.env.find((e: any) => e.name === 'PGDATA').value }).toEqual({ owner: c.owner, pgdata: facts.env!.PGDATA });
    }
  });

  test('THEN what Patroni and PostgreSQL write by the synthesized config (pgpass, sockets) is on writable mounts, and what they read is mounted', () => {
    const writes = [path.posix.dirname(patroni.postgresql.pgpass), ...conf.unix_socket_directories.split(',').map((d) => d.trim())];
    expect(writes.filter((w) => !writableAt(server, w))).toEqual([]);
    const reads = [patroni.postgresql.custom_conf, conf.hba_file, patroni.bootstrap.post_bootstrap];
    expect(reads.filter((r) => mountOf(server, r) === undefined)).toEqual([]);
    const patronictl = server.container.env.find((e: any) => e.name === 'PATRONICTL_CONFIG_FILE')?.value;
    expect(mountOf(server, patronictl)).toBeDefined();
  });

  test("THEN every container that runs pgBackRest names its config (the image's PGBACKREST_CONFIG points elsewhere) and has its lock, spool and log paths writable", () => {
    if (!configMap(env, 'pgbackrest')['pgbackrest.conf']) return; // PITR off in this environment
    const runners = pg.filter((c) => c === server || /pgbackrest/.test(JSON.stringify(c.container.command)));
    expect(runners.length).toBeGreaterThanOrEqual(2);
    expect(conf.archive_command).toMatch(/^pgbackrest --config=(\S+) /);
    const archiveConfig = /--config=(\S+)/.exec(conf.archive_command)![1];
    for (const c of runners) {
      const named = c.container.env?.find((e: any) => e.name === 'PGBACKREST_CONFIG')?.value;
      expect({ owner: c.owner, named }).toEqual({ owner: c.owner, named: archiveConfig });
      expect(named).not.toBe(facts.env!.PGBACKREST_CONFIG);
      expect(mountOf(c, named)).toBeDefined();
      const paths = [backrest['lock-path'] ?? '/tmp/pgbackrest', backrest['spool-path'] ?? '/var/spool/pgbackrest', ...(backrest['log-level-file'] === 'off' ? [] : [backrest['log-path'] ?? '/var/log/pgbackrest'])];
      expect({ owner: c.owner, notWritable: paths.filter((p) => !writableAt(c, p)) }).toEqual({ owner: c.owner, notWritable: [] });
    }
  });

  test('THEN PgBouncer writes only to its emptyDir (socket dir, auth file; no pidfile or logfile) and start.sh execs the pgbouncer on the image PATH', () => {
    const [bouncer] = ofImage('pgbouncer').filter((c) => c.env === env);
    const ini = settings(configMap(env, 'pgbouncer-config')['pgbouncer.ini']);
    expect(ini.pidfile ?? '').toBe('');
    expect(ini.logfile ?? '').toBe('');
    expect([ini.unix_socket_dir, path.posix.dirname(ini.auth_file)].filter((p) => !writableAt(bouncer, p))).toEqual([]);
    expect(mounts(bouncer).map((m) => m.path).filter((p) => !(p in (FACTS.pgbouncer.paths ?? {})))).toEqual([]);
    const start = configMap(env, 'pgbouncer-config')['start.sh'];
    const program = /^exec (\S+) /m.exec(start)![1];
    const recorded = FACTS.pgbouncer.programs![program];
    expect(recorded).toBeDefined();
    expect(FACTS.pgbouncer.env!.PATH.split(':')).toContain(path.posix.dirname(recorded.path));
  });
});
