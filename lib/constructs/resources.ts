import { Resources } from '../config/fields';
import { Quantity, ResourceRequirements } from '../k8s';

/** Config resources → container resources (memory limit always, CPU limit only when configured). */
export function containerResources(resources: Resources): ResourceRequirements {
  const limits: Record<string, Quantity> = { memory: Quantity.fromString(resources.limits.memory) };
  if (resources.limits.cpu) limits.cpu = Quantity.fromString(resources.limits.cpu);
  return {
    requests: { cpu: Quantity.fromString(resources.requests.cpu), memory: Quantity.fromString(resources.requests.memory) },
    limits,
  };
}
