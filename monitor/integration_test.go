package monitor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/monitor"
	"github.com/bumba/pooling/pool"
)

// The monitor on a real pool behind a real bridge: every figure comes from
// their counters.
func TestRealPoolAndBridge(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC))
	var specs []pool.Spec
	for _, id := range []string{"a", "b", "c", "d"} {
		specs = append(specs, pool.Spec{ID: id, Department: "ENGINEERING", Memory: 5 << 20,
			Start: func(context.Context) (pool.Instance, error) { return agent{id}, nil }})
	}
	p, err := pool.New(specs, pool.WithClock(clk), pool.WithMaxWarm(2))
	require.NoError(t, err)
	defer p.Close(ctx)

	failing := errors.New("specialist failed")
	intelligent := bridge.ExecutorFunc(func(ctx context.Context, c bridge.Command) (bridge.Response, error) {
		res, err := p.Execute(ctx, pool.Task{Specialist: c.Args[0], Command: c.Name})
		if err == nil && c.Name == "fail" {
			err = failing
		}
		return bridge.Response{Output: res.Output}, err
	})
	legacy := bridge.ExecutorFunc(func(ctx context.Context, c bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: "legacy"}, nil
	})
	b, err := bridge.New(legacy, intelligent, bridge.WithClock(clk), bridge.WithMode(bridge.ModeFull), bridge.WithAutoFallback(false))
	require.NoError(t, err)
	defer b.Close(ctx)

	var alerts []monitor.Alert
	m, err := monitor.New(monitor.WithPool(p), monitor.WithBridge(b), monitor.WithClock(clk),
		monitor.WithListener(func(a monitor.Alert) { alerts = append(alerts, a) }))
	require.NoError(t, err)
	_, err = b.AddObserver(m.BridgeObserver())
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, m.Register(reg))

	for i, id := range []string{"a", "a", "a", "b", "a", "b", "a", "b", "a", "a"} {
		name := "implement"
		if i%5 == 4 {
			name = "fail"
		}
		_, err := b.Execute(ctx, bridge.Command{Name: name, Args: []string{id}})
		require.NoError(t, err, "legacy serves the failures")
	}
	clk.Add(30 * time.Second)
	s := m.Collect()
	v := s.Values()
	assert.Equal(t, 10.0, v[monitor.MetricCalls])
	assert.Equal(t, 2.0, v[monitor.MetricErrors])
	assert.Equal(t, 0.2, v[monitor.MetricErrorRate])
	assert.Equal(t, 2.0, v[monitor.MetricFallbacks])
	assert.Equal(t, 10.0, v[monitor.MetricTasks])
	assert.Equal(t, 0.8, v[monitor.MetricWarmHitRate], "a and b started once each")
	assert.Equal(t, 0.5, v[monitor.MetricMemoryUsage], "10 MB held of the 20 MB baseline: 2 of 4 warm, though 2 of 2 warm slots")
	assert.Equal(t, 0.5, v[monitor.MetricMemoryEfficiency])
	assert.Equal(t, 0.0, v[monitor.MetricResponseTime], "no time passes on the mock clock during a call")

	active := m.Alerts()
	require.NotEmpty(t, active)
	assert.Equal(t, monitor.RuleErrorRateCritical, active[0].Rule)
	assert.Equal(t, monitor.StatePending, active[0].State)
	for _, a := range active {
		assert.NotEqual(t, monitor.RuleMemoryCritical, a.Rule, "a full warm set is no memory pressure")
		assert.NotEqual(t, monitor.RuleMemoryWarning, a.Rule, "a full warm set is no memory pressure")
	}

	h := m.Health()
	assert.Equal(t, 2, h.Specialists.Warm)
	assert.Equal(t, 4, h.Specialists.Total)
	assert.Equal(t, 0.8, h.Performance.WarmHitRate)
	assert.Equal(t, 10.0, h.Memory.Current)
	assert.Equal(t, 50.0, h.Memory.Efficiency)
	assert.Equal(t, 66.0, h.Score, "20 %% errors (0 of 30), half the baseline held (10 of 10), 50 %% efficiency (6 of 10)")
	assert.Equal(t, monitor.StatusDegraded, h.Status)

	assert.Equal(t, 10.0, gathered(t, reg, "bumba_pool_tasks_total"))
	assert.Equal(t, 66.0, gathered(t, reg, "bumba_pool_health_score"))
	assert.Equal(t, 0.5, gathered(t, reg, "bumba_pool_memory_usage_ratio"))
	assert.Equal(t, 8, int(histCount(t, reg, "served", "intelligent")), "two fell back: legacy served them")
	assert.Equal(t, 2, int(histCount(t, reg, "served", "legacy")))

	m.RecordRollback(monitor.RollbackInfo{ID: "rb-1", Reason: "errors", Trigger: "error_rate"})
	require.NotEmpty(t, alerts)
	assert.Equal(t, monitor.RuleRollbackTriggered, alerts[len(alerts)-1].Rule)
}

// gathered returns the value of the single-series counter or gauge name.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			require.Len(t, f.GetMetric(), 1)
			if c := f.GetMetric()[0].GetCounter(); c != nil {
				return c.GetValue()
			}
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s", name)
	return 0
}

func histCount(t *testing.T, reg *prometheus.Registry, kind, path string) uint64 {
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != "bumba_pool_bridge_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == kind && labels["path"] == path {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	t.Fatalf("no histogram %s/%s", kind, path)
	return 0
}
