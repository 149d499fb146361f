/**
 * The sample values the platform ships with (lib/config/defaults.ts and the bundled environments):
 * images, repository, bucket, domain and the mail settings derived from it. An environment of
 * `stage: production` (the default) that still holds one is refused at synth time with the key and
 * the fix; `development` and `sample` environments synthesize with a warning (README "Make it yours").
 */
import { ConfigProblem } from './errors';
import { sealCommand, sealingCertNote } from '../sealing';
import type { PlatformConfig } from './schema';
import { Stage, STAGES } from './stages';

export { STAGES };
export type { Stage };

/** True for the stages whose placeholders fail the synth. */
export const placeholdersFail = (stage: Stage): boolean => stage === 'production';

/** A rule: which values are samples, and how to replace them. */
interface PlaceholderRule {
  readonly matches: (value: string, at: readonly string[], config: PlatformConfig) => boolean;
  readonly fix: (key: string) => string;
  /**
   * Only when the environment file does not set the key itself (a value derived from `{domain}` is
   * a placeholder until the team writes its own).
   * @default false
   */
  readonly onlyDefault?: boolean;
}

const SAMPLE_DOMAIN = /(^|[.@/])example\.com(?=$|[:/])/;
const isSampleDomain = (domain: string): boolean => SAMPLE_DOMAIN.test(domain);
const last = (at: readonly string[]): string => at[at.length - 1];
/** Keys of an email receiver of Alertmanager, or the ACME account address. */
const mailKey = (at: readonly string[]): boolean =>
  (at[0] === 'edge' && last(at) === 'acmeEmail') ||
  (at.slice(0, 3).join('.') === 'monitoring.alertmanager.receivers' && ['to', 'from', 'smarthost', 'authUsername'].includes(last(at)));

const RULES: readonly PlaceholderRule[] = [
  {
    matches: (value) => /^ghcr\.io\/example\//.test(value),
    fix: (key) => `is a sample image; fix: set ${key} to your app's image with a pinned tag (like ghcr.io/acme/shop:1.0.0), or remove the app (apps: { <name>: null }), or run npm run init -- --image <app>=<image>`,
  },
  {
    matches: (value, at) => at.join('.') === 'gitops.repoUrl' && /github\.com[:/]example\//.test(value),
    fix: () => 'is the sample repository; fix: set gitops.repoUrl to your fork of the platform (npm run init -- --repo git@github.com:<you>/platform.git)',
  },
  {
    matches: (value, at) => at.join('.') === 'backup.b2.bucket' && value === 'example-platform-backups',
    fix: () => 'is the sample bucket; fix: set backup.b2.bucket to your Backblaze B2 bucket (npm run init -- --bucket <name>)',
  },
  {
    matches: (value, at) => at.join('.') === 'domain' && isSampleDomain(value),
    fix: () => 'is the sample domain; fix: set domain to your own (npm run init -- --domain <domain>)',
  },
  {
    // A host, address or URL written on example.com while the domain is the team's own.
    matches: (value, at, config) => at.join('.') !== 'domain' && !isSampleDomain(config.domain) && SAMPLE_DOMAIN.test(value),
    fix: (key) => `names the sample domain example.com; fix: set ${key} to a name of your own domain`,
  },
  {
    // ops@{domain}, alertmanager@{domain}, smtp.{domain}:587: derived from the domain, real only when the team says so.
    matches: (_value, at, config) => mailKey(at) && !isSampleDomain(config.domain),
    onlyDefault: true,
    fix: (key) => `is the sample mail setting derived from the domain (lib/config/defaults.ts); fix: set ${key} in this file to your real address or mail server (npm run init -- --email <address> --smtp <host:port>)`,
  },
];

/**
 * Every sample value left in `config`.
 * @param written true when the environment file itself sets the key at `at`
 */
export function placeholderProblems(config: PlatformConfig, written: (at: readonly string[]) => boolean): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const walk = (value: unknown, at: string[]): void => {
    if (typeof value === 'string') {
      const rule = RULES.find((r) => r.matches(value, at, config) && !(r.onlyDefault && written(at)));
      if (rule) {
        const key = at.join('.');
        problems.push({ key, value, message: rule.fix(key), ...(written(at) ? {} : { origin: 'lib/config/defaults.ts' }) });
      }
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, [...at, String(i)]));
    } else if (typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value)) walk(v, [...at, k]);
    }
  };
  // apps is a list once parsed: walk it by name, as the file writes it.
  const { apps, ...rest } = config;
  walk(rest, []);
  for (const { name, ...app } of apps) walk(app, ['apps', name]);
  problems.push(...outsideSecretProblems(config, written));
  return problems;
}

/**
 * Outside secrets (the B2 key, the SMTP password, the apps' third-party keys: declared `existing` in
 * lib/config/defaults.ts) that nobody has supplied: the environment file neither seals them
 * (`npm run seal` writes `mode: sealed` and the ciphertext) nor says it creates them out of band
 * (its own `mode: existing` entry).
 */
function outsideSecretProblems(config: PlatformConfig, written: (at: readonly string[]) => boolean): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [role, declarations] of Object.entries(config.secrets)) {
    for (const [name, declaration] of Object.entries(declarations)) {
      if (declaration.mode !== 'existing' || written(['secrets', role, name])) continue;
      const key = `secrets.${role}.${name}`;
      problems.push({
        key,
        value: 'mode: existing',
        origin: 'lib/config/defaults.ts',
        message: `is an outside secret (${declaration.keys.join(', ')}) nobody has supplied for this environment; fix: put its values in a file outside git and run ${sealCommand(config.name)} --from <file> (${sealingCertNote(config.name)}), or, if you create the Secret out of band, write ${key}: { keys: [${declaration.keys.join(', ')}], mode: existing } in this file`,
      });
    }
  }
  return problems;
}

/** One line for an environment that keeps sample values and is allowed to (stage development or sample). */
export function placeholderWarning(env: string, stage: Stage, problems: readonly ConfigProblem[]): string | undefined {
  if (problems.length === 0 || placeholdersFail(stage)) return undefined;
  const keys = problems.map((p) => p.key);
  const shown = keys.length > 6 ? `${keys.slice(0, 6).join(', ')} and ${keys.length - 6} more` : keys.join(', ');
  return `${env} (stage: ${stage}) still holds ${problems.length} sample value(s): ${shown}. They only warn here; an environment of stage: production (the default) is refused until they are replaced (README "Make it yours").`;
}
