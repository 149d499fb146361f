import { PersistentVolumeClaimSpec, Quantity } from '../k8s';

/** The `data` volume claim template of a StatefulSet: one ReadWriteOnce volume per pod. */
export function dataVolumeClaim(labels: Record<string, string>, storageClassName: string, size: string): { metadata: { name: string; labels: Record<string, string> }; spec: PersistentVolumeClaimSpec } {
  return {
    metadata: { name: 'data', labels },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName, resources: { requests: { storage: Quantity.fromString(size) } } },
  };
}
