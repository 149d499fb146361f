#!/usr/bin/env bash
# npm run import                       regenerates imports/ from the upstream CRDs in ../shared/reference (offline).
# npm run import -- compose <file>...  imports a docker-compose stack as an environment (scripts/import-compose/).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "compose" ]]; then
  shift
  # Relative paths are the caller's (npm runs scripts in the project root, INIT_CWD is where npm was called).
  npm run -s build
  cd "${INIT_CWD:-$PWD}"
  exec node "$OLDPWD/build/scripts/import-compose/main.js" "$@"
fi
# cdk8s import reads one spec per run, so the CRDs of each project are joined into one
# multi-document file first; output files are named by API group.
export CDK8S_CHECK_UPGRADE=false
ref="${PLATFORM_REFERENCE:-../shared/reference}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
rm -rf imports
mkdir -p imports
for project in cert-manager prometheus-operator argo-cd traefik sealed-secrets gateway-api; do
  : >"$tmp/$project.yaml"
  for crd in "$ref/crds/$project"/*.yaml; do
    { echo '---'; cat "$crd"; } >>"$tmp/$project.yaml"
  done
  npx --no-install cdk8s import --language typescript --output imports "$tmp/$project.yaml" >/dev/null
done
ls imports
