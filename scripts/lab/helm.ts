/** The helm binary for inline rendering in tests and scripts (extracted by scripts/helm.sh, offline). */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { findProjectRoot } from '../../lib/project';

/** Absolute path of helm under .tools/, extracting it on first use; undefined when that fails. */
export function helmBinary(): string | undefined {
  const root = findProjectRoot(__dirname);
  const run = spawnSync('bash', [path.join(root, 'scripts', 'helm.sh')], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  const helm = run.stdout.trim();
  if (run.status !== 0 || !helm) {
    console.warn(`scripts/helm.sh failed: ${run.stderr.trim()}`);
    return undefined;
  }
  return helm;
}
