/**
 * npm run rehearse -- <env> [--minutes N] [--keep]
 *
 * The first install of one environment, rehearsed (README "First-install rehearsal"): an empty faithful lab
 * cluster, the README's bootstrap block executed literally in a copy of this working tree, then the real
 * Argo CD (and the sealed-secrets, External Secrets and Traefik processes) until every Application is
 * Synced and Healthy or N minutes (default 20) of lab time have passed. Prints the report (minutes to
 * healthy, sync attempts, hooks, stuck pods, routes, what Traefik logged) and exits 0 only when every
 * Application is Synced and Healthy, no pod is stuck, every hook succeeded and every route answers.
 * `--keep` leaves the copy and the logs in the temp folder it prints.
 * Build the programs first: bash scripts/build-programs.sh.
 */
import * as path from 'path';
import { applicationsOf, formatReport, Rehearsal } from './lab/rehearsal';

async function main(argv: string[]): Promise<number> {
  const env = argv.find((a) => !a.startsWith('--'));
  if (!env) {
    console.error('usage: npm run rehearse -- <env> [--minutes N] [--keep]');
    return 2;
  }
  const minutes = argv.includes('--minutes') ? Number(argv[argv.indexOf('--minutes') + 1]) : 20;
  const t0 = Date.now();
  const rehearsal = await Rehearsal.start({ env, keep: argv.includes('--keep'), log: (l) => console.log(`${Math.round((Date.now() - t0) / 1000)}s ${l}`) });
  try {
    const report = await rehearsal.waitHealthy(applicationsOf(path.join(rehearsal.repoDir, 'dist', env)), minutes * 60_000);
    console.log(formatReport(report));
    const ok = report.minutesToHealthy !== undefined && report.stuck.length === 0 && report.hooks.every((h) => h.result === 'Succeeded')
      && report.routes.every((r) => r.status === 'routed') && Object.keys(report.routesAtHealthy).length === 0;
    if (!ok) console.log(rehearsal.tailLogs(30));
    if (argv.includes('--keep')) console.log(`kept: ${rehearsal.dir}`);
    return ok ? 0 : 1;
  } finally {
    await rehearsal.stop();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
    console.error(`rehearse: ${(err as Error).message}`);
    process.exit(1);
  });
}
