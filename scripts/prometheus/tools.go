//go:build tools

// Tools module: promtool from github.com/prometheus/prometheus v0.314.0, i.e. Prometheus v3.14.0, the release
// kube-prometheus-stack 88.5.3 deploys (lib/config/versions.ts; the chart's values pin prometheus v3.14.0).
// The replace repeats the one in Prometheus's own go.mod (a tools module does not inherit replaces).
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
