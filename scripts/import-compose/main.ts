/**
 * npm run import -- compose <docker-compose.yml>... [--caddyfile <Caddyfile>] [--env <name>]
 *   [--domain <domain>] [--image <service>=<image>]... [--var <NAME>=<value>]... [--size 2x4] [--nodes 1]
 *   [--stage production|development] [--repo <git url>] [--email <acme e-mail>] [--bucket <b2 bucket>]
 *   [--b2-endpoint <url>] [--smtp <host:port>] [--smtp-user <user>] [--environments DIR] [--force]
 *
 * Writes lib/config/environments/<env>.yaml from a team's compose stack and prints what it mapped and
 * what it did not (scripts/import-compose/map.ts). Before anything is written the environment is
 * loaded by the synth's own loader, rendered, and its requests are summed against the node's budget,
 * exactly as `npm run synth` does; an existing file is kept unless --force. Sample values the report
 * asks for (images of `build:` services, the domain, ...) are listed: a production synth refuses them.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import YAML from 'yaml';
import { ADD_ONS } from '../../lib/addons/registry';
import { DEFAULTS } from '../../lib/config/defaults';
import { ConfigError, ConfigProblem } from '../../lib/config/errors';
import { isPinnedImage } from '../../lib/config/fields';
import { ENVIRONMENTS_DIR, loadConfig, placeholdersOf } from '../../lib/config/load';
import { STAGES } from '../../lib/config/placeholders';
import { budgetProblems, footprintOfManifests } from '../../lib/footprint';
import { sealCommand } from '../../lib/sealing';
import { renderPlatform } from '../../lib/synth';
import { Platform } from '../../charts/platform';
import { parseCaddyfile } from './caddyfile';
import { loadCompose } from './compose';
import { importCompose, ReportLine } from './map';

const VALUE_FLAGS = ['--caddyfile', '--env', '--domain', '--image', '--var', '--size', '--nodes', '--stage', '--repo', '--email', '--bucket', '--b2-endpoint', '--smtp', '--smtp-user', '--environments'];

export interface ComposeImportResult {
  readonly file: string;
  readonly env: string;
  readonly text: string;
  readonly report: readonly ReportLine[];
  /** Sample values and outside Secrets still to supply (the production synth refuses them). */
  readonly remaining: readonly ConfigProblem[];
  /** Steady-state requests against the node's allocatable: shares of CPU and memory, and the budget. */
  readonly fit: { cpu: number; memory: number; budget: { cpu: number; memory: number }; size: string };
}

/** Parses the arguments, maps the stack, checks the environment like the synth does, then writes it; throws a ConfigError before writing anything on bad input. */
export function importComposeCommand(argv: readonly string[]): ComposeImportResult {
  const files: string[] = [];
  const flags = new Map<string, string[]>();
  const problems: ConfigProblem[] = [];
  let force = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--force') force = true;
    else if (VALUE_FLAGS.includes(arg)) {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) problems.push({ key: arg, value: undefined, message: `needs a value; fix: write ${arg} <value>` });
      else flags.set(arg, [...(flags.get(arg) ?? []), value]);
      i++;
    } else if (arg.startsWith('--')) {
      problems.push({ key: arg, value: undefined, message: `is not an option of npm run import -- compose; fix: use one of ${[...VALUE_FLAGS, '--force'].join(', ')}` });
    } else files.push(arg);
  }
  const one = (flag: string) => flags.get(flag)?.at(-1);
  if (files.length === 0) problems.push({ key: '(compose file)', value: undefined, message: 'none given; fix: npm run import -- compose docker-compose.yml [docker-compose.prod.yml ...]' });
  for (const file of [...files, ...(flags.get('--caddyfile') ?? [])]) {
    if (!fs.existsSync(file)) problems.push({ key: '(file)', value: file, message: 'does not exist; fix: give the path of the file' });
  }
  const pairs = (flag: string, what: string) => {
    const map = new Map<string, string>();
    for (const spec of flags.get(flag) ?? []) {
      const eq = spec.indexOf('=');
      if (eq <= 0 || eq === spec.length - 1) problems.push({ key: flag, value: spec, message: `is not ${what}; fix: write it like ${flag} ${flag === '--image' ? 'backend=ghcr.io/acme/backend:1.0.0' : 'API_HOST=api.acme.io'}` });
      else map.set(spec.slice(0, eq), spec.slice(eq + 1));
    }
    return map;
  };
  const images = pairs('--image', '<service>=<image>');
  for (const [service, image] of images) {
    if (!isPinnedImage(image)) problems.push({ key: '--image', value: `${service}=${image}`, message: 'is not a pinned image; fix: name an exact tag like ghcr.io/acme/backend:1.0.0 or a digest, never "latest" or no tag' });
  }
  const vars = pairs('--var', '<NAME>=<value>');
  const stage = one('--stage') ?? 'production';
  if (!(STAGES as readonly string[]).includes(stage)) problems.push({ key: 'stage', value: stage, message: `is not one of ${STAGES.join(', ')} (--stage); fix: use --stage production or --stage development` });
  let node: Record<string, unknown> | undefined;
  const size = one('--size');
  if (size !== undefined) {
    const match = /^(\d+)x(\d+)$/.exec(size);
    if (!match) problems.push({ key: 'node', value: size, message: 'is not <vCPU>x<GiB> (--size); fix: write it like --size 2x4 (README "Sizes")' });
    else node = { cpu: Number(match[1]), memory: `${match[2]}Gi` };
  }
  if (one('--nodes') !== undefined) node = { ...(node ?? DEFAULTS.node), count: Number(one('--nodes')) };

  const env = one('--env') ?? defaultEnvName(files[0]);
  const environmentsDir = path.resolve(one('--environments') ?? ENVIRONMENTS_DIR);
  const target = path.join(environmentsDir, `${env}.yaml`);
  const source = `${path.relative(process.cwd(), target) || target} (written by npm run import -- compose)`;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(env)) problems.push({ key: '--env', value: env, message: 'is not a valid environment name; fix: use lower-case letters, digits and "-", like --env smartmoney' });
  else if (fs.existsSync(target) && !force) problems.push({ key: '(file)', value: target, message: 'already exists; fix: pass --force to overwrite it, or choose another --env' });
  if (problems.length > 0) throw new ConfigError(source, problems);

  const project = loadCompose(files.map((f) => path.resolve(f)));
  for (const service of images.keys()) {
    if (!project.services.has(service)) problems.push({ key: '--image', value: service, message: `names no service of the compose files; fix: use one of ${[...project.services.keys()].join(', ')}` });
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  const caddyFile = one('--caddyfile');
  const caddy = caddyFile ? parseCaddyfile(fs.readFileSync(caddyFile, 'utf8')) : undefined;
  const result = importCompose(project, caddy, { domain: one('--domain'), images, vars });

  // The CLI's own keys first, then what the stack gave.
  const doc: Record<string, any> = { stage, ...(result.doc.domain ? { domain: result.doc.domain } : {}), ...(node ? { node } : {}) };
  Object.assign(doc, result.doc);
  if (one('--email')) doc.edge = { ...doc.edge, acmeEmail: one('--email') };
  if (one('--smtp')) {
    const email = one('--email') ?? doc.edge?.acmeEmail;
    const [receiver] = DEFAULTS.monitoring?.alertmanager?.receivers ?? [];
    doc.monitoring = { alertmanager: { receivers: [{ ...receiver, ...(email ? { to: email, from: email } : {}), smarthost: one('--smtp'), authUsername: one('--smtp-user') ?? email }] } };
  }
  if (one('--repo')) doc.gitops = { repoUrl: one('--repo') };
  if (one('--bucket') || one('--b2-endpoint')) doc.backup = { b2: { ...(one('--bucket') ? { bucket: one('--bucket') } : {}), ...(one('--b2-endpoint') ? { endpoint: one('--b2-endpoint') } : {}) } };
  if (!node) result.report.push({ section: 'todo', subject: 'node', text: `the VPS size is not in a compose file: the environment is sized for the default node (${DEFAULTS.node!.cpu} vCPU / ${DEFAULTS.node!.memory}); pass --size <vCPU>x<GiB>, like --size 2x4`, key: 'node' });

  const header = [
    `${env}: imported from ${files.map((f) => path.basename(f)).join(', ')}${caddyFile ? ` and ${path.basename(caddyFile)}` : ''} by npm run import -- compose.`,
    'The import report lists what was mapped, what was left out and what to give; edit freely (README "Moving from docker-compose").',
  ];
  const document = new YAML.Document(doc);
  document.commentBefore = header.map((l) => ` ${l}`).join('\n');
  const text = document.toString({ lineWidth: 0, flowCollectionPadding: true });

  // The synth's checks, on a scratch copy as a development environment (sample values are listed, not refused).
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'platform-import-'));
  let remaining: readonly ConfigProblem[];
  let fit: ComposeImportResult['fit'];
  try {
    fs.writeFileSync(path.join(scratch, `${env}.yaml`), YAML.stringify({ ...doc, stage: 'development' }));
    const config = loadConfig(env, { environmentsDir: scratch });
    remaining = placeholdersOf(config);
    const rendered = renderPlatform(new Platform(config));
    const f = footprintOfManifests(rendered, config, ADD_ONS);
    const over = budgetProblems(f, config);
    if (over.length > 0) throw new ConfigError(`${source} (footprint budget)`, over);
    fit = { cpu: f.cpu / f.capacity.cpu, memory: f.memory / f.capacity.memory, budget: f.budget, size: f.size };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(err.source.includes('footprint') ? err.source : source, err.problems);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  fs.mkdirSync(environmentsDir, { recursive: true });
  fs.writeFileSync(target, text);
  return { file: target, env, text, report: result.report, remaining, fit };
}

function defaultEnvName(file: string | undefined): string {
  if (file === undefined) return 'prod';
  const folder = path.basename(path.dirname(path.resolve(file))).toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '');
  return folder || 'prod';
}

const TITLES: Record<ReportLine['section'], string> = {
  app: 'Apps (mapped)',
  data: 'Data services (the platform\'s)',
  provided: 'Left out: the platform provides it',
  secret: 'Outside Secrets (declared mode: existing; the values are never copied: seal them)',
  flagged: 'Not mapped (read each one)',
  todo: 'Values to give (the synth of a production environment refuses the placeholders until they are set)',
};

/** The report as text: one block per section, every line once. */
export function formatReport(result: ComposeImportResult): string {
  const lines: string[] = [`wrote ${path.relative(process.cwd(), result.file) || result.file}`];
  for (const section of ['app', 'data', 'provided', 'secret', 'flagged', 'todo'] as const) {
    const items = [...new Set(result.report.filter((r) => r.section === section).map((r) => `  - ${r.subject}: ${r.text}`))];
    if (items.length > 0) lines.push('', `${TITLES[section]}:`, ...items);
  }
  const samples = result.remaining.filter((p) => !p.key.startsWith('secrets.'));
  const outside = result.remaining.filter((p) => p.key.startsWith('secrets.'));
  if (samples.length > 0) lines.push('', 'Sample values still in the file:', ...samples.map((p) => `  - ${p.key} = ${JSON.stringify(p.value)}: ${p.message}`));
  if (outside.length > 0) lines.push('', `Platform outside Secrets to supply: ${outside.map((p) => p.key).join(', ')}.`);
  const secretKeys = [...new Set(result.report.filter((r) => r.section === 'secret' && r.key).map((r) => r.key!))];
  if (secretKeys.length > 0 || outside.length > 0) lines.push(`Put their values in a file outside git (one <scope>.<name>.<key>=value per line), then: ${sealCommand(result.env)} --from <file>`);
  const pct = (n: number) => `${(n * 100).toFixed(1)} %`;
  lines.push('', `Fits its node (${result.fit.size}): requests take ${pct(result.fit.cpu)} CPU and ${pct(result.fit.memory)} memory of the allocatable (budget ${result.fit.budget.cpu * 100} % / ${result.fit.budget.memory * 100} %).`);
  lines.push(`Next: npm run synth -- ${result.env} (dist/${result.env}/SUMMARY.md shows what the stack becomes), then README "Moving from docker-compose" for the data.`);
  return lines.join('\n');
}

if (require.main === module) {
  try {
    console.log(formatReport(importComposeCommand(process.argv.slice(2))));
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : (err as Error).stack);
    process.exit(1);
  }
}
