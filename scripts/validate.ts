/**
 * npm run validate [-- --dist DIR --reference DIR]: strict validation of every object in dist/.
 * Exits non-zero on any problem.
 */
import * as path from 'path';
import { findProjectRoot, referenceDir } from '../lib/project';
import { formatReport, validateDist } from '../lib/validation/validate-dist';

const root = findProjectRoot(__dirname);
const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? path.resolve(args[i + 1]) : fallback;
};
const report = validateDist(option('--dist', path.join(root, 'dist')), option('--reference', referenceDir()));
console.log(formatReport(report));
process.exit(report.problems.length === 0 && report.objects > 0 ? 0 : 1);

