/** Pod Security "restricted" settings shared by every workload the platform writes. */
import { PodSecurityContext, SecurityContext } from '../k8s';

export function restrictedPodSecurity(uid: number, gid: number = uid): PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    fsGroup: gid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function restrictedContainerSecurity(options: { readOnlyRootFilesystem?: boolean } = {}): SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: options.readOnlyRootFilesystem ?? true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
