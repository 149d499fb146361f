//go:build tools

// Package tools pins the sealed-secrets commands the seal tests run (test/seal.real.test.ts): kubeseal,
// and the controller that unseals what `npm run seal` wrote against the lab API server.
package tools

import (
	_ "github.com/bitnami/sealed-secrets/cmd/controller"
	_ "github.com/bitnami/sealed-secrets/cmd/kubeseal"
)
