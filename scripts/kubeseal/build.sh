#!/usr/bin/env bash
# Builds kubeseal and the sealed-secrets controller from their Go module (scripts/kubeseal/go.mod) into
# .tools/kubeseal/bin (git-ignored) for test/seal.real.test.ts. Rebuilt only when go.mod/go.sum change (a stamp).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$here/../../.tools/kubeseal/bin"
mkdir -p "$bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0
sum="$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-16)"
if [ -x "$bin/kubeseal" ] && [ -x "$bin/controller" ] && [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$sum" ]; then
  echo "kubeseal: up to date"; exit 0
fi
for cmd in kubeseal controller; do
  t0=$SECONDS
  (cd "$here" && go build -trimpath -ldflags='-s -w' -o "$bin/$cmd" "github.com/bitnami/sealed-secrets/cmd/$cmd")
  echo "kubeseal: built $cmd in $((SECONDS - t0)) s"
done
echo "$sum" > "$bin/.stamp"
