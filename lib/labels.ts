/** Recommended labels (app.kubernetes.io/*) shared by every object of one component. */
export function componentLabels(name: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': 'platform',
  };
}

/** The subset that selects pods; never changes after the first deploy (selectors are immutable). */
export function selectorLabels(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name };
}
