/**
 * Point-in-time recovery on loopback, for tests and the bench: a PostgresLab primary running the
 * synthesized postgresql.conf (archive_command → pgbackrest) at the shipped versions (PostgreSQL 16.6 of npm
 * in the trixie root, so that archive_command and the scripts run trixie's pgBackRest 2.55.1), the pgbackrest.conf the construct
 * renders with loopback paths, port and endpoint (the same pure function), the synthesized scripts
 * of the ConfigMap `pgbackrest`, and the real MinIO over TLS (scripts/lab/minio-lab.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { PlatformConfig } from '../../lib/config/schema';
import { PITR_JOBS } from '../../lib/services/postgres/pitr';
import { pgbackrestConf, STANZA } from '../../lib/services/postgres/pitr-scripts';
import { configMapsOf, PASSWORDS, PostgresLab, shippedPostgres } from './postgres-lab';
import { ownForService } from './programs';
import { MinioServer, startMinio } from './minio-lab';

export const CIPHER_PASS = 'lab cipher pass, kept outside the cluster';

/**
 * Where the synthesized objects put the data directory, mapped onto the lab: member 0's volume
 * `data-postgres-0` is the lab's `primary/` dir, and a container path is mapped through that
 * container's own mount of the volume. A path outside the mount (written to the container's root
 * filesystem, not the volume) maps to a sentence saying so instead of a directory.
 */
export interface PitrLayout {
  /** Patroni's data_dir, through the postgres container's mount. */
  readonly server: string;
  /** The pitr-restore Job's PGDATA, through its mount. */
  readonly restorePgdata: string;
  /** pgBackRest's pg1-path (where the restore writes), through the restore Job's mount. */
  readonly restorePg1Path: string;
}

export class PitrLab {
  /** The S3 server, once started. */
  s3!: MinioServer;
  readonly pg: PostgresLab;
  readonly confFile: string;
  /** The synthesized data directory as the server and the restore Job see it, on the lab's volume. */
  readonly layout: PitrLayout;
  private readonly scripts: Record<string, string>;
  private readonly sidecarEnv: Record<string, string>;

  /** @param objects the synthesized objects of one environment */
  constructor(private readonly config: PlatformConfig, objects: any[]) {
    const configMaps = configMapsOf(objects);
    this.scripts = configMaps.pgbackrest;
    const primary = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'postgres');
    const sidecar = primary.spec.template.spec.containers.find((c: any) => c.name === 'pgbackrest');
    this.sidecarEnv = Object.fromEntries(sidecar.env.filter((e: any) => e.value !== undefined && /SECONDS$/.test(e.name)).map((e: any) => [e.name, e.value]));
    this.pg = new PostgresLab(configMaps, {}, shippedPostgres());
    // archive_command names the conf (relocated by PostgresLab); a restore's restore_command finds it by PGBACKREST_CONFIG, as in the pod.
    this.confFile = path.join(this.pg.dir, 'pgbackrest', 'pgbackrest.conf');
    this.pg.serverEnv.PGBACKREST_CONFIG = this.confFile;
    this.layout = layoutOf(objects, configMaps, path.join(this.pg.dir, 'primary'));
  }

  get pgdata(): string {
    return path.join(this.pg.dir, 'primary', 'data');
  }

  /** pgBackRest's secrets as the containers get them from the Secrets. */
  secrets(cipherPass = CIPHER_PASS): Record<string, string> {
    return { PGBACKREST_REPO1_S3_KEY: this.s3.accessKey, PGBACKREST_REPO1_S3_KEY_SECRET: this.s3.secretKey, PGBACKREST_REPO1_CIPHER_PASS: cipherPass };
  }

  /** Starts the S3 server and the primary (initialized by the synthesized init script) and writes the rendered conf. */
  async start(): Promise<void> {
    const wrong = Object.entries(this.layout).filter(([, dir]) => dir !== this.pgdata);
    if (wrong.length > 0) throw new Error(`the synthesized data directory is not one place on the data volume (the lab's server runs on ${this.pgdata}): ${wrong.map(([k, v]) => `${k}: ${v}`).join('; ')}`);
    this.s3 = await startMinio({ tls: true });
    const bucket = this.s3.mc(['mb', `root/${this.config.backup.b2.bucket}`]);
    if (bucket.status !== 0) throw new Error(`creating the bucket on MinIO failed: ${bucket.stderr}${bucket.stdout}`);
    Object.assign(this.pg.serverEnv, this.secrets());
    fs.mkdirSync(path.join(this.pg.dir, 'pgbackrest-tmp'), { recursive: true });
    fs.mkdirSync(path.dirname(this.confFile), { recursive: true });
    for (const [name, text] of Object.entries(this.scripts)) if (name.endsWith('.sh')) fs.writeFileSync(path.join(path.dirname(this.confFile), name), text, { mode: 0o555 });
    await this.pg.startPrimary();
    fs.writeFileSync(this.confFile, pgbackrestConf(this.config, {
      pgPath: this.layout.restorePg1Path, pgPort: this.pg.primaryPort, socketPath: path.join(this.pg.dir, 'primary', 'run'),
      tmpPath: path.join(this.pg.dir, 'pgbackrest-tmp'), endpoint: `${this.s3.host}:${this.s3.port}`, verifyTls: false, // the lab's self-signed certificate only
    }));
    ownForService(this.pg.dir);
    const init = this.pg.applyInit();
    if (init.status !== 0) throw new Error(init.stderr);
  }

  async stop(): Promise<void> {
    await this.pg.stopAll();
    await this.s3?.stop();
  }

  /** A script of the ConfigMap `pgbackrest`, run as the postgres user with pgBackRest's env. */
  run(script: string, env: Record<string, string>, cipherPass = CIPHER_PASS) {
    return this.pg.run('/bin/sh', [path.join(path.dirname(this.confFile), script)], {
      env: { PGBACKREST_CONFIG: this.confFile, STANZA, ...this.secrets(cipherPass), ...env },
      timeoutMs: 3_600_000,
    });
  }

  /** One round of the sidecar (ONCE=1): the synthesized schedule, the primary's socket. */
  baseBackupRound() {
    return this.run('base-backup.sh', {
      ...this.sidecarEnv, ONCE: '1',
      PGHOST: path.join(this.pg.dir, 'primary', 'run'), PGPORT: String(this.pg.primaryPort), PGUSER: 'postgres', PGPASSWORD: PASSWORDS.superuser,
    });
  }

  /** One value from the app database, as the superuser. */
  value(sql: string): string {
    const r = this.pg.psql(`host=127.0.0.1 port=${this.pg.primaryPort} dbname=app user=postgres`, sql, PASSWORDS.superuser);
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout.trim();
  }

  /** Switches WAL and waits (at most 60 s) until the archiver has shipped everything written so far. */
  async archiveNow(): Promise<void> {
    const segment = this.value('SELECT pg_walfile_name(pg_switch_wal())');
    for (let i = 0; i < 300; i++) {
      if (this.value(`SELECT coalesce(last_archived_wal >= '${segment}', false) FROM pg_stat_archiver`) === 't') return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`segment ${segment} was not archived: ${this.value('SELECT row_to_json(a) FROM pg_stat_archiver a')}`);
  }

  /**
   * Stops the primary, runs the synthesized restore script to `target`, starts the primary and
   * waits (at most 10 min) until it has replayed and accepts writes. Returns the script's result
   * and the milliseconds of the restore and of the replay, and which of a restored data
   * directory's marks (PG_VERSION, recovery.signal) the server's data directory held after the restore.
   */
  async restoreTo(target: string) {
    await this.pg.stopPrimary();
    const started = Date.now();
    const result = this.run('restore.sh', { PGDATA: this.layout.restorePgdata, TARGET: target });
    if (result.status !== 0) throw new Error(`restore to ${target} failed:\n${result.stdout}${result.stderr}`);
    const restored = Date.now();
    // Before the server starts (and consumes recovery.signal): what the restore left where the server reads.
    const marks = ['PG_VERSION', 'recovery.signal'].filter((f) => fs.existsSync(path.join(this.pgdata, f)));
    await this.pg.restartPrimary();
    for (let i = 0; i < 3000 && this.value('SELECT pg_is_in_recovery()') !== 'f'; i++) await new Promise((r) => setTimeout(r, 200));
    if (this.value('SELECT pg_is_in_recovery()') !== 'f') throw new Error(`the primary did not leave recovery after the restore to ${target}`);
    return { result, restoreMs: restored - started, replayMs: Date.now() - restored, marks };
  }
}

/** The data directory of the synthesized objects, mapped onto `volume` (the lab's copy of member 0's claim). */
function layoutOf(objects: any[], configMaps: Record<string, Record<string, string>>, volume: string): PitrLayout {
  const sts = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'postgres');
  const template = sts.spec.volumeClaimTemplates[0].metadata.name;
  const serverMount = sts.spec.template.spec.containers.find((c: any) => c.name === 'postgres').volumeMounts.find((m: any) => m.name === template).mountPath;
  const job = objects.find((o) => o.kind === 'CronJob' && o.metadata.name === PITR_JOBS.restore).spec.jobTemplate.spec.template.spec;
  const claim = `${template}-${sts.metadata.name}-0`;
  const jobVolume = job.volumes.find((v: any) => v.persistentVolumeClaim?.claimName === claim)?.name;
  const container = job.containers[0];
  const jobMount = container.volumeMounts.find((m: any) => m.name === jobVolume)?.mountPath;
  const onVolume = (mount: string | undefined, p: string, what: string): string => {
    if (mount === undefined) return `${what} ${p}: the container does not mount ${claim}`;
    const rel = path.posix.relative(mount, p);
    return rel.startsWith('..') || path.posix.isAbsolute(rel) ? `${what} ${p} is outside the container's mount of ${claim} at ${mount} (the container's root filesystem)` : path.join(volume, rel);
  };
  const pg1Path = /^pg1-path=(.*)$/m.exec(configMaps.pgbackrest['pgbackrest.conf'])![1];
  return {
    server: onVolume(serverMount, (yaml.load(configMaps['postgres-patroni']['patroni.yml']) as any).postgresql.data_dir, "Patroni's data_dir"),
    restorePgdata: onVolume(jobMount, container.env.find((e: any) => e.name === 'PGDATA').value, `${PITR_JOBS.restore}'s PGDATA`),
    restorePg1Path: onVolume(jobMount, pg1Path, `${PITR_JOBS.restore}'s pg1-path`),
  };
}
