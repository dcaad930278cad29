package pooltest_test

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

// Drive lets every goroutine park before it moves the clock, so concurrent
// cold starts begun inside it all take exactly their latency.
func TestDriveConcurrentColdStartsAreExact(t *testing.T) {
	clk := clock.NewMock()
	f := pooltest.New(clk, pooltest.WithStartLatency(time.Second))
	for i := range 6 {
		f.Add(fmt.Sprintf("s%d", i), "D")
	}
	p, err := pool.New(f.Specs(), pool.WithClock(clk), pool.WithMaxWarm(6), pool.WithWarmingConcurrency(6),
		pool.WithPredictor(noPrediction{}))
	require.NoError(t, err)

	waited := make([]time.Duration, 6)
	require.NoError(t, f.Drive(func() {
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				res, err := p.Execute(ctx, pool.Task{Specialist: fmt.Sprintf("s%d", i)})
				if err == nil {
					waited[i] = res.Waited
				}
			})
		}
		wg.Wait()
	}))
	for i, w := range waited {
		assert.Equal(t, time.Second, w, "s%d", i)
	}
	assert.Equal(t, time.Second, clk.Now().Sub(time.Unix(0, 0)), "one second for all six")
	require.NoError(t, f.Drive(func() { err = p.Close(ctx) }))
	require.NoError(t, err)
	c := f.Counts()
	assert.Equal(t, 6, c.Instances)
	assert.Equal(t, 6, c.Closes)
	assert.Zero(t, c.Resident)
}

func TestDriveRaisesThePanicOfFn(t *testing.T) {
	f := pooltest.New(clock.NewMock())
	v := catchPanic(func() { _ = f.Drive(func() { panic("host bug") }) })
	assert.Equal(t, "host bug", v)
}

// Nothing is armed when Drive begins: it waits for fn's goroutines to arm
// their waits instead of returning or spinning.
func TestDriveWaitsForWorkBegunLater(t *testing.T) {
	clk := clock.NewMock()
	f := pooltest.New(clk, pooltest.WithStartLatency(time.Minute))
	s := f.Add("a", "D")
	release := make(chan struct{})
	go func() {
		// Stands in for a host goroutine that gets to work later.
		<-release
	}()
	require.NoError(t, f.Drive(func() {
		close(release)
		in, err := s.Start(ctx)
		if err == nil {
			_ = in.Close()
		}
	}))
	assert.Equal(t, time.Minute, clk.Now().Sub(time.Unix(0, 0)))
	assert.Equal(t, 1, s.Counts().Closes)
}

// Advance walks a chain of waits, each ending exactly at its deadline, and
// stops at its target.
func TestAdvanceWalksAChainOfWaits(t *testing.T) {
	clk := clock.NewMock()
	t0 := clk.Now()
	f := pooltest.New(clk, pooltest.WithStartLatency(time.Second), pooltest.WithExecuteLatency(500*time.Millisecond))
	s := f.Add("a", "D")
	var mu sync.Mutex
	var at []time.Duration
	mark := func() {
		mu.Lock()
		at = append(at, clk.Now().Sub(t0))
		mu.Unlock()
	}
	done := make(chan error, 1)
	go func() {
		in, err := s.Start(ctx)
		if err != nil {
			done <- err
			return
		}
		mark()
		if _, err := in.Execute(ctx, pool.Task{}); err != nil {
			done <- err
			return
		}
		mark()
		if err := f.Sleep(ctx, 250*time.Millisecond); err != nil {
			done <- err
			return
		}
		mark()
		done <- f.Sleep(ctx, time.Hour) // beyond the target
	}()
	require.NoError(t, f.AwaitWaiting(ctx, 1))
	require.NoError(t, f.Advance(2*time.Second))
	assert.Equal(t, 2*time.Second, clk.Now().Sub(t0))
	mu.Lock()
	assert.Equal(t, []time.Duration{time.Second, 1500 * time.Millisecond, 1750 * time.Millisecond}, at)
	mu.Unlock()
	w := f.Waits()
	require.Len(t, w, 1)
	assert.Equal(t, pooltest.OpSleep, w[0].Op)
	assert.Equal(t, t0.Add(1750*time.Millisecond+time.Hour), w[0].Deadline)
	require.NoError(t, f.Advance(time.Hour))
	require.NoError(t, <-done)
}

func TestAdvanceWithoutWaitsIsAdd(t *testing.T) {
	clk := clock.NewMock()
	f := pooltest.New(clk)
	fired := clk.After(time.Second)
	require.NoError(t, f.Advance(time.Second))
	<-fired // the mock's own timers fire as with Add
	require.NoError(t, f.Advance(0))
	assert.Equal(t, time.Second, clk.Now().Sub(time.Unix(0, 0)))
}

// The pool recovers an injected panic and reports a failed start; the
// fakes count both.
func TestPoolSeesInjectedFaults(t *testing.T) {
	clk := clock.NewMock()
	f := pooltest.New(clk, pooltest.WithStartLatency(time.Second))
	s := f.Add("a", "D")
	p, err := pool.New(f.Specs(), pool.WithClock(clk), pool.WithPredictor(noPrediction{}))
	require.NoError(t, err)

	s.PanicStart()
	require.NoError(t, f.Drive(func() { _, err = p.Execute(ctx, pool.Task{Specialist: "a"}) }))
	require.ErrorIs(t, err, pool.ErrStartFailed)
	s.Heal()
	s.PanicExecute()
	require.NoError(t, f.Drive(func() { _, err = p.Execute(ctx, pool.Task{Specialist: "a"}) }))
	require.ErrorIs(t, err, pool.ErrPanic)
	s.Heal()
	var res pool.Result
	require.NoError(t, f.Drive(func() { res, err = p.Execute(ctx, pool.Task{Specialist: "a"}) }))
	require.NoError(t, err)
	assert.True(t, res.Warm)

	require.NoError(t, f.Drive(func() { err = p.Close(ctx) }))
	require.NoError(t, err)
	c := s.Counts()
	assert.Equal(t, 2, c.Starts)
	assert.Equal(t, 1, c.StartPanics)
	assert.Equal(t, 1, c.Instances)
	assert.Equal(t, 2, c.Calls)
	assert.Equal(t, 1, c.CallPanics)
	assert.Equal(t, 1, c.Closes)
	assert.Zero(t, c.Violations)
}

// A pool under churn (more specialists than warm slots, every latency on
// the mock clock) keeps the pool.Instance contract and closes everything.
// It logs the peak of resident instances against the warm cap, which counts
// warm and warming specialists: whether an evicted instance still closing
// can overlap the start that replaces it is the pool's to decide, not this
// contract's.
func TestPoolUnderChurnKeepsTheContract(t *testing.T) {
	for _, closeLatency := range []time.Duration{0, 200 * time.Millisecond} {
		t.Run(fmt.Sprint("close ", closeLatency), func(t *testing.T) {
			clk := clock.NewMock()
			f := pooltest.New(clk,
				pooltest.WithStartLatency(time.Second),
				pooltest.WithExecuteLatency(100*time.Millisecond),
				pooltest.WithCloseLatency(closeLatency),
				pooltest.WithMemory(64<<10),
			)
			for i := range 8 {
				f.Add(fmt.Sprintf("s%d", i), fmt.Sprintf("d%d", i%4))
			}
			p, err := pool.New(f.Specs(), pool.WithClock(clk), pool.WithMaxWarm(3))
			require.NoError(t, err)
			var failures int
			require.NoError(t, f.Drive(func() {
				var mu sync.Mutex
				var wg sync.WaitGroup
				for w := range 4 {
					wg.Go(func() {
						for i := range 12 {
							_, err := p.Execute(ctx, pool.Task{Specialist: fmt.Sprintf("s%d", (w*5+i*3)%8)})
							if err != nil && !errors.Is(err, pool.ErrNoCapacity) {
								mu.Lock()
								failures++
								mu.Unlock()
							}
						}
					})
				}
				wg.Wait()
			}))
			assert.Zero(t, failures)
			require.NoError(t, f.Drive(func() { err = p.Close(ctx) }))
			require.NoError(t, err)
			c := f.Counts()
			assert.Zero(t, c.Violations)
			assert.Zero(t, c.Resident, "Close closed every instance")
			assert.Equal(t, c.Instances, c.Closes)
			assert.Equal(t, 48, c.Calls)
			t.Logf("starts %d, closes %d, peak resident %d (warm cap 3), simulated %v",
				c.Starts, c.Closes, c.PeakResident, clk.Now().Sub(time.Unix(0, 0)))
		})
	}
}

// Many goroutines start, execute and close while faults and latencies come
// and go; the race detector checks the rest, the counters must add up.
func TestConcurrentUse(t *testing.T) {
	f := pooltest.New(clock.NewMock(), pooltest.WithMemory(4096))
	var specs []*pooltest.Specialist
	for i := range 10 {
		specs = append(specs, f.Add(fmt.Sprintf("s%d", i), "D"))
	}
	const workers, rounds = 8, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				s := specs[(w+i)%len(specs)]
				in, err := s.Start(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				for range 3 {
					_, _ = in.Execute(context.Background(), pool.Task{})
				}
				_ = f.Counts()
				_ = f.Waits()
				if err := in.Close(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Go(func() {
		for i := range rounds {
			s := specs[i%len(specs)]
			s.FailExecute(nil)
			s.SetExecuteLatency(0)
			s.Heal()
		}
	})
	wg.Wait()
	c := f.Counts()
	assert.Equal(t, workers*rounds, c.Starts)
	assert.Equal(t, workers*rounds, c.Closes)
	assert.Equal(t, 3*workers*rounds, c.Calls)
	assert.Zero(t, c.Resident)
	assert.Zero(t, c.ResidentBytes)
	assert.LessOrEqual(t, c.PeakResident, workers)
	assert.Zero(t, c.Violations)
}

// Advance returns once what it woke has run: the pool's maintenance that
// fell due has cooled the idle specialist, and the fake saw it closed.
func TestAdvanceLetsMaintenanceRun(t *testing.T) {
	clk := clock.NewMock()
	f := pooltest.New(clk, pooltest.WithStartLatency(time.Second), pooltest.WithMemory(mib))
	s := f.Add("a", "D")
	f.Add("b", "D")
	p, err := pool.New(f.Specs(), pool.WithClock(clk), pool.WithPredictor(noPrediction{}),
		pool.WithCooldown(10*time.Second), pool.WithMaintenanceInterval(time.Minute))
	require.NoError(t, err)
	require.NoError(t, f.Drive(func() { _, err = p.Execute(ctx, pool.Task{Specialist: "a"}) }))
	require.NoError(t, err)
	require.Equal(t, 1, s.Counts().Resident)

	warm := func() bool {
		for _, sp := range p.Specialists() {
			if sp.ID == "a" {
				return sp.State == pool.StateWarm
			}
		}
		return false
	}
	var minutes int
	for s.Counts().Closes == 0 && minutes < 120 {
		require.NoError(t, f.Advance(time.Minute))
		minutes++
		// Settled: the pool's view and the fake's agree after every step.
		assert.Equal(t, warm(), s.Counts().Resident == 1, "after %d min", minutes)
	}
	c := s.Counts()
	assert.Equal(t, 1, c.Closes, "cooled within two hours idle")
	assert.Zero(t, c.Resident)
	t.Logf("cooled after %d min idle", minutes)
	require.NoError(t, p.Close(ctx))
}
