/** The helm binary for inline rendering and `npm run charts:pull` (extracted by scripts/helm.sh, offline). */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { findProjectRoot } from './project';

let found: string | undefined;

/** Absolute path of helm under .tools/, extracting it on first use; undefined (with the reason) when that fails. */
export function helmBinary(onError: (reason: string) => void = (r) => console.warn(r)): string | undefined {
  if (found) return found;
  const root = findProjectRoot(__dirname);
  const run = spawnSync('bash', [path.join(root, 'scripts', 'helm.sh')], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  const helm = run.stdout?.trim();
  if (run.status !== 0 || !helm) {
    onError(`scripts/helm.sh failed: ${(run.stderr ?? run.error?.message ?? '').trim()}`);
    return undefined;
  }
  found = helm;
  return helm;
}
