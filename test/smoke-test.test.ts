import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { configFor, one, synth } from './helpers/platform';
import { requireBinary } from './helpers/real-programs';

describe('GIVEN the prod defaults', () => {
  const s = synth(configFor('prod', { apps: { crm: { protectedPath: '/api/bookings' } } }));
  const job = one(s, 'Job', 'smoke-test');
  const env = Object.fromEntries(job.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));

  test('THEN a PostSync Job checks every public host through Traefik: homepage and health 200, the protected route 401', () => {
    expect(job.metadata.annotations['argocd.argoproj.io/hook']).toBe('PostSync');
    expect(env.CHECKS.split('\n')).toEqual(expect.arrayContaining([`crm.${s.config.domain} / 200`, `crm.${s.config.domain} /api/health 200`, `crm.${s.config.domain} /api/bookings 401`, `www.${s.config.domain} / 200`]));
    expect(env.EDGE).toBe(`traefik.${s.config.namespaces.edge}.svc.cluster.local:443`);
    const policy = one(s, 'NetworkPolicy', 'smoke-test');
    expect(policy.spec.egress).toEqual([{ ports: [{ port: 8443, protocol: 'TCP' }], to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': s.config.namespaces.edge } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } } }] }]);
  });

  describe('WHEN its script runs against an edge that answers (curl stubbed)', () => {
    const script = job.spec.template.spec.containers[0].command[2];
    const run = (answers: Record<string, string>) => {
      const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'smoke-'));
      // The stub prints the status the "edge" gives the URL (last argument), 404 for anything else.
      const table = Object.entries(answers).map(([url, code]) => `  "${url}") printf ${code} ;;`).join('\n');
      fs.writeFileSync(path.join(bin, 'curl'), `#!/bin/sh\nfor a; do url="$a"; done\ncase "$url" in\n${table}\n  *) printf 404 ;;\nesac\n`, { mode: 0o755 });
      return spawnSync('/bin/sh', ['-c', script], { env: { PATH: `${bin}:/usr/bin:/bin`, CHECKS: env.CHECKS, EDGE: env.EDGE, CURL_TLS: '' }, encoding: 'utf8' });
    };
    const all = () => Object.fromEntries(env.CHECKS.split('\n').map((line: string) => {
      const [host, p, code] = line.split(' ');
      return [`https://${host}${p}`, code];
    }));

    test('THEN it passes when every route answers as expected', () => {
      const r = run(all());
      expect([r.status, r.stdout.includes('FAIL')]).toEqual([0, false]);
    });

    test('THEN it fails the sync, naming the route, when a protected route is open', () => {
      const r = run({ ...all(), [`https://crm.${s.config.domain}/api/bookings`]: '200' });
      expect(r.status).toBe(1);
      expect(r.stdout).toContain(`FAIL https://crm.${s.config.domain}/api/bookings answered 200, expected 401`);
    });
  });

  test('THEN the script passes shellcheck', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'smoke-')), 'smoke.sh');
    fs.writeFileSync(file, `#!/bin/sh\n${job.spec.template.spec.containers[0].command[2]}`);
    const shellcheck = requireBinary('shellcheck');
    if (!shellcheck) return;
    expect(spawnSync(shellcheck, ['-S', 'warning', file], { encoding: 'utf8' }).stdout).toBe('');
  });
});

describe('GIVEN basic auth on a shared host', () => {
  test('THEN the smoke test expects 401 on its routes (auth enforced), and the backend health under its prefix', () => {
    const s = synth(configFor('prod', {
      apps: {
        frontend: { image: 'ghcr.io/example/frontend:1.0.0', kind: 'web', port: 3000, hosts: ['finance.{domain}'], healthPath: '/', replicas: { min: 1, max: 1 }, resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '64Mi' } }, basicAuth: { secret: 'auth' } },
        backend: { image: 'ghcr.io/example/backend:1.0.0', kind: 'web', port: 8000, hosts: ['finance.{domain}'], paths: ['/api'], stripPrefix: true, healthPath: '/health', replicas: { min: 1, max: 1 }, resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '64Mi' } }, basicAuth: { secret: 'auth' } },
      },
      secrets: { app: { auth: { keys: ['users'], mode: 'existing' } } },
    }));
    const checks = one(s, 'Job', 'smoke-test').spec.template.spec.containers[0].env.find((e: any) => e.name === 'CHECKS').value.split('\n');
    expect(checks).toEqual(expect.arrayContaining([`finance.${s.config.domain} / 401`, `finance.${s.config.domain} /api/health 401`]));
  });
});
