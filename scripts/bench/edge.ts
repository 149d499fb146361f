/**
 * `npm run bench -- edge`: real traffic through the real Traefik (the synthesized prod edge, the web app streaming
 * /api/stream) in front of a loopback app: time to the first server-sent event on a buffered path (the body limit's
 * buffering middleware) and on a streaming path, upload throughput to an app and to the S3 host, and Traefik's
 * resident memory while a 200 MiB download streams through the S3 host. Figures only; test/edge-streaming.test.ts asserts.
 */
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { firstByte, MB, startBackend, startEdge, TRAEFIK, upload } from '../../test/helpers/edge-traffic';
import { configFor, synth } from '../../test/helpers/platform';

/** Resident memory of a process in MiB (Linux /proc), undefined once it is gone. */
function rssMiB(pid: number): number | undefined {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : undefined;
}

/** Downloads `mib` MiB from the S3 host, sampling Traefik's RSS every 50 ms; the peak and the wall time. */
function download(port: number, host: string, mib: number, pid: number): Promise<{ bytes: number; ms: number; peakRss: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    let bytes = 0;
    let peakRss = rssMiB(pid) ?? 0;
    const sampler = setInterval(() => { peakRss = Math.max(peakRss, rssMiB(pid) ?? 0); }, 50);
    const req = https.get({ host: '127.0.0.1', port, path: `/download/${mib}`, headers: { host }, servername: host, rejectUnauthorized: false, agent: false, timeout: 300000 }, (res) => {
      res.on('data', (c: Buffer) => { bytes += c.length; });
      res.on('end', () => { clearInterval(sampler); resolve({ bytes, ms: Date.now() - t0, peakRss }); });
    });
    req.on('timeout', () => req.destroy(new Error('download timed out')));
    req.on('error', (e) => { clearInterval(sampler); reject(e); });
  });
}

export async function benchEdge(): Promise<void> {
  if (!fs.existsSync(TRAEFIK)) {
    console.log(`## edge: skipped, ${TRAEFIK} is not built (scripts/traefik/build.sh)`);
    return;
  }
  const s = synth(configFor('prod', { apps: { web: { streamingPaths: ['/api/stream'] } } }));
  const webHost = s.objects.find((o) => o.object.kind === 'Ingress' && o.object.metadata.name === 'web')!.object.spec.rules[0].host as string;
  const s3Host = s.config.minio.apiHost;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-edge-'));
  const backend = await startBackend();
  const edge = await startEdge(s.objects.map((o) => o.object), dir, backend.port);
  try {
    const idleRss = rssMiB(edge.pid) ?? 0;
    const buffered = await firstByte({ port: edge.websecure, host: webHost, path: '/events' });
    const streamed = await firstByte({ port: edge.websecure, host: webHost, path: '/api/stream/events' });
    const timed = async (f: () => Promise<{ status: number }>) => { const t0 = Date.now(); const r = await f(); return { ...r, ms: Date.now() - t0 }; };
    const nine = await timed(() => upload({ port: edge.websecure, host: webHost, size: 9 * MB, method: 'POST' }));
    const eleven = await timed(() => upload({ port: edge.websecure, host: webHost, size: 11 * MB, method: 'POST' }));
    const put = await timed(() => upload({ port: edge.websecure, host: s3Host, size: 200 * MB, path: '/documents/big.bin', timeoutMs: 300000 }));
    const down = await download(edge.websecure, s3Host, 200, edge.pid);
    const mbps = (bytes: number, ms: number) => (bytes / MB / (ms / 1000)).toFixed(0);
    console.log('## edge (real Traefik, synthesized prod routes, loopback app; the backend holds each event stream open 4 s)');
    console.log(`  first SSE event, buffered path (body limit)   ${buffered.ttfbMs.toFixed(0).padStart(6)} ms   (arrives with the end of the stream)`);
    console.log(`  first SSE event, streaming path               ${streamed.ttfbMs.toFixed(0).padStart(6)} ms   (target < 1000 ms: ${streamed.ttfbMs < 1000 ? 'met' : 'NOT met'})`);
    console.log(`  POST 9 MiB to the app                         ${String(nine.status).padStart(6)}      ${nine.ms} ms`);
    console.log(`  POST 11 MiB to the app                        ${String(eleven.status).padStart(6)}      ${eleven.ms} ms`);
    console.log(`  PUT 200 MiB to the S3 host                    ${String(put.status).padStart(6)}      ${put.ms} ms (${mbps(200 * MB, put.ms)} MiB/s)`);
    console.log(`  GET 200 MiB from the S3 host                  ${String(down.bytes === 200 * MB ? 'whole' : `${down.bytes} B`).padStart(6)}      ${down.ms} ms (${mbps(down.bytes, down.ms)} MiB/s)`);
    console.log(`  Traefik RSS idle / peak during the download   ${idleRss.toFixed(0)} / ${down.peakRss.toFixed(0)} MiB`);
    console.log(`  load average ${os.loadavg()[0].toFixed(1)} (other work on the machine skews times)`);
  } finally {
    await edge.stop();
    backend.server.closeAllConnections();
    await new Promise((r) => backend.server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
