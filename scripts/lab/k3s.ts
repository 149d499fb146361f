/**
 * What k3s gives every cluster, for the lab's faithful mode (LabClusterOptions.kubelet = 'faithful'):
 * - ServiceLB: a Service of type LoadBalancer gets a `svclb-<name>-<uid8>` DaemonSet in kube-system
 *   (one klipper-lb container per port, holding that port as a hostPort on every node, as k3s's
 *   servicelb.go builds it) and, once its pods are Ready, `status.loadBalancer.ingress` = the IPs of
 *   the nodes they run on; the Service carries the cloud service controller's cleanup finalizer;
 * - the metrics API (k3s ships metrics-server): APIService `v1beta1.metrics.k8s.io` served by a small
 *   HTTPS server of ours on 127.0.0.1, reached by the aggregator through an ExternalName Service;
 *   a container's usage is its requests (nothing runs, so there is nothing to measure);
 * - CoreDNS's Service `kube-system/kube-dns` at 10.43.0.10 (53/UDP, 53/TCP, 9153), no pods behind it.
 * Written for this project from the behaviour of k3s (pkg/cloudprovider) and metrics-server.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import { parseQuantity } from '../../lib/config/quantity';
import type { LabCluster } from './cluster';

const SVC_NAME_LABEL = 'svccontroller.k3s.cattle.io/svcname';
const SVC_NAMESPACE_LABEL = 'svccontroller.k3s.cattle.io/svcnamespace';
const NODE_SELECTOR_LABEL = 'svccontroller.k3s.cattle.io/nodeselector';
/** The cloud service controller's finalizer on a LoadBalancer Service (k3s runs it in its cloud controller). */
export const LB_CLEANUP_FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';
const KLIPPER_LB_IMAGE = 'rancher/klipper-lb:v0.4.13';
export const KUBE_DNS_IP = '10.43.0.10';
/** metrics-server's resolution: a pod has metrics once it ran one window (two scrapes). */
const METRICS_WINDOW_S = 15;

type Lab = Pick<LabCluster, 'request' | 'list' | 'apply'>;

/** CoreDNS's Service as k3s installs it (its coredns Deployment is not simulated). */
export function kubeDnsService() {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: {
      name: 'kube-dns', namespace: 'kube-system',
      labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
      annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
    },
    spec: {
      selector: { 'k8s-app': 'kube-dns' },
      clusterIP: KUBE_DNS_IP, clusterIPs: [KUBE_DNS_IP], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
      ],
    },
  };
}

/** k3s's name for a Service's ServiceLB DaemonSet: svclb-<name, at most 48 chars, no trailing '-'>-<uid[:8]>. */
export function svclbName(svc: any): string {
  let name: string = svc.metadata.name;
  if (name.length > 48) name = name.slice(0, 48).replace(/-+$/, '');
  return `svclb-${name}-${String(svc.metadata.uid).slice(0, 8)}`;
}

function svclbDaemonSet(svc: any) {
  const name = svclbName(svc);
  const sourceRanges = (svc.spec.loadBalancerSourceRanges ?? []).join(',') || '0.0.0.0/0';
  return {
    apiVersion: 'apps/v1', kind: 'DaemonSet',
    metadata: { name, namespace: 'kube-system', labels: { [NODE_SELECTOR_LABEL]: 'false', [SVC_NAME_LABEL]: svc.metadata.name, [SVC_NAMESPACE_LABEL]: svc.metadata.namespace } },
    spec: {
      selector: { matchLabels: { app: name } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels: { app: name, [SVC_NAME_LABEL]: svc.metadata.name, [SVC_NAMESPACE_LABEL]: svc.metadata.namespace } },
        spec: {
          priorityClassName: 'system-node-critical', serviceAccountName: 'svclb', automountServiceAccountToken: false,
          securityContext: { sysctls: [{ name: 'net.ipv4.ip_forward', value: '1' }] },
          tolerations: [
            { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
            { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
            { key: 'CriticalAddonsOnly', operator: 'Exists' },
          ],
          containers: (svc.spec.ports ?? []).map((p: any) => {
            const portName = `lb-${String(p.protocol ?? 'TCP').toLowerCase()}-${p.port}`;
            return {
              name: portName, image: KLIPPER_LB_IMAGE, imagePullPolicy: 'IfNotPresent',
              ports: [{ name: portName, containerPort: p.port, hostPort: p.port, protocol: p.protocol ?? 'TCP' }],
              env: [
                { name: 'SRC_PORT', value: String(p.port) }, { name: 'SRC_RANGES', value: sourceRanges }, { name: 'DEST_PROTO', value: p.protocol ?? 'TCP' },
                { name: 'DEST_PORT', value: String(p.port) }, { name: 'DEST_IPS', value: (svc.spec.clusterIPs ?? [svc.spec.clusterIP]).join(',') },
              ],
              securityContext: { capabilities: { add: ['NET_ADMIN'] } },
            };
          }),
        },
      },
    },
  };
}

const isLoadBalancer = (svc: any) => svc.spec.type === 'LoadBalancer' && !svc.spec.loadBalancerClass;

/**
 * One pass of ServiceLB: DaemonSets for LoadBalancer Services (removed with them), ingress IPs of
 * the nodes whose svclb pod is Ready, and the cleanup finalizer.
 */
export async function serviceLbPass(lab: Lab, applied: Map<string, string>): Promise<void> {
  const [services, daemonSets, pods, nodes] = await Promise.all([
    lab.list('/api/v1/services'),
    lab.list(`/apis/apps/v1/namespaces/kube-system/daemonsets?labelSelector=${encodeURIComponent(SVC_NAME_LABEL)}`),
    lab.list(`/api/v1/namespaces/kube-system/pods?labelSelector=${encodeURIComponent(SVC_NAME_LABEL)}`),
    lab.list('/api/v1/nodes'),
  ]);
  const svcPath = (svc: any) => `/api/v1/namespaces/${svc.metadata.namespace}/services/${svc.metadata.name}`;
  const setFinalizers = (svc: any, finalizers: string[]) =>
    lab.request('PATCH', svcPath(svc), { metadata: { resourceVersion: svc.metadata.resourceVersion, finalizers } }, 'application/merge-patch+json');
  const wanted = new Set<string>();
  for (const svc of services) {
    const finalizers: string[] = svc.metadata.finalizers ?? [];
    const has = finalizers.includes(LB_CLEANUP_FINALIZER);
    if (!isLoadBalancer(svc) || svc.metadata.deletionTimestamp) {
      // Gone or no longer a LoadBalancer: its DaemonSet goes (below), then the finalizer and the ingress.
      if (has) {
        await lab.request('DELETE', `/apis/apps/v1/namespaces/kube-system/daemonsets/${svclbName(svc)}`);
        await setFinalizers(svc, finalizers.filter((f) => f !== LB_CLEANUP_FINALIZER));
        if (!svc.metadata.deletionTimestamp && svc.status?.loadBalancer?.ingress) {
          await lab.request('PATCH', `${svcPath(svc)}/status`, { status: { loadBalancer: {} } }, 'application/merge-patch+json');
        }
      }
      continue;
    }
    const name = svclbName(svc);
    wanted.add(name);
    if (!has) {
      const res = await setFinalizers(svc, [...finalizers, LB_CLEANUP_FINALIZER]);
      if (res.status >= 300) continue; // changed meanwhile: next pass
    }
    const ds = svclbDaemonSet(svc);
    const fingerprint = JSON.stringify(ds.spec);
    if (applied.get(name) !== fingerprint || !daemonSets.some((d) => d.metadata.name === name)) {
      const res = await lab.apply(ds, { fieldManager: 'k3s-servicelb' });
      if (res.status < 300) applied.set(name, fingerprint);
    }
    // Nodes with a Ready svclb pod of this Service; their ExternalIPs if any node has one, else InternalIPs.
    const readyNodes = new Set(pods.filter((p) => p.metadata.labels?.[SVC_NAME_LABEL] === svc.metadata.name && p.metadata.labels?.[SVC_NAMESPACE_LABEL] === svc.metadata.namespace
      && p.spec.nodeName && p.status?.podIP && !p.metadata.deletionTimestamp
      && p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')).map((p) => p.spec.nodeName));
    const addresses = nodes.filter((n) => readyNodes.has(n.metadata.name)).flatMap((n) => n.status?.addresses ?? []);
    const external = addresses.filter((a: any) => a.type === 'ExternalIP').map((a: any) => a.address);
    const ips = [...new Set(external.length ? external : addresses.filter((a: any) => a.type === 'InternalIP').map((a: any) => a.address))].filter((ip) => net.isIPv4(ip)).sort();
    const current = (svc.status?.loadBalancer?.ingress ?? []).map((i: any) => i.ip ?? i.hostname);
    if (JSON.stringify(current) !== JSON.stringify(ips)) {
      await lab.request('PATCH', `${svcPath(svc)}/status`, { status: { loadBalancer: ips.length ? { ingress: ips.map((ip) => ({ ip })) } : {} } }, 'application/merge-patch+json');
    }
  }
  for (const d of daemonSets) {
    if (!wanted.has(d.metadata.name)) {
      await lab.request('DELETE', `/apis/apps/v1/namespaces/kube-system/daemonsets/${d.metadata.name}`);
      applied.delete(d.metadata.name);
    }
  }
}

/**
 * A label selector string (`a=b,c!=d,e in (f,g),!h`) against labels; what metrics-server accepts
 * in `labelSelector`.
 */
export function matchesSelector(selector: string | null | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return true;
  const terms = selector.split(/,(?![^(]*\))/).map((t) => t.trim()).filter(Boolean);
  return terms.every((term) => {
    let m = term.match(/^(\S+?)\s+(in|notin)\s+\((.*)\)$/);
    if (m) {
      const values = m[3].split(',').map((v) => v.trim());
      return m[2] === 'in' ? m[1] in labels && values.includes(labels[m[1]]) : !(m[1] in labels) || !values.includes(labels[m[1]]);
    }
    m = term.match(/^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/);
    if (m) return m[2] === '!=' ? labels[m[1]] !== m[3] : labels[m[1]] === m[3];
    if (term.startsWith('!')) return !(term.slice(1) in labels);
    return term in labels;
  });
}

/** The metrics API (metrics.k8s.io/v1beta1) of the lab, as metrics-server serves it; see the file comment. */
export class LabMetricsServer {
  /** Listens on 127.0.0.1 with the given certificate (the API server's self-signed one). */
  public static async start(lab: Lab, tls: { cert: string; key: string }): Promise<LabMetricsServer> {
    const server = new LabMetricsServer(lab, https.createServer({ cert: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key) }));
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.server.listen(0, '127.0.0.1', () => resolve());
    });
    return server;
  }

  private constructor(private readonly lab: Lab, private readonly server: https.Server) {
    server.on('request', (req, res) => void this.serve(req, res).catch((err) => this.send(res, 500, status(500, (err as Error).message))));
  }

  public get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  public stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The APIService and the ExternalName Service the aggregator reaches this server through. */
  public objects() {
    return [
      {
        apiVersion: 'v1', kind: 'Service',
        metadata: { name: 'metrics-server', namespace: 'kube-system', labels: { 'k8s-app': 'metrics-server' } },
        // The aggregator resolves an ExternalName Service to its name; a ClusterIP would need kube-proxy.
        spec: { type: 'ExternalName', externalName: 'localhost' },
      },
      {
        apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService',
        metadata: { name: 'v1beta1.metrics.k8s.io', labels: { 'k8s-app': 'metrics-server' } },
        spec: {
          group: 'metrics.k8s.io', version: 'v1beta1', groupPriorityMinimum: 100, versionPriority: 100, insecureSkipTLSVerify: true,
          service: { namespace: 'kube-system', name: 'metrics-server', port: this.port },
        },
      },
    ];
  }

  private send(res: http.ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const p = url.pathname.replace(/\/+$/, '');
    const gv = 'metrics.k8s.io/v1beta1';
    const version = { groupVersion: gv, version: 'v1beta1' };
    const group = { name: 'metrics.k8s.io', versions: [version], preferredVersion: version };
    if (req.method !== 'GET') return this.send(res, 405, status(405, `${req.method} is not supported`));
    if (['/healthz', '/readyz', '/livez'].includes(p)) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    // The aggregator downloads each APIService's OpenAPI; an empty document (no schemas) keeps it from retrying.
    if (p === '/openapi/v2') return this.send(res, 200, { swagger: '2.0', info: { title: 'metrics-server (lab)', version: 'v1beta1' }, paths: {} });
    if (p === '/openapi/v3') return this.send(res, 200, { paths: {} });
    if (p === '/apis') return this.send(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [group] });
    if (p === '/apis/metrics.k8s.io') return this.send(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...group });
    if (p === `/apis/${gv}`) {
      return this.send(res, 200, {
        kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv,
        resources: [
          { name: 'nodes', singularName: '', namespaced: false, kind: 'NodeMetrics', verbs: ['get', 'list'] },
          { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
        ],
      });
    }
    const selector = url.searchParams.get('labelSelector');
    let m = p.match(/^\/apis\/metrics\.k8s\.io\/v1beta1\/nodes(?:\/([^/]+))?$/);
    if (m) {
      const items = (await this.nodeMetrics()).filter((n) => (!m![1] || n.metadata.name === m![1]) && matchesSelector(selector, n.metadata.labels));
      if (m[1]) return items.length ? this.send(res, 200, items[0]) : this.send(res, 404, status(404, `nodemetrics.metrics.k8s.io "${m[1]}" not found`));
      return this.send(res, 200, { kind: 'NodeMetricsList', apiVersion: gv, metadata: {}, items });
    }
    m = p.match(/^\/apis\/metrics\.k8s\.io\/v1beta1\/(?:namespaces\/([^/]+)\/)?pods(?:\/([^/]+))?$/);
    if (m) {
      const [, namespace, name] = m;
      const items = (await this.podMetrics(namespace)).filter((x) => (!name || x.metadata.name === name) && matchesSelector(selector, x.metadata.labels));
      if (name) return items.length ? this.send(res, 200, items[0]) : this.send(res, 404, status(404, `podmetrics.metrics.k8s.io "${namespace}/${name}" not found`));
      return this.send(res, 200, { kind: 'PodMetricsList', apiVersion: gv, metadata: {}, items });
    }
    return this.send(res, 404, status(404, 'the server could not find the requested resource'));
  }

  /** Running pods that ran one window, usage = each running container's requests. */
  private async podMetrics(namespace?: string) {
    const pods = await this.lab.list(namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods');
    const now = Date.now();
    return pods.filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp).flatMap((p) => {
      const running = (p.status.containerStatuses ?? []).filter((s: any) => s.state?.running);
      const since = Math.max(0, ...running.map((s: any) => Date.parse(s.state.running.startedAt)));
      if (running.length === 0 || now - since < METRICS_WINDOW_S * 1000) return [];
      const names = new Set(running.map((s: any) => s.name));
      return [{
        kind: 'PodMetrics', apiVersion: 'metrics.k8s.io/v1beta1',
        metadata: { name: p.metadata.name, namespace: p.metadata.namespace, labels: p.metadata.labels ?? {}, creationTimestamp: new Date(now).toISOString() },
        timestamp: new Date(now).toISOString().replace(/\.\d+Z$/, 'Z'), window: `${METRICS_WINDOW_S}s`,
        containers: (p.spec.containers as any[]).filter((c) => names.has(c.name)).map((c) => ({ name: c.name, usage: { cpu: c.resources?.requests?.cpu ?? '0', memory: c.resources?.requests?.memory ?? '0' } })),
      }];
    });
  }

  /** Each node's usage: the summed requests of its running pods' running containers. */
  private async nodeMetrics() {
    const [nodes, pods] = await Promise.all([this.lab.list('/api/v1/nodes'), this.podMetricsOfAll()]);
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    return nodes.map((n) => {
      const mine = pods.filter((p) => p.node === n.metadata.name);
      return {
        kind: 'NodeMetrics', apiVersion: 'metrics.k8s.io/v1beta1',
        metadata: { name: n.metadata.name, labels: n.metadata.labels ?? {}, creationTimestamp: now },
        timestamp: now, window: `${METRICS_WINDOW_S}s`,
        usage: { cpu: `${Math.round(mine.reduce((t, p) => t + p.cpu, 0) * 1000)}m`, memory: `${Math.round(mine.reduce((t, p) => t + p.memory, 0) / 1024)}Ki` },
      };
    });
  }

  private async podMetricsOfAll(): Promise<{ node: string; cpu: number; memory: number }[]> {
    const pods = (await this.lab.list('/api/v1/pods')).filter((p) => p.status?.phase === 'Running' && p.spec.nodeName);
    return pods.map((p) => {
      const running = new Set((p.status.containerStatuses ?? []).filter((s: any) => s.state?.running).map((s: any) => s.name));
      const cs = (p.spec.containers as any[]).filter((c) => running.has(c.name));
      const q = (v: string | undefined) => (v ? parseQuantity(v) : 0);
      return { node: p.spec.nodeName, cpu: cs.reduce((t, c) => t + q(c.resources?.requests?.cpu), 0), memory: cs.reduce((t, c) => t + q(c.resources?.requests?.memory), 0) };
    });
  }
}

function status(code: number, message: string) {
  const reason = code === 404 ? 'NotFound' : code === 405 ? 'MethodNotAllowed' : 'InternalError';
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}
