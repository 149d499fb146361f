import { Construct } from 'constructs';
import { IntOrString, KubeService, KubeStatefulSet, PersistentVolumeClaimSpec, PodSpec, Quantity } from '../k8s';
import { selectorLabels } from '../labels';

/** The `data` volume claim template of a StatefulSet: one ReadWriteOnce volume per pod. */
export function dataVolumeClaim(labels: Record<string, string>, storageClassName: string, size: string): { metadata: { name: string; labels: Record<string, string> }; spec: PersistentVolumeClaimSpec } {
  return {
    metadata: { name: 'data', labels },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName, resources: { requests: { storage: Quantity.fromString(size) } } },
  };
}

export interface SingleVolumePodProps {
  readonly name: string;
  readonly namespace: string;
  /** Labels of the StatefulSet, its pod and its volume claim. */
  readonly labels: Record<string, string>;
  /** More pod labels (selectors of NetworkPolicies). @default none */
  readonly podLabels?: Record<string, string>;
  /** @default none */
  readonly podAnnotations?: Record<string, string>;
  /** The pod's security context and containers (the `data` volume is mounted by them). */
  readonly pod: Pick<PodSpec, 'securityContext' | 'containers' | 'volumes'>;
  readonly storageClass: string;
  readonly storageSize: string;
}

/**
 * One pod with one `data` volume, as a StatefulSet: the volume keeps a stable name
 * (`data-<name>-0`) and the old pod lets go of it (ReadWriteOnce) before the new one starts.
 * The pod gets no ServiceAccount token and no Service links.
 */
export function singleVolumePod(scope: Construct, id: string, props: SingleVolumePodProps): KubeStatefulSet {
  const { name, labels } = props;
  const ports = props.pod.containers.flatMap((c) => c.ports ?? []).flatMap((p) => (p.name ? [{ name: p.name, port: p.containerPort }] : []));
  const serviceName = governingService(scope, { name, namespace: props.namespace, labels, ports });
  return new KubeStatefulSet(scope, id, {
    metadata: { name, namespace: props.namespace, labels },
    spec: {
      replicas: 1,
      serviceName,
      selector: { matchLabels: selectorLabels(name) },
      template: {
        metadata: { labels: { ...labels, ...props.podLabels }, ...(props.podAnnotations ? { annotations: props.podAnnotations } : {}) },
        spec: { automountServiceAccountToken: false, enableServiceLinks: false, ...props.pod },
      },
      volumeClaimTemplates: [dataVolumeClaim(labels, props.storageClass, props.storageSize)],
    },
  });
}

/**
 * The governing Service of a StatefulSet (`spec.serviceName`): headless, so each pod gets its
 * stable DNS name (`<pod>.<name>-headless`), and ready or not (a pod that is starting can be
 * reached by its peers). Clients keep using the normal Service; this one only names the pods.
 * `serviceName` is immutable: an existing StatefulSet moves to it with `kubectl delete statefulset
 * <name> --cascade=orphan` before the sync (README, "Headless governing Services").
 */
export function governingService(scope: Construct, props: { readonly name: string; readonly namespace: string; readonly labels: Record<string, string>; readonly ports: readonly { name: string; port: number }[] }): string {
  const name = `${props.name}-headless`;
  const ports = props.ports.map((p) => ({ name: p.name, port: p.port, targetPort: IntOrString.fromString(p.name) }));
  new KubeService(scope, 'GoverningService', {
    // Its own name label: selectors of the workload's Service (ServiceMonitors) must not match it too.
    metadata: { name, namespace: props.namespace, labels: { ...props.labels, 'app.kubernetes.io/name': name } },
    spec: { clusterIp: 'None', publishNotReadyAddresses: true, selector: selectorLabels(props.name), ports },
  });
  return name;
}
