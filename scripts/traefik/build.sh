#!/usr/bin/env bash
# Builds Traefik from its Go module (scripts/traefik/go.mod) into .tools/traefik/bin (git-ignored) for the
# real-edge tests; rebuilt only when go.mod or go.sum change (a stamp), so a warm cache costs nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$root/scripts/traefik"
bin="$root/.tools/traefik/bin"
mkdir -p "$bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0
sum="$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-16)"
if [ -x "$bin/traefik" ] && [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$sum" ]; then
  echo "traefik: up to date"; exit 0
fi
t0=$SECONDS
(cd "$dir" && go build -trimpath -ldflags='-s -w' -o "$bin/traefik" github.com/traefik/traefik/v3/cmd/traefik)
echo "$sum" > "$bin/.stamp"
echo "traefik: built in $((SECONDS - t0)) s"
