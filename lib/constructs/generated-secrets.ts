/**
 * Internal credentials generated in the cluster by the External Secrets Operator (lib/addons/external-secrets.ts),
 * from the `secrets.<role>.<name>` declarations in `generated` mode:
 *
 * - a source (no `copyOf`): an ExternalSecret whose every key comes from a `Password` generator of its
 *   namespace (one generator per length; each `dataFrom` entry draws a fresh value, renamed to its key),
 *   with `refreshPolicy: CreatedOnce` and `refreshInterval: 0s`: generated once, never regenerated while
 *   the Secret exists, whatever Argo CD re-applies or however often the controller restarts. The Secret
 *   outlives its ExternalSecret and keeps its values when one is applied again (a prune, a rename back, a
 *   re-created Application): `creationPolicy: Orphan` (no owner reference, so deleting the ExternalSecret
 *   leaves it) and `immutable: true` (a new ExternalSecret has no sync status, so the controller draws new
 *   values; it cannot write them into an immutable Secret and reports the refusal, which the platform's
 *   ExternalSecret health check counts as Healthy: lib/gitops/health-check.ts). Argo CD never prunes or deletes it (`Prune=false`, `Delete=false`, set
 *   by lib/gitops/sync-policy.ts for every generator-backed ExternalSecret);
 * - a copy (`copyOf: <role>`): an ExternalSecret reading the source Secret through a SecretStore of the
 *   Kubernetes provider, whose ServiceAccount may only `get` exactly the copied Secrets of the source
 *   namespace (a Role there with `resourceNames`); refreshed every minute, so a rotated source reaches its copies.
 *
 * The objects are typed here by the fields we set (the CRDs are in ../shared/reference; `npm run validate`
 * checks them strictly). No value is ever rendered: the Secrets exist only in the cluster.
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { GeneratedValue, PlatformConfig, SECRET_SCOPES, SecretDeclaration, SecretScope, secretScopeNamespace } from '../config/schema';
import { KubeRole, KubeRoleBinding, KubeServiceAccount } from '../k8s';
import { SYNC_WAVE_ANNOTATION } from './helm-release';

export const ESO_API = 'external-secrets.io/v1';
export const GENERATORS_API = 'generators.external-secrets.io/v1alpha1';
/** The key a Password generator writes its value to. */
const PASSWORD_KEY = 'password';
/** A generated value unless `generate` says otherwise: 32 letters and digits (~190 bits). */
export const DEFAULT_GENERATED: GeneratedValue = { length: 32 };
/** The sync wave of the copies inside their Application: after their sources (wave 0). */
export const COPY_SYNC_WAVE = '1';

/** How often a copy re-reads its source (a rotated source reaches its copies within this). */
export const COPY_REFRESH = '1m';
/** The API server as pods see it (the Kubernetes provider's `server.url`) and the CA every namespace gets. */
export const IN_CLUSTER_API = { url: 'https://kubernetes.default.svc', caConfigMap: 'kube-root-ca.crt', caKey: 'ca.crt' } as const;

/** The spec of a `Password` generator (generators.external-secrets.io/v1alpha1). */
export interface PasswordSpec {
  readonly length: number;
  readonly digits: number;
  readonly symbols: number;
  readonly noUpper: boolean;
  readonly allowRepeat: boolean;
}

/** Letters and digits only (a quarter of them digits): safe in URLs, Redis ACL rules and conninfo strings. */
export const passwordSpec = (length: number): PasswordSpec => ({ length, digits: Math.round(length / 4), symbols: 0, noUpper: false, allowRepeat: true });

/** One generated declaration, resolved to its namespace. */
export interface GeneratedSecret {
  readonly role: SecretScope;
  readonly namespace: string;
  readonly name: string;
  readonly declaration: SecretDeclaration;
}

/** Every `generated` declaration of the config, sources first. */
export function generatedSecrets(config: PlatformConfig): GeneratedSecret[] {
  const all = SECRET_SCOPES.flatMap((role) => Object.entries(config.secrets[role])
    .filter(([, d]) => d.mode === 'generated')
    .map(([name, declaration]) => ({ role, namespace: secretScopeNamespace(config, role), name, declaration })));
  return [...all.filter((s) => s.declaration.copyOf === undefined), ...all.filter((s) => s.declaration.copyOf !== undefined)];
}

/** The shape of each key of a source declaration. */
export const keyShapes = (d: SecretDeclaration): [string, GeneratedValue][] => d.keys.map((key) => [key, d.generate?.[key] ?? DEFAULT_GENERATED]);

/** The template's `type` when the declaration sets one other than Opaque (a copy passes its source's declaration). */
const typeOf = (d: SecretDeclaration): { type?: string } => (d.type !== undefined && d.type !== 'Opaque' ? { type: d.type } : {});

const passwordName = (length: number) => `password-${length}`;
const storeName = (sourceNamespace: string) => `copy-from-${sourceNamespace}`;

export interface GeneratedSecretsProps {
  readonly config: PlatformConfig;
  /** Labels on every object. @default none */
  readonly labels?: Record<string, string>;
}

/** The generators, ExternalSecrets, SecretStores and their RBAC for every `generated` declaration. */
export class GeneratedSecrets extends Construct {
  /** The ExternalSecrets, by `<namespace>/<name>` of the Secret each produces. */
  public readonly externalSecrets: Readonly<Record<string, ApiObject>>;

  constructor(scope: Construct, id: string, props: GeneratedSecretsProps) {
    super(scope, id);
    const { config } = props;
    const labels = props.labels ?? {};
    const secrets = generatedSecrets(config);
    const made: Record<string, ApiObject> = {};

    // One Password generator per namespace and length (each use draws a new value).
    const lengths = new Map<string, Set<number>>();
    for (const s of secrets.filter((x) => x.declaration.copyOf === undefined)) {
      for (const [, shape] of keyShapes(s.declaration)) if ('length' in shape) lengths.set(s.namespace, (lengths.get(s.namespace) ?? new Set()).add(shape.length));
    }
    for (const [namespace, set] of lengths) {
      for (const length of [...set].sort((a, b) => a - b)) {
        new ApiObject(this, `${namespace}-${passwordName(length)}`, {
          apiVersion: GENERATORS_API, kind: 'Password', metadata: { name: passwordName(length), namespace, labels }, spec: passwordSpec(length),
        });
      }
    }

    for (const s of secrets) {
      const from = s.declaration.copyOf;
      if (from === undefined) {
        const shapes = keyShapes(s.declaration);
        const fixed = shapes.flatMap(([key, shape]) => ('fixed' in shape ? [[key, shape.fixed] as const] : []));
        const template = {
          ...typeOf(s.declaration),
          ...(fixed.length > 0 ? { mergePolicy: 'Merge', data: Object.fromEntries(fixed) } : {}),
        };
        made[`${s.namespace}/${s.name}`] = new ApiObject(this, `${s.role}-${s.name}`, {
          apiVersion: ESO_API, kind: 'ExternalSecret', metadata: { name: s.name, namespace: s.namespace, labels },
          spec: {
            refreshPolicy: 'CreatedOnce',
            refreshInterval: '0s',
            target: {
              name: s.name, creationPolicy: 'Orphan', deletionPolicy: 'Retain', immutable: true,
              ...(Object.keys(template).length > 0 ? { template } : {}),
            },
            dataFrom: shapes.flatMap(([key, shape]) => ('length' in shape ? [{
              sourceRef: { generatorRef: { apiVersion: GENERATORS_API, kind: 'Password', name: passwordName(shape.length) } },
              rewrite: [{ regexp: { source: `^${PASSWORD_KEY}$`, target: key } }],
            }] : [])),
          },
        });
        continue;
      }
      const sourceNamespace = config.namespaces[from];
      made[`${s.namespace}/${s.name}`] = new ApiObject(this, `${s.role}-${s.name}`, {
        apiVersion: ESO_API, kind: 'ExternalSecret',
        // After the sources (wave 0) have made their Secrets: a copy applied with them reports
        // SecretSyncedError (source not found) until then, which Argo CD reads as Degraded and fails the
        // root's sync attempt (found by the first-install rehearsal).
        metadata: { name: s.name, namespace: s.namespace, labels, annotations: { [SYNC_WAVE_ANNOTATION]: COPY_SYNC_WAVE } },
        spec: {
          refreshInterval: COPY_REFRESH,
          secretStoreRef: { kind: 'SecretStore', name: storeName(sourceNamespace) },
          // A copy is owned by its ExternalSecret: re-made from its source whenever it is missing.
          target: {
            name: s.name, creationPolicy: 'Owner', deletionPolicy: 'Retain',
            ...(typeOf(config.secrets[from][s.name]).type ? { template: typeOf(config.secrets[from][s.name]) } : {}),
          },
          data: s.declaration.keys.map((key) => ({ secretKey: key, remoteRef: { key: s.name, property: key } })),
        },
      });
    }

    // Per namespace that holds copies and per source namespace: a SecretStore, its ServiceAccount, and
    // a Role in the source namespace that lets it read exactly the Secrets it copies.
    const pairs = new Map<string, { namespace: string; source: string; names: Set<string> }>();
    for (const s of secrets.filter((x) => x.declaration.copyOf !== undefined)) {
      const source = config.namespaces[s.declaration.copyOf!];
      const pair = pairs.get(`${s.namespace}/${source}`) ?? { namespace: s.namespace, source, names: new Set<string>() };
      pairs.set(`${s.namespace}/${source}`, pair.names.add(s.name) && pair);
    }
    for (const { namespace, source, names } of pairs.values()) {
      const account = `external-secrets-${storeName(source)}`;
      new KubeServiceAccount(this, `${namespace}-${account}`, { metadata: { name: account, namespace, labels }, automountServiceAccountToken: false });
      new ApiObject(this, `${namespace}-${storeName(source)}`, {
        apiVersion: ESO_API, kind: 'SecretStore', metadata: { name: storeName(source), namespace, labels },
        spec: {
          provider: {
            kubernetes: {
              remoteNamespace: source,
              server: { url: IN_CLUSTER_API.url, caProvider: { type: 'ConfigMap', name: IN_CLUSTER_API.caConfigMap, key: IN_CLUSTER_API.caKey } },
              auth: { serviceAccount: { name: account } },
            },
          },
        },
      });
      const role = `external-secrets-copy-to-${namespace}`;
      new KubeRole(this, `${source}-${role}`, {
        metadata: { name: role, namespace: source, labels },
        rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: [...names].sort() }],
      });
      new KubeRoleBinding(this, `${source}-${role}-binding`, {
        metadata: { name: role, namespace: source, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
        subjects: [{ kind: 'ServiceAccount', name: account, namespace }],
      });
    }
    this.externalSecrets = made;
  }
}
