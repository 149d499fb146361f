#!/usr/bin/env bash
# Builds scripts/argocd (Argo CD v3.2.11's application controller and repo-server in one binary, for the
# lab tests: scripts/lab/argocd.ts) into .tools/argocd/bin/argocd (git-ignored); rebuilt only when go.mod,
# go.sum or main.go change. A first build takes minutes (a 190 MB binary); later runs reuse it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../go-build-tool.sh" argocd "$here" . main.go
