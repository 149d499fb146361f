/**
 * The kwok Stages of the lab: how simulated nodes and pods move through their lifecycle. kwok
 * runs no containers; these stages stand in for the kubelet: a node reports Ready with the
 * capacity it was created with, a scheduled pod becomes Running and Ready, a pod of a Job
 * completes, and a deleted pod goes away.
 * Written for this project from kwok's Stage API (kwok.x-k8s.io/v1alpha1).
 */

const stage = (name: string, kind: 'Node' | 'Pod', matchExpressions: object[], next: object) => ({
  apiVersion: 'kwok.x-k8s.io/v1alpha1',
  kind: 'Stage',
  metadata: { name },
  spec: { resourceRef: { apiGroup: 'v1', kind }, selector: { matchExpressions }, next },
});

const notDeleted = { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' };

/** A status list of every container of `list` (`.spec.containers`...), in one state (a template fragment). */
const containerStatuses = (field: string, list: string, ready: boolean, state: string) => `${field}:
{{ range ${list} }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: ""
  ready: ${ready}
  started: ${ready}
  restartCount: 0
  state:
    ${state}
{{ end }}`;
const running = 'running: { startedAt: {{ $now | Quote }} }';
const completed = 'terminated: { exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }} }';

/** A node's InternalIP when the harness picks it (faithful mode: one per node); else kwok's --node-ip. */
export const NODE_IP_ANNOTATION = 'lab.platform.io/node-ip';

/**
 * A node that is not Ready yet: Ready, keeping the capacity and allocatable the harness set (left
 * out of the patch when kwok read the node before they were set, so that they are never wiped).
 */
const nodeReady = stage('lab-node-ready', 'Node',
  [{ key: '.status.conditions.[] | select( .type == "Ready" ) | .status', operator: 'NotIn', values: ['True'] }],
  {
    statusTemplate: `{{ $now := Now }}
conditions:
{{ range NodeConditions }}
- type: {{ .type | Quote }}
  status: {{ .status | Quote }}
  reason: {{ .reason | Quote }}
  message: {{ .message | Quote }}
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
{{ end }}
addresses:
- type: InternalIP
  address: {{ or (index .metadata.annotations "${NODE_IP_ANNOTATION}") NodeIP | Quote }}
- type: Hostname
  address: {{ NodeName | Quote }}
{{ with .status.capacity }}
capacity:
{{ YAML . 1 }}
{{ end }}
{{ with .status.allocatable }}
allocatable:
{{ YAML . 1 }}
{{ end }}
nodeInfo:
  architecture: amd64
  operatingSystem: linux
  kubeletVersion: {{ printf "kwok-%s" Version | Quote }}
  containerRuntimeVersion: "kwok"
  kernelVersion: "kwok"
  osImage: "kwok lab node"
  kubeProxyVersion: ""
  machineID: ""
  systemUUID: ""
  bootID: ""
phase: Running
`,
  });

/** A pod bound to a node and not started yet: Running, every container started and ready. */
const podRunning = stage('lab-pod-running', 'Pod',
  [notDeleted, { key: '.spec.nodeName', operator: 'Exists' }, { key: '.status.podIP', operator: 'DoesNotExist' }],
  {
    statusTemplate: `{{ $now := Now }}
phase: Running
startTime: {{ $now | Quote }}
hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
conditions:
{{ range $type := list "Initialized" "ContainersReady" "Ready" "PodScheduled" }}
- type: {{ $type | Quote }}
  status: "True"
  lastTransitionTime: {{ $now | Quote }}
{{ end }}
{{ if .spec.initContainers }}
${containerStatuses('initContainerStatuses', '.spec.initContainers', false, completed)}
{{ end }}
${containerStatuses('containerStatuses', '.spec.containers', true, running)}
`,
  });

/** A running pod of a Job: it succeeds (the lab cannot run the command; admission and scheduling are what it proves). */
const jobPodSucceeded = stage('lab-job-pod-succeeded', 'Pod',
  [notDeleted, { key: '.status.phase', operator: 'In', values: ['Running'] }, { key: '.metadata.ownerReferences.[].kind', operator: 'In', values: ['Job'] }],
  {
    statusTemplate: `{{ $now := Now }}
phase: Succeeded
conditions:
- { type: Ready, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }} }
- { type: ContainersReady, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }} }
${containerStatuses('containerStatuses', '.spec.containers', false, completed)}
`,
  });

/** A pod being deleted: gone (what the kubelet does once its containers stopped). */
const podDeleted = stage('lab-pod-deleted', 'Pod',
  [{ key: '.metadata.deletionTimestamp', operator: 'Exists' }],
  { finalizers: { empty: true }, delete: true });

export const KWOK_STAGES = [nodeReady, podRunning, jobPodSucceeded, podDeleted];

/**
 * Nodes only: with no Pod stage kwok starts no pod controller and never writes a pod (kwok 0.8
 * pkg/kwok/controllers: the pod controller is created per Stage resource kind), so the lab's
 * kubelet (scripts/lab/kubelet.ts) owns every pod.
 */
export const KWOK_NODE_STAGES = [nodeReady];
