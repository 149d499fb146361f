import { chartWave, CRD_ADDONS_ON_SECRETS } from '../lib/gitops/sync-order';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ALLOY, alloy } from '../lib/addons/alloy';
import { alertmanagerConfigOf, KPS, kubePrometheusStack } from '../lib/addons/kube-prometheus-stack';
import { LOKI, loki } from '../lib/addons/loki';
import { BLACKBOX, blackboxExporter } from '../lib/addons/prometheus-blackbox-exporter';
import { IMAGES } from '../lib/config/versions';
import { PROBER_LABELS } from '../lib/constructs/monitoring/names';
import { BLACKBOX_MODULES } from '../lib/constructs/monitoring/probes';
import { Platform } from '../charts/platform';
import { renderPlatform, writeManifests } from '../lib/synth';
import { Endpoint, NetworkModel, workloadEndpoints } from '../lib/validation/reachability';
import { configFor, find, one, synth, synthEnv, loadFixture } from './helpers/platform';

const values = (s: ReturnType<typeof synthEnv>, name: string) => one(s, 'Application', name).spec.source.helm.valuesObject;

describe.each(['dev', 'prod', 'ha'])('GIVEN the %s environment', (env) => {
  const s = synthEnv(env);
  const m = s.config.monitoring;
  const ns = s.config.namespaces.monitoring;
  const chart = s.platform.monitoring;

  test('THEN the four add-ons are Argo CD Applications on pinned chart versions; kube-prometheus-stack syncs before the data services, server-side', () => {
    const pins = [
      // The operator's CRDs before the data services, after the generated secrets Grafana reads; the
      // others sync with the monitoring chart (lib/gitops/sync-order.ts).
      ['kube-prometheus-stack', kubePrometheusStack, String(chartWave(CRD_ADDONS_ON_SECRETS))],
      ['loki', loki, String(chartWave('monitoring'))],
      ['alloy', alloy, String(chartWave('monitoring'))],
      ['prometheus-blackbox-exporter', blackboxExporter, String(chartWave('monitoring'))],
    ] as const;
    for (const [name, pin, wave] of pins) {
      const app = one(s, 'Application', name);
      expect(app.spec.source).toMatchObject({ repoURL: pin.repo, chart: pin.chart, targetRevision: pin.version, helm: { releaseName: name } });
      expect(app.spec.source.targetRevision).toMatch(/^\d+\.\d+\.\d+$/);
      expect(app.spec.destination.namespace).toBe(ns);
      expect(app.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe(wave);
      expect(app.spec.syncPolicy.syncOptions.includes('ServerSideApply=true')).toBe(name === 'kube-prometheus-stack');
    }
    expect(s.objects.filter((o) => o.object.kind === 'Application' && o.chart === 'monitoring')).toHaveLength(4);
  });

  test('THEN Prometheus keeps 15d (or the configured retention) capped in size on a PVC, and picks up every ServiceMonitor, Probe and rule', () => {
    const spec = values(s, 'kube-prometheus-stack').prometheus.prometheusSpec;
    expect(spec.retention).toBe(m.prometheus.retention);
    expect(spec.retentionSize).toBe(m.prometheus.retentionSize);
    expect(spec.storageSpec.volumeClaimTemplate.spec).toEqual({
      storageClassName: s.config.storageClass, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: m.prometheus.storage.size } },
    });
    for (const flag of ['serviceMonitor', 'podMonitor', 'probe', 'rule']) expect(spec[`${flag}SelectorNilUsesHelmValues`]).toBe(false);
    expect(spec.resources).toEqual({ requests: m.resources.prometheus.requests, limits: m.resources.prometheus.limits });
    expect(chart.prometheusRuleLabels).toEqual({});
  });

  test('THEN Grafana takes its admin from the Secret, watches the dashboard label it publishes, and has Loki as a datasource', () => {
    const g = values(s, 'kube-prometheus-stack').grafana;
    expect(g.admin).toEqual({ existingSecret: m.grafana.adminSecret, userKey: 'admin-user', passwordKey: 'admin-password' });
    expect(g.sidecar.dashboards).toMatchObject({ enabled: true, label: chart.dashboardLabel.key, labelValue: chart.dashboardLabel.value, searchNamespace: 'ALL' });
    expect(g.sidecar.datasources).toMatchObject({ enabled: true, label: chart.datasourceLabel.key });
    expect(g.additionalDataSources).toEqual([{ name: 'Loki', type: 'loki', uid: chart.datasourceUids.loki, url: `http://loki.${ns}.svc.cluster.local:3100`, access: 'proxy', isDefault: false }]);
    expect(chart.lokiUrl).toBe(g.additionalDataSources[0].url);
    const kps = values(s, 'kube-prometheus-stack');
    expect([kps.nodeExporter.enabled, kps.kubeStateMetrics.enabled]).toEqual([true, true]);
  });

  test('THEN Grafana is published on its host behind the admin middlewares, the status page behind the public middlewares', () => {
    const grafana = one(s, 'Ingress', 'grafana');
    expect(grafana.metadata.namespace).toBe(ns);
    expect(grafana.spec.rules.map((r: any) => r.host)).toEqual([m.grafana.host]);
    expect(grafana.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares']).toBe(s.platform.edge.middlewares.monitoring.adminAnnotation);
    expect(grafana.metadata.annotations['cert-manager.io/cluster-issuer']).toBe(s.platform.edge.issuerName);
    expect(grafana.spec.rules[0].http.paths[0].backend.service).toEqual({ name: KPS.grafana.service, port: { number: KPS.grafana.port } });
    const status = one(s, 'Ingress', 'status');
    expect(status.spec.rules.map((r: any) => r.host)).toEqual([m.statusPage.host]);
    expect(status.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares']).toBe(s.platform.edge.middlewares.monitoring.publicAnnotation);
    expect(status.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares']).not.toContain('admin-');
  });

  test('THEN Loki runs one binary on a PVC, without auth, and its compactor deletes logs older than the retention', () => {
    const v = values(s, 'loki');
    expect(v.deploymentMode).toBe('Monolithic');
    expect([v.read.replicas, v.write.replicas, v.backend.replicas, v.singleBinary.replicas]).toEqual([0, 0, 0, 1]);
    expect(v.loki.auth_enabled).toBe(false);
    expect(v.loki.limits_config.retention_period).toBe(m.loki.retention);
    expect(v.loki.compactor).toMatchObject({ retention_enabled: true, delete_request_store: 'filesystem' });
    expect(v.loki.storage.type).toBe('filesystem');
    expect(v.singleBinary.persistence).toEqual({ enabled: true, size: m.loki.storage.size, storageClass: s.config.storageClass });
    // The chart's default chunk cache of 8192 MB would not fit the node.
    for (const cache of [v.chunksCache, v.resultsCache]) expect(cache.allocatedMemory).toBeLessThanOrEqual(256);
    expect([v.chunksCache.enabled, v.resultsCache.enabled]).toEqual([m.loki.chunksCacheMB > 0, m.loki.resultsCacheMB > 0]);
    expect([v.lokiCanary.enabled, v.test.enabled, v.gateway.enabled]).toEqual([false, false, false]);
  });

  test('THEN Alloy runs on every node and ships pod logs to Loki with namespace and app labels', () => {
    const v = values(s, 'alloy');
    expect(v.controller.type).toBe('daemonset');
    expect(v.alloy.mounts.varlog).toBe(true);
    const river: string = v.alloy.configMap.content;
    expect(river).toContain(`url = "${chart.lokiUrl}/loki/api/v1/push"`);
    expect(river).toMatch(/source_labels = \["__meta_kubernetes_namespace"\]\s+target_label\s+= "namespace"/);
    expect(river).toMatch(/__meta_kubernetes_pod_label_app_kubernetes_io_name"\]\s+regex\s+= "\(\.\+\)"\s+target_label\s+= "app"/);
    expect(river).toContain('field = "spec.nodeName=" + sys.env("NODE_NAME")');
    expect(v.alloy.extraEnv).toEqual([{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }]);
    // Balanced braces: a cheap guard against a broken block (there is no alloy binary offline).
    expect((river.match(/{/g) ?? []).length).toBe((river.match(/}/g) ?? []).length);
  });

  test('THEN the probed targets are each web app, MinIO, Postgres, PgBouncer, Redis and the certificate of every public host', () => {
    const byName = Object.fromEntries(chart.targets.map((t) => [t.name, t]));
    const webApps = s.config.apps.filter((a) => a.kind === 'web');
    for (const app of webApps) {
      expect(byName[app.name]).toMatchObject({ kind: 'http', target: `http://${app.name}.${s.config.namespaces.app}.svc.cluster.local:${app.port}${app.healthPath}` });
    }
    expect(byName.minio).toMatchObject({ kind: 'http', target: `${s.platform.minio.s3Endpoint}/minio/health/live` });
    expect(byName.postgres).toMatchObject({ kind: 'tcp', target: `${s.platform.postgres.cluster.primaryHost}:5432` });
    expect(byName.pgbouncer).toMatchObject({ kind: 'tcp', target: `${s.platform.postgres.pgbouncer.host}:6432` });
    expect(byName.redis).toMatchObject({ kind: 'tcp', target: `${s.platform.redis.host}:6379` });
    const ingressHosts = find(s, 'Ingress').flatMap((i) => i.spec.rules.map((r: any) => r.host)).sort();
    const certificates = chart.targets.filter((t) => t.kind === 'tls').map((t) => t.target);
    expect(certificates).toEqual(ingressHosts.map((h: string) => `https://${h}`));
    const probe = one(s, 'Probe', 'certificates');
    expect(probe.spec.module).toBe(BLACKBOX_MODULES.tls);
    expect(probe.spec.targets.staticConfig.static).toEqual(certificates);
  });

  test('THEN every Probe goes through the blackbox exporter to a Service port or a public host that exists', () => {
    const services = find(s, 'Service');
    const hosts = new Set(find(s, 'Ingress').flatMap((i) => i.spec.rules.map((r: any) => r.host)));
    const probes = find(s, 'Probe');
    expect(probes.length).toBe(chart.targets.filter((t) => t.kind !== 'tls').length + 1);
    for (const p of probes) {
      expect(p.spec.prober.url).toBe(`${BLACKBOX.service}.${ns}.svc.cluster.local:${BLACKBOX.port}`);
      expect(Object.values(BLACKBOX_MODULES)).toContain(p.spec.module);
      for (const target of p.spec.targets.staticConfig.static as string[]) {
        const url = new URL(target.includes('://') ? target : `tcp://${target}`);
        const internal = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/.exec(url.hostname);
        if (internal) {
          const svc = services.find((x) => x.metadata.name === internal[1] && x.metadata.namespace === internal[2]);
          expect(svc).toBeDefined();
          expect(svc.spec.ports.map((x: any) => x.port)).toContain(Number(url.port));
        } else {
          expect(hosts).toContain(url.hostname);
        }
      }
    }
  });

  test('THEN every ServiceMonitor selects a Service with the named port', () => {
    const services = find(s, 'Service');
    const monitors = find(s, 'ServiceMonitor');
    expect(monitors.length).toBeGreaterThan(0);
    for (const sm of monitors) {
      const namespaces: string[] = sm.spec.namespaceSelector?.matchNames ?? [sm.metadata.namespace];
      const matching = services.filter((svc) => namespaces.includes(svc.metadata.namespace)
        && Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => svc.metadata.labels?.[k] === v));
      expect(matching.map((x) => x.metadata.name)).not.toEqual([]);
      for (const ep of sm.spec.endpoints) expect(matching.some((svc) => svc.spec.ports.some((p: any) => p.name === ep.port))).toBe(true);
    }
  });

  test('THEN the status page checks the same targets, on a restricted pod, and never shows a URL, host, port or error', () => {
    const config = yaml.load(one(s, 'ConfigMap', 'status').data['config.yaml']) as any;
    expect(config.endpoints.map((e: any) => e.name)).toEqual(chart.targets.map((t) => t.name));
    for (const e of config.endpoints) {
      expect(e.ui).toEqual({ 'hide-hostname': true, 'hide-url': true, 'hide-port': true, 'hide-errors': true });
      expect(e.name).not.toMatch(/svc|cluster\.local|:/);
    }
    const pod = one(s, 'StatefulSet', 'status').spec.template.spec;
    expect(pod.containers[0].image).toBe(IMAGES.gatus);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers[0].securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.containers[0].resources.limits.memory).toBe(m.resources.statusPage.limits.memory);
  });

  test('THEN the status page remembers: its results go to SQLite on its own volume, which survives restarts and is never pruned', () => {
    const config = yaml.load(one(s, 'ConfigMap', 'status').data['config.yaml']) as any;
    const sts = one(s, 'StatefulSet', 'status');
    expect(config.storage.type).toBe('sqlite');
    const mounts = sts.spec.template.spec.containers[0].volumeMounts;
    const data = mounts.find((v: any) => config.storage.path.startsWith(`${v.mountPath}/`));
    // The file is on the `data` volume, which comes from the claim template (PVC data-status-0), not an emptyDir.
    expect(data?.name).toBe('data');
    expect(sts.spec.template.spec.volumes.map((v: any) => v.name)).not.toContain('data');
    expect(sts.spec.volumeClaimTemplates).toEqual([expect.objectContaining({
      metadata: expect.objectContaining({ name: 'data' }),
      spec: expect.objectContaining({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: m.statusPage.storage.size } } }),
    })]);
    expect(sts.metadata.annotations['argocd.argoproj.io/sync-options']).toContain('Prune=false');
    expect(sts.spec.template.spec.securityContext.fsGroup).toBe(sts.spec.template.spec.securityContext.runAsUser);
  });

  test("THEN the status page keeps the seeds' monitors: every 60 s, app health URLs, Postgres, PgBouncer, Redis, MinIO health and certificates", () => {
    const config = yaml.load(one(s, 'ConfigMap', 'status').data['config.yaml']) as any;
    expect(new Set(config.endpoints.map((e: any) => e.interval))).toEqual(new Set(['60s']));
    const byName = Object.fromEntries(config.endpoints.map((e: any) => [e.name, e]));
    expect(byName.crm.url).toMatch(/^http:\/\/crm\.app\.svc\.cluster\.local:\d+\/api\/health$/);
    expect(byName.minio.url).toMatch(/\/minio\/health\/live$/);
    for (const tcp of ['postgres', 'pgbouncer', 'redis']) expect(byName[tcp].url).toMatch(/^tcp:\/\//);
    expect(config.endpoints.filter((e: any) => e.group === 'certificates').map((e: any) => e.name)).toEqual(expect.arrayContaining([m.statusPage.host, m.grafana.host]));
  });

  test('THEN Traefik exposes request metrics to Prometheus, with latency buckets at the p95 thresholds', () => {
    const metrics = values(s, 'traefik').metrics.prometheus;
    expect(metrics).toMatchObject({ service: { enabled: true }, serviceMonitor: { enabled: true }, disableAPICheck: true });
    expect(metrics.buckets.split(',').map(Number)).toEqual(expect.arrayContaining([0.5, 2]));
    const policy = one(s, 'NetworkPolicy', 'traefik-metrics');
    expect(policy.metadata.namespace).toBe(s.config.namespaces.edge);
    expect(policy.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 9100 }]);
  });

  test('THEN Alertmanager reads its config from the Secret ESO writes from the ExternalSecret\'s template, and the chart renders no config Secret', () => {
    const kps = values(s, 'kube-prometheus-stack');
    expect(kps.alertmanager.alertmanagerSpec).toMatchObject({ useExistingSecret: true, configSecret: KPS.alertmanagerConfigSecret });
    const es = kps.extraManifests.find((o: any) => o.kind === 'ExternalSecret');
    expect(es.spec.target).toMatchObject({ name: KPS.alertmanagerConfigSecret, template: { mergePolicy: 'Replace' } });
    expect(Object.keys(es.spec.target.template.data)).toEqual([KPS.alertmanagerConfigKey]);
    expect(es.spec.dataFrom).toEqual([{ sourceRef: { generatorRef: expect.objectContaining({ kind: 'UUID' }) } }]);
  });

  test('THEN Alertmanager routes to each receiver and mounts the Secret it reads the URL or password from', () => {
    const kps = values(s, 'kube-prometheus-stack');
    const am = { ...kps.alertmanager, config: alertmanagerConfigOf(kps) as any };
    const receivers = m.alertmanager.receivers;
    expect(am.alertmanagerSpec.secrets).toEqual([...new Set([...receivers.map((r) => r.secret.name), m.alertmanager.heartbeat!.secret.name])].sort());
    expect(am.config.receivers.map((r: any) => r.name)).toEqual(['null', 'heartbeat', ...receivers.map((r) => r.name)]);
    const email = am.config.receivers.find((r: any) => r.name === 'ops-email').email_configs[0];
    expect(email.auth_password_file).toBe(`/etc/alertmanager/secrets/alertmanager-smtp/password`);
    expect(JSON.stringify(am.config)).not.toMatch(/auth_password"|api_url"|webhook_url"/);
  });

  test('THEN the Secrets the monitoring pods read are declared, in the monitoring namespace', () => {
    const declared = s.platform.declaredSecrets.filter((d) => d.namespace === ns);
    expect(declared).toEqual(expect.arrayContaining([
      { namespace: ns, name: 'alertmanager-smtp', key: 'password' },
      { namespace: ns, name: 'alertmanager-heartbeat', key: 'url' },
      { namespace: ns, name: m.grafana.adminSecret, key: 'admin-user' },
      { namespace: ns, name: m.grafana.adminSecret, key: 'admin-password' },
    ]));
  });
});

describe('GIVEN receivers of every kind and Loki on S3', () => {
  const config = configFor('prod', {
    minio: { buckets: [{ name: 'tour-images', access: 'public-download' }, { name: 'documents', access: 'private' }, { name: 'logs', access: 'private' }] },
    monitoring: {
      alertmanager: {
        receivers: [
          { name: 'oncall', type: 'slack', channel: '#alerts', severities: ['critical'], secret: { name: 'alertmanager-webhooks', key: 'slack' } },
          { name: 'team', type: 'discord', secret: { name: 'alertmanager-webhooks', key: 'discord' } },
        ],
      },
      loki: { storage: { type: 's3', bucket: 'logs', secret: 'loki-s3', size: '5Gi' } },
    },
    secrets: {
      monitoring: { 'alertmanager-webhooks': { keys: ['slack', 'discord'], mode: 'existing' }, 'loki-s3': { keys: ['access-key', 'secret-key'], mode: 'existing' } },
      argocd: { 'argocd-notifications-secret': { keys: ['oncall', 'team'], mode: 'existing' } },
    },
  });
  const s = synth(config);

  test('THEN each receiver reads its webhook URL from the mounted Secret and gets only its severities', () => {
    const kps = values(s, 'kube-prometheus-stack');
    const am = { ...kps.alertmanager, config: alertmanagerConfigOf(kps) as any };
    expect(am.alertmanagerSpec.secrets).toEqual(['alertmanager-heartbeat', 'alertmanager-webhooks']);
    const byName = Object.fromEntries(am.config.receivers.map((r: any) => [r.name, r]));
    expect(byName.oncall.slack_configs[0]).toMatchObject({ api_url_file: '/etc/alertmanager/secrets/alertmanager-webhooks/slack', channel: '#alerts' });
    expect(byName.team.discord_configs[0].webhook_url_file).toBe('/etc/alertmanager/secrets/alertmanager-webhooks/discord');
    expect(am.config.route.routes).toEqual([
      { receiver: 'heartbeat', matchers: ['alertname = "Watchdog"'], group_wait: '0s', group_interval: '1m', repeat_interval: '1m' },
      { receiver: 'oncall', matchers: ['severity =~ "critical"'], continue: true },
      { receiver: 'team', matchers: ['severity =~ "critical|warning"'], continue: true },
    ]);
    expect(one(s, 'NetworkPolicy', 'alertmanager').spec.egress[0].ports.map((p: any) => p.port)).toEqual([443]);
  });

  test('THEN Loki keeps chunks in the bucket with the key pair from its Secret and may reach MinIO', () => {
    const v = values(s, 'loki');
    expect(v.loki.storage).toMatchObject({ type: 's3', bucketNames: { chunks: 'logs' }, s3: { endpoint: 'minio.data.svc.cluster.local:9000', s3ForcePathStyle: true } });
    expect(v.loki.storage.s3.accessKeyId).toBe('${LOKI_S3_ACCESS_KEY}');
    expect(v.singleBinary.extraArgs).toEqual(['-config.expand-env=true']);
    expect(v.singleBinary.extraEnv.map((e: any) => e.valueFrom.secretKeyRef)).toEqual([{ name: 'loki-s3', key: 'access-key' }, { name: 'loki-s3', key: 'secret-key' }]);
    expect(v.loki.compactor.delete_request_store).toBe('s3');
    expect(s.platform.declaredSecrets).toEqual(expect.arrayContaining([{ namespace: 'monitoring', name: 'loki-s3', key: 'secret-key' }]));
    const model = new NetworkModel(s.objects.map((o) => o.object));
    const minio = workloadEndpoints(s.objects.map((o) => o.object)).find((e) => e.name === 'minio')!;
    expect(model.allows({ name: 'loki', namespace: 'monitoring', labels: { ...LOKI.pods } }, minio, 9000)).toBe(true);
  });
});

describe('GIVEN a chart version range in an add-on descriptor', () => {
  afterEach(() => jest.restoreAllMocks());

  test('WHEN synthesizing THEN the Helm release refuses it before anything is written', () => {
    jest.replaceProperty(kubePrometheusStack, 'version', '^88.5.0');
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'range-'));
    fs.writeFileSync(path.join(out, 'keep.yaml'), 'kind: Keep\n');
    expect(() => writeManifests(renderPlatform(new Platform(loadFixture('prod'))), out)).toThrow(
      /chart version "\^88.5.0" of kube-prometheus-stack is not an exact version; fix: pin one release/,
    );
    expect(fs.readdirSync(out)).toEqual(['keep.yaml']);
  });
});

test('GIVEN the monitoring pods WHEN the probers and the stack talk THEN exactly the intended flows are open', () => {
  const s = synthEnv('prod');
  const objects = s.objects.map((o) => o.object);
  const model = new NetworkModel(objects);
  const ns = s.config.namespaces;
  const pod = (name: string, namespace: string, labels: Record<string, string>): Endpoint => ({ name, namespace, labels });
  const blackbox = pod('blackbox', ns.monitoring, { ...BLACKBOX.pods, ...PROBER_LABELS });
  const ours = workloadEndpoints(objects);
  const w = (name: string) => ours.find((e) => e.name === name)!;
  for (const t of s.platform.monitoring.targets.filter((x) => x.backend)) {
    const target = pod(`${t.name}-backend`, t.backend!.namespace, t.backend!.podLabels);
    expect([t.name, model.allows(blackbox, target, t.backend!.port)]).toEqual([t.name, true]);
    expect([t.name, model.allows(w('status'), target, t.backend!.port)]).toEqual([t.name, true]);
    // Other monitoring pods are not probers.
    expect(model.allows(pod('alloy', ns.monitoring, { ...ALLOY.pods }), target, t.backend!.port)).toBe(false);
  }
  expect(model.allows(blackbox, w('postgres'), 9187)).toBe(false);
});
