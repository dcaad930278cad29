package bridge

import (
	"bytes"
	"context"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestObserversSeeEveryOutcomeAndTransition(t *testing.T) {
	rec := &recorder{}
	b, _ := newBridge(t, echo("legacy"), echo("pool"), WithObserver(rec), WithMode(ModeFallback))
	_, err := b.Execute(context.Background(), cmd("a"))
	require.NoError(t, err)
	require.NoError(t, b.SetMode(ModeFull))
	require.NoError(t, b.SetMode(ModeFull)) // no-op
	_, err = b.Execute(context.Background(), cmd("b"))
	require.NoError(t, err)

	outs := rec.Outcomes()
	require.Len(t, outs, 2)
	assert.Equal(t, ModeFallback, outs[0].Mode)
	assert.Equal(t, PathLegacy, outs[0].Path)
	assert.Equal(t, ModeFull, outs[1].Mode)
	assert.Equal(t, PathIntelligent, outs[1].Path)

	tr := rec.Transitions()
	require.Len(t, tr, 1)
	assert.Equal(t, Transition{Seq: 1, At: tr[0].At, Reason: ReasonManual, From: ModeFallback, To: ModeFull,
		Window: WindowStats{Span: DefaultFallbackWindow, SuccessRate: 1, Threshold: 0.8, MinVolume: 10}}, tr[0])
}

func TestAddAndRemoveObserverAtRunTime(t *testing.T) {
	b, _ := newBridge(t, echo("legacy"), echo("pool"), WithMode(ModeFull))
	var n1, n2 atomic.Int64
	remove1, err := b.AddObserver(ObserverFuncs{Outcome: func(Outcome) { n1.Add(1) }})
	require.NoError(t, err)
	remove2, err := b.AddObserver(ObserverFuncs{Outcome: func(Outcome) { n2.Add(1) }})
	require.NoError(t, err)
	_, _ = b.Execute(context.Background(), cmd("x"))
	remove1()
	remove1() // twice is harmless
	_, _ = b.Execute(context.Background(), cmd("x"))
	remove2()
	_, _ = b.Execute(context.Background(), cmd("x"))
	assert.Equal(t, int64(1), n1.Load())
	assert.Equal(t, int64(2), n2.Load())

	_, err = b.AddObserver(nil)
	assert.ErrorIs(t, err, ErrNilObserver)
	_, err = b.AddObserver((*recorder)(nil))
	assert.ErrorIs(t, err, ErrNilObserver)

	// ObserverFuncs with nil fields ignore those events.
	_, err = b.AddObserver(ObserverFuncs{})
	require.NoError(t, err)
	require.NoError(t, b.SetMode(ModeShadow))
}

func TestPanickingObserverIsRecoveredAndOthersStillRun(t *testing.T) {
	var logs bytes.Buffer
	var after atomic.Int64
	bad := ObserverFuncs{
		Outcome:    func(Outcome) { panic("observer bug") },
		Transition: func(Transition) { panic("observer bug") },
	}
	good := ObserverFuncs{Outcome: func(Outcome) { after.Add(1) }, Transition: func(Transition) { after.Add(1) }}
	b, _ := newBridge(t, echo("legacy"), echo("pool"), WithMode(ModeFull),
		WithObserver(bad), WithObserver(good), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))

	resp, err := b.Execute(context.Background(), cmd("implement"))
	require.NoError(t, err)
	assert.Equal(t, "pool:implement", resp.Output)
	require.NoError(t, b.SetMode(ModeFallback))
	assert.Equal(t, int64(2), after.Load())
	assert.Equal(t, uint64(2), b.Stats().ObserverPanics)
	assert.Contains(t, logs.String(), "observer panicked")
	assert.Contains(t, logs.String(), "level=ERROR")
}

func TestObserverMayChangeTheMode(t *testing.T) {
	// A rollback-style observer that switches to Fallback on the first
	// error it sees, from inside the hook.
	var b *Bridge
	obs := ObserverFuncs{Outcome: func(o Outcome) {
		if o.Err != nil || o.FellBack {
			_ = b.SetMode(ModeFallback)
		}
	}}
	intel := script(func(context.Context, Command) (Response, error) { return Response{}, errBoom })
	b, _ = newBridge(t, echo("legacy"), intel, WithMode(ModeFull), WithObserver(obs))
	_, err := b.Execute(context.Background(), cmd("x"))
	require.NoError(t, err)
	assert.Equal(t, ModeFallback, b.Mode())
}

func TestAutomaticFallbackIsLoggedForOperators(t *testing.T) {
	var logs bytes.Buffer
	b, _ := newBridge(t, echo("legacy"), flaky(plan(0, 10)), WithMode(ModeFull),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	for i := 0; i < 10; i++ {
		_, _ = b.Execute(context.Background(), cmd("x"))
	}
	require.Equal(t, ModeFallback, b.Mode())
	assert.Contains(t, logs.String(), "ROLLBACK")
	assert.Contains(t, logs.String(), "level=ERROR")
	assert.Contains(t, logs.String(), "success_rate=0")
}

func TestKindVerdictReasonNames(t *testing.T) {
	assert.Equal(t, "served", KindServed.String())
	assert.Equal(t, "shadow", KindShadow.String())
	assert.Equal(t, "Kind(?)", Kind(0).String())
	names := map[Verdict]string{VerdictNone: "none", VerdictPending: "pending", VerdictSkipped: "skipped",
		VerdictMatch: "match", VerdictMismatch: "mismatch", VerdictCanceled: "canceled", 99: "Verdict(?)"}
	for v, s := range names {
		assert.Equal(t, s, v.String())
	}
	assert.Equal(t, "manual", ReasonManual.String())
	assert.Equal(t, "auto_fallback", ReasonAutoFallback.String())
	assert.Equal(t, "Reason(?)", Reason(0).String())
}
