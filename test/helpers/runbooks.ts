/**
 * The commands of the runbooks in the README and docs/, and the table that says how each is proven
 * (test/readme-runbooks.real.test.ts runs the `run` ones; test/patroni.real.test.ts the patronictl ones).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { at, docFiles, fences, Span, spans } from './docs';

const DOCS = docFiles();
/** An inline span that is a command: a program (or SQL) and at least one argument. */
const PROGRAMS = /^(kubectl|patronictl|psql|mc|rclone|pgbackrest|pg_ctl|redis-cli|df|crictl|openssl|helm|kubeseal|systemd-cgtop|argocd|SELECT|ALTER|SHOW|INFO|--from-literal=)\S*\s+\S/;

/** Alert names: the headings of the alert runbooks are named after them. */
function alertNames(): Set<string> {
  const dir = path.join(__dirname, '..', '..', 'dist', 'prod', 'monitoring');
  return new Set(fs.readdirSync(dir).filter((f) => f.startsWith('PrometheusRule.')).flatMap((f) =>
    (yaml.load(fs.readFileSync(path.join(dir, f), 'utf8')) as any).spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert).filter(Boolean))));
}

/** Sections that are runbooks: named so, the restore and rotation procedures, and one per alert. */
export function isRunbookSection(title: string, alerts: Set<string>): boolean {
  return /runbook|Rotating credentials|Restore MinIO from B2|Point-in-time recovery|Dead man's switch|Backup encryption|^Backups|^Rolling back a deploy/i.test(title) || alerts.has(title);
}

/** Every command of the runbook sections: bash block lines and inline spans starting with a program or SQL. */
export function runbookCommands(): Span[] {
  const alerts = alertNames();
  const fromFences = fences(DOCS).filter((f) => f.lang === 'bash' && isRunbookSection(f.section, alerts) && !/^Bootstrap runbook/.test(f.section))
    .map((f) => ({ file: f.file, line: f.line, code: f.body, section: f.section }));
  // The bootstrap block is executed literally by the first-install rehearsal (test/bootstrap-block.test.ts holds it to that).
  const inline = spans(DOCS).filter((s) => isRunbookSection(s.section, alerts) && !/^Bootstrap runbook/.test(s.section) && PROGRAMS.test(s.code));
  return [...fromFences, ...inline];
}

/** A runbook's patronictl line: bare, or behind `kubectl -n data exec [-it] <pod> -c postgres --` (group 1: the pod, group 2: the patronictl command). */
export const PATRONICTL_LINE = /^(?:kubectl -n data exec (?:-it )?(postgres-\d) -c postgres -- )?(patronictl .*)$/;

export type How =
  | { readonly run: 'pod-exec' | 'sql' | 'bouncer-sql' | 'rclone' | 'redis' }
  | { readonly elsewhere: string }
  | { readonly unrunnable: string };

/** The classification table: the first row whose pattern matches decides. */
export const TABLE: readonly { readonly pattern: RegExp; readonly how: How }[] = [
  // The bootstrap block is executed literally by the first-install rehearsal.
  { pattern: /^openssl req -x509/, how: { elsewhere: 'the first-install rehearsal (npm run rehearse, scripts/lab/rehearsal.ts) runs the bootstrap block literally' } },
  // The rollback block is executed literally by the day-2 rehearsal against the real Argo CD.
  { pattern: /^good=\$\(kubectl -n argocd get application app |^git pull --ff-only && git revert --no-edit/, how: { elsewhere: 'test/rehearsal-day2.real.test.ts runs the rollback block as written against the real Argo CD in the lab (scripts/lab/rehearsal-day2.ts)' } },
  { pattern: /^argocd app rollback$/, how: { unrunnable: 'named as what not to do: Argo CD refuses it while auto-sync is on (the rollback block reverts in git instead)' } },
  // The restore Jobs, created from their suspended CronJobs in the day-2 rehearsal with the first command each runbook gives.
  { pattern: /^kubectl -n backup create job restore-\$\(date \+%s\) --from=cronjob\/pg-restore$|^kubectl -n data create job pitr-x --from=cronjob\/pitr-restore --dry-run=client -o yaml > pitr\.yaml$|^kubectl create -f pitr\.yaml$|^kubectl -n backup create job minio-restore-\$\(date \+%s\) --from=cronjob\/minio-restore$/, how: { elsewhere: 'test/rehearsal-day2.real.test.ts creates each restore Job with this command, as written, in the lab cluster and checks its pod starts and where it writes (scripts/lab/rehearsal-day2.ts restores)' } },
  { pattern: /^kubectl -n backup create job restore-x --from=cronjob\/pg-restore --dry-run=client -o yaml > restore\.yaml$|^kubectl create -f restore\.yaml$/, how: { unrunnable: 'the named-dump variant: a person edits DUMP and TARGET_DATABASE in restore.yaml between the two lines; the day-2 rehearsal creates the pg-restore Job with the first form, test/backup.real.test.ts restores a named dump with the synthesized scripts' } },
  // psql with the pod's credentials, on the real PostgreSQL.
  { pattern: /^NEW="\$\(kubectl -n app get secret postgres-app-next|^LEADER="\$\(kubectl -n data get pods -l role=master -o name\)"\nprintf '%s\\n' "ALTER ROLE app WITH NOLOGIN/, how: { elsewhere: 'test/rotation.real.test.ts runs both rotation blocks as written against the synthesized Postgres and PgBouncer' } },
  { pattern: /^kubectl -n data exec (-it )?<leader> -c postgres -- sh -c 'PGPASSWORD="\$PATRONI_SUPERUSER_PASSWORD"/, how: { run: 'pod-exec' } },
  { pattern: /^(SELECT|ALTER DATABASE)\b/, how: { run: 'sql' } },
  { pattern: /^SHOW POOLS;$/, how: { run: 'bouncer-sql' } },
  { pattern: /^ALTER ROLE app_next SET role = 'app'$/, how: { elsewhere: 'part of the synthesized init SQL, which test/postgres.real.test.ts and test/rotation.real.test.ts apply to the real server' } },
  { pattern: /^pgbackrest archive-push$/, how: { elsewhere: 'the synthesized archive_command: test/pitr.real.test.ts archives WAL with it to the real MinIO' } },
  { pattern: /^rclone (copy --checksum|check --one-way)$/, how: { elsewhere: 'what the minio-restore Job runs: test/minio-restore.real.test.ts runs that Job\'s synthesized script with the real rclone and MinIO' } },
  { pattern: /^rclone sync$/, how: { elsewhere: 'what the minio-mirror Job runs: test/backup.real.test.ts runs its synthesized script with the real rclone between two real MinIO servers' } },
  { pattern: /^rclone copyto$/, how: { unrunnable: 'copies one older object out of the B2 mirror\'s history/ by hand: needs the team\'s bucket and crypt remote; the mirror\'s history/ itself is checked by test/backup.real.test.ts' } },
  { pattern: /^kubectl -n data get pods -l (role=master|cluster-name=postgres -L role)$/, how: { elsewhere: 'test/patroni.real.test.ts runs it as written (the pinned kubectl) against the Patroni lab\'s API server, where Patroni writes the role labels' } },
  // patronictl, with the container's config.
  // patronictl with its config, on the Patroni lab (three members, the lab API server as store).
  { pattern: PATRONICTL_LINE, how: { elsewhere: 'test/patroni.real.test.ts runs every runbook patronictl line as written in a member\'s postgres container env on the Patroni lab (list, pause, resume, reinit, failover, switchover)' } },
  { pattern: /^kubectl -n data exec postgres-N -c postgres -- pg_ctl stop|^kubectl -n data exec postgres-0 -c postgres -- pg_ctl start/, how: { unrunnable: 'stops/starts a member\'s server under a paused Patroni: the pgBackRest restore between these steps runs in test/pitr.real.test.ts, the Patroni pause around it does not' } },
  { pattern: /pgbackrest --stanza=postgres --type=full backup/, how: { elsewhere: 'test/pitr.real.test.ts takes base backups with the real pgbackrest and the rendered pgbackrest.conf against the real MinIO' } },
  { pattern: /^rclone obscure|"\$\(rclone obscure/, how: { run: 'rclone' } },
  { pattern: /^--from-literal=rclone-password=/, how: { run: 'rclone' } },
  { pattern: /^redis-cli --user admin --bigkeys$|^INFO memory$/, how: { run: 'redis' } },
  { pattern: /^mc admin user remove target /, how: { elsewhere: 'test/minio-rotation.real.test.ts runs mc admin user remove (its alias named root, not target) with the real mc on the real MinIO' } },
  { pattern: /^mc ls -r --summarize$/, how: { unrunnable: 'compares against the restore Job\'s log on a live cluster; the counts themselves are checked by test/minio-restore.real.test.ts with the real MinIO' } },
  { pattern: /^kubectl -n monitoring create secret generic alertmanager-heartbeat/, how: { unrunnable: 'creates a Secret on a live cluster; the routing to the URL it holds is proven by test/monitoring.real.test.ts with the real Alertmanager' } },
  { pattern: /^kubectl -n backup create job backup-now --from=cronjob\/pg-backup-daily$/, how: { elsewhere: 'test/lab.real.test.ts makes the API call this command makes for every CronJob of dist/prod (a Job from the CronJob\'s template) and sees its pod admitted, scheduled and completed; the dump itself runs in test/backup.real.test.ts' } },
  { pattern: /^kubectl top /, how: { unrunnable: 'reads the usage of running containers (metrics-server): the lab runs no container, its metrics API reports the requests' } },
  { pattern: /^kubectl (-n \S+ )?logs /, how: { unrunnable: 'reads the log of a container that ran: the lab runs no container (the scripts whose lines these logs hold run in test/backup.real.test.ts, test/pitr.real.test.ts and test/minio-restore.real.test.ts)' } },
  { pattern: /^kubectl (-n \S+ )?describe pod/, how: { unrunnable: 'its point is a failing pod\'s events (OOMKilled, failed probes), which only a kubelet running containers writes' } },
  { pattern: /^kubectl (get certificates,challenges -A|-n backup get cronjobs,jobs|get pods -n <ns>)$/, how: { unrunnable: 'reads what live controllers write (cert-manager\'s challenges, Jobs that ran their containers, pods that fail): in the lab these objects stay as applied' } },
  { pattern: /^kubectl (-n \S+ scale deploy|-n app rollout (status|restart)|drain <node>)/, how: { unrunnable: 'stops, restarts or moves live pods, and its point is what they do meanwhile (connections drained, a rollout that waits for readiness): no pod runs here; the PodDisruptionBudgets a drain obeys are checked by test/lab.real.test.ts' } },
  { pattern: /^argocd repo add/, how: { unrunnable: 'registers a private repository\'s deploy key with a running Argo CD server (argocd-server is not run here; the lab runs the controller and repo-server)' } },
  { pattern: /^df -h$|^crictl rmi --prune$|^systemd-cgtop/, how: { unrunnable: 'runs on the node itself (its disks, its container images, its cgroups): there is no k3s node here' } },
];

export const classify = (code: string): How | undefined => TABLE.find((row) => row.pattern.test(code))?.how;

/** A bash block is classified line by line (a line continues with a trailing backslash); an inline command whole. */
function units(c: Span): { code: string; where: string }[] {
  if (!c.code.includes('\n')) return [{ code: c.code, where: `${at(c)} (${c.section})` }];
  const joined = c.code.replace(/\\\n\s*/g, ' ');
  // A rotation block is one unit (its lines depend on each other).
  if (/^(NEW|LEADER)=/.test(joined)) return [{ code: c.code, where: `${at(c)} (${c.section})` }];
  return joined.split('\n').map((l) => l.replace(/(^|\s)#.*$/, '').trim()).filter(Boolean).map((code) => ({ code, where: `${at(c)} (${c.section})` }));
}

/** Every runbook command, one unit per line of a block (a rotation block whole). */
export const runbookUnits = (): { code: string; where: string }[] => runbookCommands().flatMap(units);

