#!/usr/bin/env bash
# Builds Traefik from its Go module (scripts/traefik/go.mod) into .tools/traefik/bin for the real-edge tests.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../go-build-tool.sh" traefik "$here" github.com/traefik/traefik/v3/cmd/traefik
