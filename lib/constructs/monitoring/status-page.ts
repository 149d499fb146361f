import * as crypto from 'crypto';
import { Construct } from 'constructs';
import { Resources } from '../../config/fields';
import { IntOrString, KubeConfigMap, KubeService, Quantity } from '../../k8s';
import { singleVolumePod } from '../storage';
import { componentLabels, selectorLabels } from '../../labels';
import { EdgeAttachment, PublicIngress } from '../edge/public-ingress';
import { restrictedContainerSecurity, restrictedPodSecurity } from '../pod-security';
import { containerResources } from '../resources';
import { GATUS_PORT, gatusConfig, ProbeTarget } from './probes';

export interface StatusPageProps {
  readonly namespace: string;
  readonly image: string;
  readonly host: string;
  readonly title: string;
  readonly targets: readonly ProbeTarget[];
  readonly interval: string;
  readonly resources: Resources;
  /** Public middlewares (no admin allow-list: the page is for customers). */
  readonly edge: EdgeAttachment;
  /** Labels that the probed namespaces admit. */
  readonly proberLabels: Record<string, string>;
  /** StorageClass of the history volume. */
  readonly storageClass: string;
  /** Size of the history volume (SQLite; a year of 60 s checks of ~20 targets is well under 1 GiB). */
  readonly storageSize: string;
  /**
   * Object names (StatefulSet, Service, ConfigMap, Ingress).
   * @default 'status'
   */
  readonly name?: string;
}

const UID = 65534; // nobody: Gatus needs no user of its own
/** Where the history volume is mounted; Gatus' SQLite file lives in it. */
const DATA_DIR = '/data';

/**
 * A public status page (Gatus): Pod Security restricted, checking the same targets as the
 * blackbox probes and showing only service names and their health. Results and their history go
 * to SQLite on the StatefulSet's own volume (`data-<name>-0`), so a restart keeps them; the page
 * depends on nothing it monitors (not on the platform's Postgres).
 */
export class StatusPage extends Construct {
  public readonly name: string;
  public readonly podLabels: Record<string, string>;
  public readonly port = GATUS_PORT;
  /** The rendered config.yaml (tests read it from the ConfigMap too). */
  public readonly configYaml: string;
  /** The SQLite file of the results, on the volume. */
  public readonly storagePath = `${DATA_DIR}/gatus.db`;

  constructor(scope: Construct, id: string, props: StatusPageProps) {
    super(scope, id);
    const name = props.name ?? 'status';
    const ns = props.namespace;
    this.name = name;
    this.configYaml = gatusConfig(props.targets, props.title, props.interval, this.storagePath);
    const labels = componentLabels(name, 'status-page');
    this.podLabels = { ...selectorLabels(name), ...props.proberLabels };

    const config = new KubeConfigMap(this, 'Config', { metadata: { name, namespace: ns, labels }, data: { 'config.yaml': this.configYaml } });
    const health = { httpGet: { path: '/health', port: IntOrString.fromString('http') } };
    // One pod with its volume (SQLite on ReadWriteOnce: the old pod lets go before the new one starts).
    singleVolumePod(this, 'StatefulSet', {
      name, namespace: ns, labels, podLabels: this.podLabels,
      // Roll the pod when the target list changes.
      podAnnotations: { 'platform.io/config-sha256': crypto.createHash('sha256').update(this.configYaml).digest('hex') },
      storageClass: props.storageClass, storageSize: props.storageSize,
      pod: {
        securityContext: restrictedPodSecurity(UID),
        containers: [
          {
            name: 'gatus',
            image: props.image,
            env: [{ name: 'GATUS_CONFIG_PATH', value: '/config/config.yaml' }],
            ports: [{ name: 'http', containerPort: GATUS_PORT }],
            resources: containerResources(props.resources),
            securityContext: restrictedContainerSecurity(),
            readinessProbe: { ...health, periodSeconds: 10 },
            livenessProbe: { ...health, periodSeconds: 30, failureThreshold: 3 },
            volumeMounts: [
              { name: 'config', mountPath: '/config', readOnly: true },
              { name: 'data', mountPath: DATA_DIR },
              { name: 'tmp', mountPath: '/tmp' },
            ],
          },
        ],
        volumes: [
          { name: 'config', configMap: { name: config.name } },
          { name: 'tmp', emptyDir: { sizeLimit: Quantity.fromString('16Mi') } },
        ],
      },
    });
    new KubeService(this, 'Service', {
      metadata: { name, namespace: ns, labels },
      spec: { selector: selectorLabels(name), ports: [{ name: 'http', port: GATUS_PORT, targetPort: IntOrString.fromString('http') }] },
    });
    new PublicIngress(this, 'Ingress', { name, namespace: ns, hosts: [props.host], serviceName: name, servicePort: GATUS_PORT, edge: props.edge });
  }
}
