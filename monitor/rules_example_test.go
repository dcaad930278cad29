package monitor_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/bumba/pooling/monitor"
)

// A host's rule rendered for Prometheus: the threshold in base units
// (seconds), the for-duration, the severity and the message.
func ExamplePrometheusRules() {
	slow := monitor.Rule{Name: "legacy_slow", Severity: monitor.SeverityWarning, Metric: monitor.MetricLegacyResponseTime,
		Op: monitor.Above, Threshold: 1500, For: 5 * time.Minute, Message: "Legacy system slow"}
	out, err := monitor.PrometheusRules([]monitor.Rule{slow}, monitor.DefaultInterval)
	if err != nil {
		panic(err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "#") && line != "" {
			fmt.Println(line)
		}
	}
	// Output:
	// groups:
	//   - name: bumba_pool
	//     rules:
	//       - alert: legacy_slow
	//         expr: "(bumba_pool_response_time_seconds{path=\"legacy\"}) > 1.5"
	//         for: 5m
	//         labels:
	//           severity: "warning"
	//         annotations:
	//           summary: "Legacy system slow"
	//           description: "monitor rule legacy_slow: legacy_response_time_ms > 1500 for 5m (now {{ $value }} in base units)"
}
