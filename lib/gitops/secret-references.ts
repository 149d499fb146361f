/**
 * Which Secrets the platform reads, found in the synthesized objects (env, envFrom, volumes,
 * projected volumes, wherever they are nested, Helm values included), and the check against the
 * `secrets` declarations in config.
 */
import { Chart } from 'cdk8s';
import { ConfigError, ConfigProblem } from '../config/errors';
import { configSource } from '../config/load';
import { PlatformConfig, SECRET_SCOPES, SecretScope, secretScopeNamespace } from '../config/schema';
import { renderCharts, renderedObjects } from './rendered';
import { producedSecrets } from './secret-producers';
import { findSecretReferences, SecretReference } from './secret-reads';

export { findSecretReferences };
export type { SecretReference };

/** Secret-like objects a chart renders itself, to catch a declaration made twice. */
export interface RenderedSecret {
  readonly chart: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/**
 * Problems: a Secret read but not declared (or a key missing from its declaration), a Secret in a
 * namespace that is no platform role, and a declared Secret that a chart also renders itself.
 */
export function checkSecretDeclarations(config: PlatformConfig, references: readonly SecretReference[], rendered: readonly RenderedSecret[]): ConfigProblem[] {
  const roleOf = new Map<string, SecretScope>(SECRET_SCOPES.map((role) => [secretScopeNamespace(config, role), role]));
  const problems: ConfigProblem[] = [];
  const byDeclaration = new Map<string, { role: SecretScope; name: string; keys: Set<string>; from: Set<string> }>();
  for (const ref of references) {
    const role = roleOf.get(ref.namespace);
    if (role === undefined) {
      problems.push({ key: 'secrets', value: `${ref.namespace}/${ref.name}`, message: `is read by ${ref.from}, but ${ref.namespace} is no platform namespace; fix: read Secrets only in the namespaces under namespaces.*` });
      continue;
    }
    const id = `${role}/${ref.name}`;
    const entry = byDeclaration.get(id) ?? { role, name: ref.name, keys: new Set<string>(), from: new Set<string>() };
    if (ref.key !== undefined) entry.keys.add(ref.key);
    entry.from.add(ref.from);
    byDeclaration.set(id, entry);
  }
  for (const { role, name, keys, from } of [...byDeclaration.values()].sort((a, b) => `${a.role}/${a.name}`.localeCompare(`${b.role}/${b.name}`))) {
    const declaration = config.secrets[role][name];
    const readers = [...from].sort().join(', ');
    const wanted = [...keys].sort();
    if (declaration === undefined) {
      problems.push({
        key: `secrets.${role}.${name}`,
        value: undefined,
        message:
          `is read by ${readers} but never declared; fix: add to secrets.${role} in ${configSource(config)} (or in lib/config/defaults.ts for every environment) ` +
          `'${name}': { keys: [${wanted.length > 0 ? wanted.map((k) => `'${k}'`).join(', ') : "'<every key it holds>'"}], mode: 'existing' }`,
      });
      continue;
    }
    for (const key of wanted.filter((k) => !declaration.keys.includes(k))) {
      problems.push({ key: `secrets.${role}.${name}.keys`, value: declaration.keys, message: `lacks "${key}", which ${readers} reads; fix: add "${key}" to the keys (and seal it in sealed mode)` });
    }
  }
  for (const secret of rendered) {
    const role = roleOf.get(secret.namespace);
    if (role !== undefined && config.secrets[role][secret.name] !== undefined) {
      problems.push({
        key: `secrets.${role}.${secret.name}`,
        value: config.secrets[role][secret.name].mode,
        message: `is declared twice: in the config and as a ${secret.kind} rendered by chart "${secret.chart}"; fix: keep only the config declaration and let the chart reference the Secret by name`,
      });
    }
  }
  return problems;
}

/** The chart that renders SealedSecrets from the declarations (charts/secrets.ts). */
export const SECRETS_CHART = 'secrets';

/**
 * Fails with a ConfigError, before anything is written, when a Secret that `charts` read (or that
 * `extra` lists, for references the scan cannot see, like a Helm value naming an existing Secret)
 * is not declared under `secrets`, or is declared twice. A Secret a chart produces itself (a
 * generator-backed ExternalSecret, a Certificate, ...: lib/gitops/secret-producers.ts) needs no declaration.
 */
export function assertSecretsDeclared(config: PlatformConfig, charts: readonly Chart[], extra: readonly { namespace: string; name: string; key?: string }[]): void {
  renderCharts(charts);
  const objects = charts.flatMap((c) => renderedObjects(c).map((object) => ({ chart: c.node.id, object })));
  const producedByCharts = new Set(producedSecrets(objects.filter(({ chart }) => chart !== SECRETS_CHART).map(({ object }) => object)).map((p) => `${p.namespace}/${p.name}`));
  const references: SecretReference[] = [
    ...objects.flatMap(({ object }) => findSecretReferences(object)),
    ...extra.map((e) => ({ ...e, from: 'Platform.declaredSecrets' })),
  ].filter((r) => !producedByCharts.has(`${r.namespace}/${r.name}`));
  const rendered: RenderedSecret[] = objects
    .filter(({ chart, object }) => ['Secret', 'SealedSecret', 'ExternalSecret'].includes(object.kind) && chart !== SECRETS_CHART)
    .map(({ chart, object }) => ({ chart, kind: object.kind, namespace: object.metadata?.namespace, name: object.metadata?.name }));
  const problems = checkSecretDeclarations(config, references, rendered);
  if (problems.length > 0) {
    throw new ConfigError(`${configSource(config)} (secrets, over the defaults of lib/config/defaults.ts)`, problems);
  }
}
