/**
 * The trixie helper (scripts/lab/trixie.ts) the Patroni, PITR and PgBouncer tests run their programs through:
 * a program runs inside the root with the binds it needs, as the host's service user, and leaves nothing mounted.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inTrixie, TRIXIE_ROOT, trixieReady, trixieRunner } from '../scripts/lab/trixie';
import { describeWithPrograms } from './helpers/real-programs';

const run = ([cmd, args]: [string, string[]]) => spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
const mountsOnHost = () => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(TRIXIE_ROOT)).length;

describeWithPrograms('GIVEN the trixie root', { 'trixie root (scripts/trixie/build.sh, as root)': trixieReady() ? 'built' : undefined }, () => {
  test('WHEN a program runs in it THEN it sees the root (Debian 13) and the host /tmp, and afterwards nothing is mounted on the host', () => {
    const before = mountsOnHost();
    const marker = fs.mkdtempSync(path.join(os.tmpdir(), 'trixie-bind-'));
    fs.writeFileSync(path.join(marker, 'seen'), 'from the host');
    const r = run(inTrixie('/bin/sh', ['-c', `. /etc/os-release; echo "$VERSION_ID"; cat ${marker}/seen`]));
    fs.rmSync(marker, { recursive: true, force: true });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: '13\nfrom the host', stderr: '' });
    expect(mountsOnHost()).toBe(before);
    expect(before).toBe(0);
  });

  test("WHEN it runs as the service THEN it is the host's postgres user (same uid, so lab files it chowns are its own)", () => {
    const host = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim();
    const r = run(trixieRunner()('/usr/bin/id', ['-u'], true));
    expect({ status: r.status, uid: r.stdout.trim() }).toEqual({ status: 0, uid: host });
  });

  test('WHEN a bind is asked for THEN that host directory is at the same path inside', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trixie-extra-'));
    const r = run(inTrixie('/bin/ls', [dir], { binds: [dir] }));
    fs.rmSync(dir, { recursive: true, force: true });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  });
});
