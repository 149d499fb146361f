/**
 * npm run init -- --domain mybiz.io --repo git@github.com:acme/platform.git --email ops@mybiz.io
 *   [--env prod] [--size 4x16] [--nodes 1] [--stage production|development]
 *   [--bucket acme-backups] [--b2-endpoint https://s3.<region>.backblazeb2.com]
 *   [--smtp smtp.mybiz.io:587] [--smtp-user alertmanager@mybiz.io] [--image <app>=<image>]... [--force]
 *   [--environments DIR]
 * Writes lib/config/environments/<env>.yaml with the team's values. The values are checked by the
 * same loader as the synth (key, value, fix) before the file is written; an existing file is kept
 * unless --force. Sample values the flags did not replace are listed: a production environment's
 * synth refuses them until they are set (lib/config/placeholders.ts).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ConfigError, ConfigProblem } from '../lib/config/errors';
import { ENVIRONMENTS_DIR, loadConfig, placeholdersOf } from '../lib/config/load';
import { DEFAULTS } from '../lib/config/defaults';
import { STAGES } from '../lib/config/placeholders';
import { sealCommand, sealingCertHint } from '../lib/sealing';

/** The flags and the environment key each one sets (errors on a key also name its flag). */
const FLAGS: Record<string, string> = {
  '--domain': 'domain', '--repo': 'gitops.repoUrl', '--email': 'monitoring.alertmanager.receivers.0.to', '--env': '(file)', '--size': 'node', '--nodes': 'node.count',
  '--stage': 'stage', '--bucket': 'backup.b2.bucket', '--b2-endpoint': 'backup.b2.endpoint', '--smtp': 'monitoring.alertmanager.receivers.0.smarthost',
  '--smtp-user': 'monitoring.alertmanager.receivers.0.authUsername', '--image': 'apps.<app>.image', '--environments': '(folder)',
};
const REQUIRED = ['--domain', '--repo', '--email'];

export interface InitResult {
  /** The file written. */
  readonly file: string;
  /** Sample values the flags did not replace (key and fix). */
  readonly remaining: readonly ConfigProblem[];
}

/** Parses the flags, checks the values and writes the environment file; throws a ConfigError before writing anything on bad input. */
export function init(argv: readonly string[]): InitResult {
  const flags = new Map<string, string[]>();
  let force = false;
  const problems: ConfigProblem[] = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--force') { force = true; continue; }
    if (!(flag in FLAGS)) {
      problems.push({ key: flag, value: undefined, message: `is not an option of npm run init; fix: use one of ${[...Object.keys(FLAGS), '--force'].join(', ')}` });
      continue;
    }
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) {
      problems.push({ key: FLAGS[flag], value: undefined, message: `${flag} needs a value; fix: write ${flag} <value>` });
      continue;
    }
    flags.set(flag, [...(flags.get(flag) ?? []), value]);
    i++;
  }
  const one = (flag: string): string | undefined => flags.get(flag)?.at(-1);
  for (const flag of REQUIRED) {
    if (!flags.has(flag)) problems.push({ key: FLAGS[flag], value: undefined, message: `is required; fix: pass ${flag} <value>, like npm run init -- --domain mybiz.io --repo git@github.com:acme/platform.git --email ops@mybiz.io` });
  }

  const env = one('--env') ?? 'prod';
  const environmentsDir = path.resolve(one('--environments') ?? ENVIRONMENTS_DIR);
  const target = path.join(environmentsDir, `${env}.yaml`);
  const source = `${path.relative(process.cwd(), target) || target} (written by npm run init)`;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(env)) {
    problems.push({ key: '(file)', value: env, message: 'is not a valid environment name (--env); fix: use lower-case letters, digits and "-", like --env staging' });
  } else if (fs.existsSync(target) && !force) {
    problems.push({ key: '(file)', value: env, message: `already exists (${target}); fix: pass --force to overwrite it, or choose another --env` });
  }

  const doc: Record<string, any> = { stage: one('--stage') ?? 'production' };
  if (!(STAGES as readonly string[]).includes(doc.stage)) {
    problems.push({ key: 'stage', value: doc.stage, message: `is not one of ${STAGES.map((s) => `"${s}"`).join(', ')} (--stage); fix: use --stage production or --stage development` });
  }
  if (flags.has('--domain')) doc.domain = one('--domain');
  const size = one('--size');
  if (size !== undefined) {
    const match = /^(\d+)x(\d+)$/.exec(size);
    if (!match) problems.push({ key: 'node', value: size, message: 'is not <vCPU>x<GiB> (--size); fix: write it like --size 4x16 (README "Pick the size of your node", docs/sizing.md)' });
    else doc.node = { cpu: Number(match[1]), memory: `${match[2]}Gi` };
  }
  const nodes = one('--nodes');
  if (nodes !== undefined) doc.node = { ...(doc.node ?? DEFAULTS.node), count: /^\d+$/.test(nodes) ? Number(nodes) : nodes };
  if (flags.has('--email')) {
    // The team's address is the ACME account and the alert receiver: alerts go to it and are sent from
    // it (the SMTP login too unless --smtp-user). The mail server is --smtp; without it, smtp.<domain>:587.
    const email = one('--email');
    const [receiver] = DEFAULTS.monitoring?.alertmanager?.receivers ?? [];
    doc.edge = { acmeEmail: email };
    doc.monitoring = { alertmanager: { receivers: [{ ...receiver, to: email, from: email, smarthost: one('--smtp') ?? (receiver as { smarthost: string }).smarthost, authUsername: one('--smtp-user') ?? email }] } };
  }
  if (flags.has('--bucket') || flags.has('--b2-endpoint')) {
    doc.backup = { b2: { ...(one('--bucket') ? { bucket: one('--bucket') } : {}), ...(one('--b2-endpoint') ? { endpoint: one('--b2-endpoint') } : {}) } };
  }
  if (flags.has('--repo')) doc.gitops = { repoUrl: one('--repo') };
  for (const spec of flags.get('--image') ?? []) {
    const [app, image] = spec.split(/=(.*)/s);
    if (!image || !(app in (DEFAULTS.apps ?? {}))) {
      problems.push({
        key: `apps.${app}.image`, value: spec,
        message: `is not <app>=<image> of an app of lib/config/defaults.ts (${Object.keys(DEFAULTS.apps ?? {}).join(', ')}) (--image); fix: write it like --image crm=ghcr.io/acme/crm:1.0.0, and add new apps in the environment file (README "Make it yours")`,
      });
    } else doc.apps = { ...doc.apps, [app]: { image } };
  }
  if (problems.length > 0) throw new ConfigError(source, problems);

  // The same checks as the synth, on a scratch copy as a development environment (the sample
  // values the flags did not replace are listed, not refused: the synth refuses them later).
  const text = `# ${env}: written by npm run init; edit freely (README "Make it yours").\n${yaml.dump(doc, { lineWidth: -1 })}`;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'platform-init-'));
  let remaining: readonly ConfigProblem[];
  try {
    fs.writeFileSync(path.join(scratch, `${env}.yaml`), yaml.dump({ ...doc, stage: 'development' }));
    remaining = placeholdersOf(loadConfig(env, { environmentsDir: scratch }));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(source, err.problems.map((p) => ({ ...p, message: `${p.message}${flagOf(p.key)}` })));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  fs.mkdirSync(environmentsDir, { recursive: true });
  fs.writeFileSync(target, text);
  return { file: target, remaining };
}

/** The mail server init wrote from --domain when --email came without --smtp (a guess worth a note), else undefined. */
function smtpDerived(argv: readonly string[]): string | undefined {
  const value = (flag: string) => { const i = argv.lastIndexOf(flag); return i >= 0 ? argv[i + 1] : undefined; };
  const domain = value('--domain');
  return argv.includes('--email') && !argv.includes('--smtp') && domain ? `smtp.${domain}:587` : undefined;
}

/** " (--flag)" when a flag of init sets `key`. */
function flagOf(key: string): string {
  if (key === 'edge.acmeEmail' || /^monitoring\.alertmanager\.receivers\.0\.(to|from)$/.test(key)) return ' (--email)';
  const flag = Object.entries(FLAGS).find(([, k]) => k === key || (key.startsWith('apps.') && key.endsWith('.image') && k === 'apps.<app>.image'))?.[0];
  return flag ? ` (${flag})` : '';
}

if (require.main === module) {
  try {
    const { file, remaining } = init(process.argv.slice(2));
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
    const outside = remaining.filter((p) => p.key.startsWith('secrets.'));
    const samples = remaining.filter((p) => !p.key.startsWith('secrets.'));
    if (samples.length > 0) {
      console.log(`\nStill sample values (a production environment's synth refuses them until they are set in ${path.relative(process.cwd(), file)}):`);
      for (const p of samples) console.log(`  - ${p.key} = ${JSON.stringify(p.value)}: ${p.message}`);
    }
    if (outside.length > 0) {
      const env = path.basename(file, '.yaml');
      console.log(`\nOutside secrets to supply (the synth of a production environment refuses to run without them): ${outside.map((p) => p.key).join(', ')}.`);
      console.log(`Put their values in a file outside git (one <scope>.<name>.<key>=value per line), then: ${sealCommand(env)} --from <file>`);
      console.log(`(${sealingCertHint(env)}.)`);
    }
    if (smtpDerived(process.argv.slice(2))) console.log(`\nAlerts are mailed through the server derived from --domain (${smtpDerived(process.argv.slice(2))}); pass --smtp <host:port> if yours is elsewhere.`);
    console.log('\nNext: npm run synth (README "Make it yours").');
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : (err as Error).stack);
    process.exit(1);
  }
}
