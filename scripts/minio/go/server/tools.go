//go:build tools

// Package tools pins the MinIO server command.
package tools

import _ "github.com/minio/minio"
