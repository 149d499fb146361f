/**
 * npm run bench -- bad-input: how long a refused environment file takes to fail (issue 15: a YAML
 * alias bomb of a few hundred bytes once ran 42 s and 2.4 GB before failing). Figures, not assertions.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError } from '../../lib/config/errors';
import { loadConfig } from '../../lib/config/load';
import { findProjectRoot } from '../../lib/project';

/** 9 levels of 9 aliases: 9^9 (387 million) values once expanded. */
function aliasBomb(): string {
  const names = 'abcdefghi';
  const levels = [...names].map((n, i) => `${n}: &${n} [${Array(9).fill(i === 0 ? 'x' : `*${names[i - 1]}`).join(',')}]`);
  return `domain: example.com\n${levels.join('\n')}\napps: { crm: { args: *i } }\n`;
}

export function benchBadInput(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-bad-input-'));
  const bomb = aliasBomb();
  fs.writeFileSync(path.join(dir, 'prod.yaml'), bomb);
  const runs = 7;
  const inProcess: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    try {
      loadConfig('prod', { environmentsDir: dir });
      throw new Error('the alias bomb was accepted');
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
    }
    inProcess.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const main = path.join(findProjectRoot(__dirname), 'build', 'main.js');
  const compiled: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const run = spawnSync(process.execPath, [main, '--environments', dir, '--out', path.join(dir, 'dist')], { encoding: 'utf8' });
    compiled.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (run.status !== 1 || !run.stderr.includes('YAML aliases')) throw new Error(`the compiled synth did not refuse the alias bomb: ${run.stderr}`);
  }
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    spawnSync(process.execPath, [path.join(findProjectRoot(__dirname), 'build', 'scripts', 'bench', 'bare-start.js')]);
    bare.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  console.log('## bad input: a YAML alias bomb of %d bytes (median of %d runs)', bomb.length, runs);
  console.log(`  loadConfig refuses it (in process)      ${median(inProcess).toFixed(1).padStart(7)} ms`);
  console.log(`  node build/main.js exits 1 (whole run)  ${median(compiled).toFixed(0).padStart(7)} ms`);
  console.log(`  bare start of the compiled app (ref.)   ${median(bare).toFixed(0).padStart(7)} ms   (the refusal itself: the in-process line; target well under 1 s)`);
  fs.rmSync(dir, { recursive: true, force: true });
}
