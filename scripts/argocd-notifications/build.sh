#!/usr/bin/env bash
# Builds scripts/argocd-notifications (Argo CD's notifications engine as a command, for the tests)
# into .tools/argocd-notifications/bin (git-ignored); rebuilt only when go.mod, go.sum or main.go change.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../go-build-tool.sh" argocd-notifications "$here" . main.go
