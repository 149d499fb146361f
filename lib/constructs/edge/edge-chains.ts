/**
 * Variants of an edge attachment's Middleware chain (no import of the config: data services use them too).
 */
import type { EdgeAttachment } from './public-ingress';

/** Middlewares that hold a response back until it is complete (buffering) or in chunks (compress). */
export const STREAM_BLOCKERS = new Set(['body-limit', 'compress']);

/**
 * The same edge without the Middlewares that hold responses back (the body limit's buffering, compression): for
 * routes that stream both ways (the S3 API: uploads of up to 5 GB, long downloads), whose backend limits bodies itself.
 */
export function streamingEdge(edge: EdgeAttachment, namespace: string): EdgeAttachment {
  return withMiddlewares(edge, namespace, (names) => names.filter((n) => !STREAM_BLOCKERS.has(n)));
}

/** The same edge with its Middleware chain changed (names relative to `namespace`). */
export function withMiddlewares(edge: EdgeAttachment, namespace: string, change: (names: readonly string[]) => string[]): EdgeAttachment {
  const prefix = `${namespace}-`;
  const suffix = '@kubernetescrd';
  const annotated = edge.middlewares.split(',').map((ref) => {
    if (!ref.startsWith(prefix) || !ref.endsWith(suffix)) throw new Error(`Middleware ${ref} is not in namespace ${namespace}`);
    return ref.slice(prefix.length, -suffix.length);
  });
  return {
    ...edge,
    middlewares: change(annotated).map((n) => `${prefix}${n}${suffix}`).join(','),
    middlewareNames: change(edge.middlewareNames),
  };
}
