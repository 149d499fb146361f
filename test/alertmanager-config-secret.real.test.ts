/**
 * Alertmanager's configuration Secret made by the real External Secrets Operator controller
 * (scripts/external-secrets/build.sh) in a lab cluster, from what the kube-prometheus-stack add-on
 * puts in the chart's `extraManifests` (lib/addons/kube-prometheus-stack.ts alertmanagerConfigManifests):
 * the chart renders no config Secret (`useExistingSecret`), so this Secret is what the operator reads.
 */
import { alertmanagerConfig, alertmanagerConfigManifests, alertmanagerConfigOf, KPS } from '../lib/addons/kube-prometheus-stack';
import { LabCluster, LAB_PROGRAMS, missingLabPrograms, nodesFor } from '../scripts/lab/cluster';
import { EXTERNAL_SECRETS_BIN, externalSecretsBuilt, LabExternalSecrets } from '../scripts/lab/external-secrets';
import * as yaml from 'js-yaml';
import { one, synthEnv } from './helpers/platform';
import { describeWithPrograms } from './helpers/real-programs';

const missing = new Set(missingLabPrograms());
const programs = {
  ...Object.fromEntries(LAB_PROGRAMS.map((p) => [p, missing.has(p) ? undefined : p])),
  'external-secrets': externalSecretsBuilt() ? EXTERNAL_SECRETS_BIN : undefined,
};

describeWithPrograms('GIVEN the Alertmanager config ExternalSecret of prod applied to a lab cluster with the real External Secrets Operator', programs, () => {
  const s = synthEnv('prod');
  const values = one(s, 'Application', 'kube-prometheus-stack').spec.source.helm.valuesObject;
  const namespace = s.config.namespaces.monitoring;
  let lab: LabCluster;
  let eso: LabExternalSecrets;

  const apply = async (objects: any[]) => {
    for (const o of objects) {
      const res = await lab.apply(o);
      if (res.status >= 300) throw new Error(`apply ${o.kind} ${o.metadata.name}: ${res.status} ${res.body?.message}`);
    }
  };
  const secret = async () => {
    const res = await lab.request('GET', `/api/v1/namespaces/${namespace}/secrets/${KPS.alertmanagerConfigSecret}`);
    return res.status === 200 ? Object.fromEntries(Object.entries(res.body.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')])) : undefined;
  };
  const withLog = (err: Error) => {
    throw new Error(`${err.message}\nexternal-secrets log:\n${eso.log()}`);
  };

  beforeAll(async () => {
    lab = await LabCluster.start({ nodes: nodesFor('prod', { ...s.config.node, count: 1 }) });
    eso = await LabExternalSecrets.start(lab);
    await apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }]);
    await apply(values.extraManifests);
    await lab.waitFor('the Alertmanager config Secret', async () => (await secret()) !== undefined, 120_000).catch(withLog);
  }, 600_000);

  afterAll(async () => {
    await eso?.stop();
    await lab?.stop();
  }, 60_000);

  test('THEN the Secret holds exactly alertmanager.yaml, the synthesized config (the generator\'s UUID is dropped)', async () => {
    const data = (await secret())!;
    expect(Object.keys(data)).toEqual([KPS.alertmanagerConfigKey]);
    expect(yaml.load(data[KPS.alertmanagerConfigKey])).toEqual(alertmanagerConfigOf(values));
    expect(alertmanagerConfigOf(values).receivers.map((r: any) => r.name)).toEqual(expect.arrayContaining(['null', 'heartbeat']));
  });

  test('WHEN the config changes (no heartbeat) and Argo CD applies the new ExternalSecret THEN the Secret follows', async () => {
    const changed = alertmanagerConfigManifests(namespace, alertmanagerConfig(s.config.monitoring.alertmanager.receivers, null));
    await apply(changed);
    await lab.waitFor('the changed config in the Secret', async () => !(await secret())?.[KPS.alertmanagerConfigKey].includes('heartbeat'), 120_000).catch(withLog);
    expect(Object.keys((await secret())!)).toEqual([KPS.alertmanagerConfigKey]);
  });
});
