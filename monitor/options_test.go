package monitor

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/pool"
)

func TestNewRejectsBadSettings(t *testing.T) {
	p := WithPool(newFakePool())
	for _, c := range []struct {
		name string
		opts []Option
		want string
	}{
		{"no source", nil, "no source: want WithPool, WithBridge or both"},
		{"nil pool", []Option{WithPool(nil)}, "WithPool nil"},
		{"nil bridge", []Option{p, WithBridge(nil)}, "WithBridge nil"},
		{"typed nil pool", []Option{WithPool((*pool.Pool)(nil))}, "WithPool nil"},
		{"typed nil bridge", []Option{p, WithBridge((*bridge.Bridge)(nil))}, "WithBridge nil"},
		{"nil clock", []Option{p, WithClock(nil)}, "WithClock nil"},
		{"nil logger", []Option{p, WithLogger(nil)}, "WithLogger nil"},
		{"nil listener", []Option{p, WithListener(nil)}, "WithListener nil"},
		{"nil option", []Option{p, nil}, "option nil"},
		{"zero interval", []Option{p, WithInterval(0)}, "interval 0s: allowed 1s to 1h0m0s"},
		{"negative interval", []Option{p, WithInterval(-time.Second)}, "interval -1s: allowed 1s to 1h0m0s"},
		{"sub-second interval", []Option{p, WithInterval(time.Millisecond)}, "interval 1ms: allowed 1s to 1h0m0s"},
		{"interval over an hour", []Option{p, WithInterval(2 * time.Hour)}, "interval 2h0m0s: allowed 1s to 1h0m0s"},
		{"zero retention", []Option{p, WithRetention(0)}, "retention 0s: allowed the interval to 9600h0m0s"},
		{"retention over 400 days", []Option{p, WithRetention(401 * 24 * time.Hour)}, "retention 9624h0m0s"},
		{"retention under the interval", []Option{p, WithInterval(time.Minute), WithRetention(30 * time.Second)},
			"retention 30s: allowed ≥ the interval (1m0s)"},
		{"negative cost", []Option{p, WithCostPerMBMonth(-0.5)}, "cost per MB-month -0.5: allowed a finite number ≥ 0"},
		{"NaN cost", []Option{p, WithCostPerMBMonth(math.NaN())}, "cost per MB-month NaN"},
		{"health window under the interval", []Option{p, WithHealthWindow(time.Second)}, "health window 1s: allowed the interval (30s)"},
		{"health window over the retention", []Option{p, WithRetention(time.Hour), WithHealthWindow(2 * time.Hour)}, "health window 2h0m0s"},
		{"zero health window", []Option{p, WithHealthWindow(0)}, "health window 0s"},
		{"negative memory limit", []Option{p, WithMemoryLimit(-1)}, "memory limit -1: allowed ≥ 0 bytes"},
		{"zero alert history", []Option{p, WithAlertHistory(0)}, "alert history 0: allowed 1 to 1048576"},
		{"unknown metric", []Option{p, WithRule(Rule{Name: "cpu", Severity: SeverityWarning, Metric: "cpu_percent", Op: Above})},
			`rule "cpu": metric "cpu_percent": allowed one of monitor.Metrics()`},
		{"negative for", []Option{p, WithRule(Rule{Name: "q", Severity: SeverityWarning, Metric: MetricQueueDepth, Op: Above, For: -time.Minute})},
			`rule "q": for-duration -1m0s: allowed ≥ 0`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var m *Monitor
			var err error
			require.NotPanics(t, func() { m, err = New(c.opts...) })
			require.ErrorIs(t, err, ErrInvalidConfig)
			assert.Nil(t, m)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestDefaults(t *testing.T) {
	m, err := New(WithBridge(newFakeBridge()))
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, m.Interval())
	assert.Equal(t, 30*24*time.Hour, m.Retention())
	assert.Equal(t, DefaultRules(), m.Rules())
	assert.Equal(t, 0.5, m.cfg.costPerMB)
	assert.Equal(t, DefaultHealthWeights(), m.cfg.weights)
	m, err = New(WithPool(newFakePool()), WithInterval(time.Minute), WithRetention(7*24*time.Hour), WithoutDefaultRules())
	require.NoError(t, err)
	assert.Equal(t, time.Minute, m.Interval())
	assert.Empty(t, m.Rules())
}

func TestLogLevelFromEnv(t *testing.T) {
	env := func(v string, ok bool) func(string) (string, bool) {
		return func(k string) (string, bool) {
			require.Equal(t, "BUMBA_LOG_LEVEL", k)
			return v, ok
		}
	}
	for v, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, " warn ": slog.LevelWarn,
		"warning": slog.LevelWarn, "error": slog.LevelError, "": slog.LevelInfo} {
		got, err := LogLevelFromEnv(env(v, true))
		require.NoError(t, err, v)
		assert.Equal(t, want, got, v)
	}
	got, err := LogLevelFromEnv(env("", false))
	require.NoError(t, err)
	assert.Equal(t, slog.LevelInfo, got)
	_, err = LogLevelFromEnv(env("verbose", true))
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), `BUMBA_LOG_LEVEL "verbose": allowed debug, info, warn or error`)
}

// Logs carry the seed's grep words: ALERT, ERROR, ROLLBACK, Adaptive,
// Memory:, Response:, Warm:.
func TestLogLines(t *testing.T) {
	e := newEnv(t)
	e.bridge.add(1, 10, 3, 100*time.Millisecond)
	e.bridge.mu.Lock()
	e.bridge.auto++
	e.bridge.mu.Unlock()
	e.pool.set(func(s *pool.Stats) { s.ThresholdAdjustments++; s.WarmThreshold = 0.35 })
	e.step(30 * time.Second)
	logs := e.logs.String()
	for _, want := range []string{"Memory: 100.0 MB (80.0% saved) Response: 100 ms Warm: n/a (20/100 specialists) Queue: 0",
		"ERROR 3 of 10 intelligent calls failed (30.0%)", "ROLLBACK TRIGGERED", "Adaptive adjustment: warm threshold now 0.35",
		"level=ERROR msg=\"monitor: ALERT critical rollback_triggered firing: System rollback initiated",
		"level=INFO msg=\"monitor: ALERT info adaptive_adjustment firing"} {
		assert.Contains(t, logs, want)
	}

	// A logger at error level still gets the errors and the critical alerts.
	e2 := newEnv(t)
	buf := &syncBuffer{}
	m, err := New(WithClock(e2.clk), WithBridge(e2.bridge), WithLogger(slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelError}))))
	require.NoError(t, err)
	e2.bridge.add(1, 10, 3, 100*time.Millisecond)
	m.Collect()
	assert.Contains(t, buf.String(), "ERROR 3 of 10")
	assert.NotContains(t, buf.String(), "Response:")
}

func TestRunCollectsEveryIntervalAndLeavesNoGoroutine(t *testing.T) {
	clk := clock.NewMock()
	clk.Set(t0)
	samples := make(chan Sample, 16)
	m, err := New(WithClock(clk), WithPool(newFakePool()), WithoutDefaultRules(),
		WithRule(Rule{Name: "every", Severity: SeverityInfo, Metric: MetricSpecialists, Op: Above, Threshold: 0}),
		WithListener(func(a Alert) { samples <- Sample{Time: a.FiredAt} }))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var runErr, second error
	wg.Add(1)
	go func() {
		defer wg.Done()
		runErr = m.Run(ctx)
	}()
	// Advance until Run's ticker has fired once (it may not exist yet on
	// the first Add).
	var first Sample
	for i := 0; i < 1000 && first.Time.IsZero(); i++ {
		clk.Add(m.Interval())
		select {
		case first = <-samples:
		default:
		}
	}
	require.False(t, first.Time.IsZero(), "Run collected")
	second = m.Run(ctx)
	assert.ErrorIs(t, second, ErrRunning)
	latest, ok := m.Latest()
	require.True(t, ok)
	assert.Equal(t, first.Time, latest.Time)
	assert.Zero(t, latest.Time.Sub(t0)%m.Interval(), "on the interval grid")

	clk.Add(m.Interval())
	for i := 0; i < 1000; i++ { // Run takes the tick on its own goroutine
		if s, _ := m.Latest(); s.Time.After(first.Time) {
			break
		}
		clk.Add(0)
	}
	s, _ := m.Latest()
	assert.Equal(t, first.Time.Add(m.Interval()), s.Time)
	assert.Equal(t, m.Interval(), s.Interval)

	cancel()
	wg.Wait()
	require.NoError(t, runErr, "Run returns nil when its context ends")
}

func TestMetricsTable(t *testing.T) {
	ms := Metrics()
	require.Len(t, ms, 40, "the README says 40")
	seen := map[Metric]bool{}
	for i, m := range ms {
		assert.False(t, seen[m.Name], "duplicate %s", m.Name)
		seen[m.Name] = true
		assert.Equal(t, i, metricID(m.Name))
		assert.NotEmpty(t, m.Help)
		assert.Contains(t, []string{"gauge", "count", "rate", "difference"}, m.Kind)
	}
	assert.False(t, Metric("cpu").Valid())
	var zero Sample
	assert.True(t, zero.IsZero())
	_, ok := zero.Value(MetricTasks)
	assert.False(t, ok)
}

func TestSampleAndAlertRendering(t *testing.T) {
	e := newEnv(t)
	e.pool.set(func(s *pool.Stats) { s.Tasks, s.WarmHits = 10, 7 })
	s := e.step(30 * time.Second)
	b, err := json.Marshal(s)
	require.NoError(t, err)
	var back struct {
		Time       time.Time          `json:"time"`
		IntervalMs int64              `json:"intervalMs"`
		Values     map[string]float64 `json:"values"`
	}
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, t0.Add(30*time.Second), back.Time)
	assert.Equal(t, int64(30000), back.IntervalMs)
	assert.Equal(t, 0.7, back.Values["warm_hit_rate"])
	_, has := back.Values["response_time_ms"]
	assert.False(t, has, "absent metrics are left out")

	a := Alert{Rule: RuleErrorRateCritical, Severity: SeverityCritical, Metric: MetricErrorRate, Op: Above, Threshold: 0.1,
		For: time.Minute, Message: "High error rate detected", State: StateFiring, Value: 0.125}
	assert.Equal(t, "ALERT critical error_rate_critical firing: High error rate detected (error_rate 12.5% > 10.0% for 1m0s)", a.String())
	a = Alert{Rule: "r", Severity: SeverityWarning, Metric: MetricResponseTime, Op: Above, Threshold: 2500, State: StatePending,
		Value: 2600, Detail: "x"}
	assert.Equal(t, "ALERT warning r pending:  (response_time_ms 2600ms > 2500ms): x", a.String())
}
