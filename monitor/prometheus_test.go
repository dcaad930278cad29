package monitor

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/pool"
)

func promEnv(t *testing.T) *env {
	e := newEnv(t)
	e.pool.set(func(s *pool.Stats) {
		s.Tasks, s.WarmHits, s.Misses, s.ColdStarts = 100, 80, 20, 20
		s.PrewarmsUsed, s.PrewarmsWasted = 3, 1
		s.Workflows.Detections = 2
		s.AverageStart = 1500 * time.Millisecond
		s.Departments = map[string]pool.DepartmentStats{
			"DESIGN":  {Specialists: 60, Warm: 12, Active: 3, Tasks: 70, WarmHits: 60, MemoryCurrent: 75 << 20},
			"BACKEND": {Specialists: 40, Warm: 5, Tasks: 30, WarmHits: 20, MemoryCurrent: 25 << 20},
		}
	})
	e.bridge.add(0, 40, 0, 100*time.Millisecond)
	e.bridge.add(1, 40, 2, 250*time.Millisecond)
	e.step(30 * time.Second)
	return e
}

func TestPrometheusValues(t *testing.T) {
	e := promEnv(t)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, e.m.Register(reg))
	require.Error(t, e.m.Register(reg), "registered once")

	expected := `
# HELP bumba_pool_tasks_total Tasks accepted.
# TYPE bumba_pool_tasks_total counter
bumba_pool_tasks_total 100
# HELP bumba_pool_warm_hit_ratio Warm hits / tasks over the latest sample interval (0-1).
# TYPE bumba_pool_warm_hit_ratio gauge
bumba_pool_warm_hit_ratio 0.8
# HELP bumba_pool_memory_current_bytes Bytes held by warm specialists.
# TYPE bumba_pool_memory_current_bytes gauge
bumba_pool_memory_current_bytes 1.048576e+08
# HELP bumba_pool_memory_efficiency_ratio Memory saved / baseline (0-1).
# TYPE bumba_pool_memory_efficiency_ratio gauge
bumba_pool_memory_efficiency_ratio 0.8
# HELP bumba_pool_memory_usage_ratio Memory held / allowed: the memory limit, else the always-warm baseline (0-1).
# TYPE bumba_pool_memory_usage_ratio gauge
bumba_pool_memory_usage_ratio 0.2
# HELP bumba_pool_error_ratio Intelligent-path failures / calls over the latest sample interval (0-1).
# TYPE bumba_pool_error_ratio gauge
bumba_pool_error_ratio 0.05
# HELP bumba_pool_response_time_seconds Mean latency per path over the latest sample interval.
# TYPE bumba_pool_response_time_seconds gauge
bumba_pool_response_time_seconds{path="intelligent"} 0.25
bumba_pool_response_time_seconds{path="legacy"} 0.1
# HELP bumba_pool_bridge_calls_total Executor calls per path (served and shadow).
# TYPE bumba_pool_bridge_calls_total counter
bumba_pool_bridge_calls_total{path="intelligent"} 40
bumba_pool_bridge_calls_total{path="legacy"} 40
# HELP bumba_pool_department_specialists_warm Warm or executing specialists per department.
# TYPE bumba_pool_department_specialists_warm gauge
bumba_pool_department_specialists_warm{department="BACKEND"} 5
bumba_pool_department_specialists_warm{department="DESIGN"} 15
# HELP bumba_pool_prediction_accuracy_ratio Pre-warms used / decided over the latest sample interval (0-1).
# TYPE bumba_pool_prediction_accuracy_ratio gauge
bumba_pool_prediction_accuracy_ratio 0.75
# HELP bumba_pool_start_duration_average_seconds Mean duration of successful starts.
# TYPE bumba_pool_start_duration_average_seconds gauge
bumba_pool_start_duration_average_seconds 1.5
# HELP bumba_pool_alerts_firing Alerts firing now.
# TYPE bumba_pool_alerts_firing gauge
bumba_pool_alerts_firing{severity="critical"} 0
bumba_pool_alerts_firing{severity="info"} 1
bumba_pool_alerts_firing{severity="warning"} 0
# HELP bumba_pool_health_status 1 for the current health status.
# TYPE bumba_pool_health_status gauge
bumba_pool_health_status{status="CRITICAL"} 0
bumba_pool_health_status{status="DEGRADED"} 0
bumba_pool_health_status{status="HEALTHY"} 1
# HELP bumba_pool_bridge_mode 1 for the bridge's current mode.
# TYPE bumba_pool_bridge_mode gauge
bumba_pool_bridge_mode{mode="fallback"} 0
bumba_pool_bridge_mode{mode="full"} 1
bumba_pool_bridge_mode{mode="hybrid"} 0
bumba_pool_bridge_mode{mode="shadow"} 0
# HELP bumba_pool_uptime_seconds Seconds since the monitor started.
# TYPE bumba_pool_uptime_seconds gauge
bumba_pool_uptime_seconds 30
`
	names := []string{"bumba_pool_tasks_total", "bumba_pool_warm_hit_ratio", "bumba_pool_memory_current_bytes",
		"bumba_pool_memory_efficiency_ratio", "bumba_pool_memory_usage_ratio", "bumba_pool_error_ratio",
		"bumba_pool_response_time_seconds", "bumba_pool_bridge_calls_total", "bumba_pool_department_specialists_warm",
		"bumba_pool_prediction_accuracy_ratio", "bumba_pool_start_duration_average_seconds", "bumba_pool_alerts_firing",
		"bumba_pool_health_status", "bumba_pool_bridge_mode", "bumba_pool_uptime_seconds"}
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(expected), names...))
	assert.Equal(t, 1, testutil.CollectAndCount(e.m.Collector(), "bumba_pool_workflow_detections_total"))
}

// Names and types: every family is bumba_pool_*, counters and only
// counters end in _total, the latency histogram is in seconds, and the
// linter (promlint) finds nothing.
func TestPrometheusNamesAndTypes(t *testing.T) {
	e := promEnv(t)
	obs := e.m.BridgeObserver()
	obs.OnOutcome(bridge.Outcome{Kind: bridge.KindServed, Path: bridge.PathIntelligent, Latency: 300 * time.Millisecond})
	obs.OnOutcome(bridge.Outcome{Kind: bridge.KindServed, Path: bridge.PathIntelligent, Latency: 3 * time.Second})
	obs.OnOutcome(bridge.Outcome{Kind: bridge.KindShadow, Path: bridge.PathIntelligent, Latency: 20 * time.Millisecond})
	obs.OnTransition(bridge.Transition{})

	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, e.m.Register(reg))
	families, err := reg.Gather()
	require.NoError(t, err)
	require.Greater(t, len(families), 50)
	for _, f := range families {
		name := f.GetName()
		assert.True(t, strings.HasPrefix(name, "bumba_pool_"), name)
		assert.NotEmpty(t, f.GetHelp(), name)
		for _, bad := range []string{"_ms", "_percent", "_mb", "milliseconds"} {
			assert.NotContains(t, name, bad, "base units only")
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			assert.True(t, strings.HasSuffix(name, "_total"), "counter %s ends in _total", name)
		case dto.MetricType_GAUGE:
			assert.False(t, strings.HasSuffix(name, "_total"), "gauge %s", name)
		case dto.MetricType_HISTOGRAM:
			assert.Equal(t, "bumba_pool_bridge_request_duration_seconds", name)
		default:
			t.Errorf("%s: unexpected type %v", name, f.GetType())
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems)

	expected := `
# HELP bumba_pool_bridge_request_duration_seconds Latency of bridge calls by path and kind (served or shadow), seen through BridgeObserver.
# TYPE bumba_pool_bridge_request_duration_seconds histogram
bumba_pool_bridge_request_duration_seconds_bucket{kind="served",path="intelligent",le="0.005"} 0
bumba_pool_bridge_request_duration_seconds_bucket{kind="served",path="intelligent",le="0.01"} 0
bumba_pool_bridge_request_duration_seconds_bucket{kind="served",path="intelligent",le="0.025"} 0
bumba_pool_bridge_request_duration_seconds_bucket{kind="served",path="intelligent",le="0.05"} 0
bumba_pool_bridge_request_duration_seconds_bucket{kind="served",path="intelligent",le="0.1"} 0
bumba_pool_bridge_request_duration_seconds_bucket{kind="served",path="intelligent",le="0.25"} 0
bumba_pool_bridge_request_duration_seconds_bucket{kind="served",path="intelligent",le="0.5"} 1
bumba_pool_bridge_request_duration_seconds_bucket{kind="served",path="intelligent",le="1"} 1
bumba_pool_bridge_request_duration_seconds_bucket{kind="served",path="intelligent",le="2.5"} 1
bumba_pool_bridge_request_duration_seconds_bucket{kind="served",path="intelligent",le="5"} 2
bumba_pool_bridge_request_duration_seconds_bucket{kind="served",path="intelligent",le="10"} 2
bumba_pool_bridge_request_duration_seconds_bucket{kind="served",path="intelligent",le="30"} 2
bumba_pool_bridge_request_duration_seconds_bucket{kind="served",path="intelligent",le="60"} 2
bumba_pool_bridge_request_duration_seconds_bucket{kind="served",path="intelligent",le="+Inf"} 2
bumba_pool_bridge_request_duration_seconds_sum{kind="served",path="intelligent"} 3.3
bumba_pool_bridge_request_duration_seconds_count{kind="served",path="intelligent"} 2
`
	// Only the served/intelligent series: filter the others out by
	// comparing a registry holding just that child.
	one := prometheus.NewPedanticRegistry()
	require.NoError(t, one.Register(onlySeries{e.m.latency, "served", "intelligent"}))
	require.NoError(t, testutil.GatherAndCompare(one, strings.NewReader(expected)))
	assert.Equal(t, 4, testutil.CollectAndCount(e.m.latency), "all four path × kind series exist from the start")
}

// onlySeries exposes one child of the latency histogram.
type onlySeries struct {
	v          *prometheus.HistogramVec
	kind, path string
}

func (o onlySeries) Describe(ch chan<- *prometheus.Desc) { o.v.Describe(ch) }
func (o onlySeries) Collect(ch chan<- prometheus.Metric) {
	ch <- o.v.WithLabelValues(o.path, o.kind).(prometheus.Histogram)
}

func TestPrometheusBeforeFirstSample(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, e.m.Register(reg))
	_, err := reg.Gather()
	require.NoError(t, err)
	assert.Equal(t, 0, testutil.CollectAndCount(e.m.Collector(), "bumba_pool_health_score"), "no verdict before a sample")
	assert.Equal(t, 1, testutil.CollectAndCount(e.m.Collector(), "bumba_pool_tasks_total"))
}
