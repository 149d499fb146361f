import { Construct } from 'constructs';
import { ServiceMonitor } from '../../imports/monitoring.coreos.com';

export interface MetricsEndpointProps {
  readonly name: string;
  readonly namespace: string;
  /** Labels of the Service to scrape. */
  readonly serviceLabels: Record<string, string>;
  /** Named Service port. */
  readonly port: string;
  /** @default '/metrics' */
  readonly path?: string;
  /** @default '30s' */
  readonly interval?: string;
}

/** A ServiceMonitor for one Service port; picked up by kube-prometheus-stack in any namespace. */
export class MetricsEndpoint extends Construct {
  constructor(scope: Construct, id: string, props: MetricsEndpointProps) {
    super(scope, id);
    new ServiceMonitor(this, 'Monitor', {
      metadata: { name: props.name, namespace: props.namespace, labels: { 'app.kubernetes.io/part-of': 'platform' } },
      spec: {
        selector: { matchLabels: props.serviceLabels },
        namespaceSelector: { matchNames: [props.namespace] },
        endpoints: [{ port: props.port, path: props.path ?? '/metrics', interval: props.interval ?? '30s' }],
      },
    });
  }
}
