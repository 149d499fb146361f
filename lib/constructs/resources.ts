import { Resources } from '../config/fields';
import { Quantity, ResourceRequirements } from '../k8s';

/** Requests and limits as Helm charts' values.yaml files spell them. */
export interface HelmResources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly memory: string; readonly cpu?: string };
}

/** Config resources → chart values (memory limit always, CPU limit only when configured). */
export function helmResources(r: Resources): HelmResources {
  return {
    requests: { cpu: r.requests.cpu, memory: r.requests.memory },
    limits: r.limits.cpu ? { memory: r.limits.memory, cpu: r.limits.cpu } : { memory: r.limits.memory },
  };
}

/** Config resources → container resources (memory limit always, CPU limit only when configured). */
export function containerResources(resources: Resources): ResourceRequirements {
  const limits: Record<string, Quantity> = { memory: Quantity.fromString(resources.limits.memory) };
  if (resources.limits.cpu) limits.cpu = Quantity.fromString(resources.limits.cpu);
  return {
    requests: { cpu: Quantity.fromString(resources.requests.cpu), memory: Quantity.fromString(resources.requests.memory) },
    limits,
  };
}
