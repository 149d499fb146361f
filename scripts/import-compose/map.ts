/**
 * A compose project (and its Caddyfile) → an environment file of the platform, and the report of
 * what went where and what did not. Pure: no file is read or written here except env_file names.
 *
 * Rules, each with a test in test/import-compose.test.ts:
 * - data services by image: Postgres, Redis, MinIO become the platform's; the apps' env names that
 *   point at them are bound to the platform's values (same name: given by the platform; another name:
 *   `$(DATABASE_URL)`, `$(REDIS_URL)`, `$(S3_ENDPOINT)` or the Secret key); database, user and major kept where allowed;
 * - services the platform runs (proxy, certificates, metrics, logs, uptime, errors, backups) are left out, the replacement named;
 * - development tools are left out and flagged; other data services are flagged;
 * - every other service is an app: image (or `--image`, else a placeholder the production synth refuses),
 *   ports, entrypoint/command, environment (plain / Secret), healthcheck, deploy.resources, replicas, volumes;
 * - with a Caddyfile: hosts, handle / handle_path routes, basic auth, headers;
 * - every service key is accounted for: mapped, explained, or listed as not mapped.
 */
import * as fs from 'fs';
import * as path from 'path';
import { isPinnedImage, isS3BucketName } from '../../lib/config/fields';
import { IMAGES } from '../../lib/config/versions';
import { looksLikeCredential, postgresImageMajor } from '../../lib/config/schema';
import { Caddyfile, CaddySite } from './caddyfile';
import { classifyImage, imageRepository, imageTag, ServiceRole } from './classify';
import { ComposeProject, ComposeService, composeBytes, composeSeconds, dependsOn, interpolate, isMap, splitCommand } from './compose';

export interface ImportOptions {
  /** Public domain; `${DOMAIN}` and a Caddyfile's `{$DOMAIN}` resolve to it. @default the Caddyfile's first literal host, else example.com (refused in production) */
  readonly domain?: string;
  /** Images for services (`build:` ones above all): service → pinned reference. */
  readonly images?: ReadonlyMap<string, string>;
  /** Values of compose variables that are no secret (`--var NAME=value`). */
  readonly vars?: ReadonlyMap<string, string>;
  /** The platform's data namespace (for host names written into env). @default data */
  readonly dataNamespace?: string;
}

export type ReportSection = 'app' | 'data' | 'provided' | 'flagged' | 'todo' | 'secret';

export interface ReportLine {
  readonly section: ReportSection;
  /** The compose service (or Caddyfile line) the line is about. */
  readonly subject: string;
  readonly text: string;
  /** The environment key it set or asks for. */
  readonly key?: string;
}

export interface ImportResult {
  /** The environment file's content (before the CLI's own flags: stage, node, gitops, backup). */
  readonly doc: Record<string, any>;
  readonly report: ReportLine[];
  /** Compose service → what it became. */
  readonly roles: Map<string, ServiceRole>;
}

/** Env names the platform's bindings set on every app (lib/constructs/*: bindApp). */
export const PLATFORM_ENV: Record<string, 'postgres' | 'redis' | 'minio' | 'glitchtip'> = {
  DATABASE_URL: 'postgres', DATABASE_READ_URL: 'postgres', DIRECT_URL: 'postgres', DB_PASSWORD: 'postgres',
  REDIS_URL: 'redis', REDIS_PASSWORD: 'redis',
  S3_ENDPOINT: 'minio', S3_PUBLIC_URL: 'minio', S3_BUCKET: 'minio', S3_REGION: 'minio', S3_FORCE_PATH_STYLE: 'minio', S3_ACCESS_KEY: 'minio', S3_SECRET_KEY: 'minio',
  SENTRY_DSN: 'glitchtip',
};

/** Folders that hold user files: a MinIO bucket instead. */
const UPLOADS = /(^|[/_-])(uploads?|media|attachments?|files|user[-_]?content|avatars?|documents?|images|storage|public[-_]?files)($|[/_-])/i;
/** Targets where development compose files mount the source code. */
const CODE_TARGET = /^\/(app|usr\/src\/app|code|src|srv\/app|var\/www|var\/www\/html|home\/node\/app|workspace)(\/src)?\/?$/;
const CONFIG_FILE = /\.(conf|ya?ml|json|ini|toml|cfg|env|js|ts|py|xml|properties|lua|sh)$/i;

const kebab = (name: string) => name.toLowerCase().replace(/_/g, '-').replace(/[^-a-z0-9.]/g, '');
const k8sName = (name: string) => name.toLowerCase().replace(/[^-a-z0-9]/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'app';
const mebi = (bytes: number) => `${Math.max(1, Math.ceil(bytes / 2 ** 20))}Mi`;

export function importCompose(project: ComposeProject, caddy: Caddyfile | undefined, options: ImportOptions = {}): ImportResult {
  const report: ReportLine[] = [];
  const add = (section: ReportSection, subject: string, text: string, key?: string) => report.push({ section, subject, text, ...(key ? { key } : {}) });
  const vars = new Map(options.vars ?? []);
  const dataNs = options.dataNamespace ?? 'data';

  // --- domain: --domain, else the Caddyfile's first literal host ---
  const caddyHosts = (caddy?.sites ?? []).flatMap((s) => s.hosts);
  const literalHost = caddyHosts.find((h) => !h.includes('${') && /^[a-z0-9.-]+\.[a-z]{2,}$/.test(h));
  const domain = options.domain ?? literalHost;
  if (domain !== undefined && !vars.has('DOMAIN')) vars.set('DOMAIN', domain);
  if (domain === undefined) add('todo', 'domain', 'no domain given and none found in a Caddyfile: the file says example.com, which the production synth refuses; run again with --domain <your domain>', 'domain');

  // --- roles ---
  const roles = new Map<string, ServiceRole>();
  for (const service of project.services.values()) {
    const image = service.spec.image === undefined ? undefined : interpolate(String(service.spec.image), vars).text;
    roles.set(service.name, classifyImage(image));
  }
  const byKind = (kind: ServiceRole['kind']) => [...project.services.values()].filter((s) => roles.get(s.name)!.kind === kind);
  const hostNamesOf = (s: ComposeService): string[] => [s.name, s.spec.container_name, s.spec.hostname, ...networkAliases(s.spec.networks)].filter((x): x is string => typeof x === 'string');
  const postgresHosts = new Set(byKind('postgres').flatMap(hostNamesOf));
  const redisHosts = new Set(byKind('redis').flatMap(hostNamesOf));
  const minioHosts = new Set(byKind('minio').flatMap(hostNamesOf));
  const pgbouncerHost = `pgbouncer.${dataNs}.svc.cluster.local`;

  const doc: Record<string, any> = {};
  const apps: Record<string, any> = { crm: null, web: null, worker: null };
  const appSecrets: Record<string, { keys: string[]; mode: 'existing' }> = {};
  const buckets: { name: string; access: 'private'; versioning: boolean }[] = [];
  const appAccess: Record<string, any> = { crm: null, web: null };
  const postgres: Record<string, any> = {};
  let glitchtip = false;

  // --- data services ---
  for (const service of byKind('postgres')) {
    const image = interpolate(String(service.spec.image), vars).text;
    const env = envValues(service, vars);
    const platformMajor = postgresImageMajor(IMAGES.postgres)!;
    const major = /^\d+/.exec(imageTag(image) ?? '')?.[0];
    const handled = new Set(['image', 'environment', 'volumes', 'restart', 'ports', 'expose', 'container_name', 'hostname', 'networks', 'healthcheck', 'shm_size', 'deploy', 'env_file', 'logging', 'labels', 'depends_on']);
    let majorText: string;
    if (major === undefined) majorText = `its image ${image} names no major, so the platform keeps PostgreSQL ${platformMajor} (pg_restore ${platformMajor} reads dumps of older servers)`;
    else if (Number(major) === platformMajor) majorText = `PostgreSQL ${major} carried over (postgres.major: ${platformMajor}, the platform's image ${IMAGES.postgres})`;
    else if (Number(major) < platformMajor) majorText = `PostgreSQL ${major} becomes ${platformMajor}: the platform pins one image per major (${IMAGES.postgres}), and a dump of ${major} restores into ${platformMajor} (the restore Job runs pg_restore ${platformMajor}); test your app against ${platformMajor}`;
    else {
      majorText = `PostgreSQL ${major} is newer than the platform's ${platformMajor} (${IMAGES.postgres}): a dump of ${major} may not restore into ${platformMajor}; set postgres.major: ${major} with images.postgres and images.postgresClient of that major (pinned tags) before you restore`;
      add('todo', service.name, majorText, 'postgres.major');
    }
    const repo = imageRepository(image);
    if (repo !== 'postgres') majorText += `; the image was ${repo}: the platform's image (timescaledb-ha) carries TimescaleDB, PostGIS and pgvector, other extensions need checking`;
    const keep = (value: string | undefined, what: string, key: string, fallback: string) => {
      if (value === undefined || value === '') return `${what} ${fallback} (the platform's default: the stack set none)`;
      const reserved = ['postgres', 'template0', 'template1', 'replicator', 'pgbouncer_auth', 'metrics', 'backup', 'glitchtip'];
      if (/^[a-z][a-z0-9]{0,62}$/.test(value) && !reserved.includes(value)) {
        postgres[key] = value;
        return `${what} ${value} kept (postgres.${key})`;
      }
      const why = reserved.includes(value) ? `${value} is a role or database of the platform itself` : 'the platform allows lower-case letters and digits only (it names Kubernetes objects and roles after it)';
      add('flagged', service.name, `${what} ${value} is not kept: ${why}; the platform uses ${fallback}, and the restore Job loads the dump into it (owner: the app role)`, `postgres.${key}`);
      return `${what} ${fallback} (not ${value})`;
    };
    const user = env.get('POSTGRES_USER');
    const db = env.get('POSTGRES_DB') ?? user;
    const dbText = keep(db?.text, 'database', 'database', 'app');
    const userText = keep(user?.text, 'app role', 'appUser', 'app');
    add('data', service.name, `→ the platform's Postgres (Patroni, PgBouncer in front, backups, PITR): ${majorText}; ${dbText}; ${userText}; POSTGRES_PASSWORD is not carried: the platform generates the role's password (Secret postgres-app) and gives the apps DATABASE_URL`);
    for (const [name] of env) if (!['POSTGRES_USER', 'POSTGRES_DB', 'POSTGRES_PASSWORD'].includes(name)) add('flagged', service.name, `environment ${name} is not mapped (the platform configures Postgres from postgres.tuning)`);
    if (service.spec.command !== undefined) add('flagged', service.name, `command ${JSON.stringify(service.spec.command)} is not mapped: server settings live under postgres.tuning (maxConnections, sharedBuffers, workMem, ...)`);
    for (const v of volumeList(service.spec.volumes)) {
      if (/\/var\/lib\/postgresql/.test(v.target)) add('data', service.name, `volume ${v.source ?? '(anonymous)'}:${v.target}: the data moves by dump and restore (README "Moving from docker-compose")`);
      else if (/docker-entrypoint-initdb/.test(v.target)) add('flagged', service.name, `volume ${v.source}:${v.target} runs init scripts on a new server: the platform creates the database and role itself; run other SQL as a migration`);
      else add('flagged', service.name, `volume ${v.source}:${v.target} is not mapped (backups: the platform's scheduled dumps to B2)`);
    }
    if (service.spec.shm_size !== undefined) add('data', service.name, `shm_size ${service.spec.shm_size}: not needed, Patroni's pod sizes shared memory from postgres.tuning`);
    reportUnhandled(service, handled, add);
  }
  if (byKind('postgres').length > 1) add('flagged', byKind('postgres').map((s) => s.name).join(', '), 'several Postgres servers: the platform runs one; their databases must become one (or move the others by hand)');

  for (const service of byKind('redis')) {
    const handled = new Set(['image', 'environment', 'volumes', 'restart', 'ports', 'expose', 'container_name', 'hostname', 'networks', 'healthcheck', 'command', 'deploy', 'logging', 'labels', 'depends_on']);
    const command = splitCommand(service.spec.command) ?? [];
    const extra = command.includes('--requirepass') ? '; its --requirepass is not carried: the platform generates the password (ACL user app, Secret redis-auth)' : '';
    add('data', service.name, `→ the platform's Redis (${IMAGES.redis}, AOF every second, ACL user app): apps get REDIS_URL and REDIS_PASSWORD${extra}; its data is not moved (cache, sessions and queues are rebuilt)`);
    const maxmemory = command.indexOf('--maxmemory');
    if (maxmemory >= 0) add('flagged', service.name, `--maxmemory ${command[maxmemory + 1]}: the platform sizes Redis from the node (redis.maxmemory); set it there if it must differ`, 'redis.maxmemory');
    reportUnhandled(service, handled, add);
  }
  for (const service of byKind('minio')) {
    const handled = new Set(['image', 'environment', 'volumes', 'restart', 'ports', 'expose', 'container_name', 'hostname', 'networks', 'healthcheck', 'command', 'deploy', 'logging', 'labels', 'depends_on']);
    add('data', service.name, `→ the platform's MinIO (${IMAGES.minio}): buckets under minio.buckets, one key pair per app (minio.appAccess); MINIO_ROOT_* are generated (Secret minio-root); files move with the import Job (README "Moving from docker-compose")`);
    reportUnhandled(service, handled, add);
  }
  for (const service of byKind('provided')) {
    const role = roles.get(service.name) as Extract<ServiceRole, { kind: 'provided' }>;
    add('provided', service.name, `${service.spec.image} (${role.what}) is left out: the platform runs ${role.by}`);
    if (role.by.startsWith('error tracking')) glitchtip = true;
    for (const [envName] of service.environment) add('flagged', service.name, `environment ${envName} is not carried over (the platform configures its own ${role.what})`);
    if (service.spec.command !== undefined || service.spec.entrypoint !== undefined) add('provided', service.name, `its command is not needed: the platform runs its own ${role.what}`);
    for (const v of volumeList(service.spec.volumes)) {
      if (v.source && !v.named && CONFIG_FILE.test(v.source)) add('flagged', service.name, `its configuration ${v.source} is not read: ${/nginx|caddy|traefik/i.test(v.source) ? 'routes become apps.<app>.hosts and paths (a Caddyfile can be imported with --caddyfile)' : 'the platform\'s own configuration replaces it (scrape targets: apps.<app>.metricsPort; dashboards: Grafana\'s platform dashboards)'}`);
      else if (v.source && !v.named && !/\/usr\/share\/nginx\/html|\/srv|\/var\/www/.test(v.target)) add('flagged', service.name, `volume ${v.source}:${v.target} is not carried over`);
      else if (v.named) add('provided', service.name, `volume ${v.source ?? '(anonymous)'}:${v.target}: its data stays behind (the platform keeps its own)`);
      if (/\/usr\/share\/nginx\/html|\/srv|\/var\/www/.test(v.target) && v.source && !v.named) {
        add('todo', service.name, `it also serves static files from ${v.source} (${v.target}): build them into an image (a static web server, listening on a port above 1024 as a non-root user), then add it as an app, e.g. apps.<name>: { image, kind: web, port: 8080, hosts: ["{domain}"], healthPath: / }`, 'apps');
      }
    }
  }
  for (const service of byKind('dev-tool')) add('flagged', service.name, `${service.spec.image} is a development tool and is left out: reach the data services with kubectl port-forward (README "Data services"), and keep such tools off production`);
  for (const service of byKind('unsupported-data')) add('flagged', service.name, `${service.spec.image} is ${(roles.get(service.name) as any).what}: it is not imported; run it beside the platform or move its data to Postgres, Redis or MinIO`);

  if (glitchtip) add('provided', 'glitchtip', 'glitchtip.enabled: true is written (the stack ran it); an app that reports errors sets sentry: true and gets SENTRY_DSN, and secrets.app.glitchtip-dsn then holds its project\'s key');

  // --- Caddyfile: which service serves which host and path ---
  const routesOf = new Map<string, { host: string; prefix: string; strip: boolean; port?: number; site: CaddySite }[]>();
  if (caddy) {
    if (caddy.email) {
      const email = interpolate(caddy.email, vars);
      if (email.unresolved.length === 0) doc.edge = { ...doc.edge, acmeEmail: email.text };
      else add('todo', 'Caddyfile email', `the ACME e-mail comes from \${${email.unresolved[0]}}: pass --email <address> (edge.acmeEmail)`, 'edge.acmeEmail');
    }
    for (const g of caddy.globalOther) add('flagged', `Caddyfile line ${g.line}`, `global option "${g.text}" is not mapped`);
    for (const site of caddy.sites) {
      const hosts = site.hosts.map((h) => hostFor(h, vars, domain, add));
      for (const route of site.routes) {
        const [service, port] = route.upstream.split(':');
        const list = routesOf.get(service) ?? [];
        for (const host of hosts) list.push({ host, prefix: route.prefix, strip: route.strip, port: port ? Number(port) : undefined, site });
        routesOf.set(service, list);
        if (!project.services.has(service)) add('flagged', `Caddyfile line ${route.line}`, `reverse_proxy ${route.upstream} names no compose service: that route is not imported`);
      }
      for (const o of site.other) {
        const known: Record<string, string> = {
          encode: 'the edge compresses every app route (Traefik compress middleware)',
          log: 'access logs: Traefik logs every request and Loki keeps them',
          tls: 'certificates: cert-manager (edge.issuer)',
        };
        if (known[o.directive]) add('provided', `Caddyfile line ${o.line}`, `${o.text}: ${known[o.directive]}`);
        else add('flagged', `Caddyfile line ${o.line}`, `"${o.text}" is not mapped`);
      }
    }
  }

  // --- apps ---
  const appServices = byKind('app');
  const siteSpecs = new Map<CaddySite, Record<string, unknown>>();
  const webNames = appServices.filter((s) => routesOf.has(s.name) || publishedPorts(s, vars).length > 0 || traefikRule(s) !== undefined).map((s) => s.name);
  const rootCandidate = webNames.find((n) => /^(web|frontend|front|app|site|www|ui|client|spa)$/.test(n)) ?? (webNames.length === 1 ? webNames[0] : undefined);
  for (const service of appServices) {
    const name = k8sName(service.name);
    const at = `apps.${name}`;
    const handled = new Set<string>();
    const handle = (...keys: string[]) => keys.forEach((k) => handled.add(k));
    const app: Record<string, any> = {};
    const summary: string[] = [];

    // image
    handle('image', 'build', 'pull_policy');
    const given = options.images?.get(service.name);
    const composeImage = service.spec.image === undefined ? undefined : interpolate(String(service.spec.image), vars).text;
    if (given !== undefined) {
      app.image = given;
      summary.push(`image ${given} (--image)`);
    } else if (composeImage !== undefined && isPinnedImage(composeImage)) {
      app.image = composeImage;
      summary.push(`image ${composeImage}`);
    } else {
      app.image = `ghcr.io/example/${name}:0.0.0`;
      const why = composeImage === undefined
        ? `it is built from ${buildContext(service.spec.build)} (build:) and has no image`
        : `its image ${composeImage} has no pinned tag (${imageTag(composeImage) ?? 'none'})`;
      add('todo', service.name, `${why}: build and push it, then run again with --image ${service.name}=<registry>/<name>:<tag> (the file holds a placeholder the production synth refuses)`, `${at}.image`);
    }
    const buildArgs = isMap(service.spec.build) ? argsOf(service.spec.build.args) : [];
    for (const [arg, raw] of buildArgs) add('flagged', service.name, `build arg ${arg}=${raw ?? ''} is baked in when you build the image, not set at run time (with --domain it is ${interpolate(raw ?? '', vars).text})`);

    // routes, port, kind
    const routes = routesOf.get(service.name) ?? [];
    const traefik = traefikRule(service);
    handle('ports', 'expose');
    const published = publishedPorts(service, vars);
    const exposed = (Array.isArray(service.spec.expose) ? service.spec.expose : []).map((p: unknown) => Number(String(p).split('/')[0])).filter((p: number) => p > 0);
    const health = healthOf(service, vars);
    const port = routes.find((r) => r.port)?.port ?? traefik?.port ?? published[0]?.target ?? exposed[0] ?? health.port;
    const isWeb = routes.length > 0 || published.length > 0 || traefik !== undefined;
    app.kind = isWeb ? 'web' : 'worker';
    app.port = port ?? 8080;
    if (port === undefined) add('flagged', service.name, `no port found (no Caddyfile route, ports, expose or healthcheck URL): port 8080 is written; a worker without HTTP uses healthCommand instead`, `${at}.port`);
    if (published.length > 1 || new Set(routes.map((r) => r.port).filter(Boolean)).size > 1) add('flagged', service.name, `several ports (${published.map((p) => p.target).join(', ')}): the platform routes one per app (apps.${name}.port: ${app.port}); a second one needs its own app`);
    for (const p of published) if (p.published !== undefined && isWeb) summary.push(`port ${p.target} (published ${p.published} on the host: the edge serves it on 443 instead)`);
    if (isWeb) {
      if (routes.length > 0) {
        app.hosts = [...new Set(routes.map((r) => r.host))];
        const prefixes = [...new Set(routes.map((r) => r.prefix))];
        app.paths = prefixes;
        if (routes.some((r) => r.strip)) app.stripPrefix = true;
        if (routes.some((r) => r.strip) && routes.some((r) => !r.strip && r.prefix !== '/')) add('flagged', service.name, 'some of its Caddyfile routes strip their prefix and some do not: the platform strips all of this app\'s prefixes (stripPrefix)', `${at}.stripPrefix`);
        summary.push(`serves ${app.hosts.map((h: string) => prefixes.map((p) => `${h}${p}`).join(', ')).join(', ')}${app.stripPrefix ? ' (prefix stripped, as handle_path did)' : ''}`);
        const site = routes[0].site;
        if (!siteSpecs.has(site)) siteSpecs.set(site, mapSiteAuthAndHeaders(site, caddy!.sites.indexOf(site), appSecrets, doc, add));
        Object.assign(app, siteSpecs.get(site));
      } else if (traefik !== undefined) {
        app.hosts = traefik.hosts.length > 0 ? traefik.hosts.map((h) => hostFor(h, vars, domain, add)) : [name === rootCandidate ? '{domain}' : `${name}.{domain}`];
        if (traefik.prefix) app.paths = [traefik.prefix];
        summary.push(`serves ${app.hosts.join(', ')}${traefik.prefix ? traefik.prefix : ''} (from its Traefik labels)`);
      } else {
        app.hosts = [name === rootCandidate ? '{domain}' : `${name}.{domain}`];
        add('todo', service.name, `no proxy route names it, so its host is a guess: ${app.hosts[0]} (it published port ${published[0]?.published ?? published[0]?.target}); set apps.${name}.hosts (and paths) to where it is served`, `${at}.hosts`);
      }
    }

    // command
    handle('command', 'entrypoint', 'working_dir', 'user');
    const entrypoint = splitCommand(interpolateDeep(service.spec.entrypoint, vars));
    const command = splitCommand(interpolateDeep(service.spec.command, vars));
    if (entrypoint !== undefined) app.command = entrypoint;
    if (command !== undefined) app.args = command;
    if (entrypoint || command) summary.push(`${entrypoint ? `command (entrypoint) ${JSON.stringify(entrypoint)}` : ''}${entrypoint && command ? ', ' : ''}${command ? `args (command) ${JSON.stringify(command)}` : ''}`);
    const migration = migrationIn([...(entrypoint ?? []), ...(command ?? [])]);
    if (migration) add('todo', service.name, `its command runs a migration (${migration.join(' ')}): the platform runs it as a PreSync Job before every rollout, after a dump; set apps.${name}.migration: { command: ${JSON.stringify(migration)} } and remove it from the command`, `${at}.migration`);
    if (service.spec.working_dir !== undefined) add('flagged', service.name, `working_dir ${service.spec.working_dir} is not mapped: set WORKDIR in the image`);
    if (service.spec.user !== undefined) add('flagged', service.name, `user ${service.spec.user} is not kept: every app runs as uid 10001 with a read-only root file system (Pod Security "restricted"); the image must allow that`);

    // environment
    handle('environment', 'env_file');
    const env: Record<string, string> = {};
    const secretEnv: Record<string, { secret: string; key: string }> = {};
    const secretName = `${name}-secrets`;
    const toSecret = (envName: string, why: string) => {
      const key = kebab(envName);
      secretEnv[envName] = { secret: secretName, key };
      const declared = appSecrets[secretName] ?? { keys: [], mode: 'existing' as const };
      if (!declared.keys.includes(key)) declared.keys.push(key);
      appSecrets[secretName] = declared;
      add('secret', service.name, `${envName} → Secret ${secretName}, key ${key} (${why})`, `secrets.app.${secretName}`);
    };
    const usesBucket: string[] = [];
    for (const [envName, entry] of service.environment) {
      if (entry.raw === undefined) {
        toSecret(envName, 'its value came from the shell that ran compose');
        continue;
      }
      const value = interpolate(entry.raw, vars);
      const bound = PLATFORM_ENV[envName];
      if (bound) {
        const has = bound === 'postgres' ? postgresHosts.size > 0 || looksLike(entry.raw, 'postgres') : bound === 'redis' ? redisHosts.size > 0 : bound === 'minio' ? true : glitchtip;
        const platformNote = bound === 'glitchtip' ? 'the platform sets it when glitchtip.enabled and the app sets sentry: true' : 'the platform sets it';
        if (envName === 'S3_BUCKET' && value.unresolved.length === 0) usesBucket.push(value.text);
        if (bound === 'postgres' && /^sqlite/i.test(value.text)) add('flagged', service.name, `${envName} was ${value.text} (SQLite in a local file): the platform gives a Postgres URL; the app must use Postgres`);
        else add('app', service.name, `${envName} → bound to the platform's ${bound} (${platformNote}${has ? '' : `; the stack ran no ${bound}`})${bound === 'postgres' ? `: postgresql://<app role>:$(DB_PASSWORD)@${pgbouncerHost}:6432/<database>` : ''}`);
        if (bound === 'glitchtip') app.sentry = true;
        continue;
      }
      const alias = dataAlias(envName, value.text, { postgresHosts, redisHosts, minioHosts });
      if (alias) {
        if (alias.service === 'minio' && alias.bucket) usesBucket.push(alias.bucket);
        if (alias.secret) {
          secretEnv[envName] = alias.secret(name);
          add('app', service.name, `${envName} → ${alias.text}`);
        } else if (alias.value !== undefined) {
          env[envName] = alias.value === '$(DATABASE_URL)' || alias.value === '$(REDIS_URL)' || alias.value === '$(S3_ENDPOINT)' ? alias.value : alias.value.replace(/\{data\}/g, dataNs);
          add('app', service.name, `${envName} → ${alias.text}`);
        }
        continue;
      }
      if (value.invalid.length > 0) {
        toSecret(envName, `its value ${value.invalid.join(' ')} is not Compose interpolation, so its value is unknown`);
      } else if (value.unresolved.length > 0) {
        toSecret(envName, `its value comes from \${${value.unresolved.join('}, ${')}}`);
      } else if (looksLikeCredential(envName)) {
        toSecret(envName, 'a credential: its value in the compose file is not copied into git; put it (or a new one) into the Secret');
      } else {
        env[envName] = value.text.replace(/\$\(/g, '$$$$(');
        if (value.defaulted.length > 0) add('app', service.name, `${envName} = ${JSON.stringify(value.text)} (the default of \${${value.defaulted.join('}, ${')}}; pass --var to give another)`);
      }
    }
    for (const file of envFiles(service.spec.env_file)) {
      const full = path.resolve(path.dirname(service.files[0]), file.path);
      if (!fs.existsSync(full)) {
        add(file.required ? 'todo' : 'flagged', service.name, `env_file ${file.path} is not here (${full}): its variables are not imported; put the file beside the compose file and run again (only its names are read, never its values), or add them to secrets.app.${secretName}`, `secrets.app.${secretName}`);
        continue;
      }
      for (const envName of envFileNames(fs.readFileSync(full, 'utf8'))) {
        if (PLATFORM_ENV[envName]) {
          add('app', service.name, `${envName} (env_file ${file.path}) → bound to the platform's ${PLATFORM_ENV[envName]}`);
          continue;
        }
        if (!(envName in env) && !(envName in secretEnv)) toSecret(envName, `from env_file ${file.path}: its value is not read`);
      }
    }
    if (Object.keys(env).length > 0) app.env = env;
    if (Object.keys(secretEnv).length > 0) app.secretEnv = secretEnv;

    // healthcheck
    handle('healthcheck');
    if (health.path !== undefined) {
      app.healthPath = health.path;
      summary.push(`readiness GET ${health.path} (its healthcheck ran ${health.tool})`);
      if (health.port !== undefined && health.port !== app.port) add('flagged', service.name, `its healthcheck calls port ${health.port} but it serves ${app.port}: the readiness probe calls ${app.port}`);
    } else if (health.command !== undefined) {
      app.healthCommand = health.command;
      app.healthPath = '/';
      summary.push(`readiness and liveness run ${JSON.stringify(health.command)}`);
    } else if (isWeb) {
      app.healthPath = '/';
      add('todo', service.name, `no healthcheck: readiness calls GET / on port ${app.port}; set apps.${name}.healthPath to a path that answers 200 when the app can serve`, `${at}.healthPath`);
    } else {
      app.healthPath = '/';
      app.healthCommand = ['sh', '-c', 'kill -0 1'];
      add('todo', service.name, `a worker without healthcheck: its probe only checks that the process runs; set apps.${name}.healthCommand to a real check`, `${at}.healthCommand`);
    }
    if (health.timing) app.probes = health.timing;

    // replicas and resources
    handle('deploy', 'mem_limit', 'mem_reservation', 'cpus', 'cpu_shares', 'scale');
    const deploy = isMap(service.spec.deploy) ? service.spec.deploy : {};
    const count = Number(deploy.replicas ?? service.spec.scale ?? 1);
    app.replicas = { min: count, max: count };
    const resources = resourcesOf(service, app.kind === 'web' && isStaticFrontend(service), add);
    app.resources = resources.value;
    summary.push(`${count} replica(s), ${resources.text}`);

    // depends_on, restart and the other process settings
    handle('depends_on', 'restart', 'container_name', 'hostname', 'networks', 'logging', 'stop_grace_period', 'init', 'tty', 'stdin_open', 'labels', 'profiles');
    const deps = dependsOn(service.spec.depends_on);
    if (deps.length > 0) summary.push(`depends_on ${deps.join(', ')}: no start order on the platform; the readiness probe keeps it out of traffic until it can serve, and Kubernetes restarts it while a dependency starts`);
    if (service.spec.stop_grace_period !== undefined) {
      const seconds = composeSeconds(service.spec.stop_grace_period);
      if (seconds !== undefined && seconds >= 1) app.shutdownSeconds = Math.round(seconds);
    }
    if (isMap(service.spec.labels) || Array.isArray(service.spec.labels)) {
      if (!traefik) add('flagged', service.name, 'labels are not mapped');
    }

    // volumes
    handle('volumes', 'tmpfs', 'read_only');
    for (const v of volumeList(service.spec.volumes)) {
      const where = `${v.source ?? '(anonymous)'}:${v.target}`;
      if (v.source && /docker\.sock/.test(v.source)) add('flagged', service.name, `volume ${where}: no pod gets the Docker socket on the platform`);
      else if (UPLOADS.test(v.target) || (v.source && UPLOADS.test(v.source))) {
        const bucket = bucketName(v.source && !v.named ? v.source : v.target, v.target);
        if (!buckets.some((b) => b.name === bucket)) buckets.push({ name: bucket, access: 'private', versioning: true });
        usesBucket.push(bucket);
        add('app', service.name, `volume ${where} → MinIO bucket "${bucket}" (private, versioned, minio.appAccess.${name}): the app gets S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY and S3_SECRET_KEY and must write files there, not to ${v.target} (its root file system is read-only); existing files move with the file import Job (README "Moving from docker-compose")`);
      } else if (v.source && !v.named && CODE_TARGET.test(v.target)) add('flagged', service.name, `volume ${where} mounts source code for development: left out, the image carries the code`);
      else if (v.source && !v.named && CONFIG_FILE.test(v.source)) add('flagged', service.name, `volume ${where} is a configuration file: bake it into the image (apps mount no files here) or pass its settings as env`);
      else add('flagged', service.name, `volume ${where} is not kept: app pods have a read-only root and /tmp only; keep durable data in Postgres or MinIO`);
    }
    if (service.spec.tmpfs !== undefined) summary.push('tmpfs: /tmp is an emptyDir (256Mi)');

    // S3 access
    const wantsS3 = usesBucket.length > 0 || [...service.environment.keys()].some((k) => PLATFORM_ENV[k] === 'minio');
    if (wantsS3) {
      for (const b of usesBucket) if (!buckets.some((x) => x.name === b)) buckets.push({ name: b, access: 'private', versioning: true });
      const own = [...new Set(usesBucket)];
      if (own.length === 0) {
        const bucket = bucketName(name, name);
        buckets.push({ name: bucket, access: 'private', versioning: true });
        own.push(bucket);
        add('todo', service.name, `it uses S3 but names no bucket: bucket "${bucket}" is written; rename it to yours (minio.buckets, minio.appAccess.${name})`, 'minio.buckets');
      }
      appAccess[name] = { buckets: own };
    }

    reportUnhandled(service, handled, add);
    apps[name] = app;
    add('app', service.name, `→ apps.${name} (${app.kind}${isWeb ? `, port ${app.port}` : ''}): ${summary.join('; ')}`, at);
  }

  for (const service of project.services.values()) {
    if (service.extendsFrom) add('flagged', service.name, `extends ${service.extendsFrom}: its fields were merged in as Compose does (check the result)`);
  }
  for (const other of project.otherTopLevel) {
    const note: Record<string, string> = {
      networks: 'networks: the platform\'s NetworkPolicies allow exactly the flows each app needs (default deny)',
      secrets: 'secrets: declare them under secrets.app and read them with secretEnv',
      configs: 'configs: bake them into the image',
    };
    add(other.key === 'networks' || other.key.startsWith('x-') ? 'provided' : 'flagged', other.file, note[other.key] ?? `top-level ${other.key} is not mapped`);
  }
  for (const note of project.notes) add('flagged', 'compose', note);

  // --- the document ---
  if (domain !== undefined) doc.domain = domain;
  doc.apps = apps;
  if (Object.keys(postgres).length > 0) doc.postgres = postgres;
  doc.minio = { buckets, appAccess };
  if (glitchtip) doc.glitchtip = { enabled: true };
  if (Object.keys(appSecrets).length > 0) doc.secrets = { app: appSecrets };
  const extraHosts = [...new Set(Object.values(apps).filter(Boolean).flatMap((a: any) => a.hosts ?? []))].filter((h) => domain !== undefined && !h.includes('{domain}') && h !== domain && !h.endsWith(`.${domain}`));
  if (extraHosts.length > 0) doc.extraHosts = extraHosts;
  if (appServices.length === 0) add('todo', 'apps', 'no app service was found (only services the platform runs): add your apps under apps (image, kind, port, hosts, healthPath, replicas, resources)', 'apps');
  return { doc, report, roles };
}

function reportUnhandled(service: ComposeService, handled: Set<string>, add: (s: ReportSection, subject: string, text: string) => void): void {
  for (const key of Object.keys(service.spec)) {
    if (key === 'extends' || handled.has(key)) continue;
    add('flagged', service.name, `${key}: ${JSON.stringify(service.spec[key])} is not mapped`);
  }
}

function envValues(service: ComposeService, vars: ReadonlyMap<string, string>) {
  const out = new Map<string, { text: string; unresolved: string[] }>();
  for (const [name, entry] of service.environment) {
    if (entry.raw === undefined) continue;
    const v = interpolate(entry.raw, vars);
    out.set(name, { text: v.unresolved.length > 0 || v.invalid.length > 0 ? '' : v.text, unresolved: v.unresolved });
  }
  return out;
}

function networkAliases(networks: unknown): string[] {
  if (!isMap(networks)) return [];
  return Object.values(networks).flatMap((n) => (isMap(n) && Array.isArray(n.aliases) ? n.aliases.map(String) : []));
}

function interpolateDeep(value: unknown, vars: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') return interpolate(value, vars).text;
  if (Array.isArray(value)) return value.map((v) => interpolateDeep(v, vars));
  return value;
}

function buildContext(build: unknown): string {
  if (typeof build === 'string') return build;
  if (isMap(build)) return String(build.context ?? '.');
  return '.';
}

function argsOf(value: unknown): [string, string | undefined][] {
  if (Array.isArray(value)) return value.map((v) => { const t = String(v); const eq = t.indexOf('='); return eq < 0 ? [t, undefined] : [t.slice(0, eq), t.slice(eq + 1)]; });
  if (isMap(value)) return Object.entries(value).map(([k, v]) => [k, v === null ? undefined : String(v)]);
  return [];
}

/** `ports:` in short (`[ip:][published:]target[/proto]`) and long (`{ target, published }`) syntax. */
function publishedPorts(service: ComposeService, vars: ReadonlyMap<string, string>): { target: number; published?: string }[] {
  const ports = Array.isArray(service.spec.ports) ? service.spec.ports : [];
  return ports.flatMap((p: unknown) => {
    if (isMap(p)) return p.target ? [{ target: Number(p.target), published: p.published === undefined ? undefined : String(p.published) }] : [];
    const text = interpolate(String(p), vars).text.split('/')[0];
    const parts = text.split(':');
    const target = Number(parts[parts.length - 1].split('-')[0]);
    return Number.isInteger(target) && target > 0 ? [{ target, published: parts.length > 1 ? parts[parts.length - 2] : undefined }] : [];
  });
}

interface Health {
  path?: string;
  port?: number;
  tool?: string;
  command?: string[];
  timing?: Record<string, number>;
}

/** A healthcheck: an HTTP GET by curl or wget → its path; anything else → the command. */
function healthOf(service: ComposeService, vars: ReadonlyMap<string, string>): Health {
  const hc = service.spec.healthcheck;
  if (!isMap(hc) || hc.disable === true) return {};
  let test: string[] | undefined;
  if (Array.isArray(hc.test)) test = hc.test.map((t: unknown) => interpolate(String(t), vars).text);
  else if (typeof hc.test === 'string') test = ['CMD-SHELL', interpolate(hc.test, vars).text];
  if (!test || test[0] === 'NONE') return {};
  const words = test[0] === 'CMD' ? test.slice(1) : test[0] === 'CMD-SHELL' ? splitCommand(test.slice(1).join(' ')) ?? [] : test;
  const timing: Record<string, number> = {};
  const interval = composeSeconds(hc.interval);
  const timeout = composeSeconds(hc.timeout);
  const start = composeSeconds(hc.start_period);
  if (interval !== undefined && interval >= 1) timing.periodSeconds = Math.min(300, Math.round(interval));
  if (timeout !== undefined && timeout >= 1) timing.timeoutSeconds = Math.min(60, Math.round(timeout));
  if (typeof hc.retries === 'number' && hc.retries >= 1) timing.failureThreshold = Math.min(20, hc.retries);
  if (start !== undefined && start >= 1) timing.startupSeconds = Math.min(1800, Math.round(start));
  const result: Health = Object.keys(timing).length > 0 ? { timing } : {};
  const tool = words.find((w) => /(^|\/)(curl|wget)$/.test(w));
  const url = words.map((w) => /^(https?):\/\/(localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::(\d+))?(\/[^\s'"|;&]*)?/.exec(w)).find(Boolean);
  if (tool && url && url[1] === 'http') return { ...result, path: url[4] ?? '/', port: url[3] ? Number(url[3]) : 80, tool: tool.split('/').pop() };
  const command = test[0] === 'CMD' ? test.slice(1) : ['sh', '-c', test.slice(test[0] === 'CMD-SHELL' ? 1 : 0).join(' ')];
  return { ...result, command };
}

/** deploy.resources (and the v2 keys mem_limit, mem_reservation, cpus) → requests and memory limit. */
function resourcesOf(service: ComposeService, light: boolean, add: (s: ReportSection, subject: string, text: string, key?: string) => void) {
  const deploy = isMap(service.spec.deploy) ? service.spec.deploy : {};
  const r = isMap(deploy.resources) ? deploy.resources : {};
  const limits = isMap(r.limits) ? r.limits : {};
  const reservations = isMap(r.reservations) ? r.reservations : {};
  const name = k8sName(service.name);
  const limitMemory = composeBytes(limits.memory ?? service.spec.mem_limit);
  const requestMemory = composeBytes(reservations.memory ?? service.spec.mem_reservation);
  const limitCpu = limits.cpus ?? service.spec.cpus;
  const requestCpu = reservations.cpus;
  const guess = light ? { cpu: '10m', memory: 64 * 2 ** 20, limit: 128 * 2 ** 20 } : { cpu: '100m', memory: 256 * 2 ** 20, limit: 512 * 2 ** 20 };
  const memory = requestMemory ?? (limitMemory !== undefined ? Math.min(limitMemory, guess.memory) : guess.memory);
  const limit = limitMemory ?? Math.max(guess.limit, memory);
  const cpu = requestCpu !== undefined ? cpuQuantity(requestCpu) : guess.cpu;
  const value: Record<string, any> = { requests: { cpu, memory: mebi(memory) }, limits: { memory: mebi(limit) } };
  if (limitCpu !== undefined) value.limits.cpu = cpuQuantity(limitCpu);
  const given = [limitMemory !== undefined && 'memory limit', requestMemory !== undefined && 'memory reservation', requestCpu !== undefined && 'CPU reservation', limitCpu !== undefined && 'CPU limit'].filter(Boolean);
  if (given.length < 3) {
    add('todo', service.name, `resources partly guessed (${given.length > 0 ? `from its ${given.join(', ')}` : 'the stack sets none'}): requests ${value.requests.cpu} CPU / ${value.requests.memory}, memory limit ${value.limits.memory}; measure with docker stats and set apps.${name}.resources`, `apps.${name}.resources`);
  }
  if (limitCpu !== undefined) add('flagged', service.name, `CPU limit ${limitCpu} kept (apps.${name}.resources.limits.cpu): the platform leaves CPU limits out elsewhere, since throttling hurts latency; remove it unless you want the cap`);
  return { value, text: `requests ${value.requests.cpu} CPU / ${value.requests.memory}, limit ${value.limits.memory}${value.limits.cpu ? ` and ${value.limits.cpu} CPU` : ''}` };
}

function cpuQuantity(value: unknown): string {
  const n = Number(value);
  return Number.isFinite(n) ? `${Math.max(1, Math.round(n * 1000))}m` : String(value);
}

function isStaticFrontend(service: ComposeService): boolean {
  return /^(frontend|front|web|spa|ui|client|site|www)$/.test(service.name) || /nginx|caddy|httpd|serve/.test(String(service.spec.image ?? ''));
}

interface VolumeMount {
  readonly source?: string;
  readonly target: string;
  /** A named volume (not a host path). */
  readonly named: boolean;
}

function volumeList(value: unknown): VolumeMount[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((v): VolumeMount[] => {
    if (isMap(v)) return v.target ? [{ source: v.source, target: String(v.target), named: v.type === 'volume' }] : [];
    const parts = String(v).split(':');
    if (parts.length === 1) return [{ target: parts[0], named: true }];
    const source = parts[0];
    return [{ source, target: parts[1], named: !/^[./~]/.test(source) }];
  });
}

function bucketName(source: string, fallback: string): string {
  const base = (path.basename(source.replace(/\/+$/, '')) || path.basename(fallback)).toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '');
  const name = base.length >= 3 ? base : `${base || 'files'}-files`;
  return isS3BucketName(name) ? name : 'uploads';
}

function envFiles(value: unknown): { path: string; required: boolean }[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((f) => (isMap(f) ? { path: String(f.path), required: f.required !== false } : { path: String(f), required: true }));
}

/** The variable names of an env file (KEY=value lines); values are never read. */
export function envFileNames(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.replace(/^export\s+/, '').split(/[=:]/)[0].trim()).filter((n) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(n));
}

function looksLike(value: string, kind: 'postgres'): boolean {
  return kind === 'postgres' && /^postgres(ql)?(\+\w+)?:\/\//.test(value);
}

interface Alias {
  readonly service: 'postgres' | 'redis' | 'minio';
  readonly text: string;
  readonly value?: string;
  readonly secret?: (app: string) => { secret: string; key: string };
  readonly bucket?: string;
}

/**
 * An env var under another name than the platform's that points at a data service of the stack
 * (by URL scheme or by its host name), bound to the platform's value.
 */
function dataAlias(name: string, value: string, hosts: { postgresHosts: Set<string>; redisHosts: Set<string>; minioHosts: Set<string> }): Alias | undefined {
  const url = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/]*@)?([^:/?#]+)(?::(\d+))?(\/[^?#]*)?/i.exec(value);
  const host = url?.[2] ?? value.split(':')[0];
  const upper = name.toUpperCase();
  const pg = url ? /^postgres(ql)?(\+\w+)?$/i.test(url[1]) || (hosts.postgresHosts.has(host) && !/^redis/i.test(url[1])) : hosts.postgresHosts.has(host);
  const redis = url ? /^rediss?$/i.test(url[1]) || hosts.redisHosts.has(host) : hosts.redisHosts.has(host);
  const minio = hosts.minioHosts.has(host);
  if (url && pg) {
    const driver = /\+(\w+)/.exec(url[1])?.[1];
    return { service: 'postgres', value: '$(DATABASE_URL)', text: `$(DATABASE_URL), the platform's URL through PgBouncer${driver ? ` (scheme postgresql://: the stack wrote ${url[1]}://, so the app must add its driver "${driver}" itself, e.g. by replacing the scheme at start)` : ''}` };
  }
  if (url && redis) {
    const db = url[4]?.replace('/', '');
    return { service: 'redis', value: '$(REDIS_URL)', text: `$(REDIS_URL), the platform's Redis${db && db !== '0' ? ` (database 0: the stack used ${db}; keys of several apps share it, so prefix them)` : ''}` };
  }
  if (url && minio) return { service: 'minio', value: '$(S3_ENDPOINT)', text: '$(S3_ENDPOINT), the platform\'s MinIO' };
  if (!url && (pg || redis || minio)) {
    const target = pg ? 'pgbouncer.{data}.svc.cluster.local' : redis ? 'redis.{data}.svc.cluster.local' : 'minio.{data}.svc.cluster.local';
    const port = pg ? '6432' : redis ? '6379' : '9000';
    const withPort = value.includes(':') ? `${target}:${port}` : target;
    return { service: pg ? 'postgres' : redis ? 'redis' : 'minio', value: withPort, text: `${withPort} (the platform's ${pg ? 'PgBouncer' : redis ? 'Redis' : 'MinIO'})` };
  }
  // Separate parts of a connection (DB_PORT, POSTGRES_USER, ...), known by name when the stack runs the service.
  if (hosts.postgresHosts.size > 0 && /^(DB|POSTGRES|PG|DATABASE)_?(PORT)$/.test(upper)) return { service: 'postgres', value: '6432', text: '6432 (PgBouncer)' };
  if (hosts.postgresHosts.size > 0 && /^(DB|POSTGRES|PG|DATABASE)_?(PASS|PASSWORD)$/.test(upper)) {
    return { service: 'postgres', secret: () => ({ secret: 'postgres-app', key: 'password' }), text: 'Secret postgres-app, key password (the app role\'s generated password; the platform declares it)' };
  }
  if (hosts.redisHosts.size > 0 && /^REDIS_?PORT$/.test(upper)) return { service: 'redis', value: '6379', text: '6379 (Redis)' };
  if (hosts.minioHosts.size > 0 || /^(AWS|S3|MINIO)_/.test(upper)) {
    if (/^(AWS_ACCESS_KEY_ID|MINIO_ACCESS_KEY|S3_ACCESS_KEY_ID|MINIO_ROOT_USER)$/.test(upper)) return { service: 'minio', secret: (app) => ({ secret: `minio-app-${app}`, key: 'access-key' }), text: 'the app\'s own MinIO access key (Secret minio-app-<app>, generated from minio.appAccess)' };
    if (/^(AWS_SECRET_ACCESS_KEY|MINIO_SECRET_KEY|S3_SECRET_ACCESS_KEY|MINIO_ROOT_PASSWORD)$/.test(upper)) return { service: 'minio', secret: (app) => ({ secret: `minio-app-${app}`, key: 'secret-key' }), text: 'the app\'s own MinIO secret key (Secret minio-app-<app>, generated from minio.appAccess)' };
    if (/^(AWS_STORAGE_BUCKET_NAME|AWS_BUCKET|S3_BUCKET_NAME|MINIO_BUCKET|BUCKET_NAME|AWS_S3_BUCKET)$/.test(upper) && isS3BucketName(value)) return { service: 'minio', value, bucket: value, text: `bucket ${value} (minio.buckets, granted to the app)` };
  }
  return undefined;
}

/** A migration step inside a start command (`alembic upgrade head && uvicorn ...`). */
function migrationIn(words: string[]): string[] | undefined {
  const text = words.join(' ');
  const patterns = [/alembic upgrade head/, /(npx )?prisma migrate deploy/, /python3? manage\.py migrate/, /(bundle exec )?rails db:migrate/, /(npx )?knex migrate:latest/, /(npx )?sequelize(-cli)? db:migrate/, /php artisan migrate( --force)?/];
  for (const p of patterns) {
    const match = p.exec(text);
    if (match) return match[0].split(' ');
  }
  return undefined;
}

/** A Traefik router rule in labels: Host(`a`) and PathPrefix(`/p`), and the service port. */
function traefikRule(service: ComposeService): { hosts: string[]; prefix?: string; port?: number } | undefined {
  const labels = Array.isArray(service.spec.labels)
    ? Object.fromEntries(service.spec.labels.map((l: unknown) => { const t = String(l); const eq = t.indexOf('='); return [t.slice(0, eq), t.slice(eq + 1)]; }))
    : isMap(service.spec.labels) ? service.spec.labels : {};
  const rule = Object.entries(labels).find(([k]) => /^traefik\.http\.routers\.[^.]+\.rule$/.test(k))?.[1];
  if (typeof rule !== 'string') return undefined;
  const hosts = [...rule.matchAll(/Host\(([^)]*)\)/g)].flatMap((m) => m[1].split(',').map((h) => h.trim().replace(/^[`'"]|[`'"]$/g, '')));
  const prefix = /PathPrefix\([`'"]([^`'"]+)[`'"]\)/.exec(rule)?.[1];
  const port = Object.entries(labels).find(([k]) => /^traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port$/.test(k))?.[1];
  return { hosts, prefix, port: port ? Number(port) : undefined };
}

/** A site address → a host of the environment (`{domain}` for the domain, `x.{domain}` under it). */
function hostFor(address: string, vars: ReadonlyMap<string, string>, domain: string | undefined, add: (s: ReportSection, subject: string, text: string, key?: string) => void): string {
  const value = interpolate(address, vars);
  if (value.unresolved.length > 0) {
    const name = value.unresolved[0];
    const sub = name.toLowerCase().replace(/_?(domain|host|hostname|url)$/, '').replace(/_/g, '-');
    const host = sub === '' ? '{domain}' : `${sub}.{domain}`;
    add('todo', `site ${address}`, `the host comes from \${${name}}: written as ${host}; pass --var ${name}=<host> for another`, 'apps');
    return host;
  }
  const host = value.text.toLowerCase();
  if (domain !== undefined && host === domain) return '{domain}';
  if (domain !== undefined && host.endsWith(`.${domain}`)) return `${host.slice(0, -domain.length - 1)}.{domain}`;
  return host;
}

/** basicauth and headers of a Caddyfile site → the app's basicAuth, headers and the edge's Referrer-Policy. */
function mapSiteAuthAndHeaders(site: CaddySite, index: number, appSecrets: Record<string, { keys: string[]; mode: 'existing' }>, doc: Record<string, any>, add: (s: ReportSection, subject: string, text: string, key?: string) => void): Record<string, unknown> {
  const spec: Record<string, unknown> = {};
  const app = `site ${site.hosts.join(', ')}`;
  if (site.basicAuth) {
    const secret = index === 0 ? 'basic-auth' : `basic-auth-${index + 1}`;
    spec.basicAuth = { secret };
    appSecrets[secret] = { keys: ['users'], mode: 'existing' };
    const whole = ['*', '/*'].includes(site.basicAuth.matcher);
    const users = site.basicAuth.users.map((u) => `${u.name}:<bcrypt hash${u.hash.startsWith('${') ? ` from ${u.hash}` : ''}>`).join(', ');
    add('secret', app, `basic auth (Caddyfile line ${site.basicAuth.line}) → Secret ${secret}, key users: htpasswd lines ${users} (Caddy's bcrypt hash works as is: "<user>:<hash>", one per line)`, `secrets.app.${secret}`);
    if (!whole) add('flagged', app, `basicauth covered ${site.basicAuth.matcher} only; on the platform it covers the whole host (every app on it)`);
  }
  const headers: Record<string, string> = {};
  for (const [rawName, value] of site.headers) {
    const name = rawName.replace(/^[+-]/, '');
    const lower = name.toLowerCase();
    const clean = value.replace(/^"|"$/g, '');
    if (rawName.startsWith('-')) add('flagged', app, `header ${rawName} (remove ${name}) is not mapped`);
    else if (lower === 'strict-transport-security') add('provided', app, `${name}: ${clean} → the edge sends HSTS max-age=31536000; includeSubDomains on every route already`);
    else if (lower === 'x-content-type-options') add('provided', app, `${name}: ${clean} → the edge sends nosniff already`);
    else if (lower === 'x-frame-options' && ['DENY', 'SAMEORIGIN'].includes(clean.toUpperCase())) headers.frameOptions = clean.toUpperCase();
    else if (lower === 'content-security-policy') headers.contentSecurityPolicy = clean;
    else if (lower === 'permissions-policy') headers.permissionsPolicy = clean;
    else if (lower === 'referrer-policy') {
      doc.edge = { ...doc.edge, referrerPolicy: clean };
      add('app', app, `Referrer-Policy ${clean} → edge.referrerPolicy (the platform sets it for every route; its default is strict-origin-when-cross-origin)`, 'edge.referrerPolicy');
    } else add('flagged', app, `header ${name}: ${clean} is not mapped (the platform sets HSTS, nosniff, frame options, Referrer-Policy, CSP and Permissions-Policy)`);
  }
  if (Object.keys(headers).length > 0) {
    spec.headers = headers;
    add('app', app, `headers ${Object.entries(headers).map(([k, v]) => `${k}=${v}`).join(', ')} → apps.<app>.headers of every app it serves`);
  }
  return spec;
}
