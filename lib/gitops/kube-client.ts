/**
 * ClusterApi over @kubernetes/client-node. The package is ESM-only: the caller imports it
 * (scripts/verify.ts with a real dynamic import; jest through swc) and passes the module in.
 */
import type * as k8s from '@kubernetes/client-node';
import * as http from 'http';
import * as https from 'https';
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
    // Not KubernetesObjectApi.patch: its serializer picks a model by version and kind alone, so a
    // custom resource named like a core type (prometheus-operator's Probe → V1Probe) lost its
    // apiVersion and kind ("invalid object type: /, Kind="; found by the lab cluster), and fields a
    // model does not know were dropped before the server could call them unknown. The object goes
    // out as written, with strict field validation.
    async dryRunApply(object) {
      const resource = await timed(objects.discover(object.apiVersion, object.kind)).catch((err) => {
        throw new Error(reason(err));
      });
      if (!resource) throw new Error(`${object.apiVersion} ${object.kind} is not served`);
      const base = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
      const ns = resource.namespaced ? `/namespaces/${encodeURIComponent(object.metadata?.namespace ?? 'default')}` : '';
      const query = new URLSearchParams({ dryRun: 'All', fieldManager: FIELD_MANAGER, force: 'true', fieldValidation: 'Strict' });
      const res = await timed(send(kc, 'PATCH', `${base}${ns}/${resource.name}/${encodeURIComponent(object.metadata?.name)}?${query}`, JSON.stringify(object), 'application/apply-patch+yaml'));
      if (res.status >= 300) throw new Error(reason({ body: res.body, message: `HTTP ${res.status}` }));
    },
  };
}

/** One request with the kubeconfig's credentials and TLS settings; resolves with status and body text. */
async function send(kc: k8s.KubeConfig, method: string, urlPath: string, body: string, contentType: string): Promise<{ status: number; body: string }> {
  const server = kc.getCurrentCluster()!.server.replace(/\/+$/, '');
  const options: https.RequestOptions = { method, headers: { 'Content-Type': contentType, Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(options);
  const transport = server.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(`${server}${urlPath}`, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
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
