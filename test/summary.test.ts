/**
 * Issue 31: dist/<env>/SUMMARY.md shows what an environment runs. Checked against the objects it
 * summarises: every route, the data services' allowed clients (apps only through PgBouncer), every
 * CronJob with its schedule, every outside Secret, the footprint; and it is never applied by Argo CD.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ADD_ONS } from '../lib/addons/registry';
import { ENVIRONMENTS_DIR, listEnvironments, loadConfig } from '../lib/config/load';
import { footprint } from '../lib/footprint';
import { renderPlatform } from '../lib/synth';
import { routesOf, summarize, SUMMARY_FILE } from '../lib/summary';
import { Platform } from '../charts/platform';
import { configFor, synth } from './helpers/platform';

const DIST = path.join(__dirname, '..', 'dist');

describe.each(['prod', 'ha', 'dev'])('GIVEN the sample environment %s WHEN summarised', (env) => {
  const config = configFor(env);
  const files = renderPlatform(new Platform(config));
  const s = synth(config);
  const all = s.objects.map((o) => o.object);
  const summary = summarize(config, files);

  test('THEN every Ingress rule is a row with its host, path, Service and middlewares', () => {
    const ingresses = all.filter((o) => o.kind === 'Ingress');
    const rules = ingresses.flatMap((o) => o.spec.rules.flatMap((r: any) => r.http.paths.map((p: any) => `${r.host}${p.path}`)));
    expect(summary.routes.map((r) => `${r.host}${r.path}`).sort()).toEqual(rules.sort());
    for (const app of config.apps.filter((a) => a.kind === 'web')) {
      for (const host of app.hosts) expect(summary.text).toContain(`| ${app.name} | ${host} | ${app.paths[0]} | ${app.name}:${app.port} |`);
    }
  });

  test('THEN apps reach the database through PgBouncer only, the migration Job and backups reach the primary, and nothing outside the platform is listed', () => {
    for (const app of config.apps) {
      expect(summary.access.get('pgbouncer')).toContain(`${config.namespaces.app}/${app.name}`);
      expect(summary.access.get('postgres')).not.toContain(`${config.namespaces.app}/${app.name}`);
      expect(summary.access.get('redis')).toContain(`${config.namespaces.app}/${app.name}`);
    }
    expect(summary.access.get('postgres')).toContain(`${config.namespaces.data}/pgbouncer`);
    expect(summary.access.get('postgres')).toContain(`${config.namespaces.backup}/pg-backup-daily`);
    const namespaces = new Set(Object.values(config.namespaces));
    for (const clients of summary.access.values()) for (const c of clients) expect(namespaces.has(c.split('/')[0])).toBe(true);
  });

  test('THEN every CronJob is listed with its schedule, or as manual when suspended', () => {
    for (const job of all.filter((o) => o.kind === 'CronJob')) {
      const row = summary.text.split('\n').find((l) => l.startsWith(`| ${job.metadata.namespace}/${job.metadata.name} |`));
      expect([job.metadata.name, row]).toEqual([job.metadata.name, expect.stringContaining(job.spec.suspend ? 'manual' : `\`${job.spec.schedule}\``)]);
    }
  });

  test('THEN every Secret declared mode existing is listed as still to supply, and no generated one', () => {
    for (const [scope, declarations] of Object.entries(config.secrets)) {
      for (const [name, d] of Object.entries(declarations)) {
        const listed = summary.outsideSecrets.some((o) => o.name === name && o.namespace === (scope === 'argocd' ? 'argocd' : (config.namespaces as any)[scope]));
        expect([scope, name, listed]).toEqual([scope, name, d.mode === 'existing']);
      }
    }
  });

  test('THEN the requests against the budget are the footprint of the objects', () => {
    const f = footprint(s.objects, config, ADD_ONS);
    expect(summary.text).toContain(`Steady-state requests: ${Math.round(f.cpu * 1000)}m CPU`);
    expect(summary.text).toContain(`${Math.round(f.memory / 2 ** 20)}Mi memory`);
  });

  test('THEN the Mermaid diagram has the edge, one node per app with its hosts, and the flows to the data services', () => {
    const diagram = /```mermaid\n([\s\S]*?)```/.exec(summary.text)![1];
    expect(diagram.startsWith('flowchart LR')).toBe(true);
    for (const app of config.apps.filter((a) => a.kind === 'web')) expect(diagram).toContain(`|"${app.hosts[0]}${app.paths[0]}"| app_${app.name}[${app.name}]`);
    for (const app of config.apps) expect(diagram).toContain(`app_${app.name}[${app.name}] --> pgbouncer[(pgbouncer)]`);
    expect(diagram).not.toMatch(/app_\w+\[\w+\] --> postgres/);
  });
});

describe('GIVEN routes written as HTTPRoutes (edge.api gateway)', () => {
  test('THEN the summary lists them like Ingresses', () => {
    const s = synth(configFor('prod', { edge: { api: 'gateway' } }));
    const routes = routesOf(s.objects.map((o) => o.object));
    expect(routes.some((r) => r.host === 'crm.example.com' && r.path === '/' && r.service === 'crm')).toBe(true);
  });
});

describe('GIVEN dist/ (the committed synth)', () => {
  test.each(listEnvironments(ENVIRONMENTS_DIR))('THEN dist/%s/SUMMARY.md exists and is the summary of its objects', (env) => {
    const config = loadConfig(env);
    const files = renderPlatform(new Platform(config));
    expect(fs.readFileSync(path.join(DIST, env, SUMMARY_FILE), 'utf8')).toBe(summarize(config, files).text);
  });

  test('THEN no Argo CD Application syncs the environment folder itself, so SUMMARY.md is never applied', () => {
    const config = configFor('prod');
    const apps = synth(config).objects.map((o) => o.object).filter((o) => o.kind === 'Application');
    const sources = apps.flatMap((a) => a.spec.sources ?? (a.spec.source ? [a.spec.source] : []));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(source.path === undefined || source.path !== `${config.gitops.pathPrefix}/${config.name}`).toBe(true);
      expect(source.directory?.recurse).not.toBe(true);
    }
  });
});
