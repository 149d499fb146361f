/**
 * The lab cluster's faithful mode (LabClusterOptions.kubelet = 'faithful'): kwok simulates the
 * node only, scripts/lab/kubelet.ts plays the kubelet for every bound pod, and scripts/lab/k3s.ts
 * adds what k3s gives every cluster (ServiceLB, the metrics API, the kube-dns Service). Runs the
 * real kube-apiserver, controller manager (job and HPA controllers) and scheduler.
 */
import { LabCluster, missingLabPrograms } from '../scripts/lab/cluster';
import { isReady } from '../scripts/lab/sync';

const missing = missingLabPrograms();
const IS_CI = process.env.CI === 'true';
if (missing.length > 0 && !IS_CI) {
  console.warn(`\n!!! SKIPPING the faithful lab kubelet tests: ${missing.join(', ')} not built (bash scripts/lab/build.sh; CI always runs them) !!!\n`);
}
const describeLab = missing.length > 0 && !IS_CI ? describe.skip : describe;

const NS = 'rehearsal';
const BROKEN_JOB = 'broken-migration';
/** Pods with this label exit 2 each time they start (podOutcome). */
const CRASH_LABEL = 'rehearsal/crash';

describeLab('GIVEN a lab cluster whose pods are run by the faithful kubelet (kwok for the node only)', () => {
  let lab: LabCluster;

  beforeAll(async () => {
    if (missing.length > 0) throw new Error(`CI=true but the lab programs are not built (${missing.join(', ')}): .ci/run must run scripts/lab/build.sh`);
    lab = await LabCluster.start({
      nodes: [{ name: 'lab-node-1', cpu: '4', memory: '8Gi', zone: 'lab-zone-a' }],
      crds: false,
      kubelet: 'faithful',
      // A rehearsal of a broken migration: this Job's pods exit 1.
      podOutcome: (pod) => (pod.metadata.labels?.['job-name'] === BROKEN_JOB ? { fail: { exitCode: 1, message: 'migration 0042 failed: relation "bookings" does not exist' } }
        : pod.metadata.labels?.[CRASH_LABEL] === 'true' ? { fail: { exitCode: 2 } } : undefined),
    });
    await must(lab.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }));
  }, 300_000);

  afterAll(async () => {
    await lab?.stop();
  });

  const pod = (name: string, spec: any) => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS },
    spec: { automountServiceAccountToken: false, ...spec, containers: spec.containers ?? [{ name: 'app', image: 'registry.example.org/app:1.0', resources: { requests: { cpu: '50m', memory: '64Mi' } } }] },
  });
  const create = (path: string, object: any) => must(lab.request('POST', path, object));
  const getPod = async (name: string) => (await lab.request('GET', `/api/v1/namespaces/${NS}/pods/${name}`)).body;
  const waitPod = async (name: string, what: string, check: (p: any) => boolean, timeoutMs = 30_000) => {
    await lab.waitFor(`pod ${name} ${what}`, async () => check(await getPod(name)), timeoutMs);
    return getPod(name);
  };
  const podEvents = async (name: string) => (await lab.list(`/api/v1/namespaces/${NS}/events?fieldSelector=involvedObject.name%3D${name}`))
    .map((e) => ({ reason: e.reason, type: e.type, message: e.message, fieldPath: e.involvedObject.fieldPath, source: e.source?.component }));
  const condition = (p: any, type: string) => p.status?.conditions?.find((c: any) => c.type === type)?.status;

  test('WHEN a pod mounts a Secret that does not exist THEN it stays ContainerCreating with the kubelet\'s FailedMount event (kwok leaves it alone); WHEN the Secret is created THEN it runs', async () => {
    await create(`/api/v1/namespaces/${NS}/pods`, pod('mounts-missing-secret', {
      volumes: [{ name: 'credentials', secret: { secretName: 'app-credentials' } }],
      containers: [{ name: 'app', image: 'registry.example.org/app:1.0', volumeMounts: [{ name: 'credentials', mountPath: '/etc/app' }] }],
    }));
    const message = 'MountVolume.SetUp failed for volume "credentials" : secret "app-credentials" not found';
    await lab.waitFor('the FailedMount event', async () => (await podEvents('mounts-missing-secret')).some((e) => e.reason === 'FailedMount'), 30_000);
    expect(await podEvents('mounts-missing-secret')).toContainEqual({ reason: 'FailedMount', type: 'Warning', message, fieldPath: undefined, source: 'kubelet' });
    // Still blocked a moment later: no kwok stage and no retry marked it Running.
    await new Promise((r) => setTimeout(r, 2_000));
    const blocked = await getPod('mounts-missing-secret');
    expect(blocked.status.phase).toBe('Pending');
    expect(blocked.status.podIP).toBeUndefined();
    expect(blocked.status.containerStatuses).toEqual([expect.objectContaining({ name: 'app', ready: false, state: { waiting: { reason: 'ContainerCreating' } } })]);
    expect(condition(blocked, 'PodReadyToStartContainers')).toBe('False');
    expect(await lab.kubelet.stuck()).toContainEqual({ namespace: NS, pod: 'mounts-missing-secret', reason: 'FailedMount', message });

    await create(`/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-credentials', namespace: NS }, stringData: { token: 't' } });
    const running = await waitPod('mounts-missing-secret', 'Running', (p) => p.status.phase === 'Running');
    expect(running.status.containerStatuses[0]).toEqual(expect.objectContaining({ ready: true, started: true, restartCount: 0, state: { running: { startedAt: expect.any(String) } } }));
    expect(['Initialized', 'ContainersReady', 'Ready', 'PodScheduled', 'PodReadyToStartContainers'].map((t) => condition(running, t))).toEqual(['True', 'True', 'True', 'True', 'True']);
    expect(running.status.podIP).toMatch(/^10\.42\.0\.\d+$/);
    expect(running.status.hostIP).toBe('172.20.0.10');
    expect((await lab.kubelet.stuck()).filter((s) => s.pod === 'mounts-missing-secret')).toEqual([]);
  });

  test('WHEN a projected volume names a ConfigMap key that does not exist THEN FailedMount with the kubelet\'s message; WHEN the key is added THEN it runs', async () => {
    await create(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config', namespace: NS }, data: { other: 'x' } });
    await create(`/api/v1/namespaces/${NS}/pods`, pod('projected-missing-key', {
      volumes: [{ name: 'config', projected: { sources: [{ configMap: { name: 'app-config', items: [{ key: 'app.yaml', path: 'app.yaml' }] } }, { downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } }] } }],
      containers: [{ name: 'app', image: 'registry.example.org/app:1.0', volumeMounts: [{ name: 'config', mountPath: '/etc/app' }] }],
    }));
    await lab.waitFor('the FailedMount event', async () => (await podEvents('projected-missing-key')).some((e) => e.reason === 'FailedMount'), 30_000);
    expect((await podEvents('projected-missing-key')).filter((e) => e.reason === 'FailedMount').map((e) => e.message))
      .toEqual(['MountVolume.SetUp failed for volume "config" : configmap references non-existent config key: app.yaml']);
    await must(lab.request('PATCH', `/api/v1/namespaces/${NS}/configmaps/app-config`, { data: { 'app.yaml': 'a: 1' } }, 'application/merge-patch+json'));
    await waitPod('projected-missing-key', 'Running', (p) => p.status.phase === 'Running');
  });

  test('WHEN a pod claims a PVC that does not exist THEN the scheduler holds it (FailedScheduling, not the kubelet\'s); WHEN the claim is created THEN local-path binds it and it runs', async () => {
    await create(`/api/v1/namespaces/${NS}/pods`, pod('claims-missing-pvc', {
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
      containers: [{ name: 'app', image: 'registry.example.org/app:1.0', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
    }));
    await lab.waitFor('FailedScheduling', async () => (await podEvents('claims-missing-pvc')).some((e) => e.reason === 'FailedScheduling'), 30_000);
    expect((await podEvents('claims-missing-pvc')).find((e) => e.reason === 'FailedScheduling')!.message).toMatch(/persistentvolumeclaim "data" not found/);
    expect((await getPod('claims-missing-pvc')).spec.nodeName).toBeUndefined();
    expect((await lab.kubelet.stuck()).filter((s) => s.pod === 'claims-missing-pvc')).toEqual([]);
    await create(`/api/v1/namespaces/${NS}/persistentvolumeclaims`, claim('data'));
    await waitPod('claims-missing-pvc', 'Running', (p) => p.status.phase === 'Running', 60_000);
  }, 90_000);

  test('WHEN a pod placed on the node without the scheduler mounts a missing claim THEN the kubelet\'s "Unable to attach or mount volumes" FailedMount; WHEN the claim is bound THEN it runs', async () => {
    await create(`/api/v1/namespaces/${NS}/pods`, pod('placed-missing-pvc', {
      nodeName: 'lab-node-1',
      volumes: [{ name: 'cache', persistentVolumeClaim: { claimName: 'cache' } }],
      containers: [{ name: 'app', image: 'registry.example.org/app:1.0', volumeMounts: [{ name: 'cache', mountPath: '/cache' }] }],
    }));
    const message = `Unable to attach or mount volumes: unmounted volumes=[cache], unattached volumes=[], failed to process volumes=[cache]: error processing PVC ${NS}/cache: failed to fetch PVC from API server: persistentvolumeclaims "cache" not found`;
    await lab.waitFor('the FailedMount event', async () => (await podEvents('placed-missing-pvc')).some((e) => e.reason === 'FailedMount'), 30_000);
    expect((await podEvents('placed-missing-pvc')).map((e) => e.message)).toContain(message);
    expect(await lab.kubelet.stuck()).toContainEqual({ namespace: NS, pod: 'placed-missing-pvc', reason: 'FailedMount', message });
    // Nothing asks the provisioner for a node here (no scheduler): the claim names it, as the scheduler would.
    const pvc = claim('cache');
    await create(`/api/v1/namespaces/${NS}/persistentvolumeclaims`, { ...pvc, metadata: { ...pvc.metadata, annotations: { 'volume.kubernetes.io/selected-node': 'lab-node-1' } } });
    await waitPod('placed-missing-pvc', 'Running', (p) => p.status.phase === 'Running', 60_000);
  }, 90_000);

  test('WHEN a Deployment\'s container keeps exiting THEN it restarts at once, then waits in CrashLoopBackOff with the kubelet\'s back-off message and BackOff event', async () => {
    await create(`/api/v1/namespaces/${NS}/pods`, { ...pod('crashes', {}), metadata: { name: 'crashes', namespace: NS, labels: { [CRASH_LABEL]: 'true' } } });
    const looping = await waitPod('crashes', 'in CrashLoopBackOff', (p) => p.status.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff');
    const status = looping.status.containerStatuses[0];
    expect(status.restartCount).toBe(1);
    expect(status.lastState.terminated).toEqual(expect.objectContaining({ exitCode: 2, reason: 'Error' }));
    expect(status.state.waiting.message).toBe(`back-off 10s restarting failed container=app pod=crashes_${NS}(${looping.metadata.uid})`);
    expect(looping.status.phase).toBe('Running');
    expect(condition(looping, 'Ready')).toBe('False');
    expect(await podEvents('crashes')).toContainEqual({ reason: 'BackOff', type: 'Warning', message: `Back-off restarting failed container app in pod crashes_${NS}(${looping.metadata.uid})`, fieldPath: 'spec.containers{app}', source: 'kubelet' });
    expect(await lab.kubelet.stuck()).toContainEqual(expect.objectContaining({ pod: 'crashes', reason: 'CrashLoopBackOff', container: 'app' }));
  });

  test('WHEN a container reads a Secret key that does not exist THEN it waits in CreateContainerConfigError with the kubelet\'s message; WHEN the key is added THEN it runs', async () => {
    await create(`/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: NS }, stringData: { user: 'app' } });
    await create(`/api/v1/namespaces/${NS}/pods`, pod('env-missing-key', {
      containers: [{ name: 'app', image: 'registry.example.org/app:1.0', env: [{ name: 'DB_USER', valueFrom: { secretKeyRef: { name: 'db', key: 'user' } } }, { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] }],
    }));
    const message = `couldn't find key password in Secret ${NS}/db`;
    const blocked = await waitPod('env-missing-key', 'in CreateContainerConfigError', (p) => p.status.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError');
    expect(blocked.status.phase).toBe('Pending');
    expect(blocked.status.containerStatuses[0].state.waiting).toEqual({ reason: 'CreateContainerConfigError', message });
    // Volumes were set up (the sandbox exists): the container is what waits.
    expect(condition(blocked, 'PodReadyToStartContainers')).toBe('True');
    await lab.waitFor('the Failed event', async () => (await podEvents('env-missing-key')).some((e) => e.reason === 'Failed'), 30_000);
    expect(await podEvents('env-missing-key')).toContainEqual({ reason: 'Failed', type: 'Warning', message: `Error: ${message}`, fieldPath: 'spec.containers{app}', source: 'kubelet' });
    expect(await lab.kubelet.stuck()).toContainEqual({ namespace: NS, pod: 'env-missing-key', reason: 'CreateContainerConfigError', message, container: 'app' });

    await must(lab.request('PATCH', `/api/v1/namespaces/${NS}/secrets/db`, { stringData: { password: 'p' } }, 'application/merge-patch+json'));
    await waitPod('env-missing-key', 'Running', (p) => p.status.phase === 'Running' && condition(p, 'Ready') === 'True');
  });

  test('WHEN an envFrom or a configMapKeyRef names a missing object THEN the kubelet\'s "not found" message; optional references do not block', async () => {
    await create(`/api/v1/namespaces/${NS}/pods`, pod('env-from-missing', {
      containers: [{
        name: 'app', image: 'registry.example.org/app:1.0',
        envFrom: [{ configMapRef: { name: 'maybe', optional: true } }, { secretRef: { name: 'app-env' } }],
        env: [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'mode', optional: true } } }],
      }],
    }));
    const blocked = await waitPod('env-from-missing', 'in CreateContainerConfigError', (p) => p.status.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError');
    expect(blocked.status.containerStatuses[0].state.waiting.message).toBe('secret "app-env" not found');
    await create(`/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-env', namespace: NS }, stringData: { A: 'b' } });
    await waitPod('env-from-missing', 'Running', (p) => p.status.phase === 'Running');
  });

  test('WHEN a pod has init containers THEN they complete one after the other before the containers start (a blocked one holds the rest)', async () => {
    await create(`/api/v1/namespaces/${NS}/pods`, pod('with-init', {
      initContainers: [
        { name: 'wait-for-db', image: 'registry.example.org/tools:1.0' },
        { name: 'migrate', image: 'registry.example.org/app:1.0', env: [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'migrate-settings', key: 'mode' } } }] },
      ],
    }));
    const blocked = await waitPod('with-init', 'waiting on its second init container', (p) => p.status.initContainerStatuses?.[1]?.state?.waiting?.reason === 'CreateContainerConfigError');
    expect(blocked.status.initContainerStatuses[0].state.terminated).toEqual(expect.objectContaining({ exitCode: 0, reason: 'Completed' }));
    expect(blocked.status.initContainerStatuses[1].state.waiting.message).toBe('configmap "migrate-settings" not found');
    expect(blocked.status.containerStatuses[0].state).toEqual({ waiting: { reason: 'PodInitializing' } });
    expect(blocked.status.phase).toBe('Pending');
    expect(blocked.status.conditions).toContainEqual(expect.objectContaining({ type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [migrate]' }));

    await create(`/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'migrate-settings', namespace: NS }, data: { mode: 'up' } });
    const running = await waitPod('with-init', 'Running', (p) => p.status.phase === 'Running');
    const [first, second] = running.status.initContainerStatuses.map((s: any) => s.state.terminated);
    expect([first.reason, second.reason]).toEqual(['Completed', 'Completed']);
    const started = Date.parse(running.status.containerStatuses[0].state.running.startedAt);
    expect(Date.parse(first.finishedAt)).toBeLessThanOrEqual(Date.parse(second.startedAt));
    expect(Date.parse(second.finishedAt)).toBeLessThanOrEqual(started);
    expect(condition(running, 'Initialized')).toBe('True');
  });

  test('WHEN a Job runs THEN its pod completes and the real job controller marks it Complete', async () => {
    await create(`/apis/batch/v1/namespaces/${NS}/jobs`, job('migrate'));
    await lab.waitFor('Job migrate to complete', async () => isReady(await getJob('migrate')), 60_000);
    const done = await getJob('migrate');
    expect(done.status.conditions).toContainEqual(expect.objectContaining({ type: 'Complete', status: 'True' }));
    const [p] = await lab.list(`/api/v1/namespaces/${NS}/pods?labelSelector=job-name%3Dmigrate`);
    expect(p.status.phase).toBe('Succeeded');
    expect(p.status.containerStatuses[0].state.terminated).toEqual(expect.objectContaining({ exitCode: 0, reason: 'Completed' }));
    expect(condition(p, 'Ready')).toBe('False');
  });

  test('WHEN podOutcome makes a Job\'s pods exit 1 THEN each pod Fails and the real job controller gives up after backoffLimit (BackoffLimitExceeded)', async () => {
    await create(`/apis/batch/v1/namespaces/${NS}/jobs`, job(BROKEN_JOB, 1));
    await lab.waitFor(`Job ${BROKEN_JOB} to fail`, async () => (await getJob(BROKEN_JOB)).status?.conditions?.some((c: any) => c.type === 'Failed' && c.status === 'True'), 120_000);
    const failed = await getJob(BROKEN_JOB);
    expect(failed.status.conditions).toContainEqual(expect.objectContaining({ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }));
    expect(failed.status.failed).toBe(2); // backoffLimit 1: the first pod and one retry
    expect(isReady(failed)).toBe(false);
    const pods = await lab.list(`/api/v1/namespaces/${NS}/pods?labelSelector=job-name%3D${BROKEN_JOB}`);
    expect(pods.map((p) => p.status.phase)).toEqual(['Failed', 'Failed']);
    expect(pods[0].status.containerStatuses[0].state.terminated).toEqual(expect.objectContaining({ exitCode: 1, reason: 'Error', message: 'migration 0042 failed: relation "bookings" does not exist' }));
  }, 180_000);

  test('WHEN a pod is deleted THEN the kubelet removes it', async () => {
    await create(`/api/v1/namespaces/${NS}/pods`, pod('short-lived', {}));
    await waitPod('short-lived', 'Running', (p) => p.status.phase === 'Running');
    await must(lab.request('DELETE', `/api/v1/namespaces/${NS}/pods/short-lived`));
    await lab.waitFor('pod short-lived to be gone', async () => (await lab.request('GET', `/api/v1/namespaces/${NS}/pods/short-lived`)).status === 404, 30_000);
  });

  test('WHEN a Service is of type LoadBalancer THEN k3s\'s ServiceLB gives it the node\'s IP; a second one on the same port gets none (hostPort taken)', async () => {
    const service = (name: string) => ({
      apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS },
      spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ name: 'web', port: 8080, targetPort: 8080, protocol: 'TCP' }] },
    });
    await create(`/api/v1/namespaces/${NS}/services`, service('edge'));
    await lab.waitFor('an ingress IP for edge', async () => (await getService('edge')).status?.loadBalancer?.ingress?.length > 0, 60_000);
    const edge = await getService('edge');
    expect(edge.status.loadBalancer.ingress).toEqual([expect.objectContaining({ ip: '172.20.0.10' })]);
    expect(edge.metadata.finalizers).toContain('service.kubernetes.io/load-balancer-cleanup');
    const svclb = await lab.list(`/api/v1/namespaces/kube-system/pods?labelSelector=svccontroller.k3s.cattle.io%2Fsvcname%3Dedge`);
    expect(svclb.map((p) => p.status.phase)).toEqual(['Running']);

    await create(`/api/v1/namespaces/${NS}/services`, service('edge-2'));
    await lab.waitFor('the second svclb pod to be refused by the scheduler', async () => (await lab.list('/api/v1/namespaces/kube-system/events?fieldSelector=reason%3DFailedScheduling'))
      .some((e) => e.involvedObject.name.startsWith('svclb-edge-2-') && /free ports/.test(e.message)), 60_000);
    expect((await getService('edge-2')).status?.loadBalancer?.ingress).toBeUndefined();

    // Deleting the Service removes its DaemonSet, then the finalizer lets it go.
    await must(lab.request('DELETE', `/api/v1/namespaces/${NS}/services/edge-2`));
    await lab.waitFor('Service edge-2 to be gone', async () => (await lab.request('GET', `/api/v1/namespaces/${NS}/services/edge-2`)).status === 404, 30_000);
    expect((await lab.list('/apis/apps/v1/namespaces/kube-system/daemonsets')).map((d) => d.metadata.name).filter((n) => n.startsWith('svclb-edge-2-'))).toEqual([]);
  }, 120_000);

  test('WHEN an HPA targets a Deployment THEN the metrics API answers and the real HPA controller reports ScalingActive True', async () => {
    const labels = { app: 'web' };
    await create(`/apis/apps/v1/namespaces/${NS}/deployments`, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: NS },
      spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'registry.example.org/web:1.0', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] } } },
    });
    await create(`/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers`, {
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace: NS },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 4, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }] },
    });
    await lab.waitFor('ScalingActive True', async () => {
      const hpa = (await lab.request('GET', `/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers/web`)).body;
      return hpa.status?.conditions?.some((c: any) => c.type === 'ScalingActive' && c.status === 'True');
    }, 120_000);
    const hpa = (await lab.request('GET', `/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers/web`)).body;
    // usage = requests: 100 % of the request, above the 80 % target.
    expect(hpa.status.currentMetrics).toEqual([expect.objectContaining({ resource: expect.objectContaining({ name: 'cpu', current: expect.objectContaining({ averageUtilization: 100 }) }) })]);
    const metrics = await lab.request('GET', `/apis/metrics.k8s.io/v1beta1/namespaces/${NS}/pods?labelSelector=app%3Dweb`);
    expect(metrics.status).toBe(200);
    expect(metrics.body.items.length).toBeGreaterThanOrEqual(2);
    expect(metrics.body.items[0].containers).toEqual([{ name: 'web', usage: { cpu: '100m', memory: '128Mi' } }]);
    const nodes = await lab.request('GET', '/apis/metrics.k8s.io/v1beta1/nodes');
    expect(nodes.body.items.map((n: any) => n.metadata.name)).toEqual(['lab-node-1']);
  }, 180_000);

  test('THEN k3s\'s kube-dns Service is there: 10.43.0.10, DNS on 53 UDP/TCP and metrics on 9153', async () => {
    const dns = (await lab.request('GET', '/api/v1/namespaces/kube-system/services/kube-dns')).body;
    expect(dns.metadata.labels['k8s-app']).toBe('kube-dns');
    expect(dns.spec.clusterIP).toBe('10.43.0.10');
    expect(dns.spec.ports.map((p: any) => `${p.port}/${p.protocol}`)).toEqual(['53/UDP', '53/TCP', '9153/TCP']);
  });

  function job(name: string, backoffLimit = 0) {
    return {
      apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: NS },
      spec: { backoffLimit, template: { spec: { restartPolicy: 'Never', automountServiceAccountToken: false, containers: [{ name: 'run', image: 'registry.example.org/app:1.0' }] } } },
    };
  }
  async function getJob(name: string) {
    return (await lab.request('GET', `/apis/batch/v1/namespaces/${NS}/jobs/${name}`)).body;
  }
  function claim(name: string) {
    return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: NS }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } };
  }
  async function getService(name: string) {
    return (await lab.request('GET', `/api/v1/namespaces/${NS}/services/${name}`)).body;
  }
});

async function must<T extends { status: number; body: any }>(res: Promise<T>): Promise<T> {
  const r = await res;
  if (r.status >= 300) throw new Error(`${r.status} ${r.body?.message ?? JSON.stringify(r.body)}`);
  return r;
}
