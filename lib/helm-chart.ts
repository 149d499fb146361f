/**
 * The platform of one environment as a Helm chart, for teams that install with Helm instead
 * of Argo CD: Chart.yaml, values.yaml and every synthesized object as a template under
 * templates/<chart>/. The objects are fully rendered; the only templating is escaping, so that
 * text such as Grafana's "{{instance}}" legends reaches the cluster unchanged.
 */
import * as path from 'path';
import * as yaml from 'js-yaml';
import { Manifests } from './synth';

export interface HelmChartOptions {
  /** Environment name; the chart is called `platform-<env>`. */
  readonly env: string;
  /** Chart version (SemVer), e.g. the package version. */
  readonly version: string;
}

/** Helm would evaluate `{{ ... }}`; emit the braces as string literals instead. */
export function escapeForHelm(text: string): string {
  return text.replace(/\{\{|\}\}/g, (braces) => `{{ "${braces}" }}`);
}

/** dist-style manifests of ONE environment (`<env>/<chart>/<file>`) → chart files. */
export function helmChart(manifests: Manifests, options: HelmChartOptions): Manifests {
  const files: Manifests = new Map();
  files.set('Chart.yaml', yaml.dump({
    apiVersion: 'v2',
    name: `platform-${options.env}`,
    description: `The ${options.env} platform, rendered by cdk8s (lib/config/environments/${options.env}.yaml).`,
    type: 'application',
    version: options.version,
    appVersion: options.version,
  }));
  files.set('values.yaml', [
    `# platform-${options.env} is fully rendered: it takes no values.`,
    `# Change lib/config/environments/${options.env}.yaml and run npm run synth:helm -- --env ${options.env}.`,
    '{}',
    '',
  ].join('\n'));
  for (const [file, text] of manifests) {
    const [env, chart, name] = file.split('/');
    if (env !== options.env || !chart || !name) throw new Error(`${file} is not an object of environment ${options.env}`);
    files.set(path.posix.join('templates', chart, name), escapeForHelm(text));
  }
  return files;
}
