package bridge

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFallbackModeServesLegacyOnly(t *testing.T) {
	legacy, intel := echo("legacy"), echo("pool")
	rec := &recorder{}
	b, _ := newBridge(t, legacy, intel, WithMode(ModeFallback), WithObserver(rec))
	for i := 0; i < 5; i++ {
		resp, err := b.Execute(context.Background(), keyed("design", "k"))
		require.NoError(t, err)
		assert.Equal(t, "legacy:design", resp.Output)
	}
	assert.Equal(t, int64(5), legacy.calls.Load())
	assert.Zero(t, intel.calls.Load())
	st := b.Stats()
	assert.Equal(t, uint64(5), st.Modes[ModeFallback].Requests)
	assert.Equal(t, uint64(5), st.Modes[ModeFallback].Paths[PathLegacy].Calls)
	assert.Zero(t, st.Paths[PathIntelligent].Calls)
	for _, o := range rec.Outcomes() {
		assert.Equal(t, Outcome{Kind: KindServed, At: o.At, Mode: ModeFallback, Command: keyed("design", "k"), Path: PathLegacy}, o)
	}
	assert.Len(t, rec.Outcomes(), 5)
}

func TestFullModeServesIntelligentWithLatency(t *testing.T) {
	rec := &recorder{}
	legacy := echo("legacy")
	var clkAdd func(time.Duration)
	intel := script(func(_ context.Context, c Command) (Response, error) {
		clkAdd(40 * time.Millisecond)
		return Response{Output: "pool:" + c.Name, Detail: "specialist-7"}, nil
	})
	b, clk := newBridge(t, legacy, intel, WithMode(ModeFull), WithObserver(rec))
	clkAdd = clk.Add

	resp, err := b.Execute(context.Background(), Command{Name: "implement", Args: []string{"feature"}})
	require.NoError(t, err)
	assert.Equal(t, Response{Output: "pool:implement", Detail: "specialist-7"}, resp)
	assert.Zero(t, legacy.calls.Load())

	outs := rec.Outcomes()
	require.Len(t, outs, 1)
	o := outs[0]
	assert.Equal(t, KindServed, o.Kind)
	assert.Equal(t, ModeFull, o.Mode)
	assert.Equal(t, PathIntelligent, o.Path)
	assert.Equal(t, 40*time.Millisecond, o.Latency)
	assert.Equal(t, clk.Now(), o.At)
	assert.NoError(t, o.Err)
	assert.False(t, o.FellBack)
	assert.Equal(t, VerdictNone, o.Verdict)

	ps := b.Stats().Modes[ModeFull].Paths[PathIntelligent]
	assert.Equal(t, uint64(1), ps.Calls)
	assert.Equal(t, 40*time.Millisecond, ps.Latency.Max)
	assert.Equal(t, 40*time.Millisecond, ps.Latency.P50)
	assert.Equal(t, 40*time.Millisecond, ps.Latency.Mean)
}

func TestFullModeFallsBackToLegacyOnFailure(t *testing.T) {
	rec := &recorder{}
	var add func(time.Duration)
	intel := script(func(context.Context, Command) (Response, error) {
		add(5 * time.Millisecond)
		return Response{Output: "partial"}, errBoom
	})
	legacy := script(func(_ context.Context, c Command) (Response, error) {
		add(20 * time.Millisecond)
		return Response{Output: "legacy:" + c.Name}, nil
	})
	b, clk := newBridge(t, legacy, intel, WithMode(ModeFull), WithObserver(rec), WithAutoFallback(false))
	add = clk.Add

	resp, err := b.Execute(context.Background(), cmd("analyze"))
	require.NoError(t, err)
	assert.Equal(t, "legacy:analyze", resp.Output)

	o := rec.Outcomes()[0]
	assert.True(t, o.FellBack)
	assert.ErrorIs(t, o.IntelligentErr, errBoom)
	assert.Equal(t, PathLegacy, o.Path)
	assert.NoError(t, o.Err)
	assert.Equal(t, 25*time.Millisecond, o.Latency, "the caller waited for both")

	st := b.Stats()
	ms := st.Modes[ModeFull]
	assert.Equal(t, uint64(1), ms.Requests)
	assert.Zero(t, ms.Errors, "the caller got an answer")
	assert.Equal(t, uint64(1), ms.Fallbacks)
	assert.Equal(t, uint64(1), ms.Paths[PathIntelligent].Errors)
	assert.Equal(t, 1.0, ms.Paths[PathIntelligent].ErrorRate())
	assert.Equal(t, 0.0, ms.Paths[PathLegacy].ErrorRate())
	assert.Equal(t, 0.0, PathStats{}.ErrorRate())
	assert.Equal(t, 5*time.Millisecond, ms.Paths[PathIntelligent].Latency.Max)
	assert.Equal(t, 20*time.Millisecond, ms.Paths[PathLegacy].Latency.Max)
	assert.Equal(t, uint64(1), st.Window.Failures, "the failure counts against the pool")
}

func TestFullModeWithoutFallbackReturnsThePoolError(t *testing.T) {
	legacy := echo("legacy")
	intel := script(func(context.Context, Command) (Response, error) { return Response{}, errBoom })
	b, _ := newBridge(t, legacy, intel, WithMode(ModeFull), WithFallbackOnError(false), WithAutoFallback(false))
	_, err := b.Execute(context.Background(), cmd("analyze"))
	require.ErrorIs(t, err, errBoom)
	assert.Zero(t, legacy.calls.Load())
	ms := b.Stats().Modes[ModeFull]
	assert.Equal(t, uint64(1), ms.Errors)
	assert.Zero(t, ms.Fallbacks)
}

func TestFullModeRecoversPoolPanicAndFallsBack(t *testing.T) {
	intel := script(func(context.Context, Command) (Response, error) { panic("specialist exploded") })
	rec := &recorder{}
	b, _ := newBridge(t, echo("legacy"), intel, WithMode(ModeFull), WithObserver(rec))
	resp, err := b.Execute(context.Background(), cmd("implement"))
	require.NoError(t, err)
	assert.Equal(t, "legacy:implement", resp.Output)
	o := rec.Outcomes()[0]
	require.ErrorIs(t, o.IntelligentErr, ErrPanic)
	assert.Contains(t, o.IntelligentErr.Error(), "specialist exploded")
	assert.Equal(t, uint64(1), b.Stats().Modes[ModeFull].Paths[PathIntelligent].Panics)

	// Without fallback the panic is the caller's error, not a crash.
	b2, _ := newBridge(t, echo("legacy"), intel, WithMode(ModeFull), WithFallbackOnError(false))
	_, err = b2.Execute(context.Background(), cmd("implement"))
	require.ErrorIs(t, err, ErrPanic)
}

func TestCallerCancellationIsNeitherRetriedNorCounted(t *testing.T) {
	legacy := echo("legacy")
	intel := script(func(ctx context.Context, _ Command) (Response, error) {
		<-ctx.Done()
		return Response{}, ctx.Err()
	})
	b, _ := newBridge(t, legacy, intel, WithMode(ModeFull), WithMinVolume(1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.Execute(ctx, cmd("analyze"))
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, legacy.calls.Load(), "no retry for a caller that is gone")
	st := b.Stats()
	assert.Equal(t, uint64(0), st.Window.Failures)
	assert.Equal(t, ModeFull, st.Mode, "no automatic fallback from the caller's cancellation")
	assert.Equal(t, uint64(1), st.Modes[ModeFull].Errors)
}

func TestLegacyErrorsPassThroughUnchanged(t *testing.T) {
	legacy := script(func(context.Context, Command) (Response, error) { return Response{Output: "x"}, errBoom })
	for _, m := range []Mode{ModeShadow, ModeFallback} {
		b, _ := newBridge(t, legacy, same(), WithMode(m))
		resp, err := b.Execute(context.Background(), cmd("test"))
		assert.Same(t, errBoom, err, "exactly the legacy error, unwrapped")
		assert.Equal(t, "x", resp.Output)
		assert.Equal(t, uint64(1), b.Stats().Modes[m].Errors)
	}
}

func TestLatencyPercentilesFromFakeClock(t *testing.T) {
	var i int
	var add func(time.Duration)
	intel := script(func(context.Context, Command) (Response, error) {
		i++
		add(time.Duration(i) * time.Millisecond) // 1ms … 100ms
		return Response{}, nil
	})
	b, clk := newBridge(t, echo("l"), intel, WithMode(ModeFull))
	add = clk.Add
	for n := 0; n < 100; n++ {
		_, err := b.Execute(context.Background(), cmd("analyze"))
		require.NoError(t, err)
	}
	lat := b.Stats().Paths[PathIntelligent].Latency
	within := func(want, got time.Duration) {
		t.Helper()
		assert.GreaterOrEqual(t, got, want)
		assert.LessOrEqual(t, float64(got-want), 0.032*float64(want), "got %v want %v", got, want)
	}
	within(50*time.Millisecond, lat.P50)
	within(95*time.Millisecond, lat.P95)
	within(99*time.Millisecond, lat.P99)
	assert.Equal(t, 100*time.Millisecond, lat.Max)
	assert.Equal(t, 50500*time.Microsecond, lat.Mean)
}

func TestBridgeIsAnExecutor(t *testing.T) {
	b, _ := newBridge(t, echo("legacy"), echo("pool"), WithMode(ModeFull))
	var e Executor = b
	// A bridge can wrap a bridge: the host's executor stays an Executor.
	outer, _ := newBridge(t, echo("old"), e, WithMode(ModeFull))
	resp, err := outer.Execute(context.Background(), cmd("design"))
	require.NoError(t, err)
	assert.Equal(t, "pool:design", resp.Output)
	assert.False(t, errors.Is(err, ErrClosed))
}
