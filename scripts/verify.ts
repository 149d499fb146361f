/**
 * npm run verify -- --env prod [--dist DIR] [--kubeconfig FILE] [--context NAME] [--timeout SECONDS]
 *
 * Reads the kubeconfig and checks dist/<env> against the cluster: the API server version, that every
 * kind is served (CRDs installed), and a server-side dry-run apply of every object in sync-wave
 * order. Exit 0: all pass; 1: failures (each printed); 2: no cluster reachable (one line).
 */
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

  const client = await importEsm('@kubernetes/client-node');
  const timeout = option('--timeout');
  const api = connect(client, { kubeconfig: option('--kubeconfig'), context: option('--context'), timeoutMs: timeout ? Number(timeout) * 1000 : undefined });
  const report = await runVerification(env, objects, api, (line) => console.log(line));
  return report.failures.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err) => {
    console.error(`verify: ${err instanceof ClusterUnreachable || err instanceof UsageError ? err.message : (err as Error).stack}`);
    process.exitCode = 2;
  },
);
