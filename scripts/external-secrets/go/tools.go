//go:build tools

// Package tools pins the External Secrets Operator command (its main package is the module root).
package tools

import _ "github.com/external-secrets/external-secrets"
