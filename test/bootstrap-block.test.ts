/**
 * The README's bootstrap runbook is what the first-install rehearsal executes (scripts/lab/rehearsal.ts
 * extracts it; test/rehearsal-*.real.test.ts run it): here, that the rehearsal runs the block unchanged
 * for the README's example environment, and that step 4 reads Argo CD's chart from the synthesized
 * Application rather than from a retyped version.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ADD_ONS } from '../lib/addons/registry';
import { CHART_VERSIONS } from '../lib/config/versions';
import { findProjectRoot } from '../lib/project';
import { bootstrapBlock, bootstrapScript, README_SECONDARY_BOOTSTRAP_HEADING } from '../scripts/lab/rehearsal';
import { argocdChartSource } from '../scripts/argocd-chart';

const root = findProjectRoot(__dirname);
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

describe('GIVEN the README bootstrap runbook', () => {
  const block = bootstrapBlock(readme);
  const commands = block.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));

  test('WHEN the rehearsal prepares prod (the README example) THEN it runs the block exactly as written', () => {
    expect(bootstrapScript(block, 'prod')).toBe(block);
  });

  test('WHEN it prepares another environment THEN only the environment name differs', () => {
    const other = bootstrapScript(block, 'ha');
    expect(other).not.toBe(block);
    expect(other.replace(/\bha\b/g, 'prod')).toBe(block);
  });

  test('THEN a person types five command lines, in the order the platform needs them', () => {
    expect(commands).toHaveLength(5);
    const order = ['openssl req', 'npm run synth', 'sealed-secrets-key=active', 'helm install argocd', 'platform.io/bootstrap=true'];
    expect(order.map((needle) => commands.findIndex((c) => c.includes(needle)))).toEqual([0, 1, 2, 3, 4]);
  });

  test('THEN no chart version or chart repository is retyped in the block (they come from the argocd Application)', () => {
    expect(block).not.toContain(CHART_VERSIONS['argo-cd']);
    for (const addOn of ADD_ONS) expect(block).not.toContain(addOn.repo);
  });
});

describe('GIVEN the README runbook of a second environment on the same cluster (staging beside prod)', () => {
  const block = bootstrapBlock(readme, README_SECONDARY_BOOTSTRAP_HEADING);
  const commands = block.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));

  test('WHEN the rehearsal prepares qa beside main THEN staging becomes qa, prod becomes main, and nothing else differs', () => {
    const script = bootstrapScript(block, 'qa', 'main');
    expect(script).toContain('--cert main-sealing.pem');
    expect(script.replace(/\bqa\b/g, 'staging').replace(/\bmain\b/g, 'prod')).toBe(block);
  });

  test('THEN it installs no Argo CD and no sealing key: it seals with the cluster\'s certificate, commits, and applies its root', () => {
    expect(commands).toHaveLength(3);
    expect(block).not.toMatch(/helm install|openssl|sealed-secrets-key/);
    expect(commands[2]).toContain('kubectl apply -f dist/staging/argocd/ -l platform.io/bootstrap=true');
  });
});

describe('GIVEN the committed dist/prod WHEN step 4 asks the argocd Application for its chart', () => {
  const argoCd = ADD_ONS.find((a) => a.chart === 'argo-cd')!;

  test('THEN it gets the pinned chart, repository and version, and the values Argo CD manages itself with', () => {
    const source = argocdChartSource(path.join(root, 'dist', 'prod'));
    expect([source.chart, source.repoURL, source.version]).toEqual(['argo-cd', argoCd.repo, CHART_VERSIONS['argo-cd']]);
    expect(Object.keys(source.values).length).toBeGreaterThan(0);
  });

  test('THEN the compiled script prints helm arguments, and names the fix for a folder without the Application', () => {
    const script = path.join(root, 'build', 'scripts', 'argocd-chart.js');
    const ok = spawnSync(process.execPath, [script, path.join(root, 'dist', 'prod')], { encoding: 'utf8' });
    expect(ok.stdout.trim()).toBe(`argo-cd --repo ${argoCd.repo} --version ${CHART_VERSIONS['argo-cd']}`);
    const missing = spawnSync(process.execPath, [script, path.join(root, 'dist', 'no-such-env')], { encoding: 'utf8' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('fix: run npm run synth');
  });
});
