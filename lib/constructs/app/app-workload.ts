import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { parseQuantity } from '../../config/quantity';
import { AppConfig } from '../../config/schema';
import { EnvVar, IntOrString, KubeJob, KubePodDisruptionBudget, KubeService, KubeServiceAccount, Quantity } from '../../k8s';
import { componentLabels } from '../../labels';
import { restrictedContainerSecurity, restrictedPodSecurity } from '../pod-security';
import { containerResources } from '../resources';

export interface AppWorkloadProps {
  readonly app: AppConfig;
  readonly namespace: string;
  /** Env from the data services the app is bound to (secret references first); the app's own env follows. @default none */
  readonly dataEnv?: readonly EnvVar[];
  /** Spread pods across nodes (multi-node environments). @default false */
  readonly spreadAcrossNodes?: boolean;
  /** Labels of the migration Job's pods that data services admit beyond the app (the Postgres primary). @default none */
  readonly migrationPodLabels?: Record<string, string>;
}

const UID = 10001;
/** Time for the load balancer to stop sending traffic before the app gets SIGTERM. */
const PRE_STOP_SECONDS = 10;
/** Startup probe period: a boot is noticed within seconds. */
const STARTUP_PERIOD = 5;

/**
 * One app: ServiceAccount, Deployment (replicas left to the HPA), HPA, PDB, Service (web
 * apps), and a PreSync migration Job when the app declares a migration command.
 */
export class AppWorkload extends Construct {
  public readonly name: string;
  /** The Deployment's selector (immutable after the first deploy). */
  public readonly podLabels: Record<string, string>;
  /**
   * The app's serving pods only: `podLabels` plus the component, so that the Service, the PDB and
   * the topology spread never count the migration Job's pods, which share the app's name (found by
   * the lab cluster: the PDB could not compute its expected pods, "jobs.batch does not implement
   * the scale subresource", and the Service would have routed requests to a running migration).
   */
  public readonly servingLabels: Record<string, string>;
  /** Service name for web apps (and apps with metrics); undefined otherwise. */
  public readonly serviceName?: string;
  public readonly servicePort: number;
  /** Named Service port that serves /metrics, when the app declares one. */
  public readonly metricsPortName?: string;

  constructor(scope: Construct, id: string, props: AppWorkloadProps) {
    super(scope, id);
    const { app, namespace } = props;
    this.name = app.name;
    this.podLabels = { 'app.kubernetes.io/name': app.name };
    this.servingLabels = { ...this.podLabels, 'app.kubernetes.io/component': app.kind };
    this.servicePort = app.port;
    const labels = { ...componentLabels(app.name, app.kind), ...this.podLabels };
    // Secret references before plain values, so that $(VAR) in a plain value can see them.
    const env: EnvVar[] = [
      ...(props.dataEnv ?? []),
      ...Object.entries(app.secretEnv).map(([name, ref]) => ({ name, valueFrom: { secretKeyRef: { name: ref.secret, key: ref.key } } })),
      ...Object.entries(app.env).map(([name, value]) => ({ name, value })),
    ];
    const envFrom = app.envFromSecrets.map((name) => ({ secretRef: { name } }));

    const serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: { name: app.name, namespace, labels },
      automountToken: false,
    });

    // Readiness may check dependencies (healthPath answers 503 while the database is down: the pod
    // leaves the Service). Liveness checks the process only, so a database outage restarts nothing.
    const timing = app.probes;
    const timeoutSeconds = Duration.seconds(timing.timeoutSeconds);
    const readinessProbe = (options: kplus.ProbeOptions) =>
      app.healthCommand ? kplus.Probe.fromCommand(app.healthCommand, options) : kplus.Probe.fromHttpGet(app.healthPath, { port: app.port, ...options });
    const livenessProbe = (options: kplus.ProbeOptions) =>
      app.liveness.command ? kplus.Probe.fromCommand(app.liveness.command, options)
        : app.liveness.path ? kplus.Probe.fromHttpGet(app.liveness.path, { port: app.port, ...options })
          : app.healthCommand ? kplus.Probe.fromCommand(app.healthCommand, options)
            : kplus.Probe.fromTcpSocket({ port: app.port, ...options });
    const deployment = new kplus.Deployment(this, 'Deployment', {
      metadata: { name: app.name, namespace, labels },
      podMetadata: { labels },
      // Select by our own stable labels, not by construct path: selectors are immutable.
      select: false,
      serviceAccount,
      automountServiceAccountToken: false,
      terminationGracePeriod: Duration.seconds(PRE_STOP_SECONDS + app.shutdownSeconds),
      securityContext: { ensureNonRoot: true, user: UID, group: UID, fsGroup: UID },
      containers: [
        {
          name: 'app',
          image: app.image,
          imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
          command: app.command,
          args: app.args,
          portNumber: app.port,
          securityContext: {
            ensureNonRoot: true, user: UID, group: UID, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false,
            capabilities: { drop: [kplus.Capability.ALL] },
            seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
          },
          resources: {
            cpu: { request: kplus.Cpu.millis(millicores(app.resources.requests.cpu)), limit: app.resources.limits.cpu ? kplus.Cpu.millis(millicores(app.resources.limits.cpu)) : undefined },
            memory: { request: bytesSize(app.resources.requests.memory), limit: bytesSize(app.resources.limits.memory) },
          },
          // The startup probe is the liveness check every 5 s until the boot is done.
          startup: livenessProbe({ periodSeconds: Duration.seconds(STARTUP_PERIOD), failureThreshold: Math.ceil(timing.startupSeconds / STARTUP_PERIOD), timeoutSeconds }),
          readiness: readinessProbe({ periodSeconds: Duration.seconds(Math.min(10, timing.periodSeconds)), timeoutSeconds, failureThreshold: 3 }),
          liveness: livenessProbe({ periodSeconds: Duration.seconds(timing.periodSeconds), failureThreshold: timing.failureThreshold, timeoutSeconds }),
          lifecycle: { preStop: kplus.Handler.fromCommand(['sleep', String(PRE_STOP_SECONDS)]) },
          volumeMounts: [{ path: '/tmp', volume: kplus.Volume.fromEmptyDir(this, 'tmp', 'tmp', { sizeLimit: Size.mebibytes(256) }) }],
        },
      ],
    });
    deployment.select(kplus.LabelSelector.of({ labels: this.podLabels }));
    const raw = ApiObject.of(deployment);
    // cdk8s-plus sets container env through its own API; plain EnvVars keep $(VAR) ordering exact.
    raw.addJsonPatch(JsonPatch.add('/spec/template/spec/containers/0/env', env));
    // Requests and limits exactly as written (cdk8s-plus' Cpu/Size would round 100M up to 96Mi).
    raw.addJsonPatch(JsonPatch.replace('/spec/template/spec/containers/0/resources', containerResources(app.resources)));
    if (envFrom.length > 0) raw.addJsonPatch(JsonPatch.add('/spec/template/spec/containers/0/envFrom', envFrom));
    raw.addJsonPatch(JsonPatch.add('/spec/template/spec/enableServiceLinks', false));
    raw.addJsonPatch(JsonPatch.add('/spec/template/spec/securityContext/seccompProfile', { type: 'RuntimeDefault' }));
    if (props.spreadAcrossNodes) {
      raw.addJsonPatch(JsonPatch.add('/spec/template/spec/topologySpreadConstraints', [
        { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: this.servingLabels } },
      ]));
    }

    new kplus.HorizontalPodAutoscaler(this, 'Autoscaler', {
      metadata: { name: app.name, namespace, labels },
      target: deployment,
      minReplicas: Math.max(1, app.replicas.min),
      maxReplicas: Math.max(1, app.replicas.max),
      metrics: [
        kplus.Metric.resourceCpu(kplus.MetricTarget.averageUtilization(70)),
        // Memory scales out near the limit, not at a share of the request: a Next.js app sits near
        // its ~500 MB request all day, and 80 % of the request pinned it at maxReplicas.
        kplus.Metric.resourceMemory(kplus.MetricTarget.averageValue(memoryScaleOutBytes(app.resources))),
      ],
      // Scale down slowly: a burst followed by a lull should not flap pods.
      scaleDown: { stabilizationWindow: Duration.minutes(5), policies: [{ replicas: kplus.Replicas.absolute(1), duration: Duration.minutes(1) }] },
    });

    if (app.replicas.max > 1) {
      new KubePodDisruptionBudget(this, 'Budget', {
        metadata: { name: app.name, namespace, labels },
        spec: { maxUnavailable: IntOrString.fromNumber(1), selector: { matchLabels: this.servingLabels } },
      });
    }

    const ports = [{ name: 'http', port: app.port, targetPort: IntOrString.fromNumber(app.port) }];
    if (app.metricsPort !== undefined && app.metricsPort !== app.port) {
      ports.push({ name: 'metrics', port: app.metricsPort, targetPort: IntOrString.fromNumber(app.metricsPort) });
      this.metricsPortName = 'metrics';
    } else if (app.metricsPort !== undefined) {
      this.metricsPortName = 'http';
    }
    if (app.kind === 'web' || app.metricsPort !== undefined) {
      this.serviceName = app.name;
      new KubeService(this, 'Service', {
        metadata: { name: app.name, namespace, labels },
        spec: { selector: this.servingLabels, ports },
      });
    }

    if (app.migration) {
      const jobLabels = { ...componentLabels(app.name, 'migration'), ...props.migrationPodLabels };
      // The Job runs before the Sync phase creates the app's own ServiceAccount, so it brings its
      // own, as an earlier PreSync hook (found by the lab cluster: on a first sync the Job could
      // not create its pod, "serviceaccount not found", and the sync never got past PreSync).
      // Both are PreSync hooks, re-created before each sync; the account comes first (wave -1).
      // The Job runs before every sync; a failure stops the sync before new pods roll out.
      const hookMetadata = (wave?: number) => ({
        name: `${app.name}-migrate`,
        namespace,
        labels: jobLabels,
        annotations: {
          'argocd.argoproj.io/hook': 'PreSync',
          'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
          ...(wave === undefined ? {} : { 'argocd.argoproj.io/sync-wave': String(wave) }),
        },
      });
      const migrationAccount = new KubeServiceAccount(this, 'MigrationServiceAccount', { metadata: hookMetadata(-1), automountServiceAccountToken: false });
      new KubeJob(this, 'Migration', {
        metadata: hookMetadata(),
        spec: {
          backoffLimit: 1,
          activeDeadlineSeconds: 600,
          template: {
            metadata: { labels: jobLabels },
            spec: {
              restartPolicy: 'Never',
              serviceAccountName: migrationAccount.name,
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              securityContext: restrictedPodSecurity(UID),
              volumes: [{ name: 'tmp', emptyDir: { sizeLimit: Quantity.fromString('256Mi') } }],
              containers: [
                {
                  name: 'migrate',
                  image: app.image,
                  command: app.migration.command,
                  env,
                  ...(envFrom.length > 0 ? { envFrom } : {}),
                  volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
                  resources: containerResources(app.resources),
                  securityContext: restrictedContainerSecurity(),
                },
              ],
            },
          },
        },
      });
    }
  }
}

function millicores(cpu: string): number {
  return cpu.endsWith('m') ? Number(cpu.slice(0, -1)) : Math.round(Number(cpu) * 1000);
}

/** Average memory per pod above which the HPA adds a pod: 90 % of the memory limit, in whole Mi. */
export function memoryScaleOutBytes(resources: AppConfig['resources']): number {
  return Math.floor((0.9 * parseQuantity(resources.limits.memory)) / 2 ** 20) * 2 ** 20;
}

function bytesSize(q: string): Size {
  return Size.mebibytes(Math.ceil(parseQuantity(q) / 2 ** 20));
}
