package pool_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/pool/pooltest"
)

// loadOutcome is what a load run counted from the callers' side.
type loadOutcome struct {
	ok, failed, canceled, rejected, stuck int
	overCap, overBudget                   int // poller reads of Stats or Specialists above the cap or budget
}

// TestLoadAndFaults: 10 000 tasks, up to 6 000 in flight at once (the race
// detector allows 8 128 live goroutines), over 100 specialists of 64 KiB
// under a warm cap of 20 and a budget of 16 of them; 10 % of the
// specialists fail or panic every start; tasks fail, panic, hang (ignoring
// their context until released), time out and are cancelled at random
// moments; a poller reads Stats and Specialists throughout. Every call
// returns, each outcome is counted once where the docs say, and what is
// resident never exceeds the cap or the budget.
func TestLoadAndFaults(t *testing.T) {
	out, st, c := runLoad(t, 10000, 6000)
	assert.Zero(t, out.stuck, "calls that never returned")
	assert.Zero(t, out.overCap, "Stats or Specialists above the warm cap")
	assert.Zero(t, out.overBudget, "Specialists above the budget")
	assert.Equal(t, out.rejected, int(st.Rejected), "ErrQueueFull returned = Stats.Rejected")
	assert.Equal(t, out.failed, int(st.TaskErrors), "errors returned = Stats.TaskErrors")
	assert.Equal(t, out.canceled, int(st.Canceled), "caller ends = Stats.Canceled")
	assert.Equal(t, st.Tasks, st.WarmHits+st.Misses)
	assert.LessOrEqual(t, int(st.Tasks)+out.rejected, 10000)
	assert.Equal(t, 10000, out.ok+out.failed+out.canceled+out.rejected)
	assert.GreaterOrEqual(t, int(st.Tasks), out.ok+out.failed)
	assert.Equal(t, c.CallPanics, int(st.Panics), "every Execute panic recovered and counted")
	assert.Equal(t, c.StartPanics, int(st.StartPanics))
	assert.Equal(t, c.StartErrors+c.StartPanics, int(st.StartFailures))
	assert.Equal(t, c.Instances, int(st.Cooled), "every instance started was closed")
	assert.Equal(t, c.Instances, c.Closes)
	assert.Zero(t, c.Violations, "Instance contract breaches")
	assert.Zero(t, c.Resident, "resident after Close")
	assert.LessOrEqual(t, c.PeakResident, 16, "resident at once (the budget holds 16)")
	assert.LessOrEqual(t, c.PeakResidentBytes, int64(16*64<<10))
	assert.NotZero(t, out.rejected, "the queue was exercised")
	assert.NotZero(t, st.Panics)
	assert.NotZero(t, st.StartPanics)
	assert.NotZero(t, out.canceled)
	t.Logf("ok %d, errors %d, canceled %d, rejected %d; peak resident %d (%d bytes); Tasks %d, TaskErrors %d, Panics %d, StartFailures %d (%d panics), Evictions %d",
		out.ok, out.failed, out.canceled, out.rejected, c.PeakResident, c.PeakResidentBytes, st.Tasks, st.TaskErrors, st.Panics, st.StartFailures, st.StartPanics, st.Evictions)
}

func runLoad(t *testing.T, n, inflight int) (loadOutcome, pool.Stats, pooltest.Counts) {
	const specs, mem = 100, 64 << 10
	clk := clock.NewMock()
	release := make(chan struct{}) // ends the hanging tasks
	handler := func(ctx context.Context, id string, task pool.Task) (any, error) {
		switch task.Command {
		case "fail":
			return nil, errors.New("task failed")
		case "panic":
			panic("task panicked")
		case "hang":
			<-release // ignores its context
			return "late", nil
		case "timeout", "cancel":
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return id, nil
	}
	fleet := pooltest.New(clk, pooltest.WithMemory(mem), pooltest.WithHandler(handler))
	for i := range specs {
		s := fleet.Add(fmt.Sprintf("s%02d", i), fmt.Sprintf("d%d", i%10))
		switch i % 20 {
		case 3:
			s.FailStart(nil)
		case 13:
			s.PanicStart()
		}
	}
	p, err := pool.New(fleet.Specs(), pool.WithClock(clk), pool.WithMaxWarm(20), pool.WithMemoryBudget(16*mem),
		pool.WithMaxQueue(2048), pool.WithWarmingConcurrency(4))
	require.NoError(t, err)

	var out loadOutcome
	var mu sync.Mutex
	count := func(f func()) { mu.Lock(); f(); mu.Unlock() }
	done := make(chan struct{})
	var pollWG sync.WaitGroup
	pollWG.Add(1)
	go func() { // the poller: every read is one view of the warm set
		defer pollWG.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			st := p.Stats()
			if st.Warm+st.Active+st.Warming+st.Cooling > st.MaxWarm {
				count(func() { out.overCap++ })
			}
			held, bytes := 0, int64(0)
			for _, s := range p.Specialists() {
				switch s.State {
				case pool.StateWarm, pool.StateActive, pool.StateWarming, pool.StateCooling:
					held++
				}
				bytes += s.Memory
			}
			if held > 20 {
				count(func() { out.overCap++ })
			}
			if bytes > 16*mem {
				count(func() { out.overBudget++ })
			}
		}
	}()

	rng := rand.New(rand.NewPCG(7, 7))
	sem := make(chan struct{}, inflight)
	var wg, hangWG sync.WaitGroup
	var returned atomic.Int64
	for range n {
		task := pool.Task{Specialist: fmt.Sprintf("s%02d", rng.IntN(specs)), Command: "ok"}
		switch r := rng.IntN(100); {
		case r < 5:
			task.Command = "fail"
		case r < 10:
			task.Command = "panic"
		case r < 15:
			task.Command, task.Specialist = "hang", fmt.Sprintf("s%02d", rng.IntN(2)) // two specialists only: hung tasks hold their slots
		case r < 20:
			task.Command = "timeout"
		case r < 25:
			task.Command = "cancel"
		case r < 35:
			task.Specialist, task.Department = "", fmt.Sprintf("d%d", rng.IntN(10))
		}
		delay := rng.IntN(3)
		sem <- struct{}{}
		group := &wg
		if task.Command == "hang" {
			group = &hangWG
		}
		group.Add(1)
		go func() {
			defer group.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			switch task.Command {
			case "timeout":
				ctx, cancel = context.WithTimeout(ctx, time.Millisecond)
				defer cancel()
			case "cancel":
				if delay == 0 {
					cancel() // before the call
				} else {
					go cancel() // at some moment during it
				}
			}
			_, err := p.Execute(ctx, task)
			returned.Add(1)
			switch {
			case err == nil:
				count(func() { out.ok++ })
			case errors.Is(err, pool.ErrQueueFull):
				count(func() { out.rejected++ })
			case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
				count(func() { out.canceled++ })
			default:
				count(func() { out.failed++ })
			}
		}()
	}
	waitAll := func(wg *sync.WaitGroup) bool {
		ch := make(chan struct{})
		go func() { wg.Wait(); close(ch) }()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a watchdog, not a delay
		defer cancel()
		select {
		case <-ch:
			return true
		case <-ctx.Done():
			return false
		}
	}
	allDone := waitAll(&wg)
	close(release)
	allDone = waitAll(&hangWG) && allDone
	close(done)
	pollWG.Wait()
	out.stuck = n - int(returned.Load())
	if !allDone {
		t.Fatalf("%d calls stuck", out.stuck)
	}
	require.NoError(t, p.Close(context.Background()))
	return out, p.Stats(), fleet.Counts()
}
