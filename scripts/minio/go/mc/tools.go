//go:build tools

// Package tools pins the MinIO client command.
package tools

import _ "github.com/minio/mc"
