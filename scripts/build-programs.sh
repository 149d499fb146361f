#!/usr/bin/env bash
# Builds every program the real-program tests run, from their Go modules, into .tools/ (git-ignored; each
# build is skipped while its stamp matches). Two chains run side by side: on 2 cores one chain's link
# (single-threaded) and module downloads overlap the other's compiles. Each build's wall time is printed,
# and the per-build log goes to .tools/logs/<name>.log.
#   lab programs (etcd, kwok, kube-apiserver, -controller-manager, -scheduler) · Argo CD (controller and
#   repo-server) · Argo CD's notification engine · kubeseal and the sealed-secrets controller · promtool  ‖
#   Traefik · External Secrets · MinIO and mc · amtool and alertmanager
# (promtool and amtool/alertmanager, of the releases kube-prometheus-stack deploys, went one to each chain, the
# longer on the chain that was shorter: a cold run here measured 4178 s and 4202 s for the two chains before,
# promtool ~590 s and amtool/alertmanager ~150 s, so both end within a minute of each other, ~4770 s.)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
logs="$root/.tools/logs"
mkdir -p "$logs"

chain() { # name:script ...
  local item name script t0
  for item in "$@"; do
    name="${item%%:*}" script="${item#*:}" t0=$SECONDS
    if ! bash "$root/$script" > "$logs/$name.log" 2>&1; then
      echo "build-programs: $name FAILED after $((SECONDS - t0)) s; last lines of $logs/$name.log:" >&2
      tail -20 "$logs/$name.log" >&2
      return 1
    fi
    echo "build-programs: $name $((SECONDS - t0)) s ($(grep -Eo 'up to date|built.*' "$logs/$name.log" | tail -1))"
  done
}

t0=$SECONDS
chain lab:scripts/lab/build.sh argocd:scripts/argocd/build.sh argocd-notifications:scripts/argocd-notifications/build.sh kubeseal:scripts/kubeseal/build.sh prometheus:scripts/prometheus/build.sh &
a=$!
chain traefik:scripts/traefik/build.sh external-secrets:scripts/external-secrets/build.sh minio:scripts/minio/build.sh alertmanager:scripts/alertmanager/build.sh &
b=$!
status=0
wait "$a" || status=1
wait "$b" || status=1
echo "build-programs: all in $((SECONDS - t0)) s"
exit "$status"
