package pool_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/pool/pooltest"
)

// An evicted instance holds its slot until its Close has returned: with a
// cap of one and a Close that takes a second, two instances are never
// resident at once, and while the first closes the pool shows it cooling.
func TestEvictedInstanceHoldsItsSlotUntilClosed(t *testing.T) {
	clk := clock.NewMock()
	fleet := pooltest.New(clk, pooltest.WithCloseLatency(time.Second), pooltest.WithMemory(1<<10))
	a, b := fleet.Add("a", "x"), fleet.Add("b", "x")
	p, err := pool.New(fleet.Specs(), pool.WithClock(clk), pool.WithMaxWarm(1), pool.WithPredictor(noPrediction{}))
	require.NoError(t, err)
	require.NoError(t, fleet.Drive(func() {
		_, err := p.Execute(context.Background(), pool.Task{Specialist: "a"})
		require.NoError(t, err)
	}))
	done := make(chan error, 1)
	go func() {
		_, err := p.Execute(context.Background(), pool.Task{Specialist: "b"})
		done <- err
	}()
	require.NoError(t, fleet.AwaitWaiting(context.Background(), 1)) // a's Close waits
	st := p.Stats()
	assert.Equal(t, 1, st.Cooling, "the closing instance is shown cooling")
	assert.Equal(t, int64(1<<10), st.MemoryCurrent, "its bytes are still counted")
	info := infoOf(p, "a")
	assert.Equal(t, pool.StateCooling, info.State)
	assert.Equal(t, int64(1<<10), info.Memory)
	require.NoError(t, fleet.Drive(func() { require.NoError(t, <-done) }))
	require.NoError(t, fleet.Drive(func() { require.NoError(t, p.Close(context.Background())) }))
	c := fleet.Counts()
	assert.Equal(t, 1, c.PeakResident, "instances resident at once under a cap of 1")
	assert.Equal(t, 1, a.Counts().Closes)
	assert.Equal(t, 1, b.Counts().Closes)
}

// A burst over ten specialists whose Close takes 700 ms never has more
// instances resident than the cap allows, nor more bytes than the budget.
func TestBurstWithSlowCloseStaysUnderCapAndBudget(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []pool.Option
	}{
		{"cap", []pool.Option{pool.WithMaxWarm(3)}},
		{"budget", []pool.Option{pool.WithMaxWarm(10), pool.WithMemoryBudget(3 << 20)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewMock()
			fleet := pooltest.New(clk, pooltest.WithCloseLatency(700*time.Millisecond),
				pooltest.WithStartLatency(100*time.Millisecond), pooltest.WithMemory(1<<20))
			for i := range 10 {
				fleet.Add(fmt.Sprintf("s%d", i), fmt.Sprintf("d%d", i%3))
			}
			opts := append([]pool.Option{pool.WithClock(clk), pool.WithPredictor(noPrediction{}), pool.WithWarmingConcurrency(10)}, tc.opts...)
			p, err := pool.New(fleet.Specs(), opts...)
			require.NoError(t, err)
			require.NoError(t, fleet.Drive(func() {
				var wg sync.WaitGroup
				for round := range 4 {
					for i := range 10 {
						wg.Add(1)
						go func() {
							defer wg.Done()
							_, err := p.Execute(context.Background(), pool.Task{Specialist: fmt.Sprintf("s%d", (i+round*3)%10)})
							assert.NoError(t, err)
						}()
					}
				}
				wg.Wait()
			}))
			st := p.Stats()
			assert.LessOrEqual(t, st.Warm+st.Active+st.Warming+st.Cooling, 3)
			require.NoError(t, fleet.Drive(func() { require.NoError(t, p.Close(context.Background())) }))
			c := fleet.Counts()
			assert.LessOrEqual(t, c.PeakResident, 3, "instances resident at once")
			assert.LessOrEqual(t, c.PeakResidentBytes, int64(3<<20), "bytes resident at once")
			assert.Zero(t, c.Resident)
			assert.Zero(t, c.Violations)
		})
	}
}

func infoOf(p *pool.Pool, id string) pool.SpecialistInfo {
	for _, s := range p.Specialists() {
		if s.ID == id {
			return s
		}
	}
	return pool.SpecialistInfo{}
}

// A task for a specialist whose instance is closing waits for that Close:
// one instance per specialist at a time, and the pool shows it cooling
// meanwhile, not warming beside an instance it no longer counts.
func TestStartOfACoolingSpecialistWaitsForItsClose(t *testing.T) {
	clk := clock.NewMock()
	// A Close longer than the clock's move below: the move cannot end it.
	fleet := pooltest.New(clk, pooltest.WithCloseLatency(time.Minute), pooltest.WithMemory(1<<10))
	a := fleet.Add("a", "x")
	fleet.Add("b", "x")
	p, err := pool.New(fleet.Specs(), pool.WithClock(clk), pool.WithMaxWarm(2), pool.WithPredictor(noPrediction{}),
		pool.WithCooldown(10*time.Second), pool.WithAdaptiveScaling(false), pool.WithWarmThreshold(1))
	require.NoError(t, err)
	require.NoError(t, fleet.Drive(func() {
		_, err := p.Execute(context.Background(), pool.Task{Specialist: "a"})
		require.NoError(t, err)
	}))
	clk.Add(11 * time.Second) // past its cooldown (no fake waits on the clock)
	maintained := make(chan struct{})
	go func() { defer close(maintained); p.Maintain() }() // a's Close begins, here or on the pool's goroutine
	require.NoError(t, fleet.AwaitWaiting(context.Background(), 1))
	done := make(chan error, 1)
	go func() {
		_, err := p.Execute(context.Background(), pool.Task{Specialist: "a"})
		done <- err
	}()
	for infoOf(p, "a").Waiting != 1 {
		waitForSchedule()
	}
	st := p.Stats()
	assert.Equal(t, 1, st.Cooling)
	assert.Zero(t, st.Warming, "no second instance of a starts while the first closes")
	require.NoError(t, fleet.Drive(func() { require.NoError(t, <-done); <-maintained }))
	assert.Equal(t, pool.StateWarm, infoOf(p, "a").State, "warm again")
	require.NoError(t, fleet.Drive(func() { require.NoError(t, p.Close(context.Background())) }))
	assert.Equal(t, 1, a.Counts().PeakResident, "instances of a at once")
	assert.Equal(t, 2, a.Counts().Closes)
}

// A task ended by its caller's own context is not a task error, whatever
// the instance answered; it is counted in Canceled.
func TestCallersCancellationIsNotATaskError(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(2, 2), pool.WithPredictor(noPrediction{}))
	run(t, p, "s0")
	entered := make(chan struct{}, 2)
	f.setExec("s0", func(ctx context.Context, _ pool.Task) (pool.Result, error) {
		entered <- struct{}{}
		<-ctx.Done()
		return pool.Result{}, errors.New("aborted") // not ctx.Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-entered; cancel() }() // while it executes
	_, err := p.Execute(ctx, pool.Task{Specialist: "s0"})
	require.Error(t, err)
	dctx, dcancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer dcancel()
	_, err = p.Execute(dctx, pool.Task{Specialist: "s0"})
	require.Error(t, err)
	// Waiting for a start, then given up.
	gate := f.gate("s1")
	wctx, wcancel := context.WithCancel(context.Background())
	werr := make(chan error, 1)
	go func() { _, err := p.Execute(wctx, pool.Task{Specialist: "s1"}); werr <- err }()
	<-f.startCh // s0's
	<-f.startCh // s1's
	wcancel()
	require.ErrorIs(t, <-werr, context.Canceled)
	close(gate)
	// A real failure still counts.
	f.setExec("s0", func(context.Context, pool.Task) (pool.Result, error) { return pool.Result{}, errors.New("broken") })
	_, err = p.Execute(context.Background(), pool.Task{Specialist: "s0"})
	require.Error(t, err)
	st := p.Stats()
	assert.Equal(t, uint64(1), st.TaskErrors)
	assert.Equal(t, uint64(3), st.Canceled)
	assert.Equal(t, st.Tasks, st.WarmHits+st.Misses)
	// The 1 ms deadline may end before Execute looks: then it is counted
	// in Stats.Canceled but not against s0.
	perSpecialist := infoOf(p, "s0").Canceled + infoOf(p, "s1").Canceled
	assert.GreaterOrEqual(t, perSpecialist, uint64(2))
	assert.LessOrEqual(t, perSpecialist, uint64(3))
}
