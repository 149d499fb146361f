//go:build tools

// Package tools pins the Traefik command the edge tests run (test/traefik-real.test.ts).
package tools

import _ "github.com/traefik/traefik/v3/cmd/traefik"
