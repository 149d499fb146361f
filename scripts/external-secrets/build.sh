#!/usr/bin/env bash
# Builds the External Secrets Operator controller from its Go module (scripts/external-secrets/go/go.mod)
# into .tools/external-secrets/bin for the generated-secrets and lab tests (reused when present).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../go-build-tool.sh" external-secrets "$here/go" github.com/external-secrets/external-secrets
