/**
 * Issue 31: `npm run import -- compose` turns a team's docker-compose stack into an environment.
 * The users' own files (../shared/fixtures/compose, read as they are) are imported with the values the
 * report asks for, their outside secrets sealed as a team would, and the result is held to the
 * invariants every environment meets (strict config, every Secret declared, schema validation, the
 * network matrix, the node budget). One mapping rule per test, on the fixtures and on a stack of our
 * own that no fixture covers.
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ConfigError } from '../lib/config/errors';
import { loadConfig, placeholdersOf } from '../lib/config/load';
import { renderPlatform } from '../lib/synth';
import { Platform } from '../charts/platform';
import { interpolate, loadCompose, splitCommand } from '../scripts/import-compose/compose';
import { parseCaddyfile } from '../scripts/import-compose/caddyfile';
import { importCompose } from '../scripts/import-compose/map';
import { ComposeImportResult, formatReport, importComposeCommand } from '../scripts/import-compose/main';
import { describeInvariants } from './helpers/invariants';
import { NetworkModel, workloadEndpoints } from '../lib/validation/reachability';
import { referenceDir } from '../lib/project';

const FIXTURES = path.join(referenceDir(), '..', 'fixtures', 'compose');
const SM = path.join(FIXTURES, 'smartmoney');
const MB = path.join(FIXTURES, 'mintbean');
const SEAL = path.resolve(__dirname, '..', 'build', 'scripts', 'seal.js');

/** The values the report asks a team for, as flags. */
const TEAM = (domain: string) => ['--domain', domain, '--email', `ops@${domain}`, '--repo', 'git@github.com:acme/platform.git', '--bucket', 'acme-backups', '--smtp', 'smtp.postmarkapp.com:587'];
const SMARTMONEY = [path.join(SM, 'docker-compose.prod.yml'), '--caddyfile', path.join(SM, 'Caddyfile'), '--size', '2x4', ...TEAM('money.acme.io'),
  '--image', 'backend=ghcr.io/acme/smartmoney-backend:1.0.0', '--image', 'frontend=ghcr.io/acme/smartmoney-frontend:1.0.0'];
const MINTBEAN = [...fs.readdirSync(MB).filter((f) => f.endsWith('.yml')).sort().map((f) => path.join(MB, f)), '--size', '4x8', ...TEAM('mintbean.io')];

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'import-compose-'));
const envDir = path.join(work, 'environments');

/** Seals every outside secret the environment still lacks, as `npm run seal` does for a team. */
function sealOutsideSecrets(env: string): ReturnType<typeof spawnSync> {
  const config = (() => {
    const scratch = fs.mkdtempSync(path.join(work, 'dev-'));
    const text = fs.readFileSync(path.join(envDir, `${env}.yaml`), 'utf8').replace(/^stage: production$/m, 'stage: development');
    fs.writeFileSync(path.join(scratch, `${env}.yaml`), text);
    return loadConfig(env, { environmentsDir: scratch });
  })();
  const outside = placeholdersOf(config).filter((p) => p.key.startsWith('secrets.')).map((p) => p.key.split('.'));
  const values = path.join(work, `${env}-outside.env`);
  fs.writeFileSync(values, outside.flatMap(([, scope, name]) => config.secrets[scope as 'app'][name].keys.map((k) => `${scope}.${name}.${k}=value-of-${name}-${k}`)).join('\n') + '\n');
  const { publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = path.join(work, `${env}.pem`);
  fs.writeFileSync(cert, publicKey.export({ type: 'spki', format: 'pem' }));
  return spawnSync(process.execPath, [SEAL, '--env', env, '--cert', cert, '--from', values, '--environments', envDir], { encoding: 'utf8' });
}

const imported: Record<string, ComposeImportResult> = {};
const sealed: Record<string, ReturnType<typeof spawnSync>> = {};
for (const [env, args] of [['smartmoney', SMARTMONEY], ['mintbean', MINTBEAN]] as const) {
  imported[env] = importComposeCommand([...args, '--env', env, '--environments', envDir]);
  sealed[env] = sealOutsideSecrets(env);
}
// SmartMoney's development file too (SQLite, code mounts, published dev ports), as a development environment.
imported['smartmoney-dev'] = importComposeCommand([path.join(SM, 'docker-compose.yml'), '--env', 'smartmoney-dev', '--stage', 'development', '--size', '2x4', '--domain', 'dev.money.acme.io', '--environments', envDir]);
const lines = (env: string, section?: string) => imported[env].report.filter((r) => section === undefined || r.section === section).map((r) => `${r.subject}: ${r.text}`);
const written = (env: string) => yaml.load(fs.readFileSync(path.join(envDir, `${env}.yaml`), 'utf8')) as any;

describe('GIVEN the users\' compose stacks imported with the values the report asks for, and their outside secrets sealed', () => {
  test('THEN each is a production environment with no sample value left, and the seal ran', () => {
    for (const env of ['smartmoney', 'mintbean']) {
      expect([env, sealed[env].stderr, sealed[env].status]).toEqual([env, '', 0]);
      const config = loadConfig(env, { environmentsDir: envDir });
      expect(config.stage).toBe('production');
      expect(placeholdersOf(config)).toEqual([]);
    }
  });
});

describeInvariants('GIVEN the imported stacks (synth, strict validation, network matrix, node budget)', envDir);

describe('GIVEN SmartMoney (docker-compose.prod.yml + Caddyfile, 2 vCPU / 4 GB)', () => {
  const doc = () => written('smartmoney');
  const objects = () => [...renderPlatform(new Platform(loadConfig('smartmoney', { environmentsDir: envDir })))].map(([, text]) => yaml.load(text) as any);

  test('WHEN db is postgres:16-alpine THEN it becomes the platform\'s Postgres: database and role smartmoney kept, major 16 carried, the password not', () => {
    expect(doc().postgres).toEqual({ database: 'smartmoney', appUser: 'smartmoney' });
    expect(lines('smartmoney', 'data').join('\n')).toMatch(/PostgreSQL 16 carried over/);
    expect(JSON.stringify(doc())).not.toContain('POSTGRES_PASSWORD');
  });

  test('WHEN the backend reads DATABASE_URL and SECRET_KEY from ${VAR} THEN DATABASE_URL is the platform\'s (PgBouncer) and SECRET_KEY a declared outside Secret key, no value in the file', () => {
    const backend = doc().apps.backend;
    expect(backend.env).toBeUndefined();
    expect(backend.secretEnv).toEqual({ SECRET_KEY: { secret: 'backend-secrets', key: 'secret-key' } });
    expect(doc().secrets.app['backend-secrets'].keys).toEqual(['secret-key']);
    const container = objects().find((o) => o.kind === 'Deployment' && o.metadata.name === 'backend').spec.template.spec.containers[0];
    expect(container.env.find((e: any) => e.name === 'DATABASE_URL').value).toMatch(/^postgresql:\/\/smartmoney:\$\(DB_PASSWORD\)@pgbouncer\..*:6432\/smartmoney$/);
  });

  test('WHEN the Caddyfile serves the frontend at / and the backend under handle_path /api/* THEN one host, /api stripped, basic auth on both from one Secret, its headers mapped', () => {
    const { backend, frontend } = doc().apps;
    expect([frontend.hosts, frontend.paths, frontend.stripPrefix, frontend.port]).toEqual([['{domain}'], ['/'], undefined, 3000]);
    expect([backend.hosts, backend.paths, backend.stripPrefix, backend.port]).toEqual([['{domain}'], ['/api'], true, 8000]);
    expect(backend.basicAuth).toEqual({ secret: 'basic-auth' });
    expect(frontend.basicAuth).toEqual({ secret: 'basic-auth' });
    expect(doc().secrets.app['basic-auth']).toEqual({ keys: ['users'], mode: 'existing' });
    expect(backend.headers).toEqual({ frameOptions: 'DENY' });
    expect(doc().edge.referrerPolicy).toBe('no-referrer-when-downgrade');
    expect(lines('smartmoney', 'provided').join('\n')).toMatch(/encode gzip: the edge compresses/);
    expect(lines('smartmoney', 'provided').join('\n')).toMatch(/Strict-Transport-Security.*already/);
  });

  test('WHEN the backend\'s healthcheck is curl -f http://localhost:8000/health every 30s THEN readiness GETs /health with its timing', () => {
    expect(doc().apps.backend.healthPath).toBe('/health');
    expect(doc().apps.backend.probes).toEqual({ periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 });
    expect(doc().apps.backend.healthCommand).toBeUndefined();
  });

  test('WHEN the backend mounts ./uploads THEN it gets a private MinIO bucket of that name, its own key pair without a hand-written Secret, and a note', () => {
    expect(doc().minio.buckets).toEqual([{ name: 'uploads', access: 'private', versioning: true }]);
    expect(doc().minio.appAccess.backend).toEqual({ buckets: ['uploads'] });
    expect(doc().secrets.app['minio-app-backend']).toBeUndefined();
    const env = objects().find((o) => o.kind === 'Deployment' && o.metadata.name === 'backend').spec.template.spec.containers[0].env;
    expect(env.find((e: any) => e.name === 'S3_ACCESS_KEY').valueFrom.secretKeyRef).toEqual({ name: 'minio-app-backend', key: 'access-key' });
    expect(lines('smartmoney', 'app').join('\n')).toMatch(/\.\/uploads:\/app\/uploads → MinIO bucket "uploads"/);
  });

  test('WHEN caddy runs in the stack THEN it is left out and the edge named; the db backups folder and the build arg are listed as not mapped', () => {
    expect(doc().apps.caddy).toBeUndefined();
    expect(lines('smartmoney', 'provided').join('\n')).toMatch(/caddy: caddy:2-alpine .* left out: the platform runs the edge: Traefik .* cert-manager/);
    expect(lines('smartmoney', 'flagged')).toEqual(expect.arrayContaining([expect.stringMatching(/^db: volume \.\/backups:\/backups/), expect.stringMatching(/^frontend: build arg VITE_API_URL/)]));
  });

  test('WHEN the apps declare depends_on and no resources THEN both are explained and the guessed resources are asked for', () => {
    expect(lines('smartmoney', 'app').join('\n')).toMatch(/depends_on db: no start order/);
    expect(lines('smartmoney', 'todo').join('\n')).toMatch(/backend: resources partly guessed/);
    expect(doc().apps.backend.resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '512Mi' } });
  });

  test('WHEN --image names the build: services THEN the images are written; the report names the flags a build service needs without them', () => {
    expect(doc().apps.backend.image).toBe('ghcr.io/acme/smartmoney-backend:1.0.0');
    const bare = importCompose(loadCompose([path.join(SM, 'docker-compose.prod.yml')]), undefined, { domain: 'money.acme.io' });
    expect(bare.doc.apps.backend.image).toBe('ghcr.io/example/backend:0.0.0');
    expect(bare.report.filter((r) => r.section === 'todo').map((r) => r.text).join('\n')).toMatch(/--image backend=<registry>\/<name>:<tag>/);
  });

  test('WHEN the summed requests are checked THEN the stack fits the 85 % memory budget of a 4 GB node', () => {
    expect(imported.smartmoney.fit.size).toBe('small');
    expect(imported.smartmoney.fit.memory).toBeLessThanOrEqual(0.85);
  });
});

describe('GIVEN SmartMoney\'s development compose file', () => {
  test('THEN the SQLite DATABASE_URL, the code mounts and the data folder are flagged, and the dev ports give guessed hosts to confirm', () => {
    const all = lines('smartmoney-dev').join('\n');
    expect(all).toMatch(/backend: DATABASE_URL was sqlite:\/\/\/\.\/data\/smartmoney\.db .* the app must use Postgres/);
    expect(all).toMatch(/backend: volume \.\/backend:\/app mounts source code for development/);
    expect(all).toMatch(/backend: volume \.\/data:\/app\/data is not kept/);
    expect(all).toMatch(/frontend: no proxy route names it, so its host is a guess: \{domain\}/);
    expect(written('smartmoney-dev').apps.frontend.port).toBe(5173);
  });
});

describe('GIVEN MintBean\'s operations files (GlitchTip, Loki + Promtail, Prometheus + Grafana, Uptime Kuma, nginx + certbot)', () => {
  test('THEN every service is left out with the platform\'s replacement named, and GlitchTip is turned on', () => {
    const provided = lines('mintbean', 'provided').join('\n');
    for (const [service, by] of [['glitchtip', 'error tracking'], ['loki', 'Loki'], ['promtail', 'Alloy'], ['prometheus', 'kube-prometheus-stack'], ['grafana', 'Grafana'], ['uptime-kuma', 'status page'], ['nginx', 'Traefik'], ['certbot', 'cert-manager']]) {
      expect(provided).toMatch(new RegExp(`${service}: [^\\n]* left out: the platform runs [^\\n]*${by}`));
    }
    expect(written('mintbean').glitchtip).toEqual({ enabled: true });
    expect(Object.values(written('mintbean').apps).filter(Boolean)).toEqual([]);
  });

  test('THEN what the platform does not carry is listed: the static files nginx served, config files, env of the replaced tools, and that there is no app', () => {
    const all = lines('mintbean').join('\n');
    expect(all).toMatch(/nginx: it also serves static files from \.\/frontend\/dist/);
    expect(all).toMatch(/nginx: its configuration \.\/nginx\/nginx\.conf is not read/);
    expect(all).toMatch(/grafana: environment GF_INSTALL_PLUGINS is not carried over/);
    expect(all).toMatch(/apps: no app service was found/);
    expect(all).not.toContain('changeme');
  });

  test('THEN without an app reporting errors no GlitchTip DSN Secret is required', () => {
    expect(loadConfig('mintbean', { environmentsDir: envDir }).secrets.app['glitchtip-dsn']).toBeUndefined();
  });
});

describe('GIVEN a stack no fixture has (written here: env_file, extends, Redis, MinIO, pgAdmin, a worker, limits)', () => {
  const dir = fs.mkdtempSync(path.join(work, 'unseen-'));
  fs.writeFileSync(path.join(dir, 'api.env'), '# names only are read\nSTRIPE_SECRET_KEY=sk_live_never_copied\nFEATURE_FLAGS=a,b\n');
  fs.writeFileSync(path.join(dir, 'docker-compose.yml'), `
x-common: &common
  restart: always
  environment:
    LOG_LEVEL: \${LOG_LEVEL:-info}
services:
  api:
    <<: *common
    image: registry.acme.io/shop/api:2.3.1
    env_file: [api.env]
    environment:
      LOG_LEVEL: \${LOG_LEVEL:-info}
      SQLALCHEMY_DATABASE_URI: postgresql+asyncpg://shop:pw@postgres:5432/shop
      CELERY_BROKER_URL: redis://cache:6379/1
      AWS_ENDPOINT_URL: http://objects:9000
      AWS_ACCESS_KEY_ID: minioadmin
      AWS_SECRET_ACCESS_KEY: minioadmin
      AWS_STORAGE_BUCKET_NAME: shop-media
      JWT_SECRET: literal-never-copied
      PUBLIC_URL: https://shop.acme.io
    ports: ["127.0.0.1:8080:8080"]
    healthcheck:
      test: wget -qO- http://localhost:8080/healthz || exit 1
      interval: 1m
    deploy:
      replicas: 2
      resources:
        limits: { memory: 1g, cpus: "1.5" }
        reservations: { memory: 384m, cpus: "0.25" }
    privileged: true
  worker:
    <<: *common
    image: registry.acme.io/shop/api:2.3.1
    command: celery -A shop worker --loglevel "info"
    deploy:
      replicas: 1
      resources: { reservations: { memory: 128m, cpus: "0.1" }, limits: { memory: 256m } }
    healthcheck:
      test: ["CMD", "celery", "-A", "shop", "inspect", "ping"]
  scheduler:
    extends: { service: worker }
    command: ["celery", "-A", "shop", "beat"]
  postgres:
    image: postgres:15.6
    environment:
      POSTGRES_USER: postgres
      POSTGRES_DB: shop
  cache:
    image: redis:7-alpine
    command: redis-server --requirepass secret --maxmemory 256mb
  objects:
    image: minio/minio:RELEASE.2024-01-01T00-00-00Z
    command: server /data
  pgadmin:
    image: dpage/pgadmin4:8
`);
  const result = importComposeCommand([path.join(dir, 'docker-compose.yml'), '--env', 'shop', '--domain', 'shop.acme.io', '--size', '4x16', '--stage', 'development', '--environments', path.join(work, 'shop-env')]);
  const doc = yaml.load(result.text) as any;
  const all = result.report.map((r) => `${r.subject}: ${r.text}`).join('\n');

  test('WHEN env names differ from the platform\'s THEN they are bound to its values: $(DATABASE_URL), $(REDIS_URL), $(S3_ENDPOINT), the app\'s own MinIO keys, its bucket', () => {
    expect(doc.apps.api.env).toMatchObject({ SQLALCHEMY_DATABASE_URI: '$(DATABASE_URL)', CELERY_BROKER_URL: '$(REDIS_URL)', AWS_ENDPOINT_URL: '$(S3_ENDPOINT)', AWS_STORAGE_BUCKET_NAME: 'shop-media' });
    expect(doc.apps.api.secretEnv).toMatchObject({ AWS_ACCESS_KEY_ID: { secret: 'minio-app-api', key: 'access-key' }, AWS_SECRET_ACCESS_KEY: { secret: 'minio-app-api', key: 'secret-key' } });
    expect(doc.minio.appAccess.api).toEqual({ buckets: ['shop-media'] });
    expect(all).toMatch(/driver "asyncpg"/);
    expect(all).toMatch(/the stack used 1/);
  });

  test('THEN the network matrix lets the api reach every service its aliased env names (PgBouncer, Redis, MinIO), never the Postgres primary', () => {
    const config = loadConfig('shop', { environmentsDir: path.join(work, 'shop-env') });
    const all = [...renderPlatform(new Platform(config))].map(([, text]) => yaml.load(text) as any);
    const model = new NetworkModel(all);
    const pods = workloadEndpoints(all);
    const pod = (name: string) => pods.find((p) => p.name === name && p.namespace !== undefined)!;
    for (const [target, port] of [['pgbouncer', 6432], ['redis', 6379], ['minio', 9000]] as const) expect([target, model.allows(pod('api'), pod(target), port)]).toEqual([target, true]);
    expect(model.allows(pod('api'), pod('postgres'), 5432)).toBe(false);
  });

  test('WHEN a credential is written literally or comes from an env_file THEN it becomes a Secret key and no value reaches the file', () => {
    expect(doc.apps.api.secretEnv).toMatchObject({ JWT_SECRET: { secret: 'api-secrets', key: 'jwt-secret' }, STRIPE_SECRET_KEY: { secret: 'api-secrets', key: 'stripe-secret-key' }, FEATURE_FLAGS: { secret: 'api-secrets', key: 'feature-flags' } });
    for (const value of ['literal-never-copied', 'sk_live_never_copied', 'minioadmin', 'pw@']) expect(result.text).not.toContain(value);
    expect(doc.apps.api.env.PUBLIC_URL).toBe('https://shop.acme.io');
  });

  test('WHEN a value is ${VAR:-default} THEN the default is plain env (a list or map environment alike)', () => {
    expect(doc.apps.api.env.LOG_LEVEL).toBe('info');
  });

  test('WHEN deploy sets replicas, limits and reservations THEN they become replicas, requests and limits (CPU limit kept and flagged)', () => {
    expect(doc.apps.api.replicas).toEqual({ min: 2, max: 2 });
    expect(doc.apps.api.resources).toEqual({ requests: { cpu: '250m', memory: '384Mi' }, limits: { memory: '1024Mi', cpu: '1500m' } });
    expect(all).toMatch(/CPU limit 1\.5 kept/);
  });

  test('WHEN a healthcheck is wget over HTTP THEN healthPath; WHEN it is another command THEN healthCommand; a service without ports is a worker', () => {
    expect([doc.apps.api.kind, doc.apps.api.port, doc.apps.api.healthPath, doc.apps.api.probes]).toEqual(['web', 8080, '/healthz', { periodSeconds: 60 }]);
    expect([doc.apps.worker.kind, doc.apps.worker.healthCommand]).toEqual(['worker', ['celery', '-A', 'shop', 'inspect', 'ping']]);
    expect(doc.apps.worker.args).toEqual(['celery', '-A', 'shop', 'worker', '--loglevel', 'info']);
  });

  test('WHEN a service extends another THEN the fields are merged as Compose does and the extends is reported', () => {
    expect([doc.apps.scheduler.image, doc.apps.scheduler.kind, doc.apps.scheduler.healthCommand, doc.apps.scheduler.args]).toEqual(['registry.acme.io/shop/api:2.3.1', 'worker', ['celery', '-A', 'shop', 'inspect', 'ping'], ['celery', '-A', 'shop', 'beat']]);
    expect(doc.apps.scheduler.resources.requests).toEqual({ cpu: '100m', memory: '128Mi' });
    expect(all).toMatch(/scheduler: extends worker/);
  });

  test('WHEN Postgres is 15 with user postgres THEN the platform stays on 16 and says why, and the superuser name is not taken', () => {
    expect(doc.postgres).toEqual({ database: 'shop' });
    expect(all).toMatch(/PostgreSQL 15 becomes 16/);
    expect(all).toMatch(/app role postgres is not kept: postgres is a role or database of the platform itself/);
  });

  test('WHEN Redis sets --requirepass and --maxmemory THEN the password is generated instead and maxmemory is flagged', () => {
    expect(all).toMatch(/--requirepass is not carried/);
    expect(all).toMatch(/--maxmemory 256mb/);
  });

  test('WHEN pgAdmin runs and a key is unknown THEN both are listed as not mapped', () => {
    expect(all).toMatch(/pgadmin: dpage\/pgadmin4:8 is a development tool/);
    expect(all).toMatch(/api: privileged: true is not mapped/);
  });

  test('THEN the report text names every section and the seal command', () => {
    const text = formatReport(result);
    expect(text).toMatch(/Outside Secrets/);
    expect(text).toMatch(/npm run seal -- --env shop/);
    expect(text).toMatch(/Fits its node \(large\)/);
  });
});

describe('GIVEN bad input to the importer', () => {
  const target = path.join(work, 'bad');
  const thrown = (argv: string[]) => {
    try {
      importComposeCommand(argv);
    } catch (err) {
      return err as ConfigError;
    }
    throw new Error('no error');
  };

  test('WHEN the environment file exists THEN it is kept unless --force', () => {
    fs.mkdirSync(target, { recursive: true });
    fs.writeFileSync(path.join(target, 'smartmoney.yaml'), 'domain: keep.me\n');
    const err = thrown([...SMARTMONEY, '--environments', target]);
    expect(err.message).toMatch(/already exists; fix: pass --force/);
    expect(fs.readFileSync(path.join(target, 'smartmoney.yaml'), 'utf8')).toBe('domain: keep.me\n');
  });

  test('WHEN --image is unpinned or names no service THEN it is refused before anything is written', () => {
    expect(thrown([path.join(SM, 'docker-compose.prod.yml'), '--image', 'backend=acme/backend:latest', '--environments', path.join(work, 'none')]).message).toMatch(/--image = "backend=acme\/backend:latest": is not a pinned image/);
    expect(thrown([path.join(SM, 'docker-compose.prod.yml'), '--image', 'api=acme/api:1.0.0', '--environments', path.join(work, 'none')]).message).toMatch(/names no service .* use one of backend, frontend, db, caddy/);
    expect(fs.existsSync(path.join(work, 'none'))).toBe(false);
  });
});

describe('GIVEN the compose rules themselves', () => {
  test('interpolation: $$, ${VAR}, $VAR, :- and -, :+, :? and a shell-only form reported as invalid', () => {
    const vars = new Map([['SET', 'x'], ['EMPTY', '']]);
    expect(interpolate('$${!} $SET ${SET}', vars).text).toBe('${!} x x');
    expect(interpolate('${EMPTY:-d} ${EMPTY-d} ${UNSET-d}', vars).text).toBe('d  d');
    expect(interpolate('${SET:+y}${UNSET:+y}', vars).text).toBe('y');
    expect(interpolate('${UNSET:?needed}', vars).unresolved).toEqual(['UNSET']);
    expect(interpolate('${UNSET:-${SET}}', vars).text).toBe('x');
    expect(interpolate('${DATABASE_URL#*:*@}', vars).invalid).toEqual(['${DATABASE_URL#*:*@}']);
  });

  test('commands split like Compose splits a string', () => {
    expect(splitCommand(`sh -c 'a && b' "c d"`)).toEqual(['sh', '-c', 'a && b', 'c d']);
  });

  test('a Caddyfile: the global email, site placeholders, handle and handle_path, basicauth and a header block', () => {
    const caddy = parseCaddyfile(fs.readFileSync(path.join(SM, 'Caddyfile'), 'utf8'));
    expect(caddy.email).toBe('${BACKUP_EMAIL}');
    expect(caddy.sites.map((s) => s.hosts)).toEqual([['${DOMAIN}']]);
    expect(caddy.sites[0].routes.map((r) => [r.prefix, r.strip, r.upstream])).toEqual([['/', false, 'frontend:3000'], ['/api', true, 'backend:8000']]);
    expect(caddy.sites[0].basicAuth).toMatchObject({ matcher: '/*', users: [{ name: 'admin', hash: '${ADMIN_PASSWORD_HASH}' }] });
    expect([...caddy.sites[0].headers.keys()]).toEqual(['Strict-Transport-Security', 'X-Content-Type-Options', 'X-Frame-Options', 'Referrer-Policy']);
  });
});
