/**
 * MinIO distributed, run by the real MinIO (built from its module, the release versions.ts pins) with the
 * topology of the SYNTHESIZED ha StatefulSet minio-pool: 3 processes × 2 drive directories on loopback
 * (scripts/lab/minio-pool-lab.ts: only names, ports and paths rewritten). One process is killed -9 while
 * a client writes; then the one-to-three move: a standalone server's objects mirrored into the pool.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as crypto from 'crypto';
import { MC_BIN, MINIO_BIN, startMinio } from '../scripts/lab/minio-lab';
import { MinioPoolLab, sha256, startMinioPool } from '../scripts/lab/minio-pool-lab';
import { erasureLayout } from '../lib/services/minio/minio-distributed';
import { describeWithPrograms } from './helpers/real-programs';
import { synthEnv } from './helpers/platform';

jest.setTimeout(600_000);

/** Objects of 1 KiB to 256 KiB of hex text (mc cat returns text). */
function writeObjects(dir: string, count: number, prefix: string): { key: string; file: string; sha: string }[] {
  return Array.from({ length: count }, (_, i) => {
    const body = crypto.randomBytes(512 + crypto.randomInt(128 * 1024)).toString('hex');
    const file = path.join(dir, `${prefix}-${i}.txt`);
    fs.writeFileSync(file, body);
    return { key: `${prefix}/${i}.txt`, file, sha: sha256(body) };
  });
}

describeWithPrograms('GIVEN the synthesized ha MinIO pool (3 servers × 2 drives) on the real MinIO', { minio: MINIO_BIN, mc: MC_BIN }, () => {
  let pool: MinioPoolLab;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'minio-pool-test-'));
  beforeAll(async () => {
    pool = await startMinioPool(synthEnv('ha').objects.map((o) => o.object));
  });
  afterAll(async () => {
    await pool?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('THEN it is one erasure set over all 6 drives with the parity the README states (EC:3: half the raw capacity usable)', () => {
    const info = JSON.parse(pool.mc(['admin', 'info', '--json', 'pod0']).stdout);
    const layout = erasureLayout(pool.pods, pool.drivesPerPod);
    expect(info.info.backend.standardSCParity).toBe(layout.parity);
    expect(layout).toEqual({ drives: 6, parity: 3, data: 3 });
    const drives = info.info.servers.flatMap((s: any) => s.drives ?? []);
    expect(drives).toHaveLength(6);
    expect(new Set(drives.map((d: any) => d.set_index ?? d.pool_index ?? 0)).size).toBe(1);
  });

  test('WHEN one server is killed -9 while a client writes THEN writes continue on the others and every acknowledged object reads back intact, also from the restarted server', async () => {
    expect(pool.mc(['mb', 'pod0/uploads']).status).toBe(0);
    const objects = writeObjects(tmp, 60, 'up');
    const acked: typeof objects = [];
    let failed = 0;
    let ackedAfterKill = 0;
    const deadline = Date.now() + 400_000;
    for (const [n, o] of objects.entries()) {
      if (Date.now() > deadline) break;
      if (n === 20) await pool.kill(2);
      const alive = n < 20 ? [0, 1, 2] : [0, 1];
      const put = pool.mc(['cp', '--quiet', o.file, `pod${alive[n % alive.length]}/uploads/${o.key}`]);
      if (put.status === 0) {
        acked.push(o);
        if (n >= 20) ackedAfterKill++;
      } else failed++;
    }
    console.log(`minio: ${acked.length} objects acknowledged (${ackedAfterKill} after the kill), ${failed} writes failed`);
    expect(ackedAfterKill).toBe(40);
    const readAll = (pod: number) => acked.flatMap((o) => {
      // A read that fails (exit ≠ 0: a timeout on a loaded machine, the restarted server still joining) is
      // asked again; a read that succeeds with other bytes is lost data and fails at once.
      let got = pool.mc(['cat', `pod${pod}/uploads/${o.key}`]);
      for (let t = 0; t < 3 && got.status !== 0; t++) got = pool.mc(['cat', `pod${pod}/uploads/${o.key}`]);
      return sha256(got.stdout) === o.sha ? [] : [`${o.key} from pod${pod}: exit ${got.status} ${got.stderr.trim()} (${got.stdout.length} bytes)`];
    });
    expect(readAll(0)).toEqual([]);
    expect(readAll(1)).toEqual([]);
    // The server returns. Until it has caught up, MinIO answers "Object does not exist" through it for objects
    // written while it was away (its cluster health already says ready): measured, then every object from it.
    await pool.start(2);
    const returned = Date.now();
    // The first object written after the kill (the run that found the gap saw it for objects 20 to 43 of 60).
    const writtenWhileAway = objects[20];
    expect(acked).toContain(writtenWhileAway);
    while (Date.now() - returned < 180_000 && sha256(pool.mc(['cat', `pod2/uploads/${writtenWhileAway.key}`]).stdout) !== writtenWhileAway.sha) await new Promise((r) => setTimeout(r, 1000));
    console.log(`minio: the restarted server served an object written while it was away ${((Date.now() - returned) / 1000).toFixed(0)} s after it was ready`);
    expect(readAll(2)).toEqual([]);
  });

  test('WHEN a standalone server\'s buckets are mirrored into the pool (the one-to-three move, mc mirror) THEN object counts and every sha256 are equal', async () => {
    const standalone = await startMinio();
    try {
      const buckets = ['tour-images', 'documents'];
      const sources: Record<string, ReturnType<typeof writeObjects>> = {};
      for (const b of buckets) {
        expect(standalone.mc(['mb', `root/${b}`]).status).toBe(0);
        sources[b] = writeObjects(tmp, 40, b);
        for (const o of sources[b]) expect(standalone.mc(['cp', '--quiet', o.file, `root/${b}/${o.key}`]).status).toBe(0);
      }
      // The buckets exist in the pool (the provisioning Job creates them after the sync); then the README's step.
      for (const b of buckets) expect(pool.mc(['mb', `pod0/${b}`]).status).toBe(0);
      expect(pool.mc(['alias', 'set', 'old', standalone.endpoint, standalone.accessKey, standalone.secretKey]).status).toBe(0);
      const started = Date.now();
      for (const b of buckets) {
        const mirror = pool.mc(['mirror', '--preserve', '--overwrite', `old/${b}`, `pod0/${b}`]);
        expect(mirror.stderr).toBe('');
        expect(mirror.status).toBe(0);
      }
      console.log(`mirror: ${buckets.length * 40} objects in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      for (const b of buckets) {
        const listed = (alias: string) => pool.mc(['ls', '--recursive', '--json', `${alias}/${b}`]).stdout.trim().split('\n').map((l) => JSON.parse(l).key).sort();
        expect(listed('pod1')).toEqual(listed('old'));
        expect(listed('pod1')).toHaveLength(40);
        const mismatched = sources[b].filter((o) => sha256(pool.mc(['cat', `pod2/${b}/${o.key}`]).stdout) !== o.sha);
        expect(mismatched).toEqual([]);
      }
    } finally {
      await standalone.stop();
    }
  });
});
