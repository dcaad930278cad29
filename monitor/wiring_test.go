package monitor_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/internal/jsonx"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/monitor"
	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/pool/pooltest"
	"github.com/bumba/pooling/rollback"
)

// wired is the documented wiring: pool → bridge → monitor ↔ rollback, with
// no glue written by the host.
type wired struct {
	clk   *clock.Mock
	spec  *pooltest.Specialist
	b     *bridge.Bridge
	m     *monitor.Monitor
	rb    *rollback.Manager
	reg   *prometheus.Registry
	start time.Time
}

func wire(t *testing.T, opts ...bridge.Option) *wired {
	t.Helper()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	fleet := pooltest.New(clk)
	spec := fleet.Add("billing-1", "BILLING")
	p, err := pool.New(fleet.Specs(), pool.WithClock(clk))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close(context.Background())) })
	exec, err := bridge.NewPoolExecutor(p, bridge.WithRoutes(map[string]string{"charge": "BILLING"}))
	require.NoError(t, err)
	legacy := bridge.ExecutorFunc(func(context.Context, bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: "legacy"}, nil
	})
	b, err := bridge.New(legacy, exec, append([]bridge.Option{bridge.WithMode(bridge.ModeFull), bridge.WithClock(clk)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close(context.Background())) })

	m, err := monitor.New(monitor.WithPool(p), monitor.WithBridge(b), monitor.WithClock(clk))
	require.NoError(t, err)
	metrics, err := migrate.NewStatsMetrics(b, p, clk)
	require.NoError(t, err)
	// *monitor.Monitor is the rollback manager's Health and Alerts as is.
	rb, err := rollback.New(b, metrics, rollback.WithClock(clk), rollback.WithHealth(m), rollback.WithAlerts(m))
	require.NoError(t, err)
	b.AddObserver(rb.Observer())
	require.NoError(t, m.WatchRollbacks(rb))
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(m.Collector()))
	return &wired{clk: clk, spec: spec, b: b, m: m, rb: rb, reg: reg, start: clk.Now()}
}

// failUntilFallback makes the pool fail until the bridge falls back on its
// own (success rate below 0.8 over at least 10 calls).
func (w *wired) failUntilFallback(t *testing.T) {
	t.Helper()
	w.spec.FailExecute(errors.New("quota exceeded"))
	for range 10 {
		resp, err := w.b.Execute(context.Background(), bridge.Command{Name: "charge"})
		require.NoError(t, err, "legacy retries each failed call")
		require.Equal(t, "legacy", resp.Output)
	}
	require.Equal(t, bridge.ModeFallback, w.b.Mode(), "the bridge fell back automatically")
	require.Equal(t, uint64(1), w.b.Stats().AutoFallbacks)
}

// views are the four counts of rollbacks the issue compares.
func (w *wired) views(t *testing.T) (history, total, report, query int) {
	t.Helper()
	s, err := w.m.Query(monitor.MetricRollbacks, w.start, w.clk.Now())
	require.NoError(t, err)
	return len(w.rb.History()), int(gathered(t, w.reg, "bumba_pool_rollbacks_total")),
		int(w.m.Report(time.Hour).Rollbacks), int(s.Sum)
}

// One automatic fallback is one rollback in the rollback history,
// rollbacks_total, the monitor's Report and Query, whichever of the
// monitor's sample and the rollback manager's check sees it first; and the
// rollback_triggered alert fires once.
func TestOneBridgeFallbackIsOneRollbackInEveryView(t *testing.T) {
	for _, order := range []string{"record first", "sample first"} {
		t.Run(order, func(t *testing.T) {
			w := wire(t)
			w.m.Collect()
			w.failUntilFallback(t)
			w.clk.Add(10 * time.Second)
			if order == "record first" {
				_, err := w.rb.Check(context.Background())
				require.NoError(t, err)
				w.m.Collect()
			} else {
				w.m.Collect()
				_, err := w.rb.Check(context.Background())
				require.NoError(t, err)
			}
			for range 3 {
				w.clk.Add(30 * time.Second)
				w.m.Collect()
				_, err := w.rb.Check(context.Background())
				require.NoError(t, err)
			}
			history, total, report, query := w.views(t)
			assert.Equal(t, 1, history, "rollback history")
			assert.Equal(t, 1, total, "bumba_pool_rollbacks_total")
			assert.Equal(t, 1, report, "monitor.Report")
			assert.Equal(t, 1, query, `Query("rollbacks")`)
			assert.Equal(t, rollback.KindBridgeFallback, w.rb.History()[0].Kind)
			assert.Len(t, w.m.Rollbacks(), 1, "the manager's record reached the monitor")

			fired := 0
			for _, a := range append(w.m.AlertHistory(), w.m.Alerts()...) {
				if a.Rule == monitor.RuleRollbackTriggered && !a.FiredAt.IsZero() {
					fired++
				}
			}
			assert.Equal(t, 1, fired, "rollback_triggered fired once")
		})
	}
}

// A rollback the manager makes (here by hand) reaches the monitor through
// WatchRollbacks alone: rollback_triggered fires at once.
func TestWatchRollbacksFiresRollbackTriggered(t *testing.T) {
	w := wire(t)
	w.m.Collect()
	rec, err := w.rb.Emergency(context.Background(), "production issue")
	require.NoError(t, err)
	var firing []string
	for _, a := range w.m.Alerts() {
		if a.State == monitor.StateFiring {
			firing = append(firing, a.Rule)
		}
	}
	assert.Contains(t, firing, monitor.RuleRollbackTriggered)
	require.Len(t, w.m.Rollbacks(), 1)
	assert.Equal(t, rec.ID, w.m.Rollbacks()[0].ID)
	assert.Equal(t, rollback.TriggerManual, w.m.Rollbacks()[0].Trigger)
	// The alert a rollback raises is not a critical alert for the manager
	// (it would be the cause of the next rollback).
	assert.Empty(t, w.m.ActiveCritical())

	w.clk.Add(30 * time.Second)
	w.m.Collect()
	_, total, report, query := w.views(t)
	assert.Equal(t, 1, total)
	assert.Equal(t, 1, report)
	assert.Equal(t, 1, query)

	assert.ErrorIs(t, w.m.WatchRollbacks(nil), monitor.ErrInvalidConfig)
	var nilManager *rollback.Manager
	assert.ErrorIs(t, w.m.WatchRollbacks(nilManager), monitor.ErrInvalidConfig)
}

// The monitor's firing critical alerts are the rollback manager's Alerts.
func TestActiveCriticalAreTheFiringCriticalAlerts(t *testing.T) {
	w := wire(t, bridge.WithAutoFallback(false)) // errors pile up in Full mode
	w.m.Collect()
	w.spec.FailExecute(errors.New("quota exceeded"))
	for range 3 {
		for range 20 {
			_, err := w.b.Execute(context.Background(), bridge.Command{Name: "charge"})
			require.NoError(t, err)
		}
		w.clk.Add(30 * time.Second)
		w.m.Collect()
	}
	crit := w.m.ActiveCritical()
	require.NotEmpty(t, crit, "error_rate_critical fires after 1 min above 10 %%: %v", w.m.Alerts())
	assert.Equal(t, monitor.RuleErrorRateCritical, crit[0].Name)
	assert.False(t, crit[0].Since.IsZero())
}

// The monitor's exported report types follow the module's JSON convention:
// camelCase keys, durations in milliseconds (…Ms), [] not null, shares as
// fractions.
func TestJSONConvention(t *testing.T) {
	const sentinel = 3723004005006 * time.Nanosecond
	w := wire(t)
	w.m.Collect()
	for range 4 {
		_, err := w.b.Execute(context.Background(), bridge.Command{Name: "charge"})
		require.NoError(t, err)
		w.clk.Add(30 * time.Second)
		w.m.Collect()
	}
	q, err := w.m.Query(monitor.MetricCalls, w.start, w.clk.Now())
	require.NoError(t, err)
	latest, _ := w.m.Latest()
	var alert monitor.Alert
	jsonx.Fill(&alert, sentinel)
	alert.Severity, alert.Metric, alert.Op, alert.State = monitor.SeverityCritical, monitor.MetricCalls, monitor.Above, monitor.StateFiring
	rule := monitor.DefaultRules()[0]
	rule.For = sentinel
	summary := q
	summary.Resolution = sentinel
	values := map[string]any{
		"report": w.m.Report(time.Hour), "empty report": monitor.Report{}, "health": w.m.Health(),
		"alerts": w.m.Alerts(), "history": w.m.AlertHistory(), "rollbacks": w.m.Rollbacks(), "rules": w.m.Rules(),
		"query": q, "sample": latest, "metrics": monitor.Metrics(), "alert": alert, "rule": rule, "summary": summary,
		"rollback info": monitor.RollbackInfo{ID: "rb-1"},
	}
	for name, v := range values {
		data, err := json.Marshal(v)
		require.NoError(t, err, name)
		require.NoError(t, jsonx.Check(data, sentinel, "values"), "%s: %s", name, data)
	}
	data, err := json.Marshal(monitor.DefaultRules()[0])
	require.NoError(t, err)
	assert.Contains(t, string(data), `"forMs":120000`)
	data, err = json.Marshal(w.m.Report(time.Hour))
	require.NoError(t, err)
	assert.Contains(t, string(data), `"memorySavedShare":`)
	data, err = json.Marshal(monitor.Report{})
	require.NoError(t, err)
	assert.Contains(t, string(data), `"rules":[]`)
}
