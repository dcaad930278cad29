package migrate

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/bridge"
)

func window(calls, errs uint64, lat time.Duration, compared, matched uint64, mem ...float64) Window {
	w := Window{
		Intelligent: PathCounts{Calls: calls, Errors: errs, Latency: lat * time.Duration(calls)},
		Compared:    compared, Matched: matched,
	}
	for _, m := range mem {
		w.Memory.add(m)
	}
	return w
}

var base100ms = Baseline{Calls: 10, Latency: time.Second}

func TestGateCriteriaAtTheirBoundaries(t *testing.T) {
	g := ShadowGate()
	cases := []struct {
		name   string
		w      Window
		b      Baseline
		passed bool
		failed bool
		metric Metric
	}{
		{"all good", window(100, 1, 249*time.Millisecond, 100, 100, 0.71), base100ms, true, false, ""},
		{"memory efficiency exactly 70% fails", window(100, 0, 100*time.Millisecond, 100, 100, 0.9, 0.70), base100ms, false, true, MetricMemoryEfficiency},
		{"memory efficiency just above 70% passes", window(100, 0, 100*time.Millisecond, 100, 100, 0.9, 0.7001), base100ms, true, false, ""},
		{"error rate exactly 2% fails", window(100, 2, 100*time.Millisecond, 100, 100, 0.8), base100ms, false, true, MetricErrorRate},
		{"error rate just below 2% passes", window(10000, 199, 100*time.Millisecond, 100, 100, 0.8), base100ms, true, false, ""},
		{"latency ratio exactly 2.5x fails", window(100, 0, 250*time.Millisecond, 100, 100, 0.8), base100ms, false, true, MetricLatencyRatio},
		{"latency ratio just below 2.5x passes", window(100, 0, 249*time.Millisecond, 100, 100, 0.8), base100ms, true, false, ""},
		{"compatibility 99.9% fails", window(1000, 0, 100*time.Millisecond, 1000, 999, 0.8), base100ms, false, true, MetricCompatibility},
		{"compatibility 100% passes", window(1000, 0, 100*time.Millisecond, 1000, 1000, 0.8), base100ms, true, false, ""},
		{"99 calls is no data", window(99, 0, 100*time.Millisecond, 100, 100, 0.8), base100ms, false, false, MetricErrorRate},
		{"99 comparisons is no data", window(100, 0, 100*time.Millisecond, 99, 99, 0.8), base100ms, false, false, MetricCompatibility},
		{"no memory sample is no data", window(100, 0, 100*time.Millisecond, 100, 100), base100ms, false, false, MetricMemoryEfficiency},
		{"no baseline is no data", window(100, 0, 100*time.Millisecond, 100, 100, 0.8), Baseline{}, false, false, MetricLatencyRatio},
		{"nothing at all is no data", Window{}, Baseline{}, false, false, MetricErrorRate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := g.Evaluate(tc.w, tc.b)
			require.Equal(t, tc.passed, r.Passed, r.String())
			require.Equal(t, tc.failed, r.Failed, r.String())
			require.Equal(t, !tc.passed && !tc.failed, r.NoData)
			if tc.metric != "" {
				found := false
				for _, c := range r.Checks {
					if c.Metric == tc.metric {
						found = true
						require.False(t, c.Passed)
						require.Equal(t, tc.failed, c.HasData)
					}
				}
				require.True(t, found)
			}
		})
	}
}

func TestEmptyGatePasses(t *testing.T) {
	r := Gate{}.Evaluate(Window{}, Baseline{})
	require.True(t, r.Passed)
	require.Equal(t, "no criteria", r.String())
}

// A legacy baseline below MinLatencyBaseline gives no ratio (41 ms over
// ~0 s is noise, not 41 666 666×): the gate judges the intelligent mean
// against its absolute limit instead.
func TestNearZeroBaselineUsesTheAbsoluteLimit(t *testing.T) {
	w := window(100, 0, 41*time.Millisecond, 0, 0) // mean 41 ms
	near := Baseline{Calls: 100, Latency: 100 * time.Nanosecond}
	_, ok := w.LatencyRatio(near)
	require.False(t, ok, "no ratio against a 1 ns baseline")
	require.False(t, near.Judgeable())
	_, ok = w.LatencyRatio(Baseline{Calls: 5})
	require.False(t, ok, "nor against a zero one")

	at := Baseline{Calls: 1, Latency: MinLatencyBaseline}
	require.True(t, at.Judgeable())
	r, ok := w.LatencyRatio(at)
	require.True(t, ok)
	require.InDelta(t, 41.0, r, 1e-9)

	g := DefaultGate()
	res := g.Evaluate(w, near)
	var lat CheckResult
	for _, c := range res.Checks {
		if c.Metric == MetricLatencyRatio {
			lat = c
		}
	}
	require.True(t, lat.HasData)
	require.True(t, lat.Absolute)
	require.True(t, lat.Passed, lat.Detail)
	require.Contains(t, lat.Detail, "absolute limit 2.5s")

	slow := window(100, 0, 3*time.Second, 0, 0)
	res = g.Evaluate(slow, near)
	for _, c := range res.Checks {
		if c.Metric == MetricLatencyRatio {
			require.True(t, c.HasData)
			require.False(t, c.Passed, "3 s is over the 2.5 s absolute limit")
		}
	}
	require.True(t, res.Failed)

	g.MaxLatency = 0
	for _, c := range g.Evaluate(w, near).Checks {
		if c.Metric == MetricLatencyRatio {
			require.False(t, c.HasData, "no absolute limit: no data")
		}
	}
}

func TestDeltaCountsARestartedSourceFromZero(t *testing.T) {
	t0 := time.Unix(1000, 0)
	prev := Reading{At: t0, Epoch: t0, Intelligent: PathCounts{Calls: 10, Errors: 1}, Pool: &PoolReading{Tasks: 10}}
	cur := prev
	cur.At = t0.Add(time.Minute)
	cur.Intelligent = PathCounts{Calls: 15, Errors: 1}
	cur.Pool = &PoolReading{Tasks: 14, WarmHits: 3, MemoryEfficiency: 0.8}
	w := Delta(prev, cur)
	require.Equal(t, uint64(5), w.Intelligent.Calls)
	require.Equal(t, uint64(0), w.Intelligent.Errors)
	require.Equal(t, uint64(4), w.Tasks)
	require.Equal(t, time.Minute, w.Duration())

	restarted := cur
	restarted.Epoch = t0.Add(30 * time.Second)
	restarted.Intelligent = PathCounts{Calls: 3}
	w = Delta(prev, restarted)
	require.Equal(t, uint64(3), w.Intelligent.Calls, "a new epoch counts from zero")
	require.Equal(t, restarted.Epoch, w.From)

	back := cur
	back.Intelligent = PathCounts{Calls: 2}
	require.Equal(t, uint64(2), Delta(prev, back).Intelligent.Calls, "a counter that went back counts from zero")

	require.Equal(t, uint64(15), Delta(Reading{}, cur).Intelligent.Calls, "no previous reading counts from zero")
}

func TestWindowAddKeepsLowestMemory(t *testing.T) {
	var w Window
	w.Add(window(1, 0, 0, 0, 0, 0.9))
	w.Add(window(1, 0, 0, 0, 0, 0.6))
	w.Add(window(1, 0, 0, 0, 0, 0.8))
	require.Equal(t, Gauge{Samples: 3, Min: 0.6, Last: 0.8}, w.Memory)
	require.Equal(t, uint64(3), w.Intelligent.Calls)
}

func TestRoutingJSON(t *testing.T) {
	for _, r := range []Routing{{}, Legacy, {Mode: 2, Percentage: 25}} {
		data, err := r.MarshalJSON()
		require.NoError(t, err)
		var back Routing
		require.NoError(t, back.UnmarshalJSON(data))
		require.Equal(t, r, back)
	}
	var r Routing
	require.Error(t, r.UnmarshalJSON([]byte(`{"mode":"sideways"}`)))
	require.Error(t, r.UnmarshalJSON([]byte(`[]`)))
}

func TestUnusableMemoryReadingsAreIgnored(t *testing.T) {
	var zero float64
	w := Delta(Reading{}, Reading{Pool: &PoolReading{MemoryEfficiency: zero / zero}})
	require.Zero(t, w.Memory.Samples)
}

// A bridge set to Full prints "full" whatever its percentage (never
// "full 0%"), and every Full routing is the same routing.
func TestRoutingStringInFullMode(t *testing.T) {
	require.Equal(t, "full", Routing{Mode: bridge.ModeFull}.String())
	require.Equal(t, "full", Routing{Mode: bridge.ModeFull, Percentage: 100}.String())
	require.Equal(t, "hybrid 0%", Routing{Mode: bridge.ModeHybrid}.String())
	require.Equal(t, "hybrid 50%", Routing{Mode: bridge.ModeHybrid, Percentage: 50}.String())
	require.Equal(t, "fallback", Legacy.String())
	require.True(t, Routing{Mode: bridge.ModeFull}.Equal(Routing{Mode: bridge.ModeFull, Percentage: 100}))
	require.False(t, Routing{Mode: bridge.ModeHybrid}.Equal(Routing{Mode: bridge.ModeHybrid, Percentage: 100}))
}
