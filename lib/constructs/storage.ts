import { Construct } from 'constructs';
import { KubeStatefulSet, PersistentVolumeClaimSpec, PodSpec, Quantity } from '../k8s';
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
  return new KubeStatefulSet(scope, id, {
    metadata: { name, namespace: props.namespace, labels },
    spec: {
      replicas: 1,
      serviceName: name,
      selector: { matchLabels: selectorLabels(name) },
      template: {
        metadata: { labels: { ...labels, ...props.podLabels }, ...(props.podAnnotations ? { annotations: props.podAnnotations } : {}) },
        spec: { automountServiceAccountToken: false, enableServiceLinks: false, ...props.pod },
      },
      volumeClaimTemplates: [dataVolumeClaim(labels, props.storageClass, props.storageSize)],
    },
  });
}
