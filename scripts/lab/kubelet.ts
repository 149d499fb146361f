/**
 * The lab's kubelet (LabClusterOptions.kubelet = 'faithful'): a small controller in the test
 * process that plays the kubelet for every pod bound to a lab node, against the same objects the
 * real kubelet reads. kwok then simulates the nodes only.
 *
 * What it mirrors (messages from k8s.io/kubernetes v1.34 pkg/kubelet, pkg/volume; read for facts,
 * written here from scratch):
 * - volumes: a pod whose mounted Secret, ConfigMap (or a key named in `items`), projected source or
 *   claim is missing stays Pending, containers `waiting: ContainerCreating` (`PodInitializing`
 *   with init containers), with `FailedMount` events as the kubelet writes them; it retries until
 *   the object appears;
 * - init containers run one after the other (each runs, then terminates Completed); sidecars
 *   (`restartPolicy: Always`) start and stay running;
 * - a container starts only once every non-optional `env[].valueFrom.secretKeyRef` /
 *   `configMapKeyRef` and `envFrom` resolves (named key included); otherwise it waits in
 *   `CreateContainerConfigError` with the kubelet's message and a `Failed` event `Error: ...`;
 * - phase, conditions (PodReadyToStartContainers, Initialized, ContainersReady, Ready with readiness
 *   gates) and container statuses computed as the kubelet's status generation does; pod IPs from
 *   the node's podCIDR;
 * - Job pods (and bare hook pods) complete: exit 0, or what `podOutcome` says; restarts follow the
 *   restart policy with the kubelet's crash-loop back-off (10 s doubling to 5 min);
 * - a pod being deleted is removed (grace period 0).
 * What it cannot do: run anything. No image is pulled, no process runs, probes never execute (a
 * started container is Ready at once), no packet flows.
 */
import * as crypto from 'crypto';
import type { LabCluster } from './cluster';

/** How one run of a container ends: exit 0, exit non-zero, or (undefined) it keeps running. */
export type PodOutcome = 'succeed' | { readonly fail: { readonly exitCode: number; readonly message?: string } } | undefined;

/**
 * Decides how a container's run ends. Called for each running container at every pass; return
 * undefined for the default: init containers complete, Job pods (and bare hook pods with
 * restartPolicy Never/OnFailure) succeed, everything else keeps running.
 */
export type PodOutcomeHook = (pod: any, container: { readonly name: string; readonly init: boolean }) => PodOutcome;

/** A bound pod the kubelet cannot start (or keeps restarting), and why. */
export interface StuckPod {
  readonly namespace: string;
  readonly pod: string;
  /** FailedMount, CreateContainerConfigError or CrashLoopBackOff. */
  readonly reason: string;
  readonly message: string;
  /** The container, for container-level reasons. */
  readonly container?: string;
}

export interface LabKubeletOptions {
  readonly podOutcome?: PodOutcomeHook;
  /** Pause between passes. @default 250 */
  readonly intervalMs?: number;
  readonly log?: (line: string) => void;
}

/** The objects a pass reads, keyed `namespace/name` (nodes by name). */
interface World {
  readonly secrets: Map<string, any>;
  readonly configMaps: Map<string, any>;
  readonly claims: Map<string, any>;
  readonly nodes: Map<string, any>;
}

interface KubeletEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  /** e.g. spec.containers{web} */
  readonly fieldPath?: string;
}

interface Plan {
  readonly status: any;
  readonly events: KubeletEvent[];
  readonly stuck: StuckPod[];
}

const CRASH_BACKOFF_START_S = 10;
const CRASH_BACKOFF_MAX_S = 300;
/** A repeated event bumps its count at most this often (the kubelet's recorder aggregates repeats). */
const EVENT_REPEAT_MS = 10_000;

const EMPTY_WORLD: World = { secrets: new Map(), configMaps: new Map(), claims: new Map(), nodes: new Map() };
/** Running with its sandbox and every container running: what the kubelet does next depends on the containers only. */
const isSettled = (pod: any) => pod.status?.phase === 'Running' && pod.status.podIP
  && (pod.status.containerStatuses ?? []).length === pod.spec.containers.length && pod.status.containerStatuses.every((s: any) => s.state?.running)
  && (pod.status.initContainerStatuses ?? []).every((s: any) => s.state?.running || s.state?.terminated?.exitCode === 0);
const isTerminal = (pod: any) => ['Succeeded', 'Failed'].includes(pod.status?.phase);
const isSidecar = (c: any) => c.restartPolicy === 'Always';
const byName = (list: any[] | undefined) => new Map((list ?? []).map((s) => [s.name as string, s]));
/** Go's fmt for a []string: [a b]. */
const goList = (items: readonly string[]) => `[${items.join(' ')}]`;

/** Go's time.Duration String() for whole seconds: 10s, 1m20s, 5m0s. */
export function goDuration(seconds: number): string {
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}

/** The crash-loop back-off before restart number restartCount + 1 (the first restart is immediate). */
export function crashBackoffSeconds(restartCount: number): number {
  return restartCount === 0 ? 0 : Math.min(CRASH_BACKOFF_START_S * 2 ** (restartCount - 1), CRASH_BACKOFF_MAX_S);
}

/** The default end of a container's run (see PodOutcomeHook). */
export function defaultOutcome(pod: any, container: { init: boolean; sidecar: boolean }): PodOutcome {
  if (container.sidecar) return undefined;
  if (container.init) return 'succeed';
  if (pod.metadata.ownerReferences?.some((r: any) => r.kind === 'Job' && String(r.apiVersion).startsWith('batch/'))) return 'succeed';
  const annotations = pod.metadata.annotations ?? {};
  const hook = annotations['argocd.argoproj.io/hook'] ?? annotations['helm.sh/hook'];
  if (hook && (pod.spec.restartPolicy ?? 'Always') !== 'Always') return 'succeed';
  return undefined;
}

/** Volumes some container mounts (volumeMounts or volumeDevices): the only ones the kubelet sets up. */
function mountedVolumeNames(spec: any): Set<string> {
  const names = new Set<string>();
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])]) {
    for (const m of c.volumeMounts ?? []) names.add(m.name);
    for (const d of c.volumeDevices ?? []) names.add(d.name);
  }
  return names;
}

/**
 * Why the kubelet cannot set up a pod's volumes: `setUp` errors become one FailedMount event each
 * (`MountVolume.SetUp failed for volume "v" : <error>`); claim errors stop the volume manager's
 * populator, reported as one `Unable to attach or mount volumes: ...` event.
 */
export function mountErrors(pod: any, world: World): { setUp: { volume: string; error: string }[]; claims: { volume: string; error: string }[] } {
  const ns = pod.metadata.namespace;
  const mounted = mountedVolumeNames(pod.spec);
  const setUp: { volume: string; error: string }[] = [];
  const claims: { volume: string; error: string }[] = [];
  const secretErrors = (name: string, items: any[] | undefined, optional: boolean): string[] => {
    const secret = world.secrets.get(`${ns}/${name}`);
    if (!secret && !optional) return [`secret "${name}" not found`];
    const data = secret?.data ?? {};
    return optional ? [] : (items ?? []).filter((i) => !(i.key in data)).slice(0, 1).map((i) => `references non-existent secret key: ${i.key}`);
  };
  const configMapErrors = (name: string, items: any[] | undefined, optional: boolean): string[] => {
    const cm = world.configMaps.get(`${ns}/${name}`);
    if (!cm && !optional) return [`configmap "${name}" not found`];
    const has = (key: string) => key in (cm?.data ?? {}) || key in (cm?.binaryData ?? {});
    return optional ? [] : (items ?? []).filter((i) => !has(i.key)).slice(0, 1).map((i) => `configmap references non-existent config key: ${i.key}`);
  };
  const claimError = (claimName: string, ephemeral: boolean): string | undefined => {
    const pvc = world.claims.get(`${ns}/${claimName}`);
    const wrap = (e: string) => `error processing PVC ${ns}/${claimName}: ${e}`;
    if (!pvc) return wrap(`failed to fetch PVC from API server: persistentvolumeclaims "${claimName}" not found`);
    if (pvc.metadata.deletionTimestamp && !(pvc.metadata.finalizers ?? []).includes('kubernetes.io/pvc-protection')) return wrap('PVC is being deleted');
    if (pvc.status?.phase !== 'Bound') return wrap('PVC is not bound');
    if (!pvc.spec.volumeName) return wrap('PVC has empty pvc.Spec.VolumeName');
    if (ephemeral && !pvc.metadata.ownerReferences?.some((r: any) => r.controller && r.uid === pod.metadata.uid)) {
      return `PVC ${ns}/${claimName} was not created for pod ${ns}/${pod.metadata.name} (pod is not owner)`;
    }
    return undefined;
  };
  for (const v of pod.spec.volumes ?? []) {
    if (!mounted.has(v.name)) continue;
    let errors: string[] = [];
    if (v.secret) errors = secretErrors(v.secret.secretName, v.secret.items, v.secret.optional === true);
    else if (v.configMap) errors = configMapErrors(v.configMap.name, v.configMap.items, v.configMap.optional === true);
    else if (v.projected) {
      // Each source is tried; the errors come back as one aggregate ("[a, b]" when more than one).
      for (const s of v.projected.sources ?? []) {
        if (s.secret) errors.push(...secretErrors(s.secret.name, s.secret.items, s.secret.optional === true));
        else if (s.configMap) errors.push(...configMapErrors(s.configMap.name, s.configMap.items, s.configMap.optional === true));
      }
      errors = [...new Set(errors)];
      if (errors.length > 1) errors = [`[${errors.join(', ')}]`];
    } else if (v.persistentVolumeClaim || v.ephemeral) {
      const error = claimError(v.persistentVolumeClaim?.claimName ?? `${pod.metadata.name}-${v.name}`, !v.persistentVolumeClaim);
      if (error) claims.push({ volume: v.name, error });
      continue;
    }
    if (errors.length) setUp.push({ volume: v.name, error: errors[0] });
  }
  return { setUp, claims };
}

/**
 * The kubelet's error when a container's environment cannot be built, or undefined: envFrom
 * sources first, then env in order; the first failure wins (kubelet_pods.go makeEnvironmentVariables).
 */
export function envError(pod: any, container: any, world: World): string | undefined {
  const ns = pod.metadata.namespace;
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef && !world.configMaps.has(`${ns}/${from.configMapRef.name}`) && from.configMapRef.optional !== true) {
      return `configmap "${from.configMapRef.name}" not found`;
    }
    if (from.secretRef && !world.secrets.has(`${ns}/${from.secretRef.name}`) && from.secretRef.optional !== true) {
      return `secret "${from.secretRef.name}" not found`;
    }
  }
  for (const e of container.env ?? []) {
    if (e.value || !e.valueFrom) continue;
    const cmRef = e.valueFrom.configMapKeyRef;
    const secretRef = e.valueFrom.secretKeyRef;
    if (cmRef) {
      const cm = world.configMaps.get(`${ns}/${cmRef.name}`);
      if (cmRef.optional === true) continue;
      if (!cm) return `configmap "${cmRef.name}" not found`;
      // Only `data`: an env var cannot come from binaryData.
      if (!(cmRef.key in (cm.data ?? {}))) return `couldn't find key ${cmRef.key} in ConfigMap ${ns}/${cmRef.name}`;
    } else if (secretRef) {
      const secret = world.secrets.get(`${ns}/${secretRef.name}`);
      if (secretRef.optional === true) continue;
      if (!secret) return `secret "${secretRef.name}" not found`;
      if (!(secretRef.key in (secret.data ?? {}))) return `couldn't find key ${secretRef.key} in Secret ${ns}/${secretRef.name}`;
    }
  }
  return undefined;
}

/** The next free address of a node's podCIDR (.2 up; .1 is the bridge's, as with flannel). */
export class PodIPs {
  private readonly used = new Set<string>();

  constructor(pods: any[]) {
    for (const p of pods) if (p.status?.podIP && !isTerminal(p) && !p.spec.hostNetwork) this.used.add(p.status.podIP);
  }

  public allocate(node: any): string | undefined {
    const cidr: string | undefined = node?.spec?.podCIDR;
    const m = cidr?.match(/^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/);
    if (!m) return undefined;
    const base = m.slice(1, 5).map(Number).reduce((n, o) => n * 256 + o, 0);
    const size = 2 ** (32 - Number(m[5]));
    for (let i = 2; i < size - 1; i++) {
      const n = base + i;
      const ip = [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
      if (!this.used.has(ip)) {
        this.used.add(ip);
        return ip;
      }
    }
    return undefined;
  }
}

const nodeIP = (node: any): string | undefined => node?.status?.addresses?.find((a: any) => a.type === 'InternalIP')?.address;

/**
 * What the kubelet would write for one pod now, from its current status and the objects it reads.
 * Pure but for `ips` (a pod that gets its sandbox takes an address).
 */
export function planPod(pod: any, world: World, now: string, ips: PodIPs | undefined, hook?: PodOutcomeHook): Plan {
  const spec = pod.spec;
  const prev = pod.status ?? {};
  const ns = pod.metadata.namespace;
  const podDesc = `${pod.metadata.name}_${ns}(${pod.metadata.uid})`;
  const events: KubeletEvent[] = [];
  const stuck: StuckPod[] = [];
  const node = world.nodes.get(spec.nodeName);
  const hostIP: string | undefined = nodeIP(node) ?? prev.hostIP;
  const restartPolicy: string = spec.restartPolicy ?? 'Always';
  const initContainers: any[] = spec.initContainers ?? [];
  const hasInit = initContainers.length > 0;
  const prevInit = byName(prev.initContainerStatuses);
  const prevMain = byName(prev.containerStatuses);
  const containerID = (name: string, restarts: number) =>
    `containerd://${crypto.createHash('sha256').update(`${pod.metadata.uid}/${name}/${restarts}`).digest('hex')}`;
  const waiting = (c: any, reason: string, p: any, message?: string) => ({
    ...(p ?? {}), name: c.name, image: p?.image ?? c.image, imageID: p?.imageID ?? '',
    ready: false, started: false, restartCount: p?.restartCount ?? 0, lastState: p?.lastState ?? {},
    state: { waiting: message ? { reason, message } : { reason } },
  });

  // 1. Volumes, before the sandbox exists (a pod that got its IP had them set up).
  let podIP: string | undefined = prev.podIP;
  if (!podIP) {
    const { setUp, claims } = mountErrors(pod, world);
    if (setUp.length || claims.length) {
      for (const e of setUp) events.push({ type: 'Warning', reason: 'FailedMount', message: `MountVolume.SetUp failed for volume "${e.volume}" : ${e.error}` });
      if (claims.length) {
        const unmounted = [...new Set([...setUp, ...claims].map((e) => e.volume))].sort();
        events.push({
          type: 'Warning', reason: 'FailedMount',
          message: `Unable to attach or mount volumes: unmounted volumes=${goList(unmounted)}, unattached volumes=[], failed to process volumes=${goList(claims.map((c) => c.volume))}: ${claims.map((c) => c.error).join('; ')}`,
        });
      }
      for (const e of events) stuck.push({ namespace: ns, pod: pod.metadata.name, reason: 'FailedMount', message: e.message });
      const defaultReason = hasInit ? 'PodInitializing' : 'ContainerCreating';
      const status = finish({
        podIP: undefined, sandbox: false,
        init: initContainers.map((c) => waiting(c, 'PodInitializing', prevInit.get(c.name))),
        main: spec.containers.map((c: any) => waiting(c, defaultReason, prevMain.get(c.name))),
      });
      return { status, events, stuck };
    }
    podIP = spec.hostNetwork ? hostIP : ips?.allocate(node) ?? undefined;
  }

  /**
   * One container's next status. A container runs for at least one pass before its outcome ends
   * it; an exit is followed by a restart when the policy says so (immediately the first time, then
   * after the crash-loop back-off).
   */
  const step = (c: any, p: any, kind: { init: boolean; sidecar: boolean }): any => {
    const fieldPath = `${kind.init ? 'spec.initContainers' : 'spec.containers'}{${c.name}}`;
    const restarts = (exitCode: number) => kind.sidecar || (kind.init ? restartPolicy !== 'Never' && exitCode !== 0 : restartPolicy === 'Always' || (restartPolicy === 'OnFailure' && exitCode !== 0));
    const start = (restartCount: number, lastState: any) => {
      const error = envError(pod, c, world);
      if (error) {
        events.push({ type: 'Warning', reason: 'Failed', message: `Error: ${error}`, fieldPath });
        stuck.push({ namespace: ns, pod: pod.metadata.name, reason: 'CreateContainerConfigError', message: error, container: c.name });
        return { ...waiting(c, 'CreateContainerConfigError', p, error), restartCount, lastState };
      }
      return {
        ...(p ?? {}), name: c.name, image: p?.image ?? c.image, imageID: p?.imageID ?? '', containerID: containerID(c.name, restartCount),
        // No probes run: a started container is ready (a regular init container never is).
        ready: !kind.init || kind.sidecar, started: true, restartCount, lastState,
        state: { running: { startedAt: now } },
      };
    };
    const running = p?.state?.running;
    if (running) {
      const outcome = hook?.(pod, { name: c.name, init: kind.init }) ?? defaultOutcome(pod, kind);
      if (outcome === undefined) return p;
      const exitCode = outcome === 'succeed' ? 0 : outcome.fail.exitCode;
      const message = outcome === 'succeed' ? undefined : outcome.fail.message;
      return {
        ...p, ready: false, started: false,
        state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', ...(message ? { message } : {}), startedAt: running.startedAt, finishedAt: now, containerID: p.containerID } },
      };
    }
    const exited = p?.state?.terminated ?? (p?.state?.waiting?.reason === 'CrashLoopBackOff' ? p.lastState?.terminated : undefined);
    if (exited) {
      if (!restarts(exited.exitCode)) return p;
      const restartCount = p.restartCount ?? 0;
      const backoff = crashBackoffSeconds(restartCount);
      if (Date.parse(now) < Date.parse(exited.finishedAt) + backoff * 1000) {
        const message = `back-off ${goDuration(backoff)} restarting failed container=${c.name} pod=${podDesc}`;
        events.push({ type: 'Warning', reason: 'BackOff', message: `Back-off restarting failed container ${c.name} in pod ${podDesc}`, fieldPath });
        stuck.push({ namespace: ns, pod: pod.metadata.name, reason: 'CrashLoopBackOff', message, container: c.name });
        return { ...waiting(c, 'CrashLoopBackOff', p, message), restartCount, lastState: { terminated: exited } };
      }
      return start(restartCount + 1, { terminated: exited });
    }
    return start(p?.restartCount ?? 0, p?.lastState ?? {});
  };

  // 2. Init containers, in order: the next one starts once the previous one completed (a sidecar, once started).
  const init: any[] = [];
  let initialized = true;
  for (const c of initContainers) {
    const p = prevInit.get(c.name);
    if (!initialized) {
      init.push(p?.state?.terminated || p?.state?.running ? p : waiting(c, 'PodInitializing', p));
      continue;
    }
    const sidecar = isSidecar(c);
    const before = p?.state?.terminated?.exitCode === 0;
    const next = before ? p : step(c, p, { init: true, sidecar });
    init.push(next);
    const done = sidecar ? Boolean(next.state.running && next.started) : next.state.terminated?.exitCode === 0 && before;
    if (!done) initialized = false;
  }
  // A regular container that already started means the pod was initialized (a restarting sidecar does not undo it).
  initialized ||= anyStartedNow(spec.containers.map((c: any) => prevMain.get(c.name) ?? { state: {} }));

  // 3. Regular containers, once initialized.
  const main = spec.containers.map((c: any) => (initialized ? step(c, prevMain.get(c.name), { init: false, sidecar: false }) : waiting(c, 'PodInitializing', prevMain.get(c.name))));

  // 4. All regular containers done for good: sidecars are stopped too.
  const finishedForGood = (s: any) => s.state.terminated && !(restartPolicy === 'Always' || (restartPolicy === 'OnFailure' && s.state.terminated.exitCode !== 0));
  if (main.length > 0 && main.every(finishedForGood)) {
    for (let i = 0; i < init.length; i++) {
      const s = init[i];
      if (isSidecar(initContainers[i]) && s.state.running) {
        init[i] = { ...s, ready: false, started: false, state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: s.state.running.startedAt, finishedAt: now, containerID: s.containerID } } };
      }
    }
  }
  return { status: finish({ podIP, sandbox: true, init, main }), events, stuck };

  /** Phase and conditions from the container statuses, as the kubelet's getPhase and status generation do. */
  function finish(s: { podIP?: string; sandbox: boolean; init: any[]; main: any[] }) {
    const phase = phaseOf(s.init, s.main);
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    const unready = [
      ...initContainers.filter(isSidecar).map((c) => s.init.find((x) => x.name === c.name)).filter((x) => x && !x.ready),
      ...s.main.filter((x) => !x.ready),
    ].map((x) => x.name);
    const incomplete = initContainers.filter((c, i) => {
      const st = s.init[i];
      return isSidecar(c) ? !(st?.state?.running && st.started) : !(st?.state?.terminated?.exitCode === 0);
    }).map((c) => c.name);
    // Initialized once every init container completed (a sidecar: started), or a regular container ever started.
    const initializedNow = s.sandbox && (incomplete.length === 0 || anyStartedNow(s.main));
    const gen = pod.metadata.generation;
    const cond = (type: string, ok: boolean, reason?: string, message?: string) => ({ type, status: ok ? 'True' : 'False', ...(reason ? { reason } : {}), ...(message ? { message } : {}), ...(gen ? { observedGeneration: gen } : {}) });
    const containersReady = terminal
      ? cond('ContainersReady', false, phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed')
      : unready.length ? cond('ContainersReady', false, 'ContainersNotReady', `containers with unready status: ${goList(unready)}`) : cond('ContainersReady', true);
    const gates: string[] = (spec.readinessGates ?? []).map((g: any) => g.conditionType);
    const gateMessages = gates.flatMap((g) => {
      const c = (prev.conditions ?? []).find((x: any) => x.type === g);
      if (!c) return [`corresponding condition of pod readiness gate "${g}" does not exist.`];
      return c.status === 'True' ? [] : [`the status of pod readiness gate "${g}" is not "True", but ${c.status}`];
    });
    const ready = terminal
      ? cond('Ready', false, phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed')
      : containersReady.status !== 'True' ? { ...containersReady, type: 'Ready' }
        : gateMessages.length ? cond('Ready', false, 'ReadinessGatesNotReady', gateMessages.join(', ')) : cond('Ready', true);
    const initializedCond = phase === 'Succeeded' && hasInit ? cond('Initialized', true, 'PodCompleted')
      : !hasInit || initializedNow ? cond('Initialized', true)
        : cond('Initialized', false, 'ContainersNotInitialized', `containers with incomplete status: ${goList(incomplete)}`);
    const ours = [cond('PodReadyToStartContainers', s.sandbox && !terminal), initializedCond, ready, containersReady];
    const kept = (prev.conditions ?? []).filter((c: any) => !ours.some((o) => o.type === c.type));
    const conditions = [...ours, ...kept].map((c: any) => {
      const old = (prev.conditions ?? []).find((x: any) => x.type === c.type);
      return { ...c, lastProbeTime: null, lastTransitionTime: old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now };
    });
    return {
      ...(gen ? { observedGeneration: gen } : {}),
      phase, conditions,
      ...(hostIP ? { hostIP, hostIPs: [{ ip: hostIP }] } : {}),
      ...(s.podIP ? { podIP: s.podIP, podIPs: [{ ip: s.podIP }] } : {}),
      startTime: prev.startTime ?? now,
      ...(hasInit ? { initContainerStatuses: s.init } : {}),
      containerStatuses: s.main,
    };
  }

  function phaseOf(init: any[], main: any[]): string {
    let pendingInit = 0;
    let failedInit = 0;
    let pendingSidecar = 0;
    let running = 0;
    let waitingCount = 0;
    let stopped = 0;
    let succeeded = 0;
    initContainers.forEach((c, i) => {
      const st = init[i]?.state ?? {};
      if (isSidecar(c)) {
        if (st.running) {
          running++;
          if (!init[i].started) pendingSidecar++;
        } else if (!st.terminated && !init[i]?.lastState?.terminated) {
          pendingSidecar++;
          waitingCount++;
        }
        return;
      }
      if (st.terminated) {
        if (st.terminated.exitCode !== 0) failedInit++;
      } else if (st.waiting && init[i].lastState?.terminated) {
        if (init[i].lastState.terminated.exitCode !== 0) failedInit++;
      } else pendingInit++;
    });
    if (failedInit > 0 && restartPolicy === 'Never') return 'Failed';
    for (const s of main) {
      if (s.state.running) running++;
      else if (s.state.terminated) {
        stopped++;
        if (s.state.terminated.exitCode === 0) succeeded++;
      } else if (s.lastState?.terminated) stopped++;
      else waitingCount++;
    }
    if (pendingInit > 0 || (pendingSidecar > 0 && !anyStartedNow(main))) return 'Pending';
    if (waitingCount > 0) return 'Pending';
    if (running > 0) return 'Running';
    if (stopped > 0) {
      if (restartPolicy === 'Always') return 'Running';
      if (stopped === succeeded) return 'Succeeded';
      return restartPolicy === 'Never' ? 'Failed' : 'Running';
    }
    return 'Pending';
  }

  function anyStartedNow(main: any[]): boolean {
    return main.some((s) => s.state.running || s.state.terminated || s.lastState?.terminated);
  }
}

/** The status the kubelet leaves on a pod it stopped because it is being deleted. */
function terminatedStatus(pod: any, now: string): any {
  const prev = pod.status ?? {};
  const unknown = { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated' };
  const stop = (s: any, initialized: boolean) => {
    if (s.state?.terminated) return s;
    if (s.state?.running) {
      return { ...s, ready: false, started: false, state: { terminated: { exitCode: 143, reason: 'Error', startedAt: s.state.running.startedAt, finishedAt: now, containerID: s.containerID } } };
    }
    return initialized ? { ...s, ready: false, started: false, state: { terminated: unknown } } : s;
  };
  const main: any[] = prev.containerStatuses ?? [];
  const initialized = main.some((s) => s.state?.running || s.state?.terminated || s.lastState?.terminated);
  const containerStatuses = main.map((s) => stop(s, initialized));
  const initContainerStatuses = (prev.initContainerStatuses ?? []).map((s: any) => (s.state?.running ? stop(s, true) : s));
  const succeeded = containerStatuses.length > 0 && containerStatuses.every((s) => s.state?.terminated?.exitCode === 0);
  const phase = succeeded ? 'Succeeded' : 'Failed';
  const reason = succeeded ? 'PodCompleted' : 'PodFailed';
  const conditions = (prev.conditions ?? []).map((c: any) => {
    const next = c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', reason, message: undefined }
      : c.type === 'PodReadyToStartContainers' ? { ...c, status: 'False' } : c;
    return next.status === c.status ? next : { ...next, lastTransitionTime: now };
  });
  return { phase, conditions, containerStatuses, ...(initContainerStatuses.length ? { initContainerStatuses } : {}) };
}

/** What changes a pod's status for the kubelet: compared to skip writes that change nothing. */
function signature(status: any): string {
  const containers = (list: any[] | undefined) => (list ?? []).map((c) => [c.name, c.ready, c.started, c.restartCount, JSON.stringify(c.state), JSON.stringify(c.lastState ?? {})]);
  return JSON.stringify([
    status?.phase, status?.podIP, status?.hostIP, status?.startTime,
    (status?.conditions ?? []).map((c: any) => [c.type, c.status, c.reason, c.message]).sort(),
    containers(status?.initContainerStatuses), containers(status?.containerStatuses),
  ]);
}

/** The lab's kubelet for every lab node; see the file comment. */
export class LabKubelet {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly deleted = new Set<string>();
  private readonly recorded = new Map<string, { name: string; namespace: string; count: number; at: number }>();
  private lastStuck = new Map<string, StuckPod[]>();
  private eventSeq = 0;
  private readonly log: (line: string) => void;

  constructor(private readonly lab: Pick<LabCluster, 'request' | 'list'>, private readonly options: LabKubeletOptions = {}) {
    this.log = options.log ?? (() => undefined);
  }

  public start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.running = this.pass().catch((err) => this.log(`lab kubelet: ${(err as Error).message}`)).finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(loop, this.options.intervalMs ?? 250);
      });
    };
    loop();
  }

  public async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Bound pods the kubelet could not start (or keeps restarting) at its last pass, and why. */
  public async stuck(): Promise<StuckPod[]> {
    const live = new Set((await this.lab.list('/api/v1/pods?fieldSelector=spec.nodeName%21%3D')).filter((p) => !isTerminal(p) && !p.metadata.deletionTimestamp).map((p) => p.metadata.uid as string));
    return [...this.lastStuck].filter(([uid]) => live.has(uid)).flatMap(([, s]) => s);
  }

  private async world(): Promise<World> {
    // resourceVersion=0: from the API server's watch cache, as the kubelet's informers read.
    const map = async (path: string) => new Map((await this.lab.list(`${path}?resourceVersion=0`)).map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
    const [secrets, configMaps, claims, nodes] = await Promise.all([
      map('/api/v1/secrets'), map('/api/v1/configmaps'), map('/api/v1/persistentvolumeclaims'),
      this.lab.list('/api/v1/nodes?resourceVersion=0').then((items) => new Map(items.map((n) => [n.metadata.name as string, n]))),
    ]);
    return { secrets, configMaps, claims, nodes };
  }

  /** One pass over every bound pod. */
  public async pass(): Promise<void> {
    const pods = await this.lab.list('/api/v1/pods?fieldSelector=spec.nodeName%21%3D');
    const active = pods.filter((p) => p.metadata.deletionTimestamp || !isTerminal(p));
    const stuck = new Map<string, StuckPod[]>();
    if (active.length > 0) {
      // A settled pod (running, every container running) changes only by its own outcome: no other object is read for it.
      const world = active.some((p) => !p.metadata.deletionTimestamp && !isSettled(p)) ? await this.world() : EMPTY_WORLD;
      const ips = new PodIPs(pods);
      for (const pod of active) {
        if (this.stopped) return;
        try {
          const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
          if (pod.metadata.deletionTimestamp) {
            await this.remove(pod, now);
            continue;
          }
          const plan = planPod(pod, world, now, ips, this.options.podOutcome);
          if (plan.stuck.length) stuck.set(pod.metadata.uid, plan.stuck);
          if (signature(plan.status) !== signature(pod.status)) {
            const res = await this.lab.request('PATCH', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`,
              { metadata: { resourceVersion: pod.metadata.resourceVersion }, status: plan.status }, 'application/merge-patch+json');
            // 409: the pod changed since it was read; the next pass sees the new one.
            if (res.status >= 300 && res.status !== 409 && res.status !== 404) this.log(`lab kubelet: status of ${pod.metadata.namespace}/${pod.metadata.name}: ${res.status} ${res.body?.message}`);
            if (res.status >= 300) continue;
          }
          for (const e of plan.events) await this.record(pod, e);
        } catch (err) {
          this.log(`lab kubelet: ${pod.metadata.namespace}/${pod.metadata.name}: ${(err as Error).message}`);
        }
      }
    }
    this.lastStuck = stuck;
  }

  /**
   * A pod being deleted: the kubelet stops its containers (here: as if each exited on SIGTERM, 143),
   * writes a terminal phase (Failed unless every container had completed; TerminatePod), then
   * deletes it with grace 0. Finalizers stay for their owners (the Job controller's, for example).
   */
  private async remove(pod: any, now: string): Promise<void> {
    const uid = pod.metadata.uid as string;
    if (this.deleted.has(uid)) return;
    if (!isTerminal(pod)) {
      const status = terminatedStatus(pod, now);
      const res = await this.lab.request('PATCH', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`,
        { metadata: { resourceVersion: pod.metadata.resourceVersion }, status }, 'application/merge-patch+json');
      if (res.status === 409) return; // read again next pass
    }
    const res = await this.lab.request('DELETE', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`,
      { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid } });
    if (res.status < 300 || res.status === 404 || res.status === 409) this.deleted.add(uid);
  }

  /** Posts an event as the kubelet's recorder does: a repeat bumps the count of the first (at most every 10 s). */
  private async record(pod: any, e: KubeletEvent): Promise<void> {
    const key = `${pod.metadata.uid}|${e.reason}|${e.fieldPath ?? ''}|${e.message}`;
    const seen = this.recorded.get(key);
    const now = new Date();
    const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z');
    if (seen) {
      if (now.getTime() - seen.at < EVENT_REPEAT_MS) return;
      seen.count++;
      seen.at = now.getTime();
      await this.lab.request('PATCH', `/api/v1/namespaces/${seen.namespace}/events/${seen.name}`, { count: seen.count, lastTimestamp: stamp }, 'application/merge-patch+json');
      return;
    }
    const name = `${pod.metadata.name}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(this.eventSeq++ % 1_000_000)).toString(16)}`;
    const node = pod.spec.nodeName;
    const res = await this.lab.request('POST', `/api/v1/namespaces/${pod.metadata.namespace}/events`, {
      apiVersion: 'v1', kind: 'Event',
      metadata: { name, namespace: pod.metadata.namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid, resourceVersion: pod.metadata.resourceVersion, ...(e.fieldPath ? { fieldPath: e.fieldPath } : {}) },
      reason: e.reason, message: e.message, type: e.type,
      source: { component: 'kubelet', host: node }, reportingComponent: 'kubelet', reportingInstance: node,
      firstTimestamp: stamp, lastTimestamp: stamp, count: 1,
    });
    if (res.status < 300) this.recorded.set(key, { name, namespace: pod.metadata.namespace, count: 1, at: now.getTime() });
  }
}
