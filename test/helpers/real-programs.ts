/**
 * Suites that run real programs. When a program is missing the suite skips with a loud
 * warning, except under CI=true, where it must run (.ci/run installs them).
 */
const IS_CI = process.env.CI === 'true';

/**
 * `describe` when every program is present; otherwise a loud skip — or, under CI=true, a
 * failing test, because CI installs them (.ci/run) and a silent skip would hide a gap.
 */
export function describeWithPrograms(title: string, programs: Record<string, string | undefined>, body: () => void): void {
  const missing = Object.entries(programs).filter(([, p]) => !p).map(([n]) => n);
  if (missing.length === 0) {
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

