/**
 * npm run verify -- --env prod [--dist DIR] [--kubeconfig FILE] [--context NAME] [--timeout SECONDS]
 *
 * Reads the kubeconfig and checks dist/<env> against the cluster: the API server version, that every
 * kind is served (CRDs installed), and a server-side dry-run apply of every object in sync-wave
 * order. Exit 0: all pass; 1: failures (each printed); 2: no cluster reachable (one line).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ClusterUnreachable, connect, KubernetesClientModule } from '../lib/gitops/kube-client';
import { DistObject, runVerification } from '../lib/gitops/verify';
import { findProjectRoot } from '../lib/project';
import { loadDocuments } from '../lib/validation/validate-dist';

/** Wrong invocation: one line, exit 2. */
class UsageError extends Error {}

// A real dynamic import: @kubernetes/client-node is ESM-only and this file compiles to CommonJS.
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<KubernetesClientModule>;

async function main(argv: string[]): Promise<number> {
  const option = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const env = option('--env');
  if (!env) throw new UsageError('which environment? fix: npm run verify -- --env prod');
  const dist = option('--dist') ?? path.join(findProjectRoot(__dirname), 'dist');
  const objects: DistObject[] = loadDocuments(path.join(dist, env)).map(({ file, object }) => ({ file: path.relative(dist, file).split(path.sep).join('/'), object }));
  if (objects.length === 0) throw new UsageError(`no objects under ${path.join(dist, env)}; fix: npm run synth, or pass --dist`);

  const kubeconfig = option('--kubeconfig') ?? findKubeconfig();
  const client = await importEsm('@kubernetes/client-node');
  const timeout = option('--timeout');
  const api = connect(client, { kubeconfig, context: option('--context'), timeoutMs: timeout ? Number(timeout) * 1000 : undefined });
  const report = await runVerification(env, objects, api, (line) => console.log(line));
  return report.failures.length > 0 ? 1 : 0;
}

/**
 * The kubeconfig kubectl would read: the first existing file of KUBECONFIG, else ~/.kube/config.
 * Without one, the client library would silently try http://localhost:8080: say so instead.
 */
function findKubeconfig(): string {
  const candidates = (process.env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  const found = candidates.find((f) => fs.existsSync(f));
  if (found) return found;
  if (candidates.length > 0) throw new ClusterUnreachable(`no kubeconfig: KUBECONFIG names ${candidates.join(', ')}, which does not exist; fix: point KUBECONFIG at your cluster's kubeconfig or pass --kubeconfig`);
  const home = path.join(os.homedir(), '.kube', 'config');
  if (fs.existsSync(home)) return home;
  throw new ClusterUnreachable(`no kubeconfig: KUBECONFIG is not set and ${home} does not exist; fix: set KUBECONFIG or pass --kubeconfig (for the lab: npm run lab -- --env prod -- npm run verify -- --env prod)`);
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(`verify: ${err instanceof ClusterUnreachable || err instanceof UsageError ? err.message : (err as Error).stack}`);
    process.exitCode = 2;
  },
);
