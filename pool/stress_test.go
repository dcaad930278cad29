package pool_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
)

// Many goroutines, few slots: every task succeeds, the cap holds at every
// start, and no instance is ever executed after it was closed (the fake
// instance fails such a call).
func TestConcurrentTrafficKeepsTheCap(t *testing.T) {
	f := newFake(t)
	const maxWarm = 3
	var p *pool.Pool
	var overCap atomic.Int32
	check := func(e pool.Event) {
		if e.Kind == pool.EventStarted {
			if st := p.Stats(); st.Warm+st.Active+st.Warming > maxWarm {
				overCap.Add(1)
			}
		}
	}
	var err error
	p, err = pool.New(f.specs(12, 3), pool.WithClock(f.clk), pool.WithMaxWarm(maxWarm), pool.WithObserver(check))
	require.NoError(t, err)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 200 {
				task := pool.Task{Specialist: fmt.Sprintf("s%d", rng.IntN(12))}
				if rng.IntN(5) == 0 {
					task = pool.Task{Department: fmt.Sprintf("d%d", rng.IntN(4))}
				}
				if _, err := p.Execute(context.Background(), task); err != nil {
					failed.Add(1)
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, p.Close(context.Background()))
	assert.Zero(t, failed.Load())
	assert.Zero(t, overCap.Load(), "warm set exceeded the cap")
	st := p.Stats()
	assert.Equal(t, uint64(1600), st.Tasks)
	assert.Equal(t, st.Tasks, st.WarmHits+st.Misses)
	assert.Zero(t, st.TaskErrors)
	f.mu.Lock()
	defer f.mu.Unlock()
	starts, closes := 0, 0
	for id, n := range f.starts {
		starts += n
		closes += f.closes[id]
	}
	assert.Equal(t, starts, closes, "every instance started was closed exactly once")
}

// A task whose context ends while its specialist's start waits for a slot
// held by busy specialists gets ErrNoCapacity, with its context's error; the
// start goes on.
func TestCancelWhileWaitingForASlot(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(2, 1), pool.WithMaxWarm(1), pool.WithPredictor(noPrediction{}))
	release := make(chan struct{})
	entered := make(chan struct{})
	f.setExec("s0", func(context.Context, pool.Task) (pool.Result, error) {
		close(entered)
		<-release
		return pool.Result{}, nil
	})
	busy := make(chan error)
	go func() { _, err := p.Execute(context.Background(), pool.Task{Specialist: "s0"}); busy <- err }()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan error)
	go func() { _, err := p.Execute(ctx, pool.Task{Specialist: "s1"}); waiting <- err }()
	for p.Stats().QueueDepth != 1 || !infoOf(p, "s1").WaitingForSlot {
		waitForSchedule()
	}
	cancel()
	// Its context ended while every slot was held by a busy specialist.
	err := <-waiting
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, pool.ErrNoCapacity)
	assert.Equal(t, pool.StateActive, stateOf(p, "s0"), "the busy specialist was not touched")
	close(release)
	require.NoError(t, <-busy)
	assert.Equal(t, uint64(1), p.Stats().Canceled)
	// The abandoned start still completes once the slot frees.
	f.waitEvent(pool.EventStarted, "s1")
	assert.Equal(t, pool.StateWarm, stateOf(p, "s1"))
}

// The budget uses each instance's measured size once it is known.
func TestBudgetUsesMeasuredSize(t *testing.T) {
	f := newFake(t)
	spec := func(id string, declared int64) pool.Spec {
		s := f.spec(id, "d", pool.PriorityMedium, declared)
		start := s.Start
		s.Start = func(ctx context.Context) (pool.Instance, error) {
			inst, err := start(ctx)
			if err == nil {
				inst.(*fakeInst).mem = 400 // really holds 400, whatever was declared
			}
			return inst, err
		}
		return s
	}
	p := f.newPool([]pool.Spec{spec("a", 100), spec("b", 100), spec("c", 100)},
		pool.WithMaxWarm(3), pool.WithMemoryBudget(900), pool.WithPredictor(noPrediction{}))
	run(t, p, "a")
	run(t, p, "b")
	st := p.Stats()
	assert.Equal(t, int64(800), st.MemoryCurrent, "measured, not declared")
	assert.Equal(t, int64(400+400+100), st.MemoryBaseline, "c's size is not yet known")
	run(t, p, "a")
	run(t, p, "c") // declared 100 fits at reservation, measures 400: b must go
	st = p.Stats()
	assert.Equal(t, int64(800), st.MemoryCurrent)
	assert.Equal(t, uint64(1), st.Evictions)
	assert.Equal(t, pool.StateCold, stateOf(p, "b"), "the idle one with the lower value")
	assert.Equal(t, pool.StateWarm, stateOf(p, "a"))
	assert.Equal(t, pool.StateWarm, stateOf(p, "c"))
}
