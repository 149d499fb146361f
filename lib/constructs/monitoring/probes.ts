/**
 * Uptime checks from ONE target list: Probe objects for the blackbox exporter (Prometheus
 * alerts, Grafana) and the configuration of the public status page (Gatus).
 */
import { Construct } from 'constructs';
import { toYaml } from '../../yaml';
import { Probe } from '../../../imports/monitoring.coreos.com';
import { anywhere, FlowRule, namespacePeer, tcp } from '../network-policy';

export type ProbeKind = 'http' | 'tcp' | 'tls';
export type ProbeGroup = 'apps' | 'data' | 'certificates';

/** The pods behind an in-cluster target, so that their namespace can admit the probes. */
export interface ProbeBackend {
  readonly namespace: string;
  readonly podLabels: Record<string, string>;
  readonly port: number;
}

export interface ProbeTarget {
  /** Service name: the only thing the public status page shows about a target. */
  readonly name: string;
  readonly group: ProbeGroup;
  /** `http`: GET answers 2xx; `tcp`: a connection opens; `tls`: HTTPS handshake and certificate expiry. */
  readonly kind: ProbeKind;
  /** A URL for http and tls, host:port for tcp. */
  readonly target: string;
  /** In-cluster targets only. @default - a public host */
  readonly backend?: ProbeBackend;
}

/** Blackbox exporter module per probe kind. */
export const BLACKBOX_MODULES: Record<ProbeKind, string> = { http: 'http_2xx', tcp: 'tcp_connect', tls: 'tls_certificate' };

/** The status page turns a certificate red this long before it expires (alerts fire from Prometheus). */
export const CERTIFICATE_MIN_VALIDITY = '336h';

/**
 * Public hosts answer with many statuses (a login redirect, 403 from the admin allow-list, 403 from
 * S3 for anonymous listing): the TLS check only needs an HTTP answer over a valid certificate.
 */
const TLS_ANSWERS = [200, 204, 301, 302, 307, 308, 400, 401, 403, 404];

/** blackbox.yml modules (https://github.com/prometheus/blackbox_exporter/blob/master/CONFIGURATION.md). */
export function blackboxModules(): Record<string, unknown> {
  const http = { valid_http_versions: ['HTTP/1.1', 'HTTP/2.0'], follow_redirects: false, preferred_ip_protocol: 'ip4' };
  return {
    [BLACKBOX_MODULES.http]: { prober: 'http', timeout: '5s', http },
    [BLACKBOX_MODULES.tcp]: { prober: 'tcp', timeout: '5s', tcp: { preferred_ip_protocol: 'ip4' } },
    [BLACKBOX_MODULES.tls]: { prober: 'http', timeout: '10s', http: { ...http, fail_if_not_ssl: true, valid_status_codes: TLS_ANSWERS } },
  };
}

/** Where a prober reaches exactly the probed targets: each in-cluster backend, and 443 anywhere for public hosts. */
export function probeEgress(targets: readonly ProbeTarget[]): FlowRule[] {
  return [
    ...targets.filter((t) => t.backend).map((t) => ({ peers: [namespacePeer(t.backend!.namespace, t.backend!.podLabels)], ports: tcp(t.backend!.port) })),
    ...(targets.some((t) => !t.backend) ? [{ peers: anywhere(), ports: tcp(443) }] : []), // public hosts, through their public address
  ];
}

export interface ProbesProps {
  readonly namespace: string;
  readonly targets: readonly ProbeTarget[];
  /** host:port of the blackbox exporter Service. */
  readonly proberUrl: string;
  readonly interval: string;
  /** Annotations of every Probe (sync wave: the CRD comes with kube-prometheus-stack). @default none */
  readonly annotations?: Record<string, string>;
}

/**
 * One Probe per in-cluster target (its `service` and `group` labels name it in alerts and
 * dashboards) and one Probe for the certificates of all public hosts.
 */
export class Probes extends Construct {
  /** Names of the Probe objects, by target name (certificates: "certificates"). */
  public readonly probeNames: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: ProbesProps) {
    super(scope, id);
    const names: Record<string, string> = {};
    const probe = (name: string, kind: ProbeKind, targets: string[], labels: Record<string, string>) =>
      new Probe(this, name, {
        metadata: { name, namespace: props.namespace, labels: { 'app.kubernetes.io/part-of': 'platform' }, ...(props.annotations ? { annotations: props.annotations } : {}) },
        spec: {
          jobName: 'blackbox',
          interval: props.interval,
          module: BLACKBOX_MODULES[kind],
          prober: { url: props.proberUrl },
          targets: { staticConfig: { static: targets, labels } },
        },
      });
    for (const t of props.targets.filter((x) => x.kind !== 'tls')) {
      const name = `${t.group}-${t.name}`;
      probe(name, t.kind, [t.target], { service: t.name, group: t.group });
      names[t.name] = name;
    }
    const tls = props.targets.filter((x) => x.kind === 'tls');
    if (tls.length > 0) {
      probe('certificates', 'tls', tls.map((t) => t.target), { group: 'certificates' });
      for (const t of tls) names[t.name] = 'certificates';
    }
    this.probeNames = names;
  }
}

/** Gatus' configuration (https://github.com/TwiN/gatus#configuration), from the same targets. */
/**
 * Gatus' config.yaml. `storagePath`: an SQLite file on a volume, so the history survives restarts.
 * @param storagePath @default none (results in memory)
 */
export function gatusConfig(targets: readonly ProbeTarget[], title: string, interval: string, storagePath?: string): string {
  // Public page: show names and health only — never a URL, host, port or error text.
  const ui = { 'hide-hostname': true, 'hide-url': true, 'hide-port': true, 'hide-errors': true };
  const conditions: Record<ProbeKind, string[]> = {
    http: ['[STATUS] == 200'],
    tcp: ['[CONNECTED] == true'],
    tls: ['[CONNECTED] == true', `[CERTIFICATE_EXPIRATION] > ${CERTIFICATE_MIN_VALIDITY}`],
  };
  const config = {
    web: { port: GATUS_PORT },
    storage: storagePath ? { type: 'sqlite', path: storagePath } : { type: 'memory' },
    ui: { title, header: title },
    endpoints: targets.map((t) => ({
      name: t.name,
      group: t.group,
      url: t.kind === 'tcp' ? `tcp://${t.target}` : t.target,
      interval,
      conditions: conditions[t.kind],
      ...(t.kind === 'tls' ? { client: { 'ignore-redirect': true } } : {}),
      ui,
    })),
  };
  return toYaml(config);
}

export const GATUS_PORT = 8080;
