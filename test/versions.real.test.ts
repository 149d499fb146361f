/**
 * The README's "Shipped and tested versions" table is true: every image and chart of lib/config/versions.ts has
 * a row naming its pinned version, and every "tested with" entry is what the binary CI runs reports when asked.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CHART_VERSIONS, IMAGES } from '../lib/config/versions';
import { findProjectRoot } from '../lib/project';
import { pg16 } from '../scripts/lab/pg16';
import { findProgram, postgresBinDir } from '../scripts/lab/programs';
import { ALERTMANAGER_BIN, AMTOOL_BIN, PROMTOOL_BIN } from '../scripts/lab/prometheus-tools';
import { TRIXIE_PG_BIN, trixieOutput, trixieReady } from '../scripts/lab/trixie';
import { describeWithPrograms } from './helpers/real-programs';

const root = findProjectRoot(__dirname);
const tools = (name: string, cmd = name) => path.join(root, '.tools', name, 'bin', cmd);

interface Row { key: string; kind: 'image' | 'chart'; shipped: string; tested: string }

/** The rows of the README's table, by their first cell ("image `postgres`", "chart `loki`"). */
export function versionRows(readme: string): Row[] {
  const section = readme.split('\n## Shipped and tested versions\n')[1]?.split('\n## ')[0];
  if (!section) throw new Error('docs/development.md has no "## Shipped and tested versions" section');
  return section.split('\n').filter((l) => /^\| (image|chart) `/.test(l)).map((line) => {
    const cells = line.split(' | ').map((c) => c.replace(/^\| /, '').replace(/ \|$/, ''));
    const [, kind, key] = /^(image|chart) `([^`]+)`$/.exec(cells[0])!;
    return { key, kind: kind as Row['kind'], shipped: cells[1], tested: cells[2] };
  });
}

/** `<program> <version> (<where from>)` entries of a "tested with" cell; "not run" has none. */
export function claims(tested: string): { program: string; version: string; from: string }[] {
  return [...tested.matchAll(/([A-Za-z][\w.-]*(?: [A-Z][A-Za-z]+)?) (v?\d[\w.+-]*)(?: = [^(,]*)? \((npm|trixie|bookworm|Go module)\)/g)]
    .map((m) => ({ program: m[1], version: m[2], from: m[3] }));
}

function output(cmd: string | undefined, args: string[], env: NodeJS.ProcessEnv = {}): string {
  if (!cmd) throw new Error('not installed');
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  if (r.error) throw r.error;
  return `${r.stdout}${r.stderr}`.trim();
}

/** The version of `module` a Go binary was built from (its embedded build info, read by `go version -m`). */
function goModuleVersion(bin: string, module: string): string {
  const info = output(findProgram('go', ['/usr/local/go/bin']), ['version', '-m', bin]);
  const line = info.split('\n').map((l) => l.trim().split(/\s+/)).find((f) => (f[0] === 'dep' || f[0] === 'mod') && f[1] === module);
  if (!line) throw new Error(`${bin} was not built from ${module}:\n${info.slice(0, 400)}`);
  return line[2];
}

const first = (text: string, re: RegExp): string => re.exec(text)?.[1] ?? `(no match of ${re} in "${text.slice(0, 200)}")`;

/** How to ask each program, by "<program> (<where from>)": the version it reports. */
const PROBES: Record<string, () => string> = {
  'PostgreSQL (npm)': () => first(output(pg16() && `${pg16()!.bin}/postgres`, ['--version']), /\(PostgreSQL\) (\S+)/),
  'PostgreSQL (trixie)': () => first(trixieOutput(`${TRIXIE_PG_BIN}/postgres`, ['--version']), /\(PostgreSQL\) (\S+)/),
  'PostgreSQL (bookworm)': () => first(output(postgresBinDir() && `${postgresBinDir()}/postgres`, ['--version']), /\(PostgreSQL\) (\S+)/),
  'Patroni (trixie)': () => first(trixieOutput('patroni', ['--version']), /^patroni (\S+)/),
  'pgBackRest (trixie)': () => first(trixieOutput('pgbackrest', ['version']), /^pgBackRest (\S+)/),
  'PgBouncer (trixie)': () => first(trixieOutput('pgbouncer', ['--version']), /^PgBouncer (\S+)/),
  'PgBouncer (bookworm)': () => first(output(findProgram('pgbouncer'), ['--version']), /^PgBouncer (\S+)/),
  'Redis (bookworm)': () => first(output(findProgram('redis-server'), ['--version']), /v=(\S+)/),
  'HAProxy (bookworm)': () => first(output(findProgram('haproxy'), ['-v']), /HAProxy version (\d+\.\d+\.\d+)/),
  'rclone (bookworm)': () => first(output(findProgram('rclone'), ['version']), /^rclone v(\d[\d.]*)/),
  'blackbox_exporter (bookworm)': () => first(output(findProgram('prometheus-blackbox-exporter'), ['--version']), /version (\S+)/),
  'promtool (Go module)': () => goModuleVersion(PROMTOOL_BIN ?? tools('prometheus', 'promtool'), 'github.com/prometheus/prometheus'),
  'amtool (Go module)': () => goModuleVersion(AMTOOL_BIN ?? tools('alertmanager', 'amtool'), 'github.com/prometheus/alertmanager'),
  'Alertmanager (Go module)': () => goModuleVersion(ALERTMANAGER_BIN ?? tools('alertmanager', 'alertmanager'), 'github.com/prometheus/alertmanager'),
  'MinIO (Go module)': () => goModuleVersion(tools('minio'), 'github.com/minio/minio'),
  'mc (Go module)': () => goModuleVersion(tools('mc'), 'github.com/minio/mc'),
  'Traefik (Go module)': () => goModuleVersion(tools('traefik'), 'github.com/traefik/traefik/v3'),
  'kubeseal (Go module)': () => goModuleVersion(tools('kubeseal'), 'github.com/bitnami/sealed-secrets'),
  'External Secrets (Go module)': () => goModuleVersion(tools('external-secrets'), 'github.com/external-secrets/external-secrets'),
  'Argo CD (Go module)': () => goModuleVersion(tools('argocd'), 'github.com/argoproj/argo-cd/v3'),
};

// The table lives in docs/development.md (the README keeps day 1 and day 2).
const readme = fs.readFileSync(path.join(root, 'docs', 'development.md'), 'utf8');
const rows = versionRows(readme);

describe('GIVEN the README table "Shipped and tested versions"', () => {
  test('THEN every image and chart of versions.ts has exactly one row, and no row names something versions.ts lacks', () => {
    const expected = [...Object.keys(IMAGES).map((k) => `image ${k}`), ...Object.keys(CHART_VERSIONS).map((k) => `chart ${k}`)].sort();
    expect(rows.map((r) => `${r.kind} ${r.key}`).sort()).toEqual(expected);
  });

  test("THEN each row's shipped cell names the pinned tag or chart version", () => {
    const pinned = (r: Row): string => (r.kind === 'image' ? (IMAGES as Record<string, string>)[r.key] : (CHART_VERSIONS as Record<string, string>)[r.key]);
    for (const r of rows) expect({ row: r.key, shipped: r.shipped.includes(`\`${pinned(r)}\``) }).toEqual({ row: r.key, shipped: true });
  });

  test('THEN every "tested with" cell is either "not run" or made of entries the test can check', () => {
    for (const r of rows) {
      const found = claims(r.tested);
      expect({ row: r.key, checkable: r.tested === 'not run' || found.length > 0, unknown: found.filter((c) => !PROBES[`${c.program} (${c.from})`]) }).toEqual({ row: r.key, checkable: true, unknown: [] });
    }
  });

  test('THEN the entry parser reads what the table says (a seeded typo is not silently skipped)', () => {
    expect(claims('PostgreSQL 16.6 (npm), Patroni 4.0.7 (trixie)')).toEqual([
      { program: 'PostgreSQL', version: '16.6', from: 'npm' }, { program: 'Patroni', version: '4.0.7', from: 'trixie' },
    ]);
    expect(claims('promtool v0.314.0 = Prometheus v3.14.0 (Go module)')).toEqual([{ program: 'promtool', version: 'v0.314.0', from: 'Go module' }]);
    expect(claims('Patroni 4.0.7 (trixy)')).toEqual([]);
    expect(claims('Argo CD v3.2.11 (Go module)')).toEqual([{ program: 'Argo CD', version: 'v3.2.11', from: 'Go module' }]);
  });
});

describeWithPrograms('GIVEN the programs CI runs WHEN each is asked its version THEN it is the one the README table states', {
  'trixie root (scripts/trixie/build.sh, as root)': trixieReady() ? 'built' : undefined,
  'postgres 16 (npm)': pg16()?.bin,
  'go (reads the Go builds\' module versions)': findProgram('go', ['/usr/local/go/bin']),
}, () => {
  const entries = rows.flatMap((r) => claims(r.tested).map((c) => [r.key, c.program, c.from, c.version] as const));
  test.each(entries)('%s: %s (%s) reports %s', (_row, program, from, version) => {
    expect(PROBES[`${program} (${from})`]()).toBe(version);
  });
});
