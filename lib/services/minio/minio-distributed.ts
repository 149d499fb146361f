/**
 * MinIO distributed (environments with three nodes or more): `pods` servers × `drivesPerPod` volumes, one
 * server per node, one erasure set over every drive. With 3 × 2 drives MinIO's default parity is EC:3 (3 data
 * + 3 parity shards per object): losing one node (2 drives) keeps read quorum (3) and write quorum (4), and
 * the usable capacity is half the raw capacity. The Minio construct calls this instead of writing its
 * standalone StatefulSet; every Service, policy and client stays the same.
 *
 * The pool is a new StatefulSet (`<name>-pool`): a standalone server's one-drive volume cannot join an
 * erasure set, and a StatefulSet's volume claim templates cannot change in place. Its data moves with
 * `mc mirror` (README "One node to three").
 */
import { Construct } from 'constructs';
import { parseQuantity } from '../../config/quantity';
import { Container, IntOrString, KubePodDisruptionBudget, KubeStatefulSet, PodSecurityContext, Volume } from '../../k8s';
import { componentLabels, selectorLabels } from '../../labels';
import { AllowFlows, connect } from '../../constructs/network-policy';
import { dataVolumeClaim, governingService } from '../../constructs/storage';

export interface MinioDistributedProps {
  /** Name of the standalone server's objects, e.g. `minio` (the pool is `<name>-pool`). */
  readonly name: string;
  readonly namespace: string;
  /** The standalone server's container: its image, env, probes and resources; args and mounts are replaced. */
  readonly container: Container;
  readonly securityContext: PodSecurityContext;
  /** Volumes of the pod besides the drives (tmp). */
  readonly volumes: readonly Volume[];
  readonly apiPort: number;
  readonly consolePort: number;
  /** Servers, one per node. */
  readonly pods: number;
  readonly drivesPerPod: number;
  readonly nodes: number;
  readonly storageClass: string;
  /** The usable capacity wanted (minio.storage.size): each drive gets its share at EC:drives/2. */
  readonly usableSize: string;
}

/** Labels that select the pool's pods (not the standalone server's: both run side by side during the move). */
export const minioPoolLabels = (name: string): Record<string, string> => selectorLabels(`${name}-pool`);

/** The erasure layout of `pods` × `drivesPerPod` drives with MinIO's default parity (EC:N/2 for 6 or 7 drives, see README). */
export function erasureLayout(pods: number, drivesPerPod: number): { drives: number; parity: number; data: number } {
  const drives = pods * drivesPerPod;
  if (drives < 4 || drives > 16) throw new Error(`MinIO distributed needs 4 to 16 drives in one erasure set, got ${pods} pods × ${drivesPerPod} drives = ${drives}`);
  // MinIO's default parity by erasure set size (docs "Erasure Coding": 4-5 → EC:2, 6-7 → EC:3, 8-16 → EC:4).
  const parity = drives >= 8 ? 4 : drives >= 6 ? 3 : 2;
  return { drives, parity, data: drives - parity };
}

/** The size of one drive so that the set holds `usable` bytes: usable × drives / data / drives = usable / data. */
export function driveSize(usable: string, pods: number, drivesPerPod: number): string {
  const { data } = erasureLayout(pods, drivesPerPod);
  const gi = 1024 ** 3;
  return `${Math.ceil(parseQuantity(usable) / data / gi)}Gi`;
}

export class MinioDistributed extends Construct {
  public readonly statefulSetName: string;
  /** Labels that select the servers (Services, NetworkPolicies, probes). */
  public readonly podLabels: Record<string, string>;
  /** The `server` arguments: every drive of every pod, by its stable DNS name. */
  public readonly serverArgs: readonly string[];
  public readonly driveSize: string;

  constructor(scope: Construct, id: string, props: MinioDistributedProps) {
    super(scope, id);
    const { namespace: ns, pods, drivesPerPod } = props;
    if (pods < 3 || pods > props.nodes) throw new Error(`MinIO distributed runs one server per node: ${pods} servers need at least 3 nodes and at most node.count (${props.nodes})`);
    erasureLayout(pods, drivesPerPod);
    const name = `${props.name}-pool`;
    this.statefulSetName = name;
    this.podLabels = minioPoolLabels(props.name);
    const labels = componentLabels(name, 'object-storage');
    const headless = governingService(this, { name, namespace: ns, labels, ports: [{ name: 'api', port: props.apiPort }, { name: 'console', port: props.consolePort }] });
    // MinIO's expansion notation: every server and drive in one argument.
    this.serverArgs = [`http://${name}-{0...${pods - 1}}.${headless}.${ns}.svc.cluster.local:${props.apiPort}/data{0...${drivesPerPod - 1}}`];
    this.driveSize = driveSize(props.usableSize, pods, drivesPerPod);
    const drives = Array.from({ length: drivesPerPod }, (_, i) => `data${i}`);
    const container: Container = {
      ...props.container,
      args: ['server', ...this.serverArgs, '--address', `:${props.apiPort}`, '--console-address', `:${props.consolePort}`, '--certs-dir', '/tmp/certs'],
      volumeMounts: [...drives.map((d) => ({ name: d, mountPath: `/${d}` })), ...(props.container.volumeMounts ?? []).filter((m) => m.name !== 'data')],
      // Ready only while this server sees write quorum (/minio/health/ready answers as soon as its own object
      // layer is up): a server cut off from its peers leaves the Service instead of failing every write.
      readinessProbe: { httpGet: { path: '/minio/health/cluster', port: IntOrString.fromString('api') }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 10 },
    };
    new KubeStatefulSet(this, 'StatefulSet', {
      metadata: { name, namespace: ns, labels },
      spec: {
        serviceName: headless,
        replicas: pods,
        // Every server starts at once: none is ready before a quorum of drives answers.
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: this.podLabels },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: props.securityContext,
            affinity: {
              podAntiAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: this.podLabels }, topologyKey: 'kubernetes.io/hostname' }],
              },
            },
            containers: [container],
            volumes: [...props.volumes],
          },
        },
        volumeClaimTemplates: drives.map((d) => ({ ...dataVolumeClaim(labels, props.storageClass, this.driveSize), metadata: { name: d, labels } })),
      },
    });
    new KubePodDisruptionBudget(this, 'Budget', {
      metadata: { name, namespace: ns, labels },
      spec: { maxUnavailable: IntOrString.fromNumber(1), selector: { matchLabels: this.podLabels } },
    });
  }

  /** The servers talk to each other on the API port (their NetworkPolicy is the standalone server's, selecting the pool). */
  public connectPeers(policy: AllowFlows, apiPort: number): void {
    const self = { policy, podLabels: this.podLabels };
    connect(self, self, [apiPort]);
  }
}
