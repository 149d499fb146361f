//go:build tools

// Tools module: amtool and alertmanager from github.com/prometheus/alertmanager v0.34.0, the release
// kube-prometheus-stack 88.5.3 deploys (lib/config/versions.ts; the chart's values pin alertmanager v0.34.0).
package tools

import (
	_ "github.com/prometheus/alertmanager/cmd/alertmanager"
	_ "github.com/prometheus/alertmanager/cmd/amtool"
)
