/**
 * A loopback Helm chart repository for lab tests: a node HTTP server on 127.0.0.1 serving the files of one
 * folder that holds an index.yaml and the packed charts (.tgz) it names, e.g. ../shared/reference/charts.
 * Read-only (GET and HEAD), no listing, nothing outside the folder; the index's chart URLs must be
 * relative (as `helm repo index` writes them without --url) so that clients fetch them from here.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';

export interface ChartRepo {
  /** http://127.0.0.1:<port> (no trailing slash): the repoURL of an Application's Helm source. */
  readonly url: string;
  readonly port: number;
  /** Paths requested so far, with their status ("200 /index.yaml"). */
  readonly requests: readonly string[];
  stop(): Promise<void>;
}

const TYPES: Record<string, string> = { '.yaml': 'application/x-yaml', '.yml': 'application/x-yaml', '.tgz': 'application/gzip', '.prov': 'text/plain' };

/** Serves `dir` (which must hold an index.yaml) on a free port of 127.0.0.1. */
export async function serveChartRepo(dir: string): Promise<ChartRepo> {
  const root = fs.realpathSync(dir);
  if (!fs.existsSync(path.join(root, 'index.yaml'))) throw new Error(`serveChartRepo: ${root} has no index.yaml; fix: run 'helm repo index ${dir}' or choose the folder that holds the index`);
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const answer = (status: number, body?: fs.ReadStream, headers: http.OutgoingHttpHeaders = {}) => {
      requests.push(`${status} ${req.url}`);
      res.writeHead(status, headers);
      if (body && req.method === 'GET') body.pipe(res);
      else { body?.destroy(); res.end(); }
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405, undefined, { Allow: 'GET, HEAD' });
    let name: string;
    try {
      name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    } catch {
      return answer(400);
    }
    const file = path.join(root, name);
    // Only plain files directly inside the folder: no traversal, no sub-folders, no listing.
    if (!name || name.includes('/') || path.dirname(file) !== root || !fs.existsSync(file) || !fs.statSync(file).isFile()) return answer(404);
    const { size } = fs.statSync(file);
    return answer(200, fs.createReadStream(file), { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Content-Length': size });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`, port, requests,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
