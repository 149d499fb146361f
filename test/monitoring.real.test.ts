/**
 * The monitoring configuration files, taken from the synthesized Applications and run with the
 * real programs: amtool and Alertmanager v0.34.0 (the release kube-prometheus-stack 88.5.3 deploys,
 * scripts/alertmanager/build.sh) check, route and deliver the alert config unchanged, and Debian's
 * blackbox_exporter loads our modules and probes TCP and HTTP servers on loopback.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { alertmanagerConfigOf } from '../lib/addons/kube-prometheus-stack';
import { BLACKBOX_MODULES } from '../lib/constructs/monitoring/probes';
import { configFor, one, synth, synthEnv } from './helpers/platform';
import { describeWithPrograms, requireBinary } from './helpers/real-programs';
import { ALERTMANAGER_BIN, AMTOOL_BIN } from '../scripts/lab/prometheus-tools';

const valuesOf = (s: ReturnType<typeof synthEnv>, app: string) => one(s, 'Application', app).spec.source.helm.valuesObject;
const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'monitoring-real-'));
const amtool = AMTOOL_BIN;
const blackbox = requireBinary('prometheus-blackbox-exporter') ?? undefined;

const everyReceiver = synth(configFor('prod', {
  monitoring: {
    alertmanager: {
      receivers: [
        { name: 'ops-email', type: 'email', to: 'ops@example.com', from: 'am@example.com', smarthost: 'smtp.example.com:587', authUsername: 'am', secret: { name: 'alertmanager-smtp', key: 'password' } },
        { name: 'oncall', type: 'slack', channel: '#alerts', severities: ['critical'], secret: { name: 'alertmanager-webhooks', key: 'slack' } },
        { name: 'team', type: 'discord', severities: ['warning', 'info'], secret: { name: 'alertmanager-webhooks', key: 'discord' } },
        { name: 'phone', type: 'telegram', chatId: -1001234567890, severities: ['critical'], secret: { name: 'alertmanager-webhooks', key: 'telegram' } },
      ],
    },
  },
  secrets: {
    monitoring: { 'alertmanager-webhooks': { keys: ['slack', 'discord', 'telegram'], mode: 'existing' } },
    argocd: { 'argocd-notifications-secret': { keys: ['ops-email', 'oncall', 'team', 'phone'], mode: 'existing' } },
  },
}));

/**
 * The Secret files the config names (`*_file`, mounted under /etc/alertmanager/secrets/ in the pod), moved
 * to `dir` and written there with `values` (by the file's base name); the config is otherwise unchanged.
 */
function withSecretFiles(config: any, dir: string, values: Record<string, string> = {}): any {
  const text = JSON.stringify(config).replace(/"(\w+_file)":"\/etc\/alertmanager\/secrets\/([^"]+)"/g, (_whole, key, rel) => {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, values[path.basename(rel)] ?? 'https://hooks.example/placeholder');
    return `"${key}":"${file}"`;
  });
  return JSON.parse(text);
}

describeWithPrograms('Alertmanager config with the real amtool (v0.34.0)', { 'amtool v0.34.0 (scripts/alertmanager/build.sh)': amtool }, () => {
  const write = (name: string, config: unknown) => {
    const file = path.join(workdir, name);
    fs.writeFileSync(file, yaml.dump(config));
    return file;
  };

  test.each(['dev', 'prod', 'ha'])('GIVEN %s WHEN amtool checks the synthesized alertmanager.yaml THEN it is valid', (env) => {
    const file = write(`${env}.yaml`, alertmanagerConfigOf(valuesOf(synthEnv(env), 'kube-prometheus-stack')));
    const run = spawnSync(amtool!, ['check-config', file], { encoding: 'utf8' });
    expect(run.stdout + run.stderr).toContain('SUCCESS');
    expect(run.status).toBe(0);
  });

  describe('GIVEN an e-mail, a Slack, a Discord and a Telegram receiver with their own severities, and the heartbeat', () => {
    let file: string;
    beforeAll(() => {
      file = write('every-receiver.yaml', alertmanagerConfigOf(valuesOf(everyReceiver, 'kube-prometheus-stack')));
    });
    const route = (...labels: string[]) => spawnSync(amtool!, ['config', 'routes', 'test', `--config.file=${file}`, ...labels], { encoding: 'utf8' }).stdout.trim();

    test('THEN the config is valid', () => {
      expect(spawnSync(amtool!, ['check-config', file], { encoding: 'utf8' }).status).toBe(0);
    });
    test('WHEN a warning fires THEN e-mail and Discord get it, not Slack', () => {
      expect(route('alertname=HighCPU', 'severity=warning')).toBe('ops-email,team');
    });
    test('WHEN a critical alert fires THEN e-mail, Slack and Telegram get it, never the heartbeat', () => {
      expect(route('alertname=HighCPU', 'severity=critical')).toBe('ops-email,oncall,phone');
    });
    test('WHEN the Watchdog fires THEN it goes to the heartbeat URL outside the cluster, and pages nobody', () => {
      expect(route('alertname=Watchdog', 'severity=none')).toBe('heartbeat');
    });
    test('THEN the heartbeat route re-sends the Watchdog every minute, with no initial wait', () => {
      const config = alertmanagerConfigOf(valuesOf(everyReceiver, 'kube-prometheus-stack'));
      const heartbeat = config.route.routes.find((r: any) => r.receiver === 'heartbeat');
      expect(heartbeat).toMatchObject({ group_wait: '0s', group_interval: '1m', repeat_interval: '1m' });
      expect((config.receivers.find((r: any) => r.name === 'heartbeat') as any).webhook_configs).toEqual([
        { url_file: '/etc/alertmanager/secrets/alertmanager-heartbeat/url', send_resolved: false },
      ]);
    });
  });

  describe('GIVEN no heartbeat (dev may run without one)', () => {
    test('WHEN the Watchdog fires THEN it goes nowhere', () => {
      const file = write('no-heartbeat.yaml', alertmanagerConfigOf(valuesOf(synth(configFor('dev', { monitoring: { alertmanager: { heartbeat: null } } })), 'kube-prometheus-stack')));
      expect(spawnSync(amtool!, ['config', 'routes', 'test', `--config.file=${file}`, 'alertname=Watchdog'], { encoding: 'utf8' }).stdout.trim()).toBe('null');
    });
  });
});

const alertmanagerBin = ALERTMANAGER_BIN;

describeWithPrograms("the dead man's switch with the real Alertmanager (v0.34.0)", { 'alertmanager v0.34.0 (scripts/alertmanager/build.sh)': alertmanagerBin }, () => {
  let am: ChildProcess;
  let amPort: number;
  let heartbeat: http.Server;
  const pings: { path: string; alerts: string[] }[] = [];

  beforeAll(async () => {
    heartbeat = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        pings.push({ path: req.url ?? '', alerts: (JSON.parse(body).alerts ?? []).map((a: any) => a.labels.alertname) });
        res.end('OK');
      });
    });
    const hbPort = await listen(heartbeat);
    // prod's synthesized config; the heartbeat URL, read from the Secret's file as in the pod, points at loopback.
    const config = withSecretFiles(alertmanagerConfigOf(valuesOf(synthEnv('prod'), 'kube-prometheus-stack')), path.join(workdir, 'secrets'), { url: `http://127.0.0.1:${hbPort}/ping/prod-uuid` });
    const file = path.join(workdir, 'alertmanager-prod.yaml');
    fs.writeFileSync(file, yaml.dump({ ...config, templates: [] }));
    amPort = await freePort();
    const storage = fs.mkdtempSync(path.join(workdir, 'am-data-'));
    am = spawn(alertmanagerBin!, [`--config.file=${file}`, `--storage.path=${storage}`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address='], { stdio: 'ignore' });
    await waitFor(`http://127.0.0.1:${amPort}/-/ready`);
  });

  afterAll(() => {
    am?.kill();
    heartbeat?.close();
  });

  test('WHEN Prometheus sends the Watchdog (and a warning) THEN the heartbeat URL receives the Watchdog alone, at once', async () => {
    await post(`http://127.0.0.1:${amPort}/api/v2/alerts`, [
      { labels: { alertname: 'Watchdog', severity: 'none' }, annotations: {} },
      { labels: { alertname: 'NodeCpuHigh', severity: 'warning', namespace: 'x' }, annotations: {} },
    ]);
    for (let i = 0; i < 100 && pings.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(pings[0]).toEqual({ path: '/ping/prod-uuid', alerts: ['Watchdog'] });
    expect(pings.flatMap((p) => p.alerts)).not.toContain('NodeCpuHigh');
  });
});

function post(url: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describeWithPrograms('blackbox modules with the real blackbox_exporter', { blackbox }, () => {
  let exporter: ChildProcess;
  let port: number;
  let tcpServer: net.Server;
  let httpServer: http.Server;
  let tcpPort: number;
  let httpPort: number;
  const configFile = path.join(workdir, 'blackbox.yml');

  beforeAll(async () => {
    fs.writeFileSync(configFile, yaml.dump(valuesOf(synthEnv('prod'), 'prometheus-blackbox-exporter').config));
    tcpServer = net.createServer((socket) => socket.end());
    httpServer = http.createServer((req, res) => {
      res.statusCode = req.url === '/api/health' ? 200 : 500;
      res.end();
    });
    tcpPort = await listen(tcpServer);
    httpPort = await listen(httpServer);
    port = await freePort();
    exporter = spawn(blackbox!, [`--config.file=${configFile}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    await waitFor(`http://127.0.0.1:${port}/-/healthy`);
  });

  afterAll(() => {
    exporter?.kill();
    tcpServer?.close();
    httpServer?.close();
  });

  const probe = async (module: string, target: string) => {
    const body = await get(`http://127.0.0.1:${port}/probe?module=${module}&target=${encodeURIComponent(target)}`);
    return Number(/^probe_success (\d)/m.exec(body)?.[1]);
  };

  test('GIVEN the synthesized blackbox.yml THEN --config.check accepts it and it has the three modules the Probes use', () => {
    const run = spawnSync(blackbox!, [`--config.file=${configFile}`, '--config.check'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(Object.keys((yaml.load(fs.readFileSync(configFile, 'utf8')) as any).modules).sort()).toEqual(Object.values(BLACKBOX_MODULES).sort());
  });

  test('WHEN a TCP port listens THEN tcp_connect succeeds; WHEN nothing listens THEN it fails', async () => {
    expect(await probe(BLACKBOX_MODULES.tcp, `127.0.0.1:${tcpPort}`)).toBe(1);
    expect(await probe(BLACKBOX_MODULES.tcp, `127.0.0.1:${await freePort()}`)).toBe(0);
  });

  test('WHEN the health URL answers 200 THEN http_2xx succeeds; WHEN it answers 500 THEN it fails', async () => {
    expect(await probe(BLACKBOX_MODULES.http, `http://127.0.0.1:${httpPort}/api/health`)).toBe(1);
    expect(await probe(BLACKBOX_MODULES.http, `http://127.0.0.1:${httpPort}/broken`)).toBe(0);
  });

  test('WHEN a host answers over plain HTTP THEN the certificate module fails (it insists on TLS)', async () => {
    expect(await probe(BLACKBOX_MODULES.tls, `http://127.0.0.1:${httpPort}/api/health`)).toBe(0);
  });
});

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await get(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not come up`);
}
