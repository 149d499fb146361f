/**
 * dist/<env>/SUMMARY.md: what an environment runs, read back from its synthesized objects (never
 * from the config alone, so it cannot promise what the objects do not do): the hosts and routes per
 * app, the data services and which workloads their NetworkPolicies let in, the backups and their
 * schedules, the outside Secrets still to supply, the requests against the node's budget, and a
 * Mermaid diagram of the flows (GitHub renders it). It sits beside the chart folders, outside every
 * Argo CD Application's path, and is no YAML: Argo CD never applies it.
 */
import * as yaml from 'js-yaml';
import { ADD_ONS } from './addons/registry';
import { PlatformConfig, SECRET_SCOPES, secretScopeNamespace } from './config/schema';
import { footprint } from './footprint';
import { findSecretReferences } from './gitops/secret-references';
import { Endpoint, NetworkModel, workloadEndpoints } from './validation/reachability';

/** The file name of the summary inside dist/<env>/. */
export const SUMMARY_FILE = 'SUMMARY.md';

/** A route of the edge: host, path, the Service it reaches and the middlewares on the way. */
export interface SummaryRoute {
  readonly host: string;
  readonly path: string;
  readonly namespace: string;
  readonly service: string;
  readonly port: number | string;
  readonly middlewares: string[];
}

/** The data services of the platform and the port apps use (their Services and workloads share the name). */
export const DATA_TARGETS: readonly { name: string; port: number; what: string }[] = [
  { name: 'pgbouncer', port: 6432, what: 'PgBouncer (the apps\' DATABASE_URL)' },
  { name: 'postgres', port: 5432, what: 'Postgres primary (migrations, backups)' },
  { name: 'redis', port: 6379, what: 'Redis' },
  { name: 'minio', port: 9000, what: 'MinIO S3 API' },
  { name: 'glitchtip', port: 8000, what: 'GlitchTip (error tracking)' },
];

export interface Summary {
  readonly routes: SummaryRoute[];
  /** Data service → the workloads that may open its port (by NetworkPolicy), as `namespace/name`. */
  readonly access: Map<string, string[]>;
  readonly schedules: { namespace: string; name: string; schedule: string; timeZone?: string; suspended: boolean }[];
  /** Declared Secrets in mode existing: nobody has sealed them, a person creates them. */
  readonly outsideSecrets: { namespace: string; name: string; keys: string[]; readers: string[] }[];
  readonly text: string;
}

/** Every Ingress and HTTPRoute rule, in object order. */
export function routesOf(objects: any[]): SummaryRoute[] {
  const routes: SummaryRoute[] = [];
  for (const o of objects) {
    if (o.kind === 'Ingress') {
      const middlewares = String(o.metadata?.annotations?.['traefik.ingress.kubernetes.io/router.middlewares'] ?? '').split(',').filter(Boolean).map((m) => m.replace(/@kubernetescrd$/, ''));
      for (const rule of o.spec?.rules ?? []) {
        for (const p of rule.http?.paths ?? []) {
          routes.push({ host: rule.host, path: p.path ?? '/', namespace: o.metadata.namespace, service: p.backend?.service?.name, port: p.backend?.service?.port?.number ?? p.backend?.service?.port?.name, middlewares });
        }
      }
    } else if (o.kind === 'HTTPRoute') {
      for (const rule of o.spec?.rules ?? []) {
        const middlewares = (rule.filters ?? []).filter((f: any) => f.type === 'ExtensionRef').map((f: any) => f.extensionRef?.name);
        const backend = rule.backendRefs?.[0] ?? {};
        for (const host of o.spec?.hostnames ?? []) {
          for (const match of rule.matches ?? [{ path: { value: '/' } }]) {
            routes.push({ host, path: match.path?.value ?? '/', namespace: o.metadata.namespace, service: backend.name, port: backend.port, middlewares });
          }
        }
      }
    }
  }
  return routes;
}

/** The summary of one environment's rendered objects (`files`: `<env>/<chart>/<file>` → YAML). */
export function summarize(config: PlatformConfig, files: ReadonlyMap<string, string>): Summary {
  const objects = [...files].filter(([file]) => file.endsWith('.yaml')).map(([file, text]) => ({ chart: file.split('/')[1], object: yaml.load(text) as any }));
  const all = objects.map((o) => o.object);
  const routes = routesOf(all);
  const model = new NetworkModel(all);
  const workloads = workloadEndpoints(all).filter((w) => w.namespace !== undefined);
  // The workload behind the data service's Service (in ha, Service redis selects the HAProxy pods, redis-haproxy),
  // else the workload of that name.
  const endpoint = (name: string) => {
    const service = all.find((o) => o?.kind === 'Service' && o.metadata?.name === name && o.metadata?.namespace === config.namespaces.data);
    const selector: Record<string, string> | undefined = service?.spec?.selector;
    const selected = selector && workloads.find((w) => w.namespace === config.namespaces.data && Object.entries(selector).every(([k, v]) => w.labels[k] === v));
    return selected || (workloads.find((w) => w.name === name && w.namespace === config.namespaces.data) ?? workloads.find((w) => w.name === name));
  };
  const access = new Map<string, string[]>();
  for (const target of DATA_TARGETS) {
    const to = endpoint(target.name);
    if (!to) continue;
    access.set(target.name, workloads.filter((w) => w !== to && model.allows(w, to, target.port)).map((w) => `${w.namespace}/${w.name}`).sort());
  }
  const schedules = all
    .filter((o) => o.kind === 'CronJob')
    .map((o) => ({ namespace: o.metadata.namespace, name: o.metadata.name, schedule: o.spec.schedule, timeZone: o.spec.timeZone, suspended: o.spec.suspend === true }))
    .sort((a, b) => Number(a.suspended) - Number(b.suspended) || `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  const references = all.flatMap(findSecretReferences);
  const outsideSecrets = SECRET_SCOPES.flatMap((scope) => Object.entries(config.secrets[scope])
    .filter(([, d]) => d.mode === 'existing')
    .map(([name, d]) => {
      const namespace = secretScopeNamespace(config, scope);
      const readers = [...new Set(references.filter((r) => r.namespace === namespace && r.name === name).map((r) => r.from))].sort();
      return { namespace, name, keys: [...d.keys], readers };
    }));
  const f = footprint(objects, config, ADD_ONS);

  const apps = config.apps.map((a) => a.name);
  const appRoutes = routes.filter((r) => r.namespace === config.namespaces.app);
  const platformRoutes = routes.filter((r) => r.namespace !== config.namespaces.app);
  const mi = (bytes: number) => `${Math.round(bytes / 2 ** 20)}Mi`;
  const m = (cores: number) => `${Math.round(cores * 1000)}m`;
  const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(1)} %`;
  const lines: string[] = [
    `# ${config.name}: what this environment runs`,
    '',
    `Written by \`npm run synth\` from the objects in this folder (lib/summary.ts); Argo CD applies the chart folders beside it, never this file. ` +
      `Node: ${config.node.count} × ${config.node.cpu} vCPU / ${config.node.memory} (${f.size}); domain ${config.domain}; stage ${config.stage}.`,
    '',
    '## Hosts and routes',
    '',
    '| app | host | path | to | middlewares |',
    '|---|---|---|---|---|',
    ...appRoutes.map((r) => `| ${apps.includes(r.service) ? r.service : r.service.replace(/-webhooks$/, '')} | ${r.host} | ${r.path} | ${r.service}:${r.port} | ${r.middlewares.join(', ')} |`),
    ...(appRoutes.length === 0 ? ['| (no app routes) | | | | |'] : []),
    '',
    'Platform hosts (admin UIs ask for the edge credential or the allow-list, `edge.adminAccess`):',
    '',
    ...platformRoutes.map((r) => `- ${r.host}${r.path} → ${r.namespace}/${r.service}:${r.port}${r.middlewares.some((x) => /admin/.test(x)) ? ' (admin)' : ''}`),
    '',
    '## Data services and who may reach them',
    '',
    'From the NetworkPolicies (default deny): the workloads whose pods may open the port.',
    '',
    '| service | port | may be reached by |',
    '|---|---|---|',
    ...DATA_TARGETS.filter((t) => access.has(t.name)).map((t) => `| ${t.what} | ${t.port} | ${access.get(t.name)!.join(', ') || '(nothing)'} |`),
    '',
    '## Backups and schedules',
    '',
    `Off-site target: ${config.backup.b2.endpoint}/${config.backup.b2.bucket}/${config.backup.b2.prefix}/${config.name}/ (encrypted). ` +
      (config.backup.pitr.enabled ? `Point-in-time recovery: WAL archived within ${config.backup.pitr.archiveTimeout}, base backups every ${config.backup.pitr.baseBackup.every}.` : 'Point-in-time recovery: off.'),
    '',
    '| job | schedule | time zone |',
    '|---|---|---|',
    ...schedules.map((s) => `| ${s.namespace}/${s.name} | ${s.suspended ? 'manual (suspended: `kubectl create job --from=cronjob/' + s.name + '`)' : `\`${s.schedule}\``} | ${s.timeZone ?? ''} |`),
    '',
    '## Outside Secrets still to supply',
    '',
    outsideSecrets.length === 0
      ? 'None: every Secret is generated in the cluster or sealed in git.'
      : `Declared \`mode: existing\`: a person creates them (\`kubectl create secret\`) or seals them (\`npm run seal -- --env ${config.name}\`).`,
    '',
    ...outsideSecrets.map((s) => `- ${s.namespace}/${s.name}: ${s.keys.join(', ')}${s.readers.length > 0 ? ` (read by ${s.readers.join(', ')})` : ''}`),
    '',
    '## Requests against the node budget',
    '',
    `Steady-state requests: ${m(f.cpu)} CPU (${pct(f.cpu, f.capacity.cpu)}) and ${mi(f.memory)} memory (${pct(f.memory, f.capacity.memory)}) of the allocatable ` +
      `${m(f.capacity.cpu)} / ${mi(f.capacity.memory)} (after k3s's reservation); the ${f.size} budget is ${f.budget.cpu * 100} % / ${f.budget.memory * 100} %: ` +
      `${f.cpu <= f.capacity.cpu * f.budget.cpu && f.memory <= f.capacity.memory * f.budget.memory ? 'met' : 'NOT met'}.`,
    '',
    '| workload | pods | CPU | memory |',
    '|---|---|---|---|',
    ...f.rows.filter((r) => !r.transient).sort((a, b) => b.memory * b.pods - a.memory * a.pods).slice(0, 12).map((r) => `| ${r.chart}/${r.workload} | ${r.pods} | ${m(r.cpu * r.pods)} | ${mi(r.memory * r.pods)} |`),
    '',
    '## Flows',
    '',
    '```mermaid',
    ...mermaid(config, appRoutes, access, workloads),
    '```',
    '',
  ];
  return { routes, access, schedules, outsideSecrets, text: lines.join('\n') };
}

function mermaid(config: PlatformConfig, appRoutes: SummaryRoute[], access: Map<string, string[]>, workloads: Endpoint[]): string[] {
  const id = (s: string) => s.replace(/[^A-Za-z0-9]/g, '_');
  const out = ['flowchart LR', '  internet((Internet)) --> traefik[Traefik edge]'];
  const apps = new Set(config.apps.map((a) => a.name));
  const seen = new Set<string>();
  for (const r of appRoutes) {
    const app = apps.has(r.service) ? r.service : r.service.replace(/-webhooks$/, '');
    const edge = `  traefik -->|"${r.host}${r.path}"| app_${id(app)}[${app}]`;
    if (!seen.has(edge)) out.push(edge);
    seen.add(edge);
  }
  const data = new Set<string>();
  for (const [service, clients] of access) {
    for (const client of clients) {
      const [namespace, name] = client.split('/');
      const from = namespace === config.namespaces.app && apps.has(name) ? `app_${id(name)}[${name}]` : namespace === config.namespaces.backup ? 'backup[backup jobs]' : undefined;
      if (!from) continue;
      const edge = `  ${from} --> ${id(service)}[(${service})]`;
      if (!seen.has(edge)) out.push(edge);
      seen.add(edge);
      data.add(service);
    }
  }
  if (access.get('postgres')?.some((c) => c.endsWith('/pgbouncer'))) out.push('  pgbouncer[(pgbouncer)] --> postgres[(postgres)]');
  if (workloads.some((w) => w.namespace === config.namespaces.backup)) out.push(`  backup[backup jobs] --> b2[(${config.backup.b2.bucket})]`);
  if (config.backup.pitr.enabled) out.push(`  postgres[(postgres)] -. WAL .-> b2[(${config.backup.b2.bucket})]`);
  return out;
}
