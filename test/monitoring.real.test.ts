/**
 * The monitoring configuration files, taken from the synthesized Applications and run with the
 * real programs: Alertmanager's amtool checks and routes the alert config, and Debian's
 * blackbox_exporter loads our modules and probes TCP and HTTP servers on loopback.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { BLACKBOX_MODULES } from '../lib/constructs/monitoring/probes';
import { configFor, one, synth, synthEnv } from './helpers/platform';
import { describeWithPrograms, requireBinary } from './helpers/real-programs';

const valuesOf = (s: ReturnType<typeof synthEnv>, app: string) => one(s, 'Application', app).spec.source.helm.valuesObject;
const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'monitoring-real-'));
const amtool = requireBinary('amtool') ?? undefined;
const blackbox = requireBinary('prometheus-blackbox-exporter') ?? undefined;

const everyReceiver = synth(configFor('prod', {
  monitoring: {
    alertmanager: {
      receivers: [
        { name: 'ops-email', type: 'email', to: 'ops@example.com', from: 'am@example.com', smarthost: 'smtp.example.com:587', authUsername: 'am', secret: { name: 'alertmanager-smtp', key: 'password' } },
        { name: 'oncall', type: 'slack', channel: '#alerts', severities: ['critical'], secret: { name: 'alertmanager-webhooks', key: 'slack' } },
        { name: 'team', type: 'discord', severities: ['warning', 'info'], secret: { name: 'alertmanager-webhooks', key: 'discord' } },
      ],
    },
  },
  secrets: { monitoring: { 'alertmanager-webhooks': { keys: ['slack', 'discord'], mode: 'existing' } } },
}));

/**
 * Debian's amtool is 0.25; `webhook_url_file` for Discord arrived in Alertmanager 0.26 (the pinned
 * image is 0.34). Only for this older checker, that one key is swapped for an equivalent URL.
 */
function forAmtool025(config: any): any {
  const text = JSON.stringify(config).replace(/"webhook_url_file":"[^"]*"/g, '"webhook_url":"https://discord.example/api/webhooks/1/x"');
  return JSON.parse(text);
}

describeWithPrograms('Alertmanager config with the real amtool', { amtool }, () => {
  const write = (name: string, config: unknown) => {
    const file = path.join(workdir, name);
    fs.writeFileSync(file, yaml.dump(forAmtool025(config)));
    return file;
  };

  test.each(['dev', 'prod', 'ha'])('GIVEN %s WHEN amtool checks the synthesized alertmanager.yaml THEN it is valid', (env) => {
    const file = write(`${env}.yaml`, valuesOf(synthEnv(env), 'kube-prometheus-stack').alertmanager.config);
    const run = spawnSync(amtool!, ['check-config', file], { encoding: 'utf8' });
    expect(run.stdout + run.stderr).toContain('SUCCESS');
    expect(run.status).toBe(0);
  });

  describe('GIVEN an e-mail, a Slack and a Discord receiver with their own severities', () => {
    let file: string;
    beforeAll(() => {
      file = write('every-receiver.yaml', valuesOf(everyReceiver, 'kube-prometheus-stack').alertmanager.config);
    });
    const route = (...labels: string[]) => spawnSync(amtool!, ['config', 'routes', 'test', `--config.file=${file}`, ...labels], { encoding: 'utf8' }).stdout.trim();

    test('THEN the config is valid', () => {
      expect(spawnSync(amtool!, ['check-config', file], { encoding: 'utf8' }).status).toBe(0);
    });
    test('WHEN a critical alert fires THEN e-mail and Slack get it', () => {
      expect(route('alertname=HighCPU', 'severity=critical')).toBe('ops-email,oncall');
    });
    test('WHEN a warning fires THEN e-mail and Discord get it, not Slack', () => {
      expect(route('alertname=HighCPU', 'severity=warning')).toBe('ops-email,team');
    });
    test('WHEN the Watchdog fires THEN nobody is paged', () => {
      expect(route('alertname=Watchdog', 'severity=none')).toBe('null');
    });
  });
});

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
