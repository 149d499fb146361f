import { Testing } from 'cdk8s';
import { AppWorkload } from '../lib/constructs/app/app-workload';
import { configFor, one, synth } from './helpers/platform';

/** The defaults with these app fields (and secrets) merged in. */
function withApp(name: string, fields: Record<string, unknown>, secrets: Record<string, unknown> = {}) {
  return configFor('prod', { apps: { [name]: fields }, secrets: { app: secrets } });
}

/** One app built alone in a test chart. */
function workload(name: string, fields: Record<string, unknown>) {
  const app = withApp(name, fields).apps.find((a) => a.name === name)!;
  const chart = Testing.chart();
  new AppWorkload(chart, name, { app, namespace: 'app' });
  const objects = Testing.synth(chart);
  return { app, deployment: objects.find((o) => o.kind === 'Deployment'), job: objects.find((o) => o.kind === 'Job') };
}

describe('GIVEN an app that reads its own secrets', () => {
  const secretEnv = {
    STRIPE_SECRET_KEY: { secret: 'crm-secrets', key: 'stripe-secret-key' },
    CLERK_SECRET_KEY: { secret: 'crm-secrets', key: 'clerk-secret-key' },
  };
  const fields = { secretEnv, envFromSecrets: ['crm-extra'], env: { NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY: 'pk_live_abc', S3_BUCKET: 'tour-images' } };
  const declared = {
    'crm-secrets': { keys: ['stripe-secret-key', 'clerk-secret-key'], mode: 'existing' },
    'crm-extra': { keys: ['resend-api-key'], mode: 'existing' },
  };

  test('WHEN it is built THEN the Deployment and the migration Job read single keys and whole Secrets, and public values stay plain', () => {
    const { deployment, job } = workload('crm', fields);
    for (const c of [deployment.spec.template.spec.containers[0], job.spec.template.spec.containers[0]]) {
      expect(c.env).toContainEqual({ name: 'STRIPE_SECRET_KEY', valueFrom: { secretKeyRef: { name: 'crm-secrets', key: 'stripe-secret-key' } } });
      expect(c.env).toContainEqual({ name: 'NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY', value: 'pk_live_abc' });
      expect(c.envFrom).toEqual([{ secretRef: { name: 'crm-extra' } }]);
      // Secret references come before plain values, so $(VAR) in a plain value can use them.
      const names = c.env.map((e: any) => e.name);
      expect(names.indexOf('CLERK_SECRET_KEY')).toBeLessThan(names.indexOf('S3_BUCKET'));
    }
  });

  test('WHEN the Secrets are declared under secrets.app THEN the platform synthesizes', () => {
    const s = synth(withApp('crm', fields, declared));
    expect(one(s, 'Deployment', 'crm').spec.template.spec.containers[0].envFrom).toEqual([{ secretRef: { name: 'crm-extra' } }]);
  });

  test('WHEN a Secret it reads is not declared THEN the synth fails with the line to add', () => {
    expect(() => synth(withApp('crm', fields, { 'crm-extra': declared['crm-extra'] }))).toThrow(
      "'crm-secrets': { keys: ['clerk-secret-key', 'stripe-secret-key'], mode: 'existing' }",
    );
    expect(() => synth(withApp('crm', fields, { 'crm-secrets': declared['crm-secrets'] }))).toThrow(/secrets\.app\.crm-extra[\s\S]*'crm-extra': \{ keys: \['<every key it holds>'\], mode: 'existing' \}/);
  });

  test('WHEN a credential is written as plain env THEN the config is refused with the secretEnv line to use; public prefixes pass', () => {
    expect(() => withApp('crm', { env: { STRIPE_SECRET_KEY: 'sk_live_x' } })).toThrow(/apps\.crm\.env\.STRIPE_SECRET_KEY[\s\S]*secretEnv\.STRIPE_SECRET_KEY: \{ secret: crm-secrets, key: stripe-secret-key \}/);
    for (const name of ['SENTRY_DSN', 'INNGEST_SIGNING_KEY', 'RESEND_API_KEY', 'TWILIO_AUTH_TOKEN', 'ENCRYPTION_KEY']) {
      expect(() => withApp('crm', { env: { [name]: 'x' } })).toThrow(`apps.crm.env.${name}`);
    }
    expect(withApp('crm', { env: { NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY: 'pk', VITE_SENTRY_DSN: 'https://x@y/1', CORS_ORIGINS: 'https://a' } }).apps[0].env.VITE_SENTRY_DSN).toBe('https://x@y/1');
  });

  test('WHEN one name is both plain and secret THEN the config is refused', () => {
    expect(() => withApp('crm', { env: { S3_BUCKET: 'a' }, secretEnv: { S3_BUCKET: { secret: 's', key: 'k' } } })).toThrow('apps.crm.env.S3_BUCKET');
  });
});

describe('GIVEN probes with their meaning', () => {
  test('WHEN an app sets nothing THEN readiness checks the health path (dependencies), liveness and startup only the port, with 5 s timeouts, a 30 s period and 3 failures', () => {
    const { app, deployment } = workload('crm', {});
    const c = deployment.spec.template.spec.containers[0];
    expect(c.readinessProbe.httpGet).toEqual({ path: app.healthPath, port: app.port, scheme: 'HTTP' });
    for (const probe of [c.livenessProbe, c.startupProbe]) {
      expect(probe.httpGet).toBeUndefined();
      expect(probe.tcpSocket).toEqual({ port: app.port });
      expect(probe.timeoutSeconds).toBe(5);
    }
    expect(c.livenessProbe).toMatchObject({ periodSeconds: 30, failureThreshold: 3 });
    expect(c.readinessProbe.timeoutSeconds).toBe(5);
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBe(300);
  });

  test('WHEN an app names a liveness path and its own timing THEN liveness uses that path and timing', () => {
    const { deployment } = workload('crm', { liveness: { path: '/api/live' }, probes: { timeoutSeconds: 3, periodSeconds: 15, failureThreshold: 5, startupSeconds: 600 } });
    const c = deployment.spec.template.spec.containers[0];
    expect(c.livenessProbe).toMatchObject({ httpGet: { path: '/api/live', port: 3000 }, timeoutSeconds: 3, periodSeconds: 15, failureThreshold: 5 });
    expect(c.readinessProbe.httpGet.path).toBe('/api/health');
    expect(c.startupProbe.failureThreshold * c.startupProbe.periodSeconds).toBe(600);
  });

  test('WHEN a worker sets an exec liveness and a long drain THEN SIGKILL waits for the drain after the pre-stop pause', () => {
    const { deployment } = workload('worker', { liveness: { command: ['node', 'alive.js'] }, shutdownSeconds: 120 });
    const spec = deployment.spec.template.spec;
    expect(spec.containers[0].livenessProbe.exec).toEqual({ command: ['node', 'alive.js'] });
    const preStop = Number(spec.containers[0].lifecycle.preStop.exec.command[1]);
    expect(spec.terminationGracePeriodSeconds).toBe(preStop + 120);
  });
});
