import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { SealedSecret } from '../imports/bitnami.com';
import { HelmAddOn, installAddOns, releaseOf } from '../lib/addons/addon';
import { ADD_ONS } from '../lib/addons/registry';
import { externalSecrets, ExternalSecretsValues } from '../lib/addons/external-secrets';
import { sealedSecrets, SealedSecretsValues } from '../lib/addons/sealed-secrets';
import { PlatformConfig, SECRET_SCOPES, secretScopeNamespace } from '../lib/config/schema';
import { GeneratedSecrets } from '../lib/constructs/generated-secrets';
import { HelmRelease } from '../lib/constructs/helm-release';

export interface SecretsChartProps {
  readonly config: PlatformConfig;
  /**
   * Helm add-ons; this chart installs those whose `host` is its id.
   * @default ADD_ONS (lib/addons/registry.ts)
   */
  readonly addOns?: readonly HelmAddOn[];
}

/**
 * The sealed-secrets controller (a Helm add-on, always installed: kubeseal needs its certificate
 * before anything can be sealed) and one SealedSecret per `secrets.<role>.<name>` declared
 * `sealed`; the External Secrets Operator (a Helm add-on) and the generators and ExternalSecrets of every
 * Secret declared `generated` (lib/constructs/generated-secrets.ts). Secrets declared `existing` render
 * nothing: they are created out of band.
 */
export class SecretsChart extends Chart {
  public readonly controller: HelmRelease<SealedSecretsValues>;
  public readonly externalSecretsController: HelmRelease<ExternalSecretsValues>;
  /** The generated Secrets (ExternalSecrets), by `<namespace>/<name>`. */
  public readonly generated: GeneratedSecrets;
  /** The SealedSecrets, by `<namespace>/<name>`. */
  public readonly sealed: Readonly<Record<string, SealedSecret>>;

  constructor(scope: Construct, id: string, props: SecretsChartProps) {
    super(scope, id, { labels: { 'app.kubernetes.io/part-of': 'platform' } });
    const { config } = props;

    const releases = installAddOns(this, props.addOns ?? ADD_ONS, { config });
    this.controller = releaseOf(releases, sealedSecrets);
    this.externalSecretsController = releaseOf(releases, externalSecrets);
    this.generated = new GeneratedSecrets(this, 'generated', { config });

    const sealed: Record<string, SealedSecret> = {};
    for (const role of SECRET_SCOPES) {
      const namespace = secretScopeNamespace(config, role);
      for (const [name, declaration] of Object.entries(config.secrets[role])) {
        if (declaration.mode !== 'sealed') continue;
        // Strict scope (the default): the ciphertext only decrypts as this name in this namespace.
        sealed[`${namespace}/${name}`] = new SealedSecret(this, `${role}-${name}`, {
          metadata: { name, namespace },
          spec: {
            encryptedData: Object.fromEntries(declaration.keys.map((key) => [key, declaration.encryptedData![key]])),
            template: { metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'platform' } }, type: declaration.type ?? 'Opaque' },
          },
        });
      }
    }
    this.sealed = sealed;
  }
}
