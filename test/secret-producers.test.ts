/**
 * The "done when" check of issue 17, at node level (no cluster): no workload in dist/<env> reads a
 * Secret that nothing in the manifests produces (SealedSecret, generator-backed ExternalSecret, a
 * copy of a produced Secret, Certificate, Secret), except the declared outside secrets.
 */
import * as path from 'path';
import { ApiObject, App, Chart } from 'cdk8s';
import { assertSecretsDeclared } from '../lib/gitops/secret-references';
import { findProjectRoot } from '../lib/project';
import { isGeneratorBacked, outsideSecrets, producedSecrets, unproducedSecrets } from '../lib/gitops/secret-producers';
import { loadDist } from '../scripts/lab/sync';
import { loadFixture, synthUserEnv } from './helpers/platform';

const DIST = path.join(findProjectRoot(__dirname), 'dist');
const ENVS = ['dev', 'prod', 'prod-8gb', 'ha'];

describe.each(ENVS)('GIVEN dist/%s as committed', (env) => {
  const objects = loadDist(DIST, env).map((o) => o.object);
  const s = synthUserEnv(env);
  // Helm values that name a Secret (Grafana's existingSecret, Alertmanager's SMTP password, ...) are invisible to the scan.
  const missing = unproducedSecrets(objects, s.platform.declaredSecrets);
  const outside = outsideSecrets(s.config);

  test('THEN every Secret a workload reads that no manifest produces is a declared outside secret', () => {
    expect(missing.map((m) => `${m.namespace}/${m.name}`).filter((m) => !outside.includes(m))).toEqual([]);
    // eslint-disable-next-line no-console
    console.log(`${env}: ${outside.length} outside secrets (${outside.join(', ')}); read but produced by no manifest: ${missing.length}`);
  });

  test('THEN every internal credential is produced in the cluster: each generated declaration has its ExternalSecret', () => {
    const produced = new Map(producedSecrets(objects).map((p) => [`${p.namespace}/${p.name}`, p.by]));
    const generated = Object.entries(s.config.secrets).flatMap(([role, decls]) => Object.entries(decls)
      .filter(([, d]) => d.mode === 'generated')
      .map(([name]) => `${role === 'argocd' ? 'argocd' : s.config.namespaces[role as 'data']}/${name}`));
    expect(generated.length).toBeGreaterThan(0);
    for (const g of generated) expect([g, produced.get(g)]).toEqual([g, `ExternalSecret ${g}`]);
  });
});

describe('the producer scan', () => {
  const password = { apiVersion: 'generators.external-secrets.io/v1alpha1', kind: 'Password', name: 'password-32' };
  const generated = (namespace: string, name: string) => ({
    apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { namespace, name },
    spec: { target: { name }, dataFrom: [{ sourceRef: { generatorRef: password } }] },
  });
  const copy = (namespace: string, name: string, store = 'copy-from-data') => ({
    apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { namespace, name },
    spec: { secretStoreRef: { kind: 'SecretStore', name: store }, target: { name }, data: [{ secretKey: 'password', remoteRef: { key: name, property: 'password' } }] },
  });
  const store = (namespace: string, remoteNamespace: string) => ({
    apiVersion: 'external-secrets.io/v1', kind: 'SecretStore', metadata: { namespace, name: `copy-from-${remoteNamespace}` },
    spec: { provider: { kubernetes: { remoteNamespace } } },
  });
  const reader = (namespace: string, name: string) => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { namespace, name: 'reader' },
    spec: { template: { spec: { containers: [{ name: 'c', env: [{ name: 'P', valueFrom: { secretKeyRef: { name, key: 'password' } } }] }] } } },
  });

  test('GIVEN a generator-backed ExternalSecret and a copy of it in another namespace THEN both Secrets are produced', () => {
    const objects = [generated('data', 'db'), store('app', 'data'), copy('app', 'db'), reader('app', 'db'), reader('data', 'db')];
    expect(unproducedSecrets(objects)).toEqual([]);
    expect(producedSecrets(objects).map((p) => p.by).sort()).toEqual(['ExternalSecret app/db', 'ExternalSecret data/db']);
  });

  test('GIVEN a copy whose source nothing produces THEN its reader is reported', () => {
    const objects = [store('app', 'data'), copy('app', 'db'), reader('app', 'db')];
    expect(unproducedSecrets(objects)).toEqual([{ namespace: 'app', name: 'db', from: ['Deployment app/reader'] }]);
  });

  test('GIVEN an ExternalSecret reading some other store (not a generator) THEN it is no producer', () => {
    const es = { ...copy('app', 'db', 'vault'), spec: { ...copy('app', 'db', 'vault').spec } };
    expect(isGeneratorBacked(es)).toBe(false);
    expect(unproducedSecrets([es, reader('app', 'db')]).map((m) => m.name)).toEqual(['db']);
  });

  test('GIVEN a SealedSecret and a Certificate THEN their Secrets are produced', () => {
    const objects = [
      { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { namespace: 'app', name: 'keys' }, spec: { template: { metadata: { namespace: 'app', name: 'keys' } } } },
      { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { namespace: 'edge', name: 'c' }, spec: { secretName: 'tls' } },
      reader('app', 'keys'), reader('edge', 'tls'),
    ];
    expect(unproducedSecrets(objects)).toEqual([]);
  });

  test('GIVEN a chart whose pod reads a Secret the chart generates itself WHEN the synth checks declarations THEN it needs none; a store-backed one still does', () => {
    const config = loadFixture('prod');
    const chartWith = (es: object) => {
      const chart = new Chart(new App(), 'monitoring');
      new ApiObject(chart, 'es', es as any);
      new ApiObject(chart, 'reader', reader('monitoring', 'db') as any);
      return chart;
    };
    expect(() => assertSecretsDeclared(config, [chartWith(generated('monitoring', 'db'))], [])).not.toThrow();
    expect(() => assertSecretsDeclared(config, [chartWith(copy('monitoring', 'db', 'vault'))], [])).toThrow(/secrets\.monitoring\.db = \(not set\): is read by Deployment monitoring\/reader but never declared/);
  });
});
