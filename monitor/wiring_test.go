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

func wire(t *testing.T) *wired {
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
	b, err := bridge.New(legacy, exec, bridge.WithMode(bridge.ModeFull), bridge.WithClock(clk))
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
	// And the monitor's critical alert is what the manager sees as Alerts.
	crit := w.m.ActiveCritical()
	require.Len(t, crit, 1)
	assert.Equal(t, monitor.RuleRollbackTriggered, crit[0].Name)
	assert.Equal(t, w.clk.Now(), crit[0].Since)

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
