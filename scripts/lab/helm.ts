/** The helm binary for inline rendering in tests and scripts (extracted by scripts/helm.sh, offline). */
export { helmBinary } from '../../lib/helm-binary';
