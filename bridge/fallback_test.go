package bridge

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flaky is an intelligent executor whose answers follow a script of
// successes (true) and failures (false), then succeed.
func flaky(plan []bool) *fakeExec {
	var next atomic.Int64
	return script(func(_ context.Context, c Command) (Response, error) {
		i := int(next.Add(1) - 1)
		ok := i >= len(plan) || plan[i]
		if !ok {
			return Response{}, errBoom
		}
		return Response{Output: "pool:" + c.Name}, nil
	})
}

// plan is ok successes followed by fail failures: the success rate only
// falls, reaching ok/(ok+fail) on the last call.
func plan(ok, fail int) []bool {
	p := make([]bool, 0, ok+fail)
	for i := 0; i < ok; i++ {
		p = append(p, true)
	}
	for i := 0; i < fail; i++ {
		p = append(p, false)
	}
	return p
}

func TestAutomaticFallbackAtTheBoundary(t *testing.T) {
	cases := []struct {
		name     string
		ok, fail int
		fallback bool
	}{
		{"80 % of 100 holds", 80, 20, false},
		{"79 % of 100 falls back", 79, 21, true},
		{"80 % at the minimum volume holds", 8, 2, false},
		{"70 % at the minimum volume falls back", 7, 3, true},
		{"0 % below the minimum volume holds", 0, 9, false},
		{"78 % below the minimum volume holds", 7, 2, false},
	}
	for _, mode := range []Mode{ModeFull, ModeHybrid} {
		for _, c := range cases {
			t.Run(mode.String()+"/"+c.name, func(t *testing.T) {
				rec := &recorder{}
				legacy := echo("legacy")
				b, clk := newBridge(t, legacy, flaky(plan(c.ok, c.fail)), WithMode(mode), WithPercentage(100), WithObserver(rec),
					WithFallbackConfidence(0)) // the plain rate's boundary; the bound: evidence_test.go
				for i := 0; i < c.ok+c.fail; i++ {
					_, err := b.Execute(context.Background(), cmd("implement"))
					require.NoError(t, err, "failures fall back per request")
					clk.Add(time.Second)
				}
				st := b.Stats()
				if !c.fallback {
					assert.Equal(t, mode, b.Mode())
					assert.Zero(t, st.AutoFallbacks)
					assert.Empty(t, rec.Transitions())
					assert.Equal(t, WindowStats{Span: 5 * time.Minute, Successes: uint64(c.ok), Failures: uint64(c.fail),
						SuccessRate: st.Window.SuccessRate, Threshold: 0.8, MinVolume: 10}, st.Window)
					return
				}
				assert.Equal(t, ModeFallback, b.Mode())
				assert.Equal(t, uint64(1), st.AutoFallbacks)
				tr := rec.Transitions()
				require.Len(t, tr, 1, "observers are told once")
				assert.Equal(t, ReasonAutoFallback, tr[0].Reason)
				assert.Equal(t, mode, tr[0].From)
				assert.Equal(t, ModeFallback, tr[0].To)
				assert.Less(t, tr[0].Window.SuccessRate, 0.8)
				assert.GreaterOrEqual(t, tr[0].Window.Successes+tr[0].Window.Failures, uint64(10))
				assert.Equal(t, uint64(c.ok), tr[0].Window.Successes)
			})
		}
	}
}

func TestAutomaticFallbackTriggersOnFirstCallBelowThreshold(t *testing.T) {
	// 79 successes then failures: the rate first drops below 80 % at the
	// 20th failure (79/99), and from then on legacy serves.
	intel := flaky(plan(79, 50))
	legacy := echo("legacy")
	b, _ := newBridge(t, legacy, intel, WithMode(ModeFull), WithFallbackConfidence(0))
	for i := 0; i < 129; i++ {
		_, err := b.Execute(context.Background(), cmd("implement"))
		require.NoError(t, err)
	}
	assert.Equal(t, int64(99), intel.calls.Load())
	assert.Equal(t, int64(20+30), legacy.calls.Load(), "20 per-request fallbacks, then 30 in Fallback mode")
	st := b.Stats()
	assert.Equal(t, uint64(20), st.Modes[ModeFull].Fallbacks)
	assert.Equal(t, uint64(30), st.Modes[ModeFallback].Requests)
}

func TestFailuresOlderThanTheWindowDoNotCount(t *testing.T) {
	b, clk := newBridge(t, echo("legacy"), flaky(plan(0, 5)), WithMode(ModeFull))
	for i := 0; i < 5; i++ {
		_, err := b.Execute(context.Background(), cmd("analyze"))
		require.NoError(t, err)
	}
	assert.Equal(t, uint64(5), b.Stats().Window.Failures)
	clk.Add(5 * time.Minute)
	assert.Equal(t, uint64(0), b.Stats().Window.Failures, "5 minutes later they have left the window")
	// Ten successes now: 100 % in the window, no fallback (with the old
	// failures it would be 10/15).
	for i := 0; i < 10; i++ {
		_, err := b.Execute(context.Background(), cmd("analyze"))
		require.NoError(t, err)
	}
	assert.Equal(t, ModeFull, b.Mode())
}

func TestFailuresInsideTheWindowCount(t *testing.T) {
	b, clk := newBridge(t, echo("legacy"), flaky(plan(0, 3)), WithMode(ModeFull), WithFallbackConfidence(0))
	for i := 0; i < 3; i++ {
		_, err := b.Execute(context.Background(), cmd("analyze"))
		require.NoError(t, err)
	}
	clk.Add(4 * time.Minute) // still inside the 5-minute window
	for i := 0; i < 7; i++ {
		_, err := b.Execute(context.Background(), cmd("analyze"))
		require.NoError(t, err)
	}
	assert.Equal(t, ModeFallback, b.Mode(), "7 of 10 within the window")
}

func TestNoSwitchBackByItselfAndFreshEvidenceOnReturn(t *testing.T) {
	rec := &recorder{}
	intel := flaky(plan(0, 11))
	b, clk := newBridge(t, echo("legacy"), intel, WithMode(ModeFull), WithObserver(rec))
	for i := 0; i < 10; i++ {
		_, err := b.Execute(context.Background(), cmd("analyze"))
		require.NoError(t, err)
	}
	require.Equal(t, ModeFallback, b.Mode())

	// Time passes, the window empties: the bridge stays in Fallback.
	clk.Add(time.Hour)
	for i := 0; i < 10; i++ {
		_, err := b.Execute(context.Background(), cmd("analyze"))
		require.NoError(t, err)
	}
	assert.Equal(t, ModeFallback, b.Mode(), "only migrate/rollback switch back")
	assert.Equal(t, int64(10), intel.calls.Load())

	// Switching back within the window of the old failures starts afresh:
	// one more failure does not trigger at once.
	b2, _ := newBridge(t, echo("legacy"), flaky(plan(0, 11)), WithMode(ModeFull))
	for i := 0; i < 10; i++ {
		_, _ = b2.Execute(context.Background(), cmd("analyze"))
	}
	require.Equal(t, ModeFallback, b2.Mode())
	require.NoError(t, b2.SetMode(ModeFull))
	assert.Zero(t, b2.Stats().Window.Failures)
	_, err := b2.Execute(context.Background(), cmd("analyze"))
	require.NoError(t, err)
	assert.Equal(t, ModeFull, b2.Mode())

	tr := rec.Transitions()
	require.Len(t, tr, 1)
	assert.Equal(t, ReasonAutoFallback, tr[0].Reason)
}

func TestHybridToFullKeepsTheEvidence(t *testing.T) {
	b, _ := newBridge(t, echo("legacy"), flaky(plan(0, 3)), WithMode(ModeHybrid), WithPercentage(100))
	for i := 0; i < 3; i++ {
		_, _ = b.Execute(context.Background(), cmd("analyze"))
	}
	require.NoError(t, b.SetMode(ModeFull))
	assert.Equal(t, uint64(3), b.Stats().Window.Failures, "a rollout step is not a reset")
}

func TestAutoFallbackCanBeDisabledAndTuned(t *testing.T) {
	b, _ := newBridge(t, echo("legacy"), flaky(plan(0, 50)), WithMode(ModeFull), WithAutoFallback(false))
	for i := 0; i < 50; i++ {
		_, _ = b.Execute(context.Background(), cmd("analyze"))
	}
	assert.Equal(t, ModeFull, b.Mode())

	// Threshold 0.5, volume 4: 2 of 4 holds, 1 of 3 does not count, 1 of 4 trips.
	b2, _ := newBridge(t, echo("legacy"), flaky(plan(2, 2)), WithMode(ModeFull), WithFallbackThreshold(0.5), WithMinVolume(4))
	for i := 0; i < 4; i++ {
		_, _ = b2.Execute(context.Background(), cmd("analyze"))
	}
	assert.Equal(t, ModeFull, b2.Mode())
	b3, _ := newBridge(t, echo("legacy"), flaky(plan(1, 3)), WithMode(ModeFull), WithFallbackThreshold(0.5), WithMinVolume(4),
		WithFallbackConfidence(0))
	for i := 0; i < 3; i++ {
		_, _ = b3.Execute(context.Background(), cmd("analyze"))
	}
	assert.Equal(t, ModeFull, b3.Mode(), "below volume")
	_, _ = b3.Execute(context.Background(), cmd("analyze"))
	assert.Equal(t, ModeFallback, b3.Mode())

	// A short window forgets sooner.
	b4, clk := newBridge(t, echo("legacy"), flaky(plan(0, 9)), WithMode(ModeFull), WithFallbackWindow(time.Minute))
	for i := 0; i < 9; i++ {
		_, _ = b4.Execute(context.Background(), cmd("analyze"))
	}
	clk.Add(time.Minute)
	_, _ = b4.Execute(context.Background(), cmd("analyze"))
	assert.Equal(t, ModeFull, b4.Mode())
}

func TestShadowFailuresNeverTriggerFallback(t *testing.T) {
	b, _ := newBridge(t, echo("legacy"), flaky(plan(0, 20)), WithMode(ModeShadow), WithMinVolume(1), WithShadowConcurrency(20))
	for i := 0; i < 20; i++ {
		_, err := b.Execute(context.Background(), cmd("analyze"))
		require.NoError(t, err)
	}
	closeNow(t, b)
	assert.Equal(t, ModeShadow, b.Mode())
	assert.Equal(t, uint64(20), b.Stats().Shadow.Mismatched)
}
