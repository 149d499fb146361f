import { Construct } from 'constructs';
import { AppConfig } from '../../config/schema';
import { KubeJob } from '../../k8s';
import { componentLabels } from '../../labels';
import { AllowFlows, namespacePeer, tcp } from '../network-policy';
import { restrictedContainerSecurity, restrictedPodSecurity } from '../pod-security';
import { containerResources } from '../resources';

/** One request of the smoke test: `https://<host><path>` must answer `status`. */
export interface SmokeCheck {
  readonly host: string;
  readonly path: string;
  readonly status: number;
}

/**
 * What the smoke test asks of one web app on each of its hosts: the homepage (when it serves `/`)
 * and its health path through the edge answer 200 — 401 when basic auth covers the host — and its
 * protected route answers 401.
 */
export function smokeChecks(app: AppConfig): SmokeCheck[] {
  if (app.kind !== 'web' || app.paths.length === 0) return [];
  const open = app.basicAuth ? 401 : 200;
  const health = app.stripPrefix ? `${app.paths[0]}${app.healthPath}` : app.healthPath;
  return app.hosts.flatMap((host) => [
    ...(app.paths.includes('/') ? [{ host, path: '/', status: open }] : []),
    { host, path: health, status: open },
    ...(app.protectedPath ? [{ host, path: app.protectedPath, status: 401 }] : []),
  ]);
}

export interface SmokeTestProps {
  readonly name: string;
  readonly namespace: string;
  readonly image: string;
  readonly checks: readonly SmokeCheck[];
  /** The edge as pods reach it: requests go through Traefik's Service with each public host name. */
  readonly edge: { readonly namespace: string; readonly serviceHost: string; readonly servicePort: number; readonly podLabels: Record<string, string>; readonly podPort: number };
  /** Accept certificates no public CA signed (staging or self-signed issuers). @default false */
  readonly insecure?: boolean;
}

/** Requests every check, prints every result, and fails when one does not hold. */
export const SMOKE_SCRIPT = [
  'fail=0',
  'while read -r host path want; do',
  '  [ -n "$host" ] || continue',
  `  got=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 $CURL_TLS --connect-to "$host:443:$EDGE" "https://$host$path") || got=000`,
  '  if [ "$got" = "$want" ]; then echo "ok   $want https://$host$path"; else echo "FAIL https://$host$path answered $got, expected $want"; fail=1; fi',
  'done <<CHECKS_END',
  '$CHECKS',
  'CHECKS_END',
  'exit $fail',
  '',
].join('\n');

/**
 * A PostSync Job that requests every public route through the edge (TLS, routes, Middlewares) and
 * fails the sync visibly when one answers otherwise; the failed Job stays until the next sync.
 */
export class SmokeTest extends Construct {
  constructor(scope: Construct, id: string, props: SmokeTestProps) {
    super(scope, id);
    const labels = componentLabels(props.name, 'smoke-test');
    new KubeJob(this, 'Job', {
      metadata: {
        name: props.name,
        namespace: props.namespace,
        labels,
        annotations: { 'argocd.argoproj.io/hook': 'PostSync', 'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation' },
      },
      spec: {
        backoffLimit: 2,
        activeDeadlineSeconds: 300,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: 'Never',
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurity(100),
            containers: [{
              name: 'smoke',
              image: props.image,
              command: ['/bin/sh', '-c', SMOKE_SCRIPT],
              env: [
                { name: 'CHECKS', value: props.checks.map((c) => `${c.host} ${c.path} ${c.status}`).join('\n') },
                { name: 'EDGE', value: `${props.edge.serviceHost}:${props.edge.servicePort}` },
                { name: 'CURL_TLS', value: props.insecure ? '--insecure' : '' },
              ],
              resources: containerResources({ requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } }),
              securityContext: restrictedContainerSecurity(),
            }],
          },
        },
      },
    });
    new AllowFlows(this, 'Flows', {
      name: props.name,
      namespace: props.namespace,
      podLabels: { 'app.kubernetes.io/name': props.name },
      egress: [{ peers: [namespacePeer(props.edge.namespace, props.edge.podLabels)], ports: tcp(props.edge.podPort) }],
    });
  }
}
