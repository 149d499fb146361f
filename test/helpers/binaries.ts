/**
 * Real programs for tests. On a developer machine a missing binary skips its tests with a
 * loud warning; under CI=true it is a failure (.ci/run installs them with apt).
 */
import { spawnSync } from 'child_process';

/** The path of `name` on PATH, or null (after a warning) when it is missing outside CI. */
export function requireBinary(name: string): string | null {
  const found = spawnSync('sh', ['-c', `command -v "$1"`, 'sh', name], { encoding: 'utf8' });
  const path = found.status === 0 ? found.stdout.trim() : '';
  if (path) return path;
  if (process.env.CI === 'true') {
    throw new Error(`${name} is not installed, and CI=true requires it; fix: add its Debian package to the apt line in .ci/run`);
  }
  console.warn(`\n!!! ${name} is not installed: SKIPPING the tests that run it. Install it (see .ci/run) to run them. !!!\n`);
  return null;
}
