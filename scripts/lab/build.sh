#!/usr/bin/env bash
# Builds the lab cluster's programs from their Go modules into .tools/lab/bin (git-ignored):
# kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes), etcd, kwok.
# Each tools module is rebuilt only when its go.mod/go.sum changed (a stamp per module), so a warm
# cache costs nothing; a fresh machine builds everything (see README "Lab cluster" for cold times).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$root/.tools/lab/bin"
mkdir -p "$bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0

build() { # module dir, then the packages to build (LDFLAGS: extra linker flags, part of the stamp)
  local dir="$root/scripts/lab/go/$1"; shift
  local stamp="$bin/.$(basename "$dir").stamp"
  local sum; sum="$( (cat "$dir/go.mod" "$dir/go.sum"; echo "${LDFLAGS:-}") | sha256sum | cut -c1-16)"
  local missing=0 pkg
  for pkg in "$@"; do [ -x "$bin/$(basename "$pkg")" ] || missing=1; done
  if [ "$missing" = 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    echo "lab: $(basename "$dir") up to date"; return
  fi
  local t0=$SECONDS
  for pkg in "$@"; do
    (cd "$dir" && go build -trimpath -ldflags="-s -w ${LDFLAGS:-}" -o "$bin/$(basename "$pkg")" "$pkg")
  done
  echo "$sum" > "$stamp"
  echo "lab: built $(basename "$dir") ($*) in $((SECONDS - t0)) s"
}

build etcd platform.local/lab/etcd
build kwok sigs.k8s.io/kwok/cmd/kwok
# The version the API server reports (/version): a module build has none (v0.0.0-master), which charts
# with a kubeVersion constraint refuse (helm install argo-cd: ">=1.25.0-0"). The one k8s.io/kubernetes requires.
kube_version="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' "$root/scripts/lab/go/kube/go.mod")"
kube_minor="$(echo "$kube_version" | cut -d. -f2)"
LDFLAGS="-X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$kube_minor -X k8s.io/component-base/version.gitTreeState=clean" \
build kube k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler
