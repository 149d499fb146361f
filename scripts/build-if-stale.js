#!/usr/bin/env node
/**
 * `tsc -p tsconfig.json`, skipped when no TypeScript source changed since the last build.
 * Used by `npm run synth` and `npm run test:unit`: after an edit of an environment file only, tsc would
 * spend seconds finding nothing to compile. Plain JavaScript, because it runs before anything is compiled.
 *
 * The stamp (build/.sources-stamp) is a hash of the path, size and mtime of every file tsc reads from the
 * project (the tsconfig `include` folders' .ts/.json files, tsconfig.json, package.json, package-lock.json);
 * it is written only after a successful tsc, from the state taken before tsc started, so an edit made
 * during a compile triggers the next one. A fresh clone has no build/ and always compiles.
 * `node scripts/build-if-stale.js --check` prints "fresh" or "stale" and exits 0 / 1 without compiling.
 */
'use strict';
const { spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const STAMP = path.join(ROOT, 'build', '.sources-stamp');
const ENTRY = path.join(ROOT, 'build', 'main.js');
const FILES = ['main.ts', 'tsconfig.json', 'package.json', 'package-lock.json'];
const FOLDERS = ['lib', 'charts', 'imports', 'scripts', 'test'];
const SKIP = new Set(['node_modules', 'build', 'dist', '.git', '.tools', '.cache']);

function walk(dir, out) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (SKIP.has(e.name)) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) walk(full, out);
    else if (e.isFile() && /\.(ts|json)$/.test(e.name)) out.push(full);
  }
}

function fingerprint() {
  const files = FILES.map((f) => path.join(ROOT, f));
  for (const folder of FOLDERS) walk(path.join(ROOT, folder), files);
  const hash = crypto.createHash('sha256');
  for (const file of files.sort()) {
    let st;
    try {
      st = fs.statSync(file);
    } catch {
      continue;
    }
    hash.update(`${path.relative(ROOT, file)}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

function readStamp() {
  try {
    return fs.readFileSync(STAMP, 'utf8').trim();
  } catch {
    return '';
  }
}

const now = fingerprint();
const fresh = fs.existsSync(ENTRY) && readStamp() === now;
if (process.argv.includes('--check')) {
  console.log(fresh ? 'fresh' : 'stale');
  process.exit(fresh ? 0 : 1);
}
if (!fresh) {
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  const run = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.json')], { cwd: ROOT, stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
  fs.writeFileSync(STAMP, `${now}\n`);
}
