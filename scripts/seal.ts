/**
 * npm run seal -- --env <env> --cert <sealing cert> [--from <values file>] [--environments DIR]
 *
 * Seals the secrets a person supplies (B2 key, SMTP password, the apps' third-party keys) into
 * lib/config/environments/<env>.yaml: every declaration in `sealed` mode, and every declaration the
 * values file names (switched to `sealed`). Values come from the file (YAML `<scope>: <name>: <key>:
 * value`, or dotenv `<scope>.<name>.<key>=value`; it must be outside git or git-ignored) or, for
 * what the file lacks, from a prompt that does not echo; never from git. Each value is sealed in
 * strict scope for its Secret's name and namespace (lib/sealing.ts, kubeseal's format). A value whose
 * fingerprint matches (same value, same certificate) is left as it is, so a second run with the same
 * values changes nothing; the file keeps its comments and order (only the sealed entries change).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as jsYaml from 'js-yaml';
import * as YAML from 'yaml';
import { ConfigError, ConfigProblem } from '../lib/config/errors';
import { aliasProblems, nonAsciiKeyProblems } from '../lib/config/input-guards';
import { ENVIRONMENTS_DIR, loadConfig, withDefaults } from '../lib/config/load';
import { isPlainObject } from '../lib/config/merge';
import { SECRET_SCOPES, SecretScope, secretScopeNamespace } from '../lib/config/schema';
import { fingerprintKeyId, fingerprintMatches, sealFingerprint, sealingKeyId, sealingPublicKey, sealValue } from '../lib/sealing';

/** `<scope>.<name>.<key>` → value. */
export type SecretValues = Map<string, string>;

export interface SealOptions {
  readonly env: string;
  /** PEM text of the controller's certificate (`kubeseal --fetch-cert`). */
  readonly cert: string;
  /** Values by `<scope>.<name>.<key>`. */
  readonly values: SecretValues;
  /**
   * Asks for a value the file lacks (no echo); undefined when there is nobody to ask.
   * @default none: a missing value is an error
   */
  readonly prompt?: (entry: string) => Promise<string>;
  /** @default ENVIRONMENTS_DIR */
  readonly environmentsDir?: string;
}

export interface SealResult {
  readonly file: string;
  /** Entries sealed anew (`<scope>.<name>.<key>`). */
  readonly sealed: string[];
  /** Entries whose committed ciphertext already holds the given value for this certificate. */
  readonly unchanged: string[];
  /** Entries kept without a value given (already sealed for this certificate). */
  readonly kept: string[];
  /** Whether the environment file was rewritten. */
  readonly written: boolean;
}

interface RawDeclaration { keys?: unknown; mode?: unknown; encryptedData?: Record<string, string>; fingerprints?: Record<string, string> }

const problem = (key: string, message: string, value?: unknown): ConfigProblem => ({ key, value, message });

/** Seals what `options.values` and the environment's `sealed` declarations call for, and writes the file. */
export async function sealEnvironment(options: SealOptions): Promise<SealResult> {
  const file = path.join(options.environmentsDir ?? ENVIRONMENTS_DIR, `${options.env}.yaml`);
  const source = path.relative(process.cwd(), file) || file;
  if (!fs.existsSync(file)) throw new ConfigError(source, [problem('--env', `no such environment; fix: create ${source}`, options.env)]);
  const text = fs.readFileSync(file, 'utf8');
  const document = YAML.parseDocument(text, { keepSourceTokens: false });
  if (document.errors.length > 0) throw new ConfigError(source, [problem('(yaml)', `${document.errors[0].message}; fix: correct the YAML syntax`)]);
  const overrides = (document.toJS() ?? {}) as Record<string, unknown>;
  const merged = withDefaults(overrides) as { namespaces: Record<string, string>; secrets: Record<string, Record<string, RawDeclaration>> };

  let publicKey;
  try {
    publicKey = sealingPublicKey(options.cert);
  } catch (err) {
    throw new ConfigError(source, [problem('--cert', `is not a sealing certificate (${(err as Error).message}); fix: pass the certificate of the cluster's sealing key (the bootstrap's offline <env>-sealing.pem; for a cluster whose controller already runs, what \`kubeseal --fetch-cert\` prints)`)]);
  }
  const keyId = sealingKeyId(publicKey);

  // Every value given must name a declared key.
  const problems: ConfigProblem[] = [];
  const targets = new Map<string, { scope: SecretScope; name: string; declaration: RawDeclaration }>();
  for (const entry of options.values.keys()) {
    const [scope, name, ...rest] = entry.split('.');
    const key = rest.join('.'); // Secret keys may hold dots; scopes and names do not
    const declaration = merged.secrets?.[scope]?.[name];
    if (!(SECRET_SCOPES as readonly string[]).includes(scope)) problems.push(problem(entry, `names no secret scope; fix: start it with one of ${SECRET_SCOPES.join(', ')}`));
    else if (declaration === undefined) problems.push(problem(entry, `names a Secret not declared under secrets.${scope}; fix: declare secrets.${scope}.${name} in ${source} (keys and mode: sealed), or correct the name`));
    else if (!Array.isArray(declaration.keys) || !declaration.keys.includes(key)) problems.push(problem(entry, `is not one of the keys of secrets.${scope}.${name} (${(declaration.keys as string[] | undefined)?.join(', ')}); fix: add it to keys or correct the name`));
    else targets.set(`${scope}.${name}`, { scope: scope as SecretScope, name, declaration });
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  for (const scope of SECRET_SCOPES) {
    for (const [name, declaration] of Object.entries(merged.secrets?.[scope] ?? {})) {
      if (declaration.mode === 'sealed') targets.set(`${scope}.${name}`, { scope, name, declaration });
    }
  }

  const result = { file, sealed: [] as string[], unchanged: [] as string[], kept: [] as string[] };
  const edits: Array<{ at: (string | number)[]; value: string }> = [];
  const missing: string[] = [];
  for (const { scope, name, declaration } of [...targets.values()].sort((a, b) => `${a.scope}.${a.name}`.localeCompare(`${b.scope}.${b.name}`))) {
    const namespace = secretScopeNamespace(merged as never, scope);
    const at = ['secrets', scope, name];
    if (declaration.mode !== 'sealed') edits.push({ at: [...at, 'mode'], value: 'sealed' });
    for (const key of declaration.keys as string[]) {
      const entry = `${scope}.${name}.${key}`;
      const fingerprint = declaration.fingerprints?.[key];
      const sealedForThisCert = declaration.encryptedData?.[key] !== undefined && fingerprintKeyId(fingerprint) === keyId.slice(0, 16);
      let value = options.values.get(entry);
      if (value === undefined && sealedForThisCert) {
        result.kept.push(entry);
        continue;
      }
      if (value === undefined && options.prompt) value = await options.prompt(entry);
      if (value === undefined || value === '') {
        missing.push(entry);
        continue;
      }
      const fingerprintEntry = `${namespace}/${name}/${key}`;
      if (sealedForThisCert && fingerprintMatches(fingerprint, keyId, fingerprintEntry, value)) {
        result.unchanged.push(entry);
        continue;
      }
      edits.push({ at: [...at, 'encryptedData', key], value: sealValue(publicKey, namespace, name, value) });
      edits.push({ at: [...at, 'fingerprints', key], value: sealFingerprint(keyId, fingerprintEntry, value) });
      result.sealed.push(entry);
    }
  }
  if (missing.length > 0) {
    throw new ConfigError(source, missing.map((entry) => problem(entry, `has no value and is not sealed for this certificate yet; fix: add \`${entry}=...\` to the --from file (or run in a terminal to be asked), then run npm run seal again`)));
  }
  if (edits.length === 0) return { ...result, written: false };

  for (const edit of edits) document.setIn(edit.at, edit.value);
  const written = document.toString({ lineWidth: 0 });
  // The result must load (schema and cross-checks) before it replaces the file.
  const staging = fs.mkdtempSync(path.join(path.dirname(file), '.seal-'));
  try {
    fs.writeFileSync(path.join(staging, `${options.env}.yaml`), written);
    loadConfig(options.env, { environmentsDir: staging });
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  fs.writeFileSync(file, written);
  return { ...result, written: true };
}

/** The values of a YAML (`scope: name: key: value`) or dotenv (`scope.name.key=value`) file. */
export function parseValuesFile(text: string, source: string): SecretValues {
  const values: SecretValues = new Map();
  const problems: ConfigProblem[] = [];
  const looksLikeDotenv = text.split('\n').some((line) => /^\s*[a-z]+\.[^=\s:]+\.[^=\s:]+\s*=/.test(line));
  if (looksLikeDotenv) {
    text.split('\n').forEach((line, i) => {
      if (/^\s*(#|$)/.test(line)) return;
      const m = /^\s*(?:export\s+)?([a-z]+\.[-._a-zA-Z0-9]+?\.[-._a-zA-Z0-9]+)\s*=\s*(.*?)\s*$/.exec(line);
      if (!m) {
        problems.push(problem(`line ${i + 1}`, 'is not `<scope>.<name>.<key>=value`; fix: write one value per line, e.g. backup.b2-backup.application-key=...'));
        return;
      }
      const raw = m[2];
      const quoted = /^(["'])(.*)\1$/.exec(raw);
      values.set(m[1], quoted ? (quoted[1] === '"' ? quoted[2].replace(/\\(["\\n])/g, (_s, c: string) => (c === 'n' ? '\n' : c)) : quoted[2]) : raw);
    });
  } else {
    let data: unknown;
    try {
      data = jsYaml.load(text) ?? {};
    } catch (err) {
      throw new ConfigError(source, [problem('(yaml)', `${(err as Error).message}; fix: correct the YAML syntax`)]);
    }
    const guards = isPlainObject(data) ? [...aliasProblems(data), ...nonAsciiKeyProblems(data)] : [problem('(root)', 'must be a mapping `<scope>: <name>: <key>: value`; fix: e.g. backup: { b2-backup: { application-key: ... } }')];
    if (guards.length > 0) throw new ConfigError(source, guards);
    for (const [scope, names] of Object.entries(data as Record<string, unknown>)) {
      for (const [name, keys] of Object.entries(isPlainObject(names) ? names : {})) {
        for (const [key, value] of Object.entries(isPlainObject(keys) ? keys : {})) {
          if (typeof value === 'string' || typeof value === 'number') values.set(`${scope}.${name}.${key}`, String(value));
          else problems.push(problem(`${scope}.${name}.${key}`, 'is not a string; fix: quote the value'));
        }
        if (!isPlainObject(keys)) problems.push(problem(`${scope}.${name}`, 'is not a mapping of keys to values; fix: write <key>: value under it'));
      }
      if (!isPlainObject(names)) problems.push(problem(scope, 'is not a mapping of Secret names; fix: write <name>: { <key>: value } under it'));
    }
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  return values;
}

/** Refuses a values file git would commit: tracked, or inside a work tree and not ignored. */
export function checkOutsideGit(file: string): void {
  const dir = path.dirname(path.resolve(file));
  const git = (args: string[]) => spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
  if (git(['rev-parse', '--is-inside-work-tree']).stdout?.trim() !== 'true') return;
  const source = path.resolve(file);
  if (git(['ls-files', '--error-unmatch', '--', source]).status === 0) {
    throw new ConfigError(source, [problem('--from', 'is tracked by git, so the plain values are in its history; fix: move it outside the repository (and rotate the values it holds)')]);
  }
  if (git(['check-ignore', '-q', '--', source]).status !== 0) {
    throw new ConfigError(source, [problem('--from', 'is inside a git work tree and not ignored, so `git add` would commit the plain values; fix: move it outside the repository or add it to .gitignore')]);
  }
}

/** Reads one line from the terminal without echoing it. */
function promptHidden(entry: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(`${entry} (not echoed): `);
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          return resolve(value);
        }
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          return reject(new Error('interrupted'));
        }
        value = ch === '\u007f' ? value.slice(0, -1) : value + ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function main(argv: string[]): Promise<number> {
  const option = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const env = option('--env');
  const cert = option('--cert');
  const from = option('--from');
  if (!env || !cert) {
    console.error('usage: npm run seal -- --env <env> --cert <env>-sealing.pem (the offline key of the bootstrap; kubeseal --fetch-cert only for a running cluster) [--from <values file outside git>]');
    return 2;
  }
  try {
    let values: SecretValues = new Map();
    if (from) {
      checkOutsideGit(from);
      values = parseValuesFile(fs.readFileSync(from, 'utf8'), from);
    }
    const environmentsDir = option('--environments');
    const result = await sealEnvironment({
      env, cert: fs.readFileSync(cert, 'utf8'), values, prompt: process.stdin.isTTY ? promptHidden : undefined,
      ...(environmentsDir ? { environmentsDir: path.resolve(environmentsDir) } : {}),
    });
    const rel = path.relative(process.cwd(), result.file);
    console.log(`${rel}: ${result.sealed.length} sealed, ${result.unchanged.length} unchanged, ${result.kept.length} kept${result.written ? '' : ' (file not changed)'}`);
    for (const entry of result.sealed) console.log(`  sealed ${entry}`);
    if (result.written) console.log(`next: npm run synth, then commit ${rel} and dist/`);
    return 0;
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `seal: ${(err as Error).message}`);
    return 1;
  }
}

if (require.main === module) main(process.argv.slice(2)).then((code) => process.exit(code));
