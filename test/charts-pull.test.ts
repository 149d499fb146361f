/**
 * `npm run charts:pull` against a real Helm chart repository: the fixture chart packaged and
 * indexed by the real helm binary, served over HTTP on loopback (no repository on the internet is
 * reachable here). The same code pulls the pinned add-on charts from their repositories.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { readLock, sha256File } from '../lib/addons/chart-cache';
import { helmBinary } from '../lib/helm-binary';
import { pullCharts } from '../scripts/charts-pull';
import { packageFixtures } from './helpers/chart-fixtures';
import { describeWithPrograms } from './helpers/real-programs';

const helm = helmBinary();

describeWithPrograms('GIVEN a Helm repository on loopback serving fixture-app 1.0.0', { helm }, () => {
  let repoDir: string;
  let server: http.Server;
  let url: string;
  /** index.yaml as served; a test may replace it. */
  let index: string;
  const pin = () => ({ repo: url, chart: 'fixture-app', version: '1.0.0' });
  const logs: string[] = [];
  const pull = (cache: string) => pullCharts([pin()], cache, { helm: helm!, log: (l) => logs.push(l) });

  beforeAll(async () => {
    repoDir = packageFixtures(helm!, fs.mkdtempSync(path.join(os.tmpdir(), 'chart-repo-')), [{ version: '1.0.0' }]);
    server = http.createServer((req, res) => {
      const name = path.basename(req.url ?? '');
      const file = path.join(repoDir, name);
      if (name === 'index.yaml') res.end(index);
      else if (fs.existsSync(file)) res.end(fs.readFileSync(file));
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    execFileSync(helm!, ['repo', 'index', repoDir, '--url', url]);
    index = fs.readFileSync(path.join(repoDir, 'index.yaml'), 'utf8');
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('WHEN pulled into an empty cache THEN the archive is there, its sha256 matches the index digest, and the lock records both', async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-cache-'));
    expect(await pull(cache)).toEqual([]);
    const archive = path.join(cache, 'fixture-app-1.0.0.tgz');
    const digest = (yaml.load(index) as any).entries['fixture-app'][0].digest;
    expect(sha256File(archive)).toBe(digest);
    expect(readLock(cache)).toEqual([{ ...pin(), file: 'fixture-app-1.0.0.tgz', sha256: digest, verified: `sha256 matches the digest in ${url}/index.yaml` }]);

    // A second run keeps the locked archive.
    logs.length = 0;
    expect(await pull(cache)).toEqual([]);
    expect(logs).toEqual([`fixture-app 1.0.0: in the cache (sha256 ${digest.slice(0, 12)}…)`]);
  });

  test('WHEN the index publishes another digest THEN nothing is written and the problem names both digests', async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-cache-'));
    const original = index;
    index = index.replace(/digest: [0-9a-f]{64}/, `digest: ${'0'.repeat(64)}`);
    try {
      const problems = await pull(cache);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(new RegExp(`the archive's sha256 [0-9a-f]{64} is not the digest ${'0'.repeat(64)} of the repository's index.yaml; nothing was written`));
      expect(fs.existsSync(path.join(cache, 'fixture-app-1.0.0.tgz'))).toBe(false);
    } finally {
      index = original;
    }
  });

  test('WHEN the version is not in the repository THEN helm pull\'s reason is reported', async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-cache-'));
    const problems = await pullCharts([{ ...pin(), version: '9.9.9' }], cache, { helm: helm!, log: () => undefined });
    expect(problems).toEqual([expect.stringMatching(/^fixture-app 9\.9\.9 from http:\/\/127\.0\.0\.1:\d+: helm pull failed: .*9\.9\.9/s)]);
  });
});
