#!/usr/bin/env bash
# Builds amtool and alertmanager from their Go module (scripts/alertmanager/go.mod: github.com/prometheus/alertmanager
# v0.34.0, what kube-prometheus-stack 88.5.3 deploys) into .tools/alertmanager/bin, for the Alertmanager tests.
# Rebuilt only when go.mod/go.sum change (a stamp). The version they print is the module's, set the way
# Alertmanager's release build sets it (prometheus/common/version).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$here/../../.tools/alertmanager/bin"
mkdir -p "$bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0
sum="$(cat "$0" "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-16)"
if [ -x "$bin/amtool" ] && [ -x "$bin/alertmanager" ] && [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$sum" ]; then
  echo "alertmanager: up to date"; exit 0
fi
module="$(cd "$here" && go list -m -f '{{.Version}}' github.com/prometheus/alertmanager)" # v0.34.0
for cmd in amtool alertmanager; do
  t0=$SECONDS
  (cd "$here" && go build -trimpath -ldflags="-s -w -X github.com/prometheus/common/version.Version=${module#v}" \
    -o "$bin/$cmd" "github.com/prometheus/alertmanager/cmd/$cmd")
  echo "alertmanager: built $cmd ${module#v} in $((SECONDS - t0)) s"
done
echo "$sum" > "$bin/.stamp"
