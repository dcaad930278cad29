package bridge

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// closeNow closes b and requires every shadow run to have finished.
func closeNow(t *testing.T, b *Bridge) {
	t.Helper()
	require.NoError(t, b.Close(context.Background()))
	assert.Zero(t, b.Stats().Shadow.InFlight)
}

func TestShadowServesLegacyAndComparesResults(t *testing.T) {
	var add func(time.Duration)
	legacy := script(func(_ context.Context, c Command) (Response, error) {
		add(30 * time.Millisecond)
		return Response{Output: "answer:" + c.Name}, nil
	})
	// The pool agrees on "implement" and "design" but not on "analyze".
	intel := script(func(_ context.Context, c Command) (Response, error) {
		if c.Name == "analyze" {
			return Response{Output: "different"}, nil
		}
		return Response{Output: "answer:" + c.Name, Detail: "ignored by the comparator"}, nil
	})
	rec := &recorder{}
	b, clk := newBridge(t, legacy, intel, WithObserver(rec)) // Shadow is the default mode
	add = clk.Add

	for _, name := range []string{"implement", "analyze", "design", "implement"} {
		resp, err := b.Execute(context.Background(), cmd(name))
		require.NoError(t, err)
		assert.Equal(t, "answer:"+name, resp.Output, "legacy's answer is served")
	}
	closeNow(t, b)

	st := b.Stats()
	assert.Equal(t, ShadowStats{Started: 4, Compared: 4, Matched: 3, Mismatched: 1, Compatibility: 0.75}, st.Shadow)
	assert.Equal(t, uint64(4), st.Modes[ModeShadow].Requests)
	assert.Equal(t, uint64(4), st.Modes[ModeShadow].Paths[PathLegacy].Calls)
	assert.Equal(t, uint64(4), st.Modes[ModeShadow].Paths[PathIntelligent].Calls)
	assert.Zero(t, st.Window.Successes+st.Window.Failures, "shadow runs never serve, so never count for auto-fallback")

	mm := b.Mismatches()
	require.Len(t, mm, 1)
	assert.Equal(t, "analyze", mm[0].Command.Name)
	assert.Equal(t, "answer:analyze", mm[0].Legacy.Response.Output)
	assert.Equal(t, 30*time.Millisecond, mm[0].Legacy.Latency)
	assert.Equal(t, "different", mm[0].Intelligent.Response.Output)
	assert.Equal(t, time.Duration(0), mm[0].Intelligent.Latency)

	var served, shadow int
	for _, o := range rec.Outcomes() {
		switch o.Kind {
		case KindServed:
			served++
			assert.Equal(t, VerdictPending, o.Verdict)
			assert.Equal(t, PathLegacy, o.Path)
			assert.Equal(t, 30*time.Millisecond, o.Latency)
		case KindShadow:
			shadow++
			assert.Equal(t, PathIntelligent, o.Path)
			assert.Equal(t, "answer:"+o.Command.Name, o.Legacy.Response.Output)
			if o.Command.Name == "analyze" {
				assert.Equal(t, VerdictMismatch, o.Verdict)
			} else {
				assert.Equal(t, VerdictMatch, o.Verdict)
			}
		}
	}
	assert.Equal(t, 4, served)
	assert.Equal(t, 4, shadow)
}

func TestShadowErrorNessIsCompared(t *testing.T) {
	failing := script(func(context.Context, Command) (Response, error) { return Response{}, errBoom })
	cases := []struct {
		name          string
		legacy, intel *fakeExec
		match         bool
	}{
		{"both fail", failing, failing, true},
		{"only pool fails", echo("x"), failing, false},
		{"only legacy fails", failing, echo("x"), false},
		{"both succeed equal", echo("x"), echo("x"), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, _ := newBridge(t, c.legacy, c.intel)
			_, _ = b.Execute(context.Background(), cmd("analyze"))
			closeNow(t, b)
			st := b.Stats().Shadow
			require.Equal(t, uint64(1), st.Compared)
			assert.Equal(t, c.match, st.Matched == 1)
		})
	}
}

func TestSlowShadowDoesNotDelayTheServedAnswer(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	intel := script(func(context.Context, Command) (Response, error) {
		close(entered)
		<-release // a pool that is far slower than legacy
		return Response{Output: "late"}, nil
	})
	var add func(time.Duration)
	legacy := script(func(context.Context, Command) (Response, error) {
		<-entered // make sure the shadow run is really running beside us
		add(10 * time.Millisecond)
		return Response{Output: "legacy"}, nil
	})
	rec := &recorder{}
	b, clk := newBridge(t, legacy, intel, WithObserver(rec))
	add = clk.Add

	// Execute returns while the shadow run is still blocked: if it waited
	// for it, this test would never get past this line.
	resp, err := b.Execute(context.Background(), cmd("implement"))
	require.NoError(t, err)
	assert.Equal(t, "legacy", resp.Output)
	served := rec.served()
	require.Len(t, served, 1)
	assert.Equal(t, 10*time.Millisecond, served[0].Latency, "served latency is legacy's alone")
	assert.Equal(t, 1, b.Stats().Shadow.InFlight)

	// Close waits for the shadow run.
	closed := make(chan error, 1)
	go func() { closed <- b.Close(context.Background()) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a shadow run was in flight")
	default:
	}
	close(release)
	require.NoError(t, <-closed)
	st := b.Stats().Shadow
	assert.Equal(t, uint64(1), st.Mismatched)
	assert.Zero(t, st.InFlight)
}

func TestPanickingShadowDoesNotChangeTheServedAnswer(t *testing.T) {
	intel := script(func(context.Context, Command) (Response, error) { panic("pool bug") })
	rec := &recorder{}
	b, _ := newBridge(t, echo("legacy"), intel, WithObserver(rec))
	for i := 0; i < 3; i++ {
		resp, err := b.Execute(context.Background(), cmd("design"))
		require.NoError(t, err)
		assert.Equal(t, "legacy:design", resp.Output)
	}
	closeNow(t, b)
	st := b.Stats()
	assert.Equal(t, uint64(3), st.Shadow.Panics)
	assert.Equal(t, uint64(3), st.Shadow.Mismatched)
	assert.Equal(t, uint64(3), st.Modes[ModeShadow].Paths[PathIntelligent].Panics)
	assert.Zero(t, st.Modes[ModeShadow].Errors)
	for _, m := range b.Mismatches() {
		assert.ErrorIs(t, m.Intelligent.Err, ErrPanic)
	}
}

func TestShadowTimeoutOnTheFakeClock(t *testing.T) {
	started := make(chan struct{})
	var deadline time.Time
	intel := script(func(ctx context.Context, _ Command) (Response, error) {
		deadline, _ = ctx.Deadline()
		close(started)
		<-ctx.Done()
		return Response{}, ctx.Err()
	})
	rec := &recorder{shadowDone: make(chan Outcome, 1)}
	b, clk := newBridge(t, echo("legacy"), intel, WithShadowTimeout(2*time.Second), WithObserver(rec))
	t0 := clk.Now()
	_, err := b.Execute(context.Background(), cmd("analyze"))
	require.NoError(t, err)
	<-started
	assert.Equal(t, t0.Add(2*time.Second), deadline, "the shadow run has its own deadline")

	clk.Add(2 * time.Second)
	o := <-rec.shadowDone
	assert.ErrorIs(t, o.Err, context.DeadlineExceeded)
	assert.Equal(t, VerdictMismatch, o.Verdict)
	assert.Equal(t, 2*time.Second, o.Latency)
	closeNow(t, b)
	st := b.Stats().Shadow
	assert.Equal(t, uint64(1), st.Timeouts)
	assert.Equal(t, uint64(1), st.Compared)
}

type ctxKey struct{}

func TestShadowIsDetachedFromTheRequestCancellation(t *testing.T) {
	release := make(chan struct{})
	type seen struct {
		err   error
		value any
		has   bool
	}
	got := make(chan seen, 1)
	intel := script(func(ctx context.Context, _ Command) (Response, error) {
		<-release
		_, has := ctx.Deadline()
		got <- seen{err: ctx.Err(), value: ctx.Value(ctxKey{}), has: has}
		return Response{Output: "same:analyze"}, nil
	})
	b, _ := newBridge(t, same(), intel, WithShadowTimeout(time.Hour))
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), ctxKey{}, "trace-1"), time.Hour)
	_, err := b.Execute(ctx, cmd("analyze"))
	require.NoError(t, err)
	cancel() // the request is over before the shadow run goes on
	close(release)
	s := <-got
	assert.NoError(t, s.err, "the shadow run is not cancelled with its request")
	assert.Equal(t, "trace-1", s.value, "but it keeps the request's values")
	assert.True(t, s.has, "and has its own deadline")
	closeNow(t, b)
	assert.Equal(t, uint64(1), b.Stats().Shadow.Matched)
}

func TestShadowConcurrencyBoundSkipsInsteadOfQueueing(t *testing.T) {
	release := make(chan struct{})
	running := make(chan struct{}, 2)
	intel := script(func(context.Context, Command) (Response, error) {
		running <- struct{}{}
		<-release
		return Response{Output: "same:implement"}, nil
	})
	rec := &recorder{}
	b, _ := newBridge(t, same(), intel, WithShadowConcurrency(2), WithObserver(rec))
	for i := 0; i < 2; i++ {
		_, err := b.Execute(context.Background(), cmd("implement"))
		require.NoError(t, err)
	}
	<-running
	<-running
	// Both slots are taken: the next three commands are served at once and
	// their shadow runs are skipped.
	for i := 0; i < 3; i++ {
		resp, err := b.Execute(context.Background(), cmd("implement"))
		require.NoError(t, err)
		assert.Equal(t, "same:implement", resp.Output)
	}
	served := rec.served()
	require.Len(t, served, 5)
	for i, o := range served {
		want := VerdictPending
		if i >= 2 {
			want = VerdictSkipped
		}
		assert.Equal(t, want, o.Verdict, "command %d", i)
	}
	st := b.Stats().Shadow
	assert.Equal(t, uint64(2), st.Started)
	assert.Equal(t, uint64(3), st.Skipped)
	assert.Equal(t, 2, st.InFlight)

	close(release)
	closeNow(t, b)
	st = b.Stats().Shadow
	assert.Equal(t, uint64(2), st.Matched)
	assert.Equal(t, 1.0, st.Compatibility)
}

func TestMismatchRingKeepsTheNewest(t *testing.T) {
	intel := script(func(_ context.Context, c Command) (Response, error) {
		return Response{Output: "pool:" + c.Name}, nil
	})
	// An unbuffered channel: each shadow run reports (after recording its
	// mismatch) before the next command, so the ring's order is the
	// commands' order.
	rec := &recorder{shadowDone: make(chan Outcome)}
	b, _ := newBridge(t, echo("legacy"), intel, WithMismatchRing(3), WithObserver(rec))
	for i := 0; i < 5; i++ {
		_, err := b.Execute(context.Background(), cmd(fmt.Sprintf("cmd-%d", i)))
		require.NoError(t, err)
		assert.Equal(t, VerdictMismatch, (<-rec.shadowDone).Verdict)
	}
	closeNow(t, b)
	mm := b.Mismatches()
	require.Len(t, mm, 3)
	for i, m := range mm {
		assert.Equal(t, fmt.Sprintf("cmd-%d", i+2), m.Command.Name)
	}
	assert.Equal(t, uint64(5), b.Stats().Shadow.Mismatched, "the counter keeps counting past the ring")
}

func TestCustomComparatorAndComparatorPanic(t *testing.T) {
	// A comparator that accepts any two successes.
	lenient := ComparatorFunc(func(_ Command, l, i Result) bool { return l.Err == nil && i.Err == nil })
	b, _ := newBridge(t, echo("legacy"), echo("pool"), WithComparator(lenient))
	_, _ = b.Execute(context.Background(), cmd("analyze"))
	closeNow(t, b)
	assert.Equal(t, uint64(1), b.Stats().Shadow.Matched)

	boom := ComparatorFunc(func(Command, Result, Result) bool { panic("comparator bug") })
	b2, _ := newBridge(t, same(), same(), WithComparator(boom))
	resp, err := b2.Execute(context.Background(), cmd("analyze"))
	require.NoError(t, err)
	assert.Equal(t, "same:analyze", resp.Output)
	closeNow(t, b2)
	st := b2.Stats().Shadow
	assert.Equal(t, uint64(1), st.Mismatched)
	assert.Equal(t, uint64(1), st.Panics)
}

func TestCloseWithExpiredContextCancelsShadowRuns(t *testing.T) {
	started := make(chan struct{})
	intel := script(func(ctx context.Context, _ Command) (Response, error) {
		close(started)
		<-ctx.Done() // honours cancellation
		return Response{}, ctx.Err()
	})
	rec := &recorder{}
	b, _ := newBridge(t, echo("legacy"), intel, WithShadowTimeout(time.Hour), WithObserver(rec))
	_, err := b.Execute(context.Background(), cmd("implement"))
	require.NoError(t, err)
	<-started

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = b.Close(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "1 shadow run")

	// Calling Close again waits for the cancelled run to end.
	closeNow(t, b)
	st := b.Stats().Shadow
	assert.Equal(t, uint64(1), st.Canceled)
	assert.Zero(t, st.Compared, "a cancelled run is not a verdict on the pool")
	assert.Zero(t, st.Timeouts)
	var shadowVerdicts []Verdict
	for _, o := range rec.Outcomes() {
		if o.Kind == KindShadow {
			shadowVerdicts = append(shadowVerdicts, o.Verdict)
		}
	}
	assert.Equal(t, []Verdict{VerdictCanceled}, shadowVerdicts)
}

func TestLegacyPanicInShadowModeReleasesTheShadowRun(t *testing.T) {
	legacy := script(func(context.Context, Command) (Response, error) { panic("legacy bug") })
	b, _ := newBridge(t, legacy, same())
	assert.PanicsWithValue(t, "legacy bug", func() {
		_, _ = b.Execute(context.Background(), cmd("analyze"))
	}, "legacy panics are the host's, as before the bridge")
	closeNow(t, b) // would hang if the shadow run waited for legacy forever
	st := b.Stats().Shadow
	assert.Equal(t, uint64(1), st.Canceled)
	assert.Zero(t, st.Compared)
}

func TestNoShadowRunStartsOnceClosing(t *testing.T) {
	// The window between Execute's closed check and the shadow start: a
	// bridge whose shadow side is already closing serves, and skips.
	intel := same()
	rec := &recorder{}
	b, _ := newBridge(t, same(), intel, WithObserver(rec))
	require.NoError(t, b.shadow.close(context.Background()))
	resp, err := b.serveShadow(context.Background(), cmd("analyze"))
	require.NoError(t, err)
	assert.Equal(t, "same:analyze", resp.Output)
	assert.Zero(t, intel.calls.Load())
	assert.Equal(t, uint64(1), b.Stats().Shadow.Skipped)
	assert.Equal(t, VerdictSkipped, rec.served()[0].Verdict)
}
