/**
 * cert-manager: certificates from Let's Encrypt (HTTP-01 through Traefik). Values typed with only
 * keys that exist in the chart's values.yaml (test/addons.test.ts validates them against the
 * chart's own schema). Security contexts are left at the chart defaults: Pod Security restricted already.
 */
import { PlatformConfig } from '../config/schema';
import { ACME_SOLVER_PORT, anywhere, API_SERVER_PORTS, tcp } from '../constructs/network-policy';
import { HelmResources, helmResources } from '../constructs/resources';
import { row, sized } from '../footprint';
import { CRD, MUTATING_WEBHOOK, RBAC, VALIDATING_WEBHOOK } from '../gitops/helm-scope';
import { chartPin, HelmAddOn } from './addon';

export interface CertManagerValues {
  readonly crds: { readonly enabled: boolean; readonly keep: boolean };
  readonly resources: HelmResources;
  readonly webhook: { readonly resources: HelmResources };
  readonly cainjector: { readonly resources: HelmResources };
  readonly startupapicheck: { readonly resources: HelmResources };
  readonly prometheus: { readonly servicemonitor: { readonly enabled: boolean } };
  /** Controller configuration file; set in Gateway API mode to turn on cert-manager's Gateway support. */
  readonly config?: { readonly apiVersion: string; readonly kind: string; readonly enableGatewayAPI: boolean };
}

/** cert-manager's webhook listens here (values.yaml `webhook.securePort`); the API server calls it. */
export const CERT_MANAGER_WEBHOOK_PORT = 10250;

export function certManagerValues(config: PlatformConfig): CertManagerValues {
  const small = helmResources(config.edge.resources.certManager);
  return {
    // keep: deleting the release must not cascade-delete every Certificate in the cluster.
    crds: { enabled: true, keep: true },
    resources: small,
    webhook: { resources: small },
    cainjector: { resources: small },
    startupapicheck: { resources: small },
    prometheus: { servicemonitor: { enabled: false } },
    ...(config.edge.api === 'gateway'
      ? { config: { apiVersion: 'controller.config.cert-manager.io/v1alpha1', kind: 'ControllerConfiguration', enableGatewayAPI: true } }
      : {}),
  };
}

const INSTANCE = { 'app.kubernetes.io/instance': 'cert-manager' } as const;

export const certManager: HelmAddOn<CertManagerValues> = {
  id: 'cert-manager', host: 'edge', ...chartPin('https://charts.jetstack.io', 'cert-manager'), releaseName: 'cert-manager',
  kubernetes: { minimum: '1.32.0', reason: "its CRDs declare selectableFields, served by default from Kubernetes 1.31 and GA in 1.32" },
  namespace: (config) => config.namespaces.edge,
  // The CRDs carry large OpenAPI schemas; client-side apply's last-applied annotation can overflow.
  serverSideApply: true,
  // Leader-election Role and RoleBinding live in kube-system (global.leaderElection.namespace).
  crdGroups: ['cert-manager.io', 'acme.cert-manager.io'], clusterKinds: [CRD, ...RBAC, VALIDATING_WEBHOOK, MUTATING_WEBHOOK], extraNamespaces: ['kube-system'],
  pods: {
    all: { labels: INSTANCE, ports: {} },
    controller: { labels: { ...INSTANCE, 'app.kubernetes.io/component': 'controller' }, ports: {} },
    webhook: { labels: { ...INSTANCE, 'app.kubernetes.io/component': 'webhook' }, ports: { https: CERT_MANAGER_WEBHOOK_PORT } },
    /** HTTP-01 solver pods run beside the Ingress or Gateway they answer for, in that namespace. */
    solver: { labels: { 'acme.cert-manager.io/http01-solver': 'true' }, ports: { http: ACME_SOLVER_PORT } },
  },
  resourceKey: () => 'edge.resources.certManager',
  footprint: (v, _n, at) => [
    row('controller', 1, [sized(at('resources'), v.resources)]),
    row('webhook', 1, [sized(at('webhook.resources'), v.webhook?.resources)]),
    row('cainjector', 1, [sized(at('cainjector.resources'), v.cainjector?.resources)]),
    row('startupapicheck', 1, [sized(at('startupapicheck.resources'), v.startupapicheck?.resources)], true),
  ],
  values: ({ config }) => certManagerValues(config),
  flows: () => {
    const pods = certManager.pods;
    return [
      // Every cert-manager pod (controller, webhook, cainjector, startupapicheck) talks to the API server.
      { name: 'cert-manager', podLabels: { ...pods.all.labels }, egress: [{ peers: anywhere(), ports: tcp(...API_SERVER_PORTS) }] },
      // The controller reaches Let's Encrypt (443) and self-checks each HTTP-01 challenge on port 80.
      { name: 'cert-manager-acme', podLabels: { ...pods.controller.labels }, egress: [{ peers: anywhere(), ports: tcp(80, 443) }] },
      // The API server calls the admission webhook from the control plane, not from a pod.
      { name: 'cert-manager-webhook', podLabels: { ...pods.webhook.labels }, ingress: [{ peers: anywhere(), ports: tcp(pods.webhook.ports.https) }] },
    ];
  },
};
