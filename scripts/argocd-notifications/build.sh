#!/usr/bin/env bash
# Builds scripts/argocd-notifications (Argo CD's notifications engine as a command, for the tests)
# into .tools/argocd-notifications/bin (git-ignored); rebuilt only when go.mod, go.sum or main.go change.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$root/scripts/argocd-notifications"
bin="$root/.tools/argocd-notifications/bin"
mkdir -p "$bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0
sum="$(cat "$dir/go.mod" "$dir/go.sum" "$dir/main.go" | sha256sum | cut -c1-16)"
if [ -x "$bin/argocd-notifications" ] && [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$sum" ]; then
  echo "argocd-notifications: up to date"; exit 0
fi
(cd "$dir" && go build -trimpath -ldflags='-s -w' -o "$bin/argocd-notifications" .)
echo "$sum" > "$bin/.stamp"
echo "argocd-notifications: built"
