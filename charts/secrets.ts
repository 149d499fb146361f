import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { SealedSecret } from '../imports/bitnami.com';
import { Resources } from '../lib/config/fields';
import { NAMESPACE_ROLES, PlatformConfig } from '../lib/config/schema';
import { CHARTS } from '../lib/config/versions';
import { HelmRelease } from '../lib/constructs/helm-release';
import { HelmResources, helmResources } from '../lib/constructs/resources';

export interface SecretsChartProps {
  readonly config: PlatformConfig;
}

/** Values we set on the sealed-secrets chart (keys from its values.yaml). */
export interface SealedSecretsValues {
  readonly fullnameOverride: string;
  readonly resources: HelmResources;
  readonly containerSecurityContext: {
    readonly enabled: boolean;
    readonly readOnlyRootFilesystem: boolean;
    readonly runAsNonRoot: boolean;
    readonly runAsUser: number;
    readonly allowPrivilegeEscalation: boolean;
    readonly capabilities: { readonly drop: string[] };
    readonly seccompProfile: { readonly type: 'RuntimeDefault' };
  };
}

/** kubeseal's defaults (`--controller-name`, `--controller-namespace`), so it needs no flags. */
export const SEALED_SECRETS_CONTROLLER = { name: 'sealed-secrets-controller', namespace: 'kube-system' } as const;

/** A HelmRelease with a negative wave is a CRD-bearing add-on (lib/gitops/sync-order.ts places it). */
const ADDON_WAVE = -10;

/**
 * The sealed-secrets controller (a Helm add-on, always installed: kubeseal needs its certificate
 * before anything can be sealed) and one SealedSecret per `secrets.<role>.<name>` declared
 * `sealed`. Secrets declared `existing` render nothing: they are created out of band.
 */
export class SecretsChart extends Chart {
  public readonly controller: HelmRelease<SealedSecretsValues>;
  /** The SealedSecrets, by `<namespace>/<name>`. */
  public readonly sealed: Readonly<Record<string, SealedSecret>>;

  constructor(scope: Construct, id: string, props: SecretsChartProps) {
    super(scope, id, { labels: { 'app.kubernetes.io/part-of': 'platform' } });
    const { config } = props;

    this.controller = new HelmRelease(this, 'sealed-secrets', {
      repository: CHARTS.sealedSecrets.repo, chart: CHARTS.sealedSecrets.chart, version: CHARTS.sealedSecrets.version,
      releaseName: SEALED_SECRETS_CONTROLLER.name, namespace: SEALED_SECRETS_CONTROLLER.namespace,
      values: sealedSecretsValues(config.gitops.resources.sealedSecrets), syncWave: ADDON_WAVE, serverSideApply: true,
    });

    const sealed: Record<string, SealedSecret> = {};
    for (const role of NAMESPACE_ROLES) {
      const namespace = config.namespaces[role];
      for (const [name, declaration] of Object.entries(config.secrets[role])) {
        if (declaration.mode !== 'sealed') continue;
        // Strict scope (the default): the ciphertext only decrypts as this name in this namespace.
        sealed[`${namespace}/${name}`] = new SealedSecret(this, `${role}-${name}`, {
          metadata: { name, namespace },
          spec: {
            encryptedData: Object.fromEntries(declaration.keys.map((key) => [key, declaration.encryptedData![key]])),
            template: { metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'platform' } }, type: 'Opaque' },
          },
        });
      }
    }
    this.sealed = sealed;
  }
}

function sealedSecretsValues(resources: Resources): SealedSecretsValues {
  return {
    fullnameOverride: SEALED_SECRETS_CONTROLLER.name,
    resources: helmResources(resources),
    // The chart's defaults lack these two for Pod Security "restricted".
    containerSecurityContext: {
      enabled: true, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 1001,
      allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}
