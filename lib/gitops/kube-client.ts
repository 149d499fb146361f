/**
 * ClusterApi over @kubernetes/client-node. The package is ESM-only: the caller imports it
 * (scripts/verify.ts with a real dynamic import; jest through swc) and passes the module in.
 */
import type * as k8s from '@kubernetes/client-node';
import { ClusterApi } from './verify';

export type KubernetesClientModule = typeof k8s;

/** No cluster to talk to: reported as one line, exit code 2. */
export class ClusterUnreachable extends Error {}

export interface ConnectOptions {
  /** The kubeconfig file (the caller finds it: nothing below main reads the environment). */
  readonly kubeconfig: string;
  /** @default the kubeconfig's current context */
  readonly context?: string;
  /** Per request. @default 10000 */
  readonly timeoutMs?: number;
}

const FIELD_MANAGER = 'platform-verify';

export function connect(client: KubernetesClientModule, options: ConnectOptions): ClusterApi {
  const kc = new client.KubeConfig();
  try {
    kc.loadFromFile(options.kubeconfig);
    if (options.context) kc.setCurrentContext(options.context);
  } catch (err) {
    throw new ClusterUnreachable(`cannot read the kubeconfig: ${(err as Error).message}; fix: set KUBECONFIG or pass --kubeconfig`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new ClusterUnreachable(`the kubeconfig has no current cluster${options.context ? ` for context "${options.context}"` : ''}; fix: pass --context or set current-context`);
  const where = `${cluster.server} (context "${kc.getCurrentContext()}")`;
  const timeoutMs = options.timeoutMs ?? 10000;
  const timed = <T>(promise: Promise<T>): Promise<T> =>
    Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs).unref())]);

  const version = kc.makeApiClient(client.VersionApi);
  const core = kc.makeApiClient(client.CoreV1Api);
  // resource() (discovery of one apiVersion, cached) is protected: expose it.
  const DiscoveringObjectApi = class extends client.KubernetesObjectApi {
    public discover(apiVersion: string, kind: string) {
      return this.resource(apiVersion, kind);
    }
  };
  const objects = kc.makeApiClient(DiscoveringObjectApi);
  const status = (err: unknown): number | undefined => (err instanceof client.ApiException ? err.code : undefined);

  return {
    server: cluster.server,
    async serverVersion() {
      try {
        const info = await timed(version.getCode());
        return { major: info.major, minor: info.minor, gitVersion: info.gitVersion };
      } catch (err) {
        throw new ClusterUnreachable(`cannot reach the Kubernetes API server ${where}: ${reason(err)}; fix: check KUBECONFIG, --context and the network`);
      }
    },
    async servedKinds(apiVersion, kinds) {
      const served = new Map<string, boolean>();
      for (const kind of kinds) {
        try {
          const resource = await timed(objects.discover(apiVersion, kind));
          if (resource) served.set(kind, resource.namespaced);
        } catch (err) {
          if (status(err) === 404) return undefined;
          throw err;
        }
      }
      return served;
    },
    async namespaceExists(name) {
      try {
        await timed(core.readNamespace({ name }));
        return true;
      } catch (err) {
        if (status(err) === 404) return false;
        throw err;
      }
    },
    async dryRunApply(object) {
      try {
        await timed(objects.patch(object, undefined, 'All', FIELD_MANAGER, true, client.PatchStrategy.ServerSideApply));
      } catch (err) {
        throw new Error(reason(err));
      }
    },
  };
}

/** The API server's own message (a Status body), or the transport error, on one line. */
export function reason(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body);
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      // not JSON: fall through
    }
  }
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const detail = e.cause?.code ?? e.cause?.message;
  const message = (e.message ?? String(err)).replace(/\s+/g, ' ').trim();
  return detail && !message.includes(detail) ? `${message} (${detail})` : message;
}
