#!/usr/bin/env bash
# Builds amtool and alertmanager from their Go module (scripts/alertmanager/go.mod: github.com/prometheus/alertmanager
# v0.34.0, what kube-prometheus-stack 88.5.3 deploys) into .tools/alertmanager/bin, for the Alertmanager tests.
# Rebuilt only when this script, go.mod or go.sum change (a stamp). The version they print is the module's, set the
# way Alertmanager's release build sets it (prometheus/common/version).
# The alertmanager server embeds its web UI from ui/app/dist, which the release process builds with npm and the
# module does not ship: it is built from a copy of the module (verified by `go mod verify` first) with a one-page
# placeholder there, through a generated modfile that replaces the module with that copy. Nothing else differs:
# the API, routing and notifiers the tests use are the module's code.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tools="$here/../../.tools/alertmanager"
bin="$tools/bin"
mkdir -p "$bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0
sum="$(cat "$0" "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-16)"
if [ -x "$bin/amtool" ] && [ -x "$bin/alertmanager" ] && [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$sum" ]; then
  echo "alertmanager: up to date"; exit 0
fi
module="$(cd "$here" && go list -m -f '{{.Version}}' github.com/prometheus/alertmanager)" # v0.34.0
ldflags="-s -w -X github.com/prometheus/common/version.Version=${module#v}"
t0=$SECONDS
(cd "$here" && go build -trimpath -ldflags="$ldflags" -o "$bin/amtool" github.com/prometheus/alertmanager/cmd/amtool)
echo "alertmanager: built amtool ${module#v} in $((SECONDS - t0)) s"

t0=$SECONDS
(cd "$here" && go mod download github.com/prometheus/alertmanager && go mod verify >/dev/null)
dir="$(cd "$here" && go list -m -f '{{.Dir}}' github.com/prometheus/alertmanager)"
src="$tools/src" build="$tools/build"
rm -rf "$src" "$build"
cp -r "$dir" "$src"
chmod -R u+w "$src"
mkdir -p "$src/ui/app/dist" "$build"
printf '<!doctype html><title>Alertmanager</title><p>Test build: the web UI is not part of the Go module; the API is.</p>\n' > "$src/ui/app/dist/index.html"
cp "$here/go.mod" "$build/go.mod"
cp "$here/go.sum" "$build/go.sum"
echo "replace github.com/prometheus/alertmanager => $src" >> "$build/go.mod"
(cd "$here" && go build -modfile="$build/go.mod" -trimpath -ldflags="$ldflags" -o "$bin/alertmanager" github.com/prometheus/alertmanager/cmd/alertmanager)
rm -rf "$src" "$build"
echo "alertmanager: built alertmanager ${module#v} in $((SECONDS - t0)) s"
echo "$sum" > "$bin/.stamp"
