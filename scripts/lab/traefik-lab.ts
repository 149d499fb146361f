/**
 * The real Traefik (built from its Go module by scripts/traefik/build.sh) run as a process against a lab
 * cluster's API server (scripts/lab/cluster.ts), with the command line the traefik chart would give its pod:
 * `traefikArgsFromValues` turns the platform's synthesized chart values (the traefik Application's
 * valuesObject, over the chart's own values.yaml) into the chart's `--providers.*`, `--entryPoints.*`,
 * ingress-endpoint and log arguments, as templates/_podtemplate.tpl of the pinned chart writes them.
 *
 * What the lab changes, and only that: every entry point listens on a free 127.0.0.1 port; the Kubernetes
 * providers reach the lab's API server with its admin token and CA (`endpoint`, `token`, `certAuthFilePath`)
 * instead of the pod's service account; the API is served on the `traefik` entry point (`--api.insecure`,
 * loopback) so that `routers()` can show why a router is disabled; no version check.
 *
 * Backends: pod IPs are fake (kwok), nothing listens behind a Service, so a route that exists answers
 * 502/503/504, and a route that does not exist answers Traefik's own 404 (`routeStatus`).
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { deepMerge, isPlainObject } from '../../lib/config/merge';
import { findProjectRoot, referenceDir } from '../../lib/project';
import { traefik } from '../../lib/addons/traefik';
import { LabCluster } from './cluster';
import { freePort, stop } from './programs';

export const TRAEFIK_BIN = path.join(findProjectRoot(__dirname), '.tools', 'traefik', 'bin', 'traefik');
export const traefikBuilt = (): boolean => fs.existsSync(TRAEFIK_BIN);

/** The pinned chart archive (exactly the pin of lib/config/versions.ts) and its default values.yaml. */
export const TRAEFIK_CHART_ARCHIVE = path.join(referenceDir(), 'charts', `${traefik.chart}-${traefik.version}.tgz`);
const CHART_VALUES = path.join(referenceDir(), 'helm-values', `${traefik.chart}-${traefik.version}.values.yaml`);

/**
 * The body of Traefik's own 404: its default handler (no router matched, or the matching router is
 * disabled) is Go's http.NotFoundHandler, which writes exactly this, as text/plain with
 * X-Content-Type-Options: nosniff. In the lab no backend can answer anything (nothing listens at the fake
 * pod IPs; a routed request ends in 502/503/504), so a 404 with this body is Traefik's default router.
 */
export const TRAEFIK_NOT_FOUND_BODY = '404 page not found\n';

/**
 * The traefik.io kinds Traefik's CRD provider (v3.6) watches. Its informers wait for every one of them to
 * be served before the provider sends any configuration: one missing CRD and no Middleware, IngressRoute
 * or TLSOption is ever loaded (every Ingress naming a middleware then answers 404).
 */
export const TRAEFIK_CRD_KINDS = [
  'IngressRoute', 'IngressRouteTCP', 'IngressRouteUDP', 'Middleware', 'MiddlewareTCP',
  'ServersTransport', 'ServersTransportTCP', 'TLSOption', 'TLSStore', 'TraefikService',
] as const;

/** The chart values of the synthesized Traefik add-on: the traefik Application's `helm.valuesObject`. */
export function traefikValuesOf(objects: any[]): Record<string, any> {
  const app = objects.find((o) => o?.kind === 'Application' && o.spec?.source?.chart === traefik.chart);
  const values = app?.spec?.source?.helm?.valuesObject;
  if (!values) throw new Error(`no Application of the ${traefik.chart} chart with helm.valuesObject among the objects; fix: pass the objects of the environment whose edge chart installs Traefik`);
  return values;
}

/** The chart's values.yaml with `values` merged over it (Helm's merge: maps key by key, lists and scalars replace). */
export function chartValues(values: Record<string, any>): Record<string, any> {
  return deepMerge(yaml.load(fs.readFileSync(CHART_VALUES, 'utf8')), values);
}

/** `traefik.fullname` of the chart: fullnameOverride, else the release name when it contains the chart name, else `<release>-<name>`. */
export function traefikFullname(values: Record<string, any>, releaseName: string = traefik.releaseName): string {
  const v = chartValues(values);
  const trim = (s: string) => s.slice(0, 63).replace(/-+$/, '');
  if (v.fullnameOverride) return trim(v.fullnameOverride);
  const name = v.nameOverride || traefik.chart;
  return trim(releaseName.includes(name) ? releaseName : `${releaseName}-${name}`);
}

export interface TraefikArgsOptions {
  /** The release namespace (`traefik.namespace` unless namespaceOverride is set). */
  readonly namespace: string;
  /** The release name. @default the add-on's (traefik) */
  readonly releaseName?: string;
  /** Listen address (`host:port`) per entry point name, instead of the chart's `<hostIP>:<port>`. */
  readonly addresses?: Readonly<Record<string, string>>;
  /** The port a redirection to an entry point names, instead of its `exposedPort`. */
  readonly exposedPorts?: Readonly<Record<string, number>>;
}

/** Go template truthiness (`with`, `if`): false, 0, "", nil, and empty lists and maps are false. */
const truthy = (v: unknown): boolean =>
  !(v === undefined || v === null || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0));
/** Helm's `range` over a map: keys in sorted order. */
const sortedEntries = (m: unknown): [string, any][] => (isPlainObject(m) ? Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : []);

/** The chart's `traefik.yaml2CommandLineArgs`: one `--path.key=value` per boolean, integer or non-empty leaf, keys sorted. */
function yamlArgs(at: string, content: unknown): string[] {
  return sortedEntries(content).flatMap(([key, value]) => {
    if (isPlainObject(value)) return yamlArgs(`${at}.${key}`, value);
    if (typeof value === 'boolean' || Number.isInteger(value)) return [`--${at}.${key}=${value}`];
    if (!truthy(value)) return [];
    return [`--${at}.${key}=${Array.isArray(value) ? value.join(',') : typeof value === 'number' ? value.toFixed(0) : value}`];
  });
}

/**
 * The arguments the pinned traefik chart gives its container for `values` (the platform's values, merged
 * over the chart's values.yaml), for everything that decides what Traefik routes and publishes: global
 * flags, entry points (addresses, redirections, TLS, forwarded headers, proxy protocol, transport), the
 * API and ping, core, the Kubernetes providers (CRD, Ingress with its ingress endpoint, Gateway), log,
 * and additionalArguments. Metrics, access log and tracing arguments are not derived (they do not change
 * routing); test/traefik-lab.real.test.ts holds this function to `helm template` of the chart.
 */
export function traefikArgsFromValues(values: Record<string, any>, options: TraefikArgsOptions): string[] {
  const v = chartValues(values);
  const ns = v.namespaceOverride ? String(v.namespaceOverride).slice(0, 63).replace(/-+$/, '') : options.namespace;
  const fullname = traefikFullname(values, options.releaseName);
  const args: string[] = [];
  const g = v.global ?? {};
  if (!g.checkNewVersion) args.push('--global.checkNewVersion=false');
  if (g.sendAnonymousUsage) args.push('--global.sendAnonymousUsage');
  if (g.notAppendXForwardedFor) args.push('--global.notAppendXForwardedFor=true');

  const ports = sortedEntries(v.ports).filter(([, c]) => truthy(c));
  const prefix = (c: any) => (truthy(c.uplink) ? 'hub.uplinkEntryPoints' : 'entryPoints');
  for (const [name, c] of ports) {
    const ep = `--${prefix(c)}.${name}`;
    let hostIP = c.hostIP ?? '';
    if (String(hostIP).includes(':')) hostIP = `[${hostIP}]`;
    const address = options.addresses?.[name] ?? `${hostIP}:${c.port}`;
    args.push(`${ep}.address=${address}/${String(c.protocol || 'tcp').toLowerCase()}`);
    if (truthy(c.asDefault)) args.push(`${ep}.asDefault=${c.asDefault}`);
    for (const key of ['accessLogs', 'metrics', 'tracing', 'traceVerbosity']) {
      if (c.observability?.[key] !== undefined && c.observability?.[key] !== null) args.push(`${ep}.observability.${key}=${c.observability[key]}`);
    }
  }

  if (truthy(v.api)) {
    const api = { ...v.api };
    if (api.basePath === '') delete api.basePath;
    args.push(...yamlArgs('api', api));
  }
  args.push('--ping=true');
  if (truthy(v.core?.defaultRuleSyntax)) args.push(`--core.defaultRuleSyntax=${v.core.defaultRuleSyntax}`);
  if (v.core?.strictTLSOptions) args.push('--core.strictTLSOptions=true');

  const p = v.providers ?? {};
  const rbacNamespaced = Boolean(v.rbac?.namespaced);
  const allowEmpty = (x: any) => (x === undefined || x === null ? [] : String(x) ? [String(x)] : []);
  if (truthy(p.precedence)) args.push(`--providers.precedence=${p.precedence.join(',')}`);
  const crd = p.kubernetesCRD ?? {};
  if (crd.enabled) {
    args.push('--providers.kubernetescrd');
    if (truthy(crd.labelSelector)) args.push(`--providers.kubernetescrd.labelSelector=${crd.labelSelector}`);
    if (truthy(crd.ingressClass)) args.push(`--providers.kubernetescrd.ingressClass=${crd.ingressClass}`);
    if (crd.allowCrossNamespace) args.push('--providers.kubernetescrd.allowCrossNamespace=true');
    if (truthy(crd.crossProviderNamespaces)) args.push(`--providers.kubernetescrd.crossProviderNamespaces=${crd.crossProviderNamespaces.join(',')}`);
    if (truthy(crd.defaultTLSResourcesNamespace)) args.push(`--providers.kubernetescrd.defaultTLSResourcesNamespace=${crd.defaultTLSResourcesNamespace}`);
    if (crd.safeNaming) args.push('--providers.kubernetescrd.safeNaming=true');
    if (crd.allowExternalNameServices) args.push('--providers.kubernetescrd.allowExternalNameServices=true');
    for (const x of allowEmpty(crd.allowEmptyServices)) args.push(`--providers.kubernetescrd.allowEmptyServices=${x}`);
    if (rbacNamespaced) args.push('--providers.kubernetescrd.disableClusterScopeResources=true');
    if (crd.nativeLBByDefault) args.push('--providers.kubernetescrd.nativeLBByDefault=true');
  }
  const ing = p.kubernetesIngress ?? {};
  if (ing.enabled) {
    args.push('--providers.kubernetesingress');
    if (ing.allowExternalNameServices) args.push('--providers.kubernetesingress.allowExternalNameServices=true');
    if (truthy(ing.crossProviderNamespaces)) args.push(`--providers.kubernetesingress.crossProviderNamespaces=${ing.crossProviderNamespaces.join(',')}`);
    for (const x of allowEmpty(ing.allowEmptyServices)) args.push(`--providers.kubernetesingress.allowEmptyServices=${x}`);
    if (ing.publishedService?.enabled && (v.service?.enabled || truthy(ing.publishedService?.pathOverride))) {
      const published = (truthy(ing.publishedService.pathOverride) ? ing.publishedService.pathOverride : `${ns}/${fullname}`).replace(/-+$/, '');
      args.push(`--providers.kubernetesingress.ingressendpoint.publishedservice=${published}`);
    }
    if (truthy(ing.ingressEndpoint?.hostname)) args.push(`--providers.kubernetesingress.ingressendpoint.hostname=${ing.ingressEndpoint.hostname}`);
    if (truthy(ing.ingressEndpoint?.ip)) args.push(`--providers.kubernetesingress.ingressendpoint.ip=${ing.ingressEndpoint.ip}`);
    if (truthy(ing.labelSelector)) args.push(`--providers.kubernetesingress.labelSelector=${ing.labelSelector}`);
    if (truthy(ing.ingressClass)) args.push(`--providers.kubernetesingress.ingressClass=${ing.ingressClass}`);
    if (rbacNamespaced) args.push('--providers.kubernetesingress.disableClusterScopeResources=true');
    if (ing.nativeLBByDefault) args.push('--providers.kubernetesingress.nativeLBByDefault=true');
    if (ing.strictPrefixMatching) args.push('--providers.kubernetesingress.strictPrefixMatching=true');
  }
  if (v.experimental?.kubernetesGateway?.enabled) args.push('--experimental.kubernetesgateway');
  const namespaces = (x: any) => (truthy(x.namespaces) ? x.namespaces.join(',') : ns);
  const watchNamespaces = (x: any) => truthy(x.namespaces) || (v.rbac?.enabled && rbacNamespaced);
  if (crd.enabled && watchNamespaces(crd)) args.push(`--providers.kubernetescrd.namespaces=${namespaces(crd)}`);
  const gw = p.kubernetesGateway ?? {};
  if (gw.enabled) {
    args.push('--providers.kubernetesgateway');
    const status = gw.statusAddress;
    if (truthy(status)) {
      if (truthy(status.ip)) args.push(`--providers.kubernetesgateway.statusaddress.ip=${status.ip}`);
      if (truthy(status.hostname)) args.push(`--providers.kubernetesgateway.statusaddress.hostname=${status.hostname}`);
      if (status.service?.enabled && v.service?.enabled) {
        args.push(`--providers.kubernetesgateway.statusaddress.service.name=${status.service.name || fullname}`);
        args.push(`--providers.kubernetesgateway.statusaddress.service.namespace=${status.service.namespace || ns}`);
      }
    }
    if (gw.nativeLBByDefault) args.push('--providers.kubernetesgateway.nativeLBByDefault=true');
    if (truthy(gw.crossProviderNamespaces)) args.push(`--providers.kubernetesgateway.crossProviderNamespaces=${gw.crossProviderNamespaces.join(',')}`);
    if (watchNamespaces(gw)) args.push(`--providers.kubernetesgateway.namespaces=${namespaces(gw)}`);
    if (gw.experimentalChannel) args.push('--providers.kubernetesgateway.experimentalchannel=true');
    if (truthy(gw.labelSelector)) args.push(`--providers.kubernetesgateway.labelSelector=${gw.labelSelector}`);
    if (truthy(gw.qps)) args.push(`--providers.kubernetesgateway.qps=${gw.qps}`);
    if (truthy(gw.burst)) args.push(`--providers.kubernetesgateway.burst=${gw.burst}`);
  }
  if (ing.enabled && watchNamespaces(ing)) args.push(`--providers.kubernetesingress.namespaces=${namespaces(ing)}`);

  for (const [name, c] of ports) {
    const ep = `--${prefix(c)}.${name}`;
    const h = c.http;
    if (truthy(h)) {
      args.push(...yamlArgs(`${prefix(c)}.${name}.http.encodedCharacters`, h.encodedCharacters));
      if (truthy(h.maxHeaderBytes)) args.push(`${ep}.http.maxHeaderBytes=${Math.trunc(h.maxHeaderBytes)}`);
      if (truthy(h.middlewares)) args.push(`${ep}.http.middlewares=${h.middlewares.join(',')}`);
      const r = h.redirections?.entryPoint;
      if (truthy(r)) {
        const to = v.ports?.[r.to];
        if (!to) throw new Error(`ports.${name}.http.redirections.entryPoint.to: '${r.to}' is not an entry point; fix: name one of ${Object.keys(v.ports ?? {}).join(', ')}`);
        args.push(`${ep}.http.redirections.entryPoint.to=:${options.exposedPorts?.[r.to] ?? to.exposedPort}`);
        if (truthy(r.scheme)) args.push(`${ep}.http.redirections.entryPoint.scheme=${r.scheme}`);
        if (truthy(r.priority)) args.push(`${ep}.http.redirections.entryPoint.priority=${r.priority}`);
        if ('permanent' in r) args.push(`${ep}.http.redirections.entryPoint.permanent=${r.permanent}`);
      }
      if (h.sanitizePath !== undefined && h.sanitizePath !== null) args.push(`${ep}.http.sanitizePath=${h.sanitizePath}`);
      if (truthy(h.underscoreHeadersStrategy)) args.push(`${ep}.http.underscoreHeadersStrategy=${h.underscoreHeadersStrategy}`);
      if (h.tls?.enabled) {
        args.push(`${ep}.http.tls=true`);
        if (truthy(h.tls.options)) args.push(`${ep}.http.tls.options=${h.tls.options}`);
        if (truthy(h.tls.certResolver)) args.push(`${ep}.http.tls.certResolver=${h.tls.certResolver}`);
        (h.tls.domains ?? []).forEach((d: any, i: number) => {
          if (truthy(d.main)) args.push(`${ep}.http.tls.domains[${i}].main=${d.main}`);
          if (truthy(d.sans)) args.push(`${ep}.http.tls.domains[${i}].sans=${d.sans.join(',')}`);
        });
      }
    }
    if (c.http3?.enabled) {
      args.push(`${ep}.http3`);
      if (truthy(c.http3.advertisedPort)) args.push(`${ep}.http3.advertisedPort=${c.http3.advertisedPort}`);
    }
    if (c.allowACMEByPass) args.push(`${ep}.allowACMEByPass=true`);
    for (const key of ['forwardedHeaders', 'proxyProtocol'] as const) {
      const f = c[key];
      if (!truthy(f)) continue;
      if (truthy(f.trustedIPs)) args.push(`${ep}.${key}.trustedIPs=${f.trustedIPs.join(',')}`);
      if (f.insecure) args.push(`${ep}.${key}.insecure`);
      if (key === 'forwardedHeaders' && f.notAppendXForwardedFor) args.push(`${ep}.forwardedHeaders.notAppendXForwardedFor=true`);
    }
    const t = c.transport;
    if (truthy(t)) {
      const set = (x: unknown) => x !== undefined && x !== null && String(x) !== '';
      for (const key of ['readTimeout', 'writeTimeout', 'idleTimeout']) {
        if (set(t.respondingTimeouts?.[key])) args.push(`${ep}.transport.respondingTimeouts.${key}=${t.respondingTimeouts[key]}`);
      }
      for (const key of ['requestAcceptGraceTimeout', 'graceTimeOut']) {
        if (set(t.lifeCycle?.[key])) args.push(`${ep}.transport.lifeCycle.${key}=${t.lifeCycle[key]}`);
      }
      for (const key of ['keepAliveMaxRequests', 'keepAliveMaxTime']) {
        if (set(t[key])) args.push(`${ep}.transport.${key}=${t[key]}`);
      }
    }
  }

  const log = v.log ?? {};
  if (truthy(log.format)) args.push(`--log.format=${log.format}`);
  if (truthy(log.filePath)) args.push(`--log.filePath=${log.filePath}`);
  if ((log.format === 'common' || !truthy(log.format)) && log.noColor === true) args.push(`--log.noColor=${log.noColor}`);
  if (truthy(log.level)) args.push(`--log.level=${String(log.level).toUpperCase()}`);
  for (const a of v.additionalArguments ?? []) args.push(String(a));
  return args;
}

/**
 * Whether an argument of the chart's container is one `traefikArgsFromValues` derives. The others are
 * listed in TRAEFIK_ARGS_NOT_DERIVED; test/traefik-lab.real.test.ts fails on any argument in neither.
 */
export const isDerivedArg = (arg: string): boolean =>
  /^--(global\.|entryPoints\.|hub\.uplinkEntryPoints\.|api\.|ping=|core\.|log\.|experimental\.kubernetesgateway$|providers\.(precedence|kubernetescrd|kubernetesingress|kubernetesgateway)(\.|=|$))/.test(arg);
/** Chart arguments that do not decide routing, left out of the lab's command line. */
export const TRAEFIK_ARGS_NOT_DERIVED = /^--(metrics\.|accesslog|tracing\.)/;

export interface LabTraefikOptions {
  /** Namespace of the Traefik release (the edge namespace). */
  readonly namespace: string;
  /**
   * The Service whose `status.loadBalancer` Traefik copies into every Ingress's status
   * (`<namespace>/<service>`, the chart's publishedService). @default the chart's fullname (traefik)
   */
  readonly service?: string;
  /** The platform's chart values (traefikValuesOf(objects)). */
  readonly values: Record<string, any>;
  /** Progress lines. @default none */
  readonly log?: (line: string) => void;
}

export interface TraefikResponse {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
  /** HTTPS: the subject CN of the certificate Traefik served (`TRAEFIK DEFAULT CERT` when the route's TLS Secret is missing). */
  readonly certificate?: string;
}

/** A router as Traefik's API reports it (`/api/http/routers`): `status` enabled | disabled | warning, with `error`s. */
export interface TraefikRouter {
  readonly name: string;
  readonly provider: string;
  readonly rule: string;
  readonly entryPoints?: string[];
  readonly middlewares?: string[];
  readonly service: string;
  readonly status: string;
  readonly error?: string[];
}

const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Log lines that come from running Traefik built from its Go module, not from the platform's objects: the
 * module has no web UI assets (the release build adds them), so `--api.dashboard=true` (a chart default)
 * logs this on every configuration reload.
 */
export const LAB_ARTEFACTS: readonly RegExp[] = [/^ERR Error appending dashboard to API router error="parsing index template/];

export class LabTraefik {
  /** Starts Traefik against the lab's API server; resolves when it answers /ping (providers may still be loading). */
  public static async start(lab: LabCluster, options: LabTraefikOptions): Promise<LabTraefik> {
    if (!traefikBuilt()) throw new Error(`${TRAEFIK_BIN} is not built; fix: bash scripts/traefik/build.sh`);
    const t = new LabTraefik(lab, options);
    await t.checkCrds();
    await t.run();
    return t;
  }

  public httpUrl = '';
  public httpsUrl = '';
  /** The Traefik API (and /ping) on the `traefik` entry point. */
  public apiUrl = '';
  /** The full command line Traefik runs with (the token masked). */
  public args: string[] = [];
  /** The arguments derived from the values (what the chart would pass), before the lab's additions. */
  public chartArgs: string[] = [];
  /** Milliseconds from spawn to /ping answering. */
  public startupMs = 0;
  private child?: ChildProcess;
  private readonly logFile: string;
  private readonly log: (line: string) => void;

  private constructor(private readonly lab: LabCluster, private readonly options: LabTraefikOptions) {
    this.logFile = path.join(lab.dir, 'traefik.log');
    this.log = options.log ?? (() => undefined);
  }

  /** Traefik's CRD provider loads nothing until every kind it watches is served: say which are missing. */
  private async checkCrds(): Promise<void> {
    if (!chartValues(this.options.values).providers?.kubernetesCRD?.enabled) return;
    const res = await this.lab.request('GET', '/apis/traefik.io/v1alpha1');
    const served = new Set(res.status === 200 ? (res.body.resources as any[]).map((r) => r.kind) : []);
    const missing = TRAEFIK_CRD_KINDS.filter((k) => !served.has(k));
    if (missing.length) {
      throw new Error(`the lab serves no CRD for traefik.io ${missing.join(', ')}: Traefik's CRD provider would wait for them forever and load no Middleware or IngressRoute; fix: apply the chart's CustomResourceDefinitions first (renderTraefikChart(); Argo CD applies the chart's crds/ with it)`);
    }
  }

  private async run(): Promise<void> {
    const v = chartValues(this.options.values);
    const names = Object.entries(v.ports ?? {}).filter(([, c]) => truthy(c)).map(([n]) => n);
    const ports: Record<string, number> = {};
    for (const n of names) ports[n] = await freePort();
    const addresses = Object.fromEntries(names.map((n) => [n, `127.0.0.1:${ports[n]}`]));
    const service = this.options.service ?? traefikFullname(this.options.values);
    // The chart derives publishedService from the release's fullname; a different Service is the chart's pathOverride.
    const values = this.options.service && this.options.service !== traefikFullname(this.options.values)
      ? deepMerge(this.options.values, { providers: { kubernetesIngress: { publishedService: { pathOverride: `${this.options.namespace}/${service}` } } } })
      : this.options.values;
    this.chartArgs = traefikArgsFromValues(values, { namespace: this.options.namespace, addresses, exposedPorts: ports });

    const kubeconfig = yaml.load(fs.readFileSync(this.lab.kubeconfig, 'utf8')) as any;
    const token: string = kubeconfig.users[0].user.token;
    const caFile = path.join(this.lab.dir, 'traefik-ca.crt');
    fs.writeFileSync(caFile, Buffer.from(kubeconfig.clusters[0].cluster['certificate-authority-data'], 'base64'), { mode: 0o600 });
    const connect = (provider: string) => [`--providers.${provider}.endpoint=${this.lab.server}`, `--providers.${provider}.token=${token}`, `--providers.${provider}.certAuthFilePath=${caFile}`];
    const enabled = (flag: string) => this.chartArgs.includes(`--providers.${flag}`);
    const lab = [
      ...['kubernetescrd', 'kubernetesingress', 'kubernetesgateway'].filter(enabled).flatMap(connect),
      '--api.insecure=true',
      ...(this.chartArgs.includes('--global.checkNewVersion=false') ? [] : ['--global.checkNewVersion=false']),
    ];
    const args = [...this.chartArgs, ...lab];
    this.args = args.map((a) => (a.includes('.token=') ? a.replace(/=.*/, '=***') : a));
    if (ports.traefik === undefined) throw new Error('the values have no `traefik` entry point: the lab needs it for /ping and the API');
    this.httpUrl = `http://127.0.0.1:${ports.web}`;
    this.httpsUrl = `https://127.0.0.1:${ports.websecure}`;
    this.apiUrl = `http://127.0.0.1:${ports.traefik}`;

    const t0 = Date.now();
    const logFd = fs.openSync(this.logFile, 'a');
    this.child = spawn(TRAEFIK_BIN, args, { stdio: ['ignore', logFd, logFd], cwd: this.lab.dir, env: { PATH: process.env.PATH ?? '', HOME: this.lab.dir } });
    fs.closeSync(logFd);
    this.child.on('error', () => undefined);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`traefik exited (${this.child.exitCode ?? this.child.signalCode}) before answering /ping\n${this.tail(30)}`);
      const ok = await get(`${this.apiUrl}/ping`).then((r) => r.status === 200, () => false);
      if (ok) {
        this.startupMs = Date.now() - t0;
        this.log(`traefik: answering /ping after ${this.startupMs} ms (web ${this.httpUrl}, websecure ${this.httpsUrl})`);
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await this.stop();
    throw new Error(`traefik did not answer /ping within 60 s\n${this.tail(30)}`);
  }

  /**
   * One request to an entry point (websecure by default, SNI and Host `host`), bounded in time. The web
   * entry point redirects everything to websecure (the platform's values), so routes are read on websecure.
   */
  public request(host: string, urlPath = '/', options: { entryPoint?: 'web' | 'websecure' } = {}): Promise<TraefikResponse> {
    const secure = (options.entryPoint ?? 'websecure') === 'websecure';
    return get(`${secure ? this.httpsUrl : this.httpUrl}${urlPath}`, { host, secure });
  }

  /**
   * 'missing' when Traefik answers with its default router's 404 (no router for host and path, or its
   * router is disabled: a middleware, service or TLS option it names does not exist), 'routed' for any
   * other answer (a routed request to a backend that does not exist ends in 502/503/504; a middleware may
   * answer first: 3xx, 403, 429). A 404 with another body cannot come from Traefik's default router.
   */
  public async routeStatus(host: string, urlPath = '/'): Promise<'missing' | 'routed'> {
    const res = await this.request(host, urlPath);
    if (res.status !== 404) return 'routed';
    if (res.body === TRAEFIK_NOT_FOUND_BODY) return 'missing';
    throw new Error(`${host}${urlPath} answered 404 with a body that is not Traefik's own (${JSON.stringify(res.body.slice(0, 120))}): nothing but Traefik answers in the lab`);
  }

  /** Polls routeStatus until it is `want` (bounded); returns how long it took. */
  public async waitForRoute(host: string, urlPath: string, want: 'missing' | 'routed', timeoutMs = 30_000): Promise<number> {
    const t0 = Date.now();
    let last = '';
    while (Date.now() - t0 < timeoutMs) {
      last = await this.routeStatus(host, urlPath).catch((e) => `error: ${(e as Error).message}`);
      if (last === want) return Date.now() - t0;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${host}${urlPath} still ${last} after ${timeoutMs / 1000} s (wanted ${want})\n${this.tail(20)}`);
  }

  /** Every HTTP router Traefik has built, with its status and errors (Traefik's API). */
  public async routers(): Promise<TraefikRouter[]> {
    const res = await get(`${this.apiUrl}/api/http/routers?per_page=1000`);
    if (res.status !== 200) throw new Error(`Traefik API /api/http/routers: ${res.status} ${res.body.slice(0, 200)}`);
    return JSON.parse(res.body) as TraefikRouter[];
  }

  /** Traefik's log lines, without the terminal colours its default (common) format writes. */
  public logLines(): string[] {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8').replace(/\x1b\[[0-9;]*m/g, '').trimEnd().split('\n') : [];
  }

  /** The last `n` lines of Traefik's log. */
  public tail(n = 30): string {
    return this.logLines().slice(-n).join('\n');
  }

  /**
   * Every distinct error and warning Traefik logged, without the timestamp, in order of first appearance,
   * except LAB_ARTEFACTS: its own lines (level ERR, WRN, FTL of the common format) and those of its
   * Kubernetes client (klog `E`/`W` lines, e.g. `Failed to watch` a kind the API server does not serve).
   */
  public problems(): string[] {
    const lines = this.logLines().flatMap((l) => {
      if (/^\S+ (ERR|WRN|FTL) /.test(l)) return [l.replace(/^\S+ /, '')];
      const klog = /^([EW])\d{4} [\d:.]+\s+\d+ (.*)$/.exec(l);
      return klog ? [`${klog[1]} ${klog[2]}`] : [];
    });
    return [...new Set(lines)].filter((l) => !LAB_ARTEFACTS.some((a) => a.test(l)));
  }

  public async stop(): Promise<void> {
    await stop(this.child);
  }
}

/** GET with a bounded time; TLS without verification (Traefik's default certificate stands in for missing ones). */
function get(url: string, o: { host?: string; secure?: boolean } = {}): Promise<TraefikResponse> {
  return new Promise((resolve, reject) => {
    const secure = o.secure ?? url.startsWith('https:');
    const req = (secure ? https : http).request(url, {
      method: 'GET', agent: false, timeout: REQUEST_TIMEOUT_MS,
      headers: o.host ? { host: o.host } : {},
      ...(secure ? { servername: o.host, rejectUnauthorized: false } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      const certificate = secure ? (res.socket as import('tls').TLSSocket).getPeerCertificate?.()?.subject?.CN : undefined;
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers, ...(certificate ? { certificate: String(certificate) } : {}) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} (Host ${o.host ?? '-'}): no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * The objects of the pinned chart as `helm template --include-crds` renders them for `values` (what Argo CD
 * applies for the traefik Application): its CRDs (the full traefik.io set the CRD provider needs), the
 * IngressClass, the Service whose status the Ingresses publish, the Deployment with the chart's arguments.
 */
export function renderTraefikChart(helm: string, values: Record<string, any>, namespace: string): any[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'traefik-chart-'));
  try {
    const file = path.join(dir, 'values.yaml');
    fs.writeFileSync(file, yaml.dump(values));
    const run = spawnSync(helm, ['template', traefik.releaseName, TRAEFIK_CHART_ARCHIVE, '--namespace', namespace, '--include-crds', '--values', file], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 2 ** 20 });
    if (run.status !== 0) throw new Error(`helm template ${TRAEFIK_CHART_ARCHIVE}: ${run.stderr || run.error?.message}`);
    return (yaml.loadAll(run.stdout) as any[]).filter((d) => d && typeof d === 'object');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The container arguments of the rendered chart's Traefik Deployment (or DaemonSet, on more than one node). */
export function chartContainerArgs(rendered: any[]): string[] {
  const workload = (d: any) => d.kind === 'Deployment' || d.kind === 'DaemonSet';
  const deployment = rendered.find((d) => workload(d) && d.metadata?.name === traefik.releaseName) ?? rendered.find(workload);
  const container = deployment?.spec?.template?.spec?.containers?.find((c: any) => c.name === 'traefik') ?? deployment?.spec?.template?.spec?.containers?.[0];
  if (!container) throw new Error('the rendered chart has no Traefik Deployment');
  return container.args as string[];
}
