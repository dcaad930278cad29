package pool_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
)

// A pre-warm whose start honours its context does not hold Close: Close
// cancels it at once, without the clock moving.
func TestCloseCancelsAPrewarmInFlight(t *testing.T) {
	f := newFake(t)
	pred := &fixedPredictor{preds: map[string][]pool.Prediction{"s0": {{ID: "s1", Probability: 0.9}}}}
	p, err := pool.New(f.specs(3, 3), pool.WithClock(f.clk), pool.WithMaxWarm(3), pool.WithPredictor(pred))
	require.NoError(t, err)
	f.gate("s1") // never opened: the start ends only with its context
	run(t, p, "s0")
	for id := range f.startCh {
		if id == "s1" {
			break
		}
	}
	require.NoError(t, p.Close(context.Background()))
	assert.Equal(t, 1, f.closesOf("s0"))
	assert.Zero(t, p.Stats().Warming)
}

// A demand start whose caller gave up is nobody's any more: Close cancels
// it and returns.
func TestCloseCancelsAStartItsCallerGaveUp(t *testing.T) {
	f := newFake(t)
	p, err := pool.New(f.specs(2, 2), pool.WithClock(f.clk), pool.WithPredictor(noPrediction{}))
	require.NoError(t, err)
	f.gate("s0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := p.Execute(ctx, pool.Task{Specialist: "s0"}); done <- err }()
	<-f.startCh
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.NoError(t, p.Close(context.Background()))
	st := p.Stats()
	assert.Zero(t, st.Warming+st.Warm)
	assert.Equal(t, uint64(1), st.Canceled)
}

// When Close's context ends, the starts tasks still wait for are cancelled:
// Close returns what was left, the waiting task gets an error, and a later
// Close finishes.
func TestCloseContextEndCancelsTheRest(t *testing.T) {
	f := newFake(t)
	p, err := pool.New(f.specs(2, 2), pool.WithClock(f.clk), pool.WithPredictor(noPrediction{}))
	require.NoError(t, err)
	f.gate("s0")
	done := make(chan error, 1)
	go func() { _, err := p.Execute(context.Background(), pool.Task{Specialist: "s0"}); done <- err }()
	<-f.startCh
	for p.Stats().QueueDepth != 1 {
		waitForSchedule()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = p.Close(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "1 waiting for a start")
	assert.ErrorIs(t, <-done, pool.ErrStartFailed, "the task's start was cancelled")
	require.NoError(t, p.Close(context.Background()))
}

// A start that does not honour its context, given up on by its caller,
// still runs inside the Warmer after every task is done: Close waits for it
// (or reports it when its context ends) and then closes what it made, so
// nothing stays resident after Close.
func TestCloseWaitsForAStartThatIgnoresItsContext(t *testing.T) {
	f := newFake(t)
	release := make(chan struct{})
	began := make(chan struct{})
	var closes atomic.Int32
	stubborn := pool.Spec{ID: "slow", Department: "d", Memory: 1,
		Start: func(context.Context) (pool.Instance, error) {
			close(began)
			<-release // ignores ctx
			return &countingInst{closes: &closes}, nil
		}}
	p, err := pool.New([]pool.Spec{stubborn}, pool.WithClock(f.clk), pool.WithPredictor(noPrediction{}))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := p.Execute(ctx, pool.Task{Specialist: "slow"}); done <- err }()
	<-began
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	// Once the pool has drained (its own goroutine tells), Close with an
	// ended context reports the start it could not wait for.
	for err = p.Close(cctx); !strings.Contains(err.Error(), "cancelled starts"); err = p.Close(cctx) {
		require.ErrorIs(t, err, context.Canceled)
		waitForSchedule()
	}
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "1 cancelled starts have not returned")
	close(release)
	require.NoError(t, p.Close(context.Background()))
	assert.Equal(t, int32(1), closes.Load(), "the instance the late start made was closed")
	st := p.Stats()
	assert.Zero(t, st.Warm+st.Warming+st.Active+st.Cooling)
	assert.Zero(t, st.MemoryCurrent)
}

type countingInst struct{ closes *atomic.Int32 }

func (c *countingInst) Execute(context.Context, pool.Task) (pool.Result, error) {
	return pool.Result{}, errors.New("unused")
}
func (c *countingInst) Close() error { c.closes.Add(1); return nil }

// A Warm call waits for its start: Close does not cancel it, and returns
// once it has finished.
func TestCloseLetsAWarmCallFinish(t *testing.T) {
	f := newFake(t)
	p, err := pool.New(f.specs(2, 2), pool.WithClock(f.clk), pool.WithMaxWarm(2), pool.WithPredictor(noPrediction{}))
	require.NoError(t, err)
	gate := f.gate("s0")
	warmed := make(chan error, 1)
	go func() { warmed <- p.Warm(context.Background(), "s0") }()
	<-f.startCh
	closed := make(chan error, 1)
	go func() { closed <- p.Close(context.Background()) }()
	for {
		if _, err := p.Execute(context.Background(), pool.Task{Specialist: "s1"}); errors.Is(err, pool.ErrClosed) {
			break // Close has begun
		}
		waitForSchedule()
	}
	close(gate)
	require.NoError(t, <-warmed, "the start Warm waited for was not cancelled")
	require.NoError(t, <-closed)
	assert.Equal(t, 1, f.closesOf("s0"))
}
