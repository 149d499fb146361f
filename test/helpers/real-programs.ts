/**
 * Suites that run real programs. When a program is missing the suite skips with a loud
 * warning, except under CI=true, where it must run (.ci/run installs them).
 * `npm run test:unit` sets UNIT_ONLY=true: every block that needs a real program then skips
 * loudly, CI or not, so the unit suite runs with no program, no network and no Go build;
 * `npm test` (CI) runs them all.
 */
import { spawnSync } from 'child_process';

const IS_CI = process.env.CI === 'true';
export const UNIT_ONLY = process.env.UNIT_ONLY === 'true';

function unitOnlySkip(what: string): void {
  console.warn(`!!! UNIT_ONLY: SKIPPING ${what} (needs a real program; npm test runs it) !!!`);
}

/**
 * `describe` when every program is present; otherwise a loud skip — or, under CI=true, a
 * failing test, because CI installs them (.ci/run) and a silent skip would hide a gap.
 */
export function describeWithPrograms(title: string, programs: Record<string, string | undefined>, body: () => void): void {
  const missing = Object.entries(programs).filter(([, p]) => !p).map(([n]) => n);
  if (UNIT_ONLY) {
    unitOnlySkip(`"${title}" (${Object.keys(programs).join(', ')})`);
    describe.skip(title, body);
  } else if (missing.length === 0) {
    describe(title, body);
  } else if (IS_CI) {
    describe(title, () => test(`requires ${missing.join(', ')}`, () => {
      throw new Error(`CI=true but ${missing.join(', ')} not installed: .ci/run must apt-get install them`);
    }));
  } else {
    console.warn(`\n!!! SKIPPING "${title}": ${missing.join(', ')} not installed (apt-get install them; CI always runs this suite) !!!\n`);
    describe.skip(title, body);
  }
}

/** The path of `name` on PATH, or null (after a warning) when it is missing outside CI. */
export function requireBinary(name: string): string | null {
  if (UNIT_ONLY) {
    unitOnlySkip(`the tests that run ${name}`);
    return null;
  }
  const found = spawnSync('sh', ['-c', `command -v "$1"`, 'sh', name], { encoding: 'utf8' });
  const path = found.status === 0 ? found.stdout.trim() : '';
  if (path) return path;
  if (process.env.CI === 'true') {
    throw new Error(`${name} is not installed, and CI=true requires it; fix: add its Debian package to the apt line in .ci/run`);
  }
  console.warn(`\n!!! ${name} is not installed: SKIPPING the tests that run it. Install it (see .ci/run) to run them. !!!\n`);
  return null;
}
