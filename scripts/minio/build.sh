#!/usr/bin/env bash
# Builds the MinIO server and the mc client from their Go modules (scripts/minio/go/{server,mc}) into
# .tools/minio/bin for the real-MinIO tests (test/minio.real.test.ts, the backup tests). Each is rebuilt
# only when its go.mod/go.sum changed (scripts/go-build-tool.sh stamps), so a warm cache costs nothing.
# MinIO publishes no semver tags: the go.mod files pin the pseudo-versions of the commits tagged with the
# RELEASE names lib/config/versions.ts pins for the images (test/minio-build.test.ts checks they agree).
# sum.golang.org answers 404 for that mc pseudo-version, so its go.sum lines were recorded with
# GONOSUMDB=github.com/minio/mc (the module's files equal `git archive` of the tagged commit, checked by
# hand); builds verify against go.sum and never ask the checksum database.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bash "$here/../go-build-tool.sh" minio "$here/go/server" github.com/minio/minio
# go-build-tool.sh keeps one stamp per bin dir: the client gets its own dir, linked next to the server.
bash "$here/../go-build-tool.sh" mc "$here/go/mc" github.com/minio/mc
ln -sfn ../../mc/bin/mc "$root/.tools/minio/bin/mc"
