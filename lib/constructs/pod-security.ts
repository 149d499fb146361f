/** Pod Security "restricted" settings shared by the data components. */
import { Quantity, ResourceRequirements, SecurityContext } from '../k8s';
import { Resources } from '../config/fields';

/** Container security context that passes the "restricted" Pod Security Standard. */
export function restrictedContainer(options: { readOnlyRootFilesystem?: boolean } = {}): SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: options.readOnlyRootFilesystem ?? true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Requests and a memory limit from config (no CPU limit unless configured: throttling hurts latency). */
export function resourceRequirements(r: Resources): ResourceRequirements {
  return {
    requests: { cpu: Quantity.fromString(r.requests.cpu), memory: Quantity.fromString(r.requests.memory) },
    limits: {
      memory: Quantity.fromString(r.limits.memory),
      ...(r.limits.cpu ? { cpu: Quantity.fromString(r.limits.cpu) } : {}),
    },
  };
}
