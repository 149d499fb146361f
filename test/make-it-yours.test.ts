/**
 * Issue 15: a team forks the platform and makes the six everyday changes to its environment files.
 * GIVEN a copy of lib/config/environments with those changes WHEN the suite's invariants run over it
 * THEN they pass, and the compiled synth writes every environment: no test names a sample value.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ENVIRONMENTS_DIR, listEnvironments, loadConfig } from '../lib/config/load';
import { MAIN } from './helpers/bad-input';
import { describeInvariants } from './helpers/invariants';

const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'make-it-yours-'));
const environmentsDir = path.join(copy, 'environments');
fs.cpSync(ENVIRONMENTS_DIR, environmentsDir, { recursive: true });

const edit = (env: string, change: (doc: any) => void) => {
  const file = path.join(environmentsDir, `${env}.yaml`);
  const doc = (yaml.load(fs.readFileSync(file, 'utf8')) as any) ?? {};
  change(doc);
  fs.writeFileSync(file, yaml.dump(doc));
};

// 1. a staging environment; it says it is not production, so the sample images and repository it
// inherits from the defaults warn instead of failing the synth (README "Make it yours")
fs.writeFileSync(path.join(environmentsDir, 'staging.yaml'), 'stage: development\ndomain: staging.mybiz.io\npostgres: { replicas: 0 }\npgbouncer: { replicas: 1 }\n');
edit('prod', (doc) => {
  // 2. the team's domain
  doc.domain = 'mybiz.io';
  // 3. one more app
  doc.apps = { ...doc.apps, shop: { image: 'ghcr.io/acme/shop:1.0.0', kind: 'web', port: 3010, hosts: ['shop.{domain}'], healthPath: '/healthz', replicas: { min: 1, max: 2 }, resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } } } };
  // 4. two Postgres replicas, on three nodes: a replica on the primary's own node is refused by the
  // budget of its size (it doubles Postgres memory without adding availability; README "Sizes")
  doc.node = { ...doc.node, count: 3 };
  doc.postgres = { ...doc.postgres, replicas: 2 };
  // 5. no business-hours backup: only the daily one
  // 6. the real B2 bucket
  doc.backup = { ...doc.backup, schedules: [{ name: 'daily', cron: '0 3 * * *', retentionDays: 30 }], b2: { endpoint: 'https://s3.eu-central-003.backblazeb2.com', bucket: 'acme-platform-backups', prefix: 'backups' } };
});

describe('GIVEN the day-2 changes of a team that made the platform its own', () => {
  test('THEN the copy holds them (staging added, prod on mybiz.io with a shop app, two replicas, one backup schedule, its own bucket)', () => {
    expect(listEnvironments(environmentsDir)).toContain('staging');
    const prod = loadConfig('prod', { environmentsDir });
    expect(prod.domain).toBe('mybiz.io');
    expect(prod.apps.map((a) => a.name)).toContain('shop');
    expect(prod.postgres.replicas).toBe(2);
    expect(prod.backup.schedules.map((s) => s.name)).toEqual(['daily']);
    expect(prod.backup.b2.bucket).toBe('acme-platform-backups');
  });

  test('WHEN the compiled synth runs over them THEN it writes every environment', () => {
    const run = spawnSync(process.execPath, [MAIN, '--environments', environmentsDir, '--out', path.join(copy, 'dist')], { encoding: 'utf8' });
    expect(run.stderr).not.toContain('Invalid configuration');
    expect(run.status).toBe(0);
    expect(fs.readdirSync(path.join(copy, 'dist')).sort()).toEqual(listEnvironments(environmentsDir));
  });
});

describeInvariants('GIVEN the changed copy WHEN the invariants run', environmentsDir);
