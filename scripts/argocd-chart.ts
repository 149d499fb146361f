/**
 * node build/scripts/argocd-chart.js dist/<env> [--values]
 *
 * Bootstrap step 4 (README "Bootstrap runbook"): Argo CD is installed by hand once, from exactly the
 * chart, version, repository and values that the platform then manages it with (the `argocd`
 * Application in dist/<env>/argocd/). Without `--values` it prints helm's chart arguments
 * (`<chart> --repo <url> --version <version>`); with it, the values as YAML. Reading them from the
 * Application keeps the README's command right when the chart version, the values or `helm.mirror` change.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';

export const ARGOCD_APPLICATION_FILE = path.join('argocd', 'Application.argocd.argocd.yaml');

/** The Helm source of the argocd Application in one environment's dist folder. */
export function argocdChartSource(envDist: string): { chart: string; repoURL: string; version: string; values: object } {
  const file = path.join(envDist, ARGOCD_APPLICATION_FILE);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} does not exist; fix: run npm run synth, and pass dist/<env> of an environment that renders Argo CD as an Application (helm.addOns.argo-cd.render: application)`);
  }
  const app = yaml.load(fs.readFileSync(file, 'utf8')) as any;
  const source = app?.spec?.source;
  if (!source?.chart || !source.repoURL || !source.targetRevision) throw new Error(`${file} has no Helm source (spec.source.chart, repoURL, targetRevision)`);
  return { chart: source.chart, repoURL: source.repoURL, version: source.targetRevision, values: source.helm?.valuesObject ?? {} };
}

function main(argv: string[]): number {
  const envDist = argv.find((a) => !a.startsWith('--'));
  if (!envDist) {
    console.error('usage: node build/scripts/argocd-chart.js dist/<env> [--values]');
    return 2;
  }
  try {
    const source = argocdChartSource(envDist);
    process.stdout.write(argv.includes('--values') ? yaml.dump(source.values, { lineWidth: -1 }) : `${source.chart} --repo ${source.repoURL} --version ${source.version}\n`);
    return 0;
  } catch (err) {
    console.error(`argocd-chart: ${(err as Error).message}`);
    return 1;
  }
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
