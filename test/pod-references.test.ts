/**
 * scripts/lab/pod-references.ts: which ConfigMaps and Secrets the pods of a workload read, and which
 * of those block a pod when missing (what test/lab-kubelet-dist.real.test.ts deletes in turn).
 */
import { blockingReferences, podReferences } from '../scripts/lab/pod-references';
import { synthUserEnv } from './helpers/platform';

const workload = (kind: string, spec: any): any => {
  const podSpec = {
    volumes: [
      { name: 'config', configMap: { name: 'app-config', items: [{ key: 'app.yaml', path: 'app.yaml' }] } },
      { name: 'tls', secret: { secretName: 'app-tls', optional: true } },
      { name: 'unused', configMap: { name: 'never-mounted' } },
      { name: 'bundle', projected: { sources: [{ configMap: { name: 'ca' } }, { secret: { name: 'token' } }, { downwardAPI: { items: [] } }] } },
    ],
    initContainers: [{ name: 'wait', image: 'x', envFrom: [{ secretRef: { name: 'db' } }] }],
    containers: [{
      name: 'app', image: 'x',
      volumeMounts: [{ name: 'config', mountPath: '/c' }, { name: 'tls', mountPath: '/t' }, { name: 'bundle', mountPath: '/b' }],
      env: [
        { name: 'A', value: 'a' },
        { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'mode' } } },
        { name: 'OPT', valueFrom: { secretKeyRef: { name: 'extra', key: 'k', optional: true } } },
      ],
    }],
    ...spec,
  };
  const template = { metadata: {}, spec: podSpec };
  const body = kind === 'CronJob' ? { jobTemplate: { spec: { template } } } : { template, selector: { matchLabels: {} } };
  return { apiVersion: 'x', kind, metadata: { name: 'w', namespace: 'ns' }, spec: body };
};

describe('GIVEN a pod template reading ConfigMaps and Secrets every way the kubelet resolves', () => {
  test('THEN podReferences lists each with how it is read, its keys, whether optional and whether mounted', () => {
    const refs = podReferences([workload('Deployment', {})]).map((r) => `${r.kind} ${r.name} ${r.via} ${r.volume ?? r.container} [${r.keys.join(',')}]${r.optional ? ' optional' : ''}${r.mounted ? '' : ' unmounted'}`);
    expect(refs).toEqual([
      'ConfigMap app-config volume config [app.yaml]',
      'Secret app-tls volume tls [] optional',
      'ConfigMap never-mounted volume unused [] unmounted',
      'ConfigMap ca volume bundle []',
      'Secret token volume bundle []',
      'Secret db env wait []',
      'ConfigMap settings env app [mode]',
      'Secret extra env app [k] optional',
    ]);
  });

  test('THEN blockingReferences keeps what blocks a pod when missing (not optional, mounted), per object with its readers; a volume wins over env', () => {
    const cron = workload('CronJob', {});
    const both = { ...workload('StatefulSet', {}), metadata: { name: 'both', namespace: 'ns' } };
    both.spec.template.spec.containers[0].envFrom = [{ configMapRef: { name: 'app-config' } }];
    const blocking = blockingReferences([cron, both]).map((b) => `${b.kind} ${b.namespace}/${b.name}: ${[...b.readers].map(([w, via]) => `${w} (${via})`).join(', ')}`);
    expect(blocking).toEqual([
      'ConfigMap ns/app-config: CronJob ns/w (volume), StatefulSet ns/both (volume)',
      'ConfigMap ns/ca: CronJob ns/w (volume), StatefulSet ns/both (volume)',
      'ConfigMap ns/settings: CronJob ns/w (env), StatefulSet ns/both (env)',
      'Secret ns/db: CronJob ns/w (env), StatefulSet ns/both (env)',
      'Secret ns/token: CronJob ns/w (volume), StatefulSet ns/both (volume)',
    ]);
    expect(blockingReferences([cron], (kind) => kind === 'Secret').map((b) => b.name)).toEqual(['db', 'token']);
  });
});

describe('GIVEN dist/prod', () => {
  test('THEN every Secret a workload reads is also found by findSecretReferences\' scan of the same objects (the two agree)', async () => {
    const { findSecretReferences } = await import('../lib/gitops/secret-references');
    const { objects } = synthUserEnv('prod');
    const workloads = objects.map((o) => o.object).filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'].includes(o.kind));
    const ours = new Set(podReferences(workloads).filter((r) => r.kind === 'Secret').map((r) => `${r.namespace}/${r.name}`));
    const theirs = new Set(workloads.flatMap((o) => findSecretReferences(o)).map((r) => `${r.namespace}/${r.name}`));
    expect([...ours].sort()).toEqual([...theirs].sort());
    expect(ours.size).toBeGreaterThan(0);
  });
});
