#!/usr/bin/env bash
# Builds promtool from its Go module (scripts/prometheus/go.mod: github.com/prometheus/prometheus v0.314.0 =
# Prometheus v3.14.0, what kube-prometheus-stack 88.5.3 deploys) into .tools/prometheus/bin, for the alert-rule and
# dashboard tests. Rebuilt only when go.mod/go.sum change (a stamp). Tag remove_all_sd leaves out the service
# discoveries (AWS, Azure, GCE, ... SDKs: most of the compile) that `promtool check/test rules` never touch; the
# rule engine, PromQL parser and test runner are the release's own. The version printed by `promtool --version`
# is the module's, set the way Prometheus's release build sets it (prometheus/common/version).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$here/../../.tools/prometheus/bin"
mkdir -p "$bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0
sum="$(cat "$0" "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-16)"
if [ -x "$bin/promtool" ] && [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$sum" ]; then
  echo "promtool: up to date"; exit 0
fi
module="$(cd "$here" && go list -m -f '{{.Version}}' github.com/prometheus/prometheus)" # v0.314.0
release="$(echo "$module" | sed -E 's/^v0\.([0-9]+)([0-9]{2})\.([0-9]+)$/\1.\2.\3/; s/\.0([0-9])\./.\1./')" # 3.14.0
t0=$SECONDS
(cd "$here" && go build -trimpath -tags remove_all_sd \
  -ldflags="-s -w -X github.com/prometheus/common/version.Version=$release -X github.com/prometheus/common/version.Branch=module-$module" \
  -o "$bin/promtool" github.com/prometheus/prometheus/cmd/promtool)
echo "$sum" > "$bin/.stamp"
echo "promtool: built $release in $((SECONDS - t0)) s"
