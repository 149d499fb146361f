#!/usr/bin/env bash
# Builds one command of a tools module into .tools/<name>/bin (git-ignored), rebuilt only when the module's
# go.mod, go.sum or the listed extra files change (a stamp), so a warm cache costs nothing.
# Usage: go-build-tool.sh <name> <module dir> <package> [extra files hashed into the stamp...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
name="$1" dir="$2" pkg="$3"; shift 3
bin="$root/.tools/$name/bin"
mkdir -p "$bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0
sum="$(cd "$dir" && cat go.mod go.sum "$@" | sha256sum | cut -c1-16)"
if [ -x "$bin/$name" ] && [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$sum" ]; then
  echo "$name: up to date"; exit 0
fi
t0=$SECONDS
(cd "$dir" && go build -trimpath -ldflags='-s -w' -o "$bin/$name" "$pkg")
echo "$sum" > "$bin/.stamp"
echo "$name: built in $((SECONDS - t0)) s"
