package migrate

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/pool"
)

// fakePool is a PoolStats whose tasks and hits the intelligent executor
// counts.
type fakePool struct {
	efficiency float64
	tasks      atomic.Uint64
	hits       atomic.Uint64
}

func (p *fakePool) Stats() pool.Stats {
	t, h := p.tasks.Load(), p.hits.Load()
	st := pool.Stats{Specialists: 83, MaxWarm: 17, Tasks: t, WarmHits: h, MemoryEfficiency: p.efficiency, WarmThreshold: 0.3}
	if t > 0 {
		st.WarmHitRate = float64(h) / float64(t)
	}
	return st
}

// realBridge returns a bridge on clk between two executors that answer
// alike, and a channel that gets every finished shadow run.
func realBridge(t *testing.T, clk clock.Clock, fp *fakePool) (*bridge.Bridge, <-chan struct{}) {
	t.Helper()
	legacy := bridge.ExecutorFunc(func(_ context.Context, c bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: "done " + c.Name}, nil
	})
	intelligent := bridge.ExecutorFunc(func(_ context.Context, c bridge.Command) (bridge.Response, error) {
		n := fp.tasks.Add(1)
		if n%10 != 0 { // 90 % warm hits
			fp.hits.Add(1)
		}
		return bridge.Response{Output: "done " + c.Name}, nil
	})
	shadows := make(chan struct{}, 1)
	b, err := bridge.New(legacy, intelligent, bridge.WithClock(clk), bridge.WithObserver(bridge.ObserverFuncs{
		Outcome: func(o bridge.Outcome) {
			if o.Kind == bridge.KindShadow {
				shadows <- struct{}{}
			}
		},
	}))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close(context.Background())) })
	return b, shadows
}

func TestStatsMetricsReadsABridgeAndAPool(t *testing.T) {
	clk := clock.NewMock()
	fp := &fakePool{efficiency: 0.8}
	b, shadows := realBridge(t, clk, fp)
	m, err := NewStatsMetrics(b, fp, clk)
	require.NoError(t, err)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		_, err := b.Execute(ctx, bridge.Command{Name: "implement"})
		require.NoError(t, err)
		<-shadows
	}
	r, err := m.Read()
	require.NoError(t, err)
	require.Equal(t, Routing{bridge.ModeShadow, 0}, r.Routing)
	require.Equal(t, uint64(3), r.Intelligent.Calls)
	require.Equal(t, uint64(3), r.Legacy.Calls)
	require.Equal(t, Served{Requests: 3}, r.Served)
	require.Equal(t, uint64(3), r.Compared)
	require.Equal(t, uint64(3), r.Matched)
	require.Equal(t, 0.8, r.Pool.MemoryEfficiency)
	require.Equal(t, uint64(3), r.Pool.Tasks)
	require.True(t, r.Epoch.Equal(clk.Now()))

	noPool, err := NewStatsMetrics(b, nil, clk)
	require.NoError(t, err)
	r, err = noPool.Read()
	require.NoError(t, err)
	require.Nil(t, r.Pool)

	var nilPool *fakePool
	typedNil, err := NewStatsMetrics(b, nilPool, clk)
	require.NoError(t, err)
	r, err = typedNil.Read()
	require.NoError(t, err)
	require.Nil(t, r.Pool)

	_, err = NewStatsMetrics(nil, fp, clk)
	require.ErrorIs(t, err, ErrNilMetrics)
	_, err = NewStatsMetrics(b, fp, nil)
	require.ErrorIs(t, err, ErrInvalidConfig)
}

// The controller drives a real bridge through the whole default plan on a
// mock clock: 20 commands every 30 s, each step soaking exactly its time.
func TestControllerDrivesARealBridgeThroughTheDefaultPlan(t *testing.T) {
	clk := clock.NewMock()
	fp := &fakePool{efficiency: 0.8}
	b, shadows := realBridge(t, clk, fp)
	var transitions []string
	remove, err := b.AddObserver(bridge.ObserverFuncs{Transition: func(tr bridge.Transition) {
		transitions = append(transitions, fmt.Sprintf("%s/%g", tr.To, tr.ToPercentage))
	}})
	require.NoError(t, err)
	defer remove()
	metrics, err := NewStatsMetrics(b, fp, clk)
	require.NoError(t, err)
	tn := &fakeTuner{threshold: 0.3, maxWarm: 17}
	start := clk.Now()
	ctrl, err := New(b, metrics, WithClock(clk), WithStore(NewMemoryStore()), WithTuner(tn))
	require.NoError(t, err)

	ctx := context.Background()
	type advance struct {
		step string
		at   time.Duration
	}
	var advances []advance
	for i := 0; ctrl.Status().State != StateCompleted; i++ {
		require.Less(t, i, 1000, "the plan should complete")
		for j := 0; j < 20; j++ {
			shadow := b.Mode() == bridge.ModeShadow
			_, err := b.Execute(ctx, bridge.Command{Name: "implement", RoutingKey: fmt.Sprintf("session-%d-%d", i, j)})
			require.NoError(t, err)
			if shadow {
				<-shadows // wait for the comparison, so the next step sees it
			}
		}
		clk.Add(30 * time.Second)
		d, err := ctrl.Step(ctx)
		require.NoError(t, err)
		require.NotEqual(t, ActionHold, d.Action, d.Reason)
		if d.Action == ActionAdvance || d.Action == ActionComplete {
			advances = append(advances, advance{d.From, clk.Now().Sub(start)})
		}
	}
	require.Equal(t, []advance{
		{"preparation", 10 * time.Minute},
		{"shadow", 40 * time.Minute},
		{"hybrid-25", 70 * time.Minute},
		{"hybrid-50", 100 * time.Minute},
		{"hybrid-75", 130 * time.Minute},
		{"full", 160 * time.Minute},
		{"optimisation", 220 * time.Minute},
		{"verification", 250 * time.Minute},
	}, advances)
	// Toward hybrid the percentage is set first; toward full the mode.
	require.Equal(t, []string{"fallback/0", "shadow/0", "shadow/25", "hybrid/25", "hybrid/50", "hybrid/75", "full/75", "full/100"}, transitions)
	st := b.Stats()
	require.Equal(t, bridge.ModeFull, st.Mode)
	require.Equal(t, 1.0, st.Shadow.Compatibility)
	require.Zero(t, st.AutoFallbacks)
	for _, d := range ctrl.History() {
		if d.Action == ActionAdvance && d.From != "preparation" {
			require.True(t, d.Gate.Passed, d.String())
		}
	}
	// 90 % warm hits and 80 % memory efficiency: nothing to tune.
	require.Empty(t, ctrl.Tunings())
	require.Equal(t, 17, tn.maxWarm)
}

// Latency sums are kept as sums: a window between two readings never has a
// negative latency, even where the bridge's truncated mean × calls would
// go down (999 999 ns then a 0 ns call: 999 999 → 2 × 499 999).
func TestStatsMetricsLatencyIsASum(t *testing.T) {
	clk := clock.NewMock()
	var next atomic.Int64
	legacy := bridge.ExecutorFunc(func(_ context.Context, c bridge.Command) (bridge.Response, error) {
		clk.Add(time.Duration(next.Load()))
		return bridge.Response{Output: "ok"}, nil
	})
	b, err := bridge.New(legacy, legacy, bridge.WithClock(clk), bridge.WithMode(bridge.ModeFallback))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close(context.Background())) })
	m, err := NewStatsMetrics(b, nil, clk)
	require.NoError(t, err)

	prev, err := m.Read()
	require.NoError(t, err)
	for _, d := range []time.Duration{999_999, 0, 1, 0, 2, 0, 0, 5} {
		next.Store(int64(d))
		_, err := b.Execute(context.Background(), bridge.Command{Name: "x"})
		require.NoError(t, err)
		cur, err := m.Read()
		require.NoError(t, err)
		w := Delta(prev, cur)
		require.Equal(t, uint64(1), w.Legacy.Calls)
		require.Equal(t, d, w.Legacy.Latency, "the window's latency is the call's own")
		prev = cur
	}
	require.Equal(t, time.Duration(999_999+1+2+5), prev.Legacy.Latency)
}
