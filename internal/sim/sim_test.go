package sim_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/bumba/pooling/internal/catalog"
	"github.com/bumba/pooling/internal/sim"
	"github.com/bumba/pooling/pool"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const mib = 1 << 20

// rig is a framework on a mock clock whose hooks report armed timers.
type rig struct {
	fw       *sim.Framework
	clk      *clock.Mock
	starts   chan string // IDs whose start timer is armed
	executes chan string // IDs whose task timer is armed
}

func newRig(t *testing.T, opts ...sim.Option) *rig {
	t.Helper()
	cat, err := catalog.Load()
	require.NoError(t, err)
	r := &rig{
		clk:      clock.NewMock(),
		starts:   make(chan string, 256),
		executes: make(chan string, 256),
	}
	opts = append([]sim.Option{
		sim.WithClock(r.clk),
		sim.WithStartHook(func(id string) { r.starts <- id }),
		sim.WithExecuteHook(func(id string) { r.executes <- id }),
	}, opts...)
	r.fw, err = sim.New(cat, opts...)
	require.NoError(t, err)
	return r
}

type startResult struct {
	in  *sim.Instance
	err error
}

// startAsync starts id on another goroutine and returns once its timer is
// armed, so that the caller can advance the clock safely.
func (r *rig) startAsync(t *testing.T, ctx context.Context, id string) <-chan startResult {
	t.Helper()
	done := make(chan startResult, 1)
	go func() {
		in, err := r.fw.Start(ctx, id)
		done <- startResult{in, err}
	}()
	require.Equal(t, id, <-r.starts)
	return done
}

func TestSpecs(t *testing.T) {
	r := newRig(t, sim.WithSpecialistMemory("react-lead", 7), sim.WithSpecialistStartLatency("react-lead", 3*time.Second))
	cat := r.fw.Catalog()
	specs := r.fw.Specs()
	require.Len(t, specs, 83)
	for i, s := range specs {
		c := cat.Specialists[i]
		assert.Equal(t, c.ID, s.ID)
		assert.Equal(t, c.Department, s.Department)
		assert.Equal(t, c.Priority, s.Priority)
		assert.NotNil(t, s.Start)
		if s.ID == "react-lead" {
			assert.Equal(t, int64(7), s.Memory)
			assert.Equal(t, 3*time.Second, s.ColdStart)
			continue
		}
		assert.Equal(t, int64(5*mib), s.Memory, s.ID)
		assert.Equal(t, time.Second, s.ColdStart, s.ID)
	}
	// A fresh slice each call: callers may edit theirs.
	specs[0].ID = "changed"
	assert.Equal(t, cat.Specialists[0].ID, r.fw.Specs()[0].ID)
}

// The hooks hear of the timers of their own kind only, and the fleet counts
// what the framework did.
func TestHooksAndFleet(t *testing.T) {
	r := newRig(t, sim.WithTaskLatency(50*time.Millisecond))
	require.NoError(t, r.fw.Fleet().Err())
	assert.Same(t, r.clk, r.fw.Clock())
	var in *sim.Instance
	var err error
	require.NoError(t, r.fw.Fleet().Drive(func() {
		in, err = r.fw.Start(context.Background(), "react-lead")
		if err == nil {
			_, err = in.Execute(context.Background(), pool.Task{})
		}
	}))
	require.NoError(t, err)
	assert.Equal(t, "react-lead", <-r.starts)
	assert.Equal(t, "react-lead", <-r.executes)
	assert.Empty(t, r.starts)
	assert.Empty(t, r.executes)
	assert.Equal(t, 1050*time.Millisecond, r.clk.Now().Sub(time.Unix(0, 0)))
	require.NoError(t, in.Close())
	c := r.fw.Fleet().Counts()
	assert.Equal(t, 1, c.Instances)
	assert.Equal(t, 1, c.Calls)
	assert.Equal(t, 1, c.Closes)
	assert.Zero(t, c.Violations)
}

func TestNewInvalid(t *testing.T) {
	cat, err := catalog.Load()
	require.NoError(t, err)
	_, err = sim.New(nil)
	require.ErrorIs(t, err, sim.ErrInvalidConfig)

	tests := []struct {
		opt  sim.Option
		want string
	}{
		{sim.WithClock(nil), "WithClock(nil)"},
		{sim.WithStartLatency(-time.Second), "WithStartLatency(-1s)"},
		{sim.WithTaskLatency(-time.Millisecond), "WithTaskLatency(-1ms)"},
		{sim.WithMemory(-1), "WithMemory(-1)"},
		{sim.WithSpecialistMemory("ghost", 1), `WithSpecialistMemory("ghost", 1): unknown specialist`},
		{sim.WithSpecialistMemory("react-lead", -5), `WithSpecialistMemory("react-lead", -5): want`},
		{sim.WithSpecialistStartLatency("ghost", 1), `WithSpecialistStartLatency("ghost", 1ns): unknown specialist`},
		{sim.WithSpecialistStartLatency("react-lead", -1), `WithSpecialistStartLatency("react-lead", -1ns): want`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			fw, err := sim.New(cat, tt.opt)
			require.ErrorIs(t, err, sim.ErrInvalidConfig)
			assert.Nil(t, fw)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestStartTakesExactlyTheLatency(t *testing.T) {
	r := newRig(t)
	t0 := r.clk.Now()
	done := r.startAsync(t, context.Background(), "react-lead")

	r.clk.Add(time.Second - time.Millisecond)
	select {
	case res := <-done:
		t.Fatalf("start returned %v before its latency", res)
	default:
	}
	// Live counts started instances; the fleet counts the start in flight
	// as resident already (its memory is allocated first).
	n, bytes := r.fw.Live()
	assert.Zero(t, n)
	assert.Zero(t, bytes)
	c := r.fw.Fleet().Counts()
	assert.Equal(t, 1, c.Resident)
	assert.Equal(t, int64(5*mib), c.ResidentBytes)
	assert.Zero(t, r.fw.Starts("react-lead"))

	r.clk.Add(time.Millisecond)
	res := <-done
	require.NoError(t, res.err)
	assert.Equal(t, time.Second, r.clk.Now().Sub(t0))
	assert.Equal(t, "react-lead", res.in.ID())
	assert.Equal(t, int64(5*mib), res.in.MemoryBytes())

	n, bytes = r.fw.Live()
	assert.Equal(t, 1, n)
	assert.Equal(t, int64(5*mib), bytes)
	assert.Equal(t, 1, r.fw.Starts("react-lead"))
	assert.Equal(t, 1, r.fw.StartAttempts("react-lead"))
	assert.Equal(t, 1, r.fw.LiveOf("react-lead"))
	assert.Equal(t, 1, r.fw.TotalStarts())
	require.NoError(t, res.in.Close())
}

func TestSpecStart(t *testing.T) {
	r := newRig(t, sim.WithStartLatency(0))
	var spec pool.Spec
	for _, s := range r.fw.Specs() {
		if s.ID == "api-architect" {
			spec = s
		}
	}
	in, err := spec.Start(context.Background())
	require.NoError(t, err)
	assert.Empty(t, r.starts, "zero latency arms no timer")
	sz, ok := in.(pool.Sizer)
	require.True(t, ok)
	assert.Equal(t, int64(5*mib), sz.MemoryBytes())
	require.NoError(t, in.Close())

	r.fw.FailStart("api-architect", nil)
	in, err = spec.Start(context.Background())
	require.ErrorIs(t, err, sim.ErrInjected)
	assert.True(t, in == nil, "a failed start returns a nil interface, not a nil *Instance")
}

func TestStartCancelled(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := r.startAsync(t, ctx, "vue-specialist")
	cancel()
	res := <-done
	require.ErrorIs(t, res.err, context.Canceled)
	assert.Nil(t, res.in)

	// The abandoned timer is gone: advancing the clock fires nothing and
	// nothing was allocated.
	r.clk.Add(time.Hour)
	n, bytes := r.fw.Live()
	assert.Zero(t, n)
	assert.Zero(t, bytes)
	assert.Equal(t, 0, r.fw.Starts("vue-specialist"))
	assert.Equal(t, 1, r.fw.StartAttempts("vue-specialist"))

	// Already cancelled: fails at once, without arming a timer.
	_, err := r.fw.Start(ctx, "vue-specialist")
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, r.starts)

	_, err = r.fw.Start(context.Background(), "ghost")
	require.ErrorIs(t, err, sim.ErrUnknownSpecialist)
}

func TestStartLatencyOverrides(t *testing.T) {
	r := newRig(t,
		sim.WithStartLatency(2*time.Second),
		sim.WithSpecialistStartLatency("react-lead", 0),
		sim.WithMemory(mib),
		sim.WithSpecialistMemory("react-lead", 3*mib),
	)
	// Zero latency: returns without the clock moving.
	in, err := r.fw.Start(context.Background(), "react-lead")
	require.NoError(t, err)
	assert.Empty(t, r.starts, "zero latency arms no timer")
	assert.Equal(t, int64(3*mib), in.MemoryBytes())

	done := r.startAsync(t, context.Background(), "vue-specialist")
	r.clk.Add(time.Second)
	select {
	case <-done:
		t.Fatal("start returned before its latency")
	default:
	}
	r.clk.Add(time.Second)
	res := <-done
	require.NoError(t, res.err)
	assert.Equal(t, int64(mib), res.in.MemoryBytes())

	_, bytes := r.fw.Live()
	assert.Equal(t, int64(4*mib), bytes)
	require.NoError(t, in.Close())
	require.NoError(t, res.in.Close())
}

// heapAlloc returns the live heap after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestMemoryReallyAllocated(t *testing.T) {
	r := newRig(t, sim.WithStartLatency(0))
	ids := []string{}
	for _, s := range r.fw.Catalog().Specialists[:10] {
		ids = append(ids, s.ID)
	}

	before := heapAlloc()
	var ins []*sim.Instance
	var sum int64
	for _, id := range ids {
		in, err := r.fw.Start(context.Background(), id)
		require.NoError(t, err)
		ins = append(ins, in)
		sum += in.MemoryBytes()
	}
	grown := int64(heapAlloc()) - int64(before)

	n, bytes := r.fw.Live()
	assert.Equal(t, 10, n)
	assert.Equal(t, sum, bytes)
	assert.Equal(t, int64(50*mib), bytes)
	// The runtime sees the memory: allow 5 % slack for the collector's own
	// movement.
	assert.GreaterOrEqual(t, grown, bytes*95/100, "heap grew by %d, want about %d", grown, bytes)

	for _, in := range ins {
		require.NoError(t, in.Close())
	}
	freed := int64(heapAlloc()) - int64(before)
	assert.Less(t, freed, int64(5*mib), "closing must release the buffers (heap still %d above start)", freed)
	n, bytes = r.fw.Live()
	assert.Zero(t, n)
	assert.Zero(t, bytes)
	for _, id := range ids {
		assert.Equal(t, 1, r.fw.Closes(id))
		assert.Equal(t, 0, r.fw.LiveOf(id))
	}
}

func TestExecute(t *testing.T) {
	r := newRig(t, sim.WithStartLatency(0))
	in, err := r.fw.Start(context.Background(), "qa-architect")
	require.NoError(t, err)

	type execResult struct {
		res pool.Result
		err error
	}
	run := func(ctx context.Context) <-chan execResult {
		done := make(chan execResult, 1)
		go func() {
			res, err := in.Execute(ctx, pool.Task{Specialist: "qa-architect", Command: "test"})
			done <- execResult{res, err}
		}()
		require.Equal(t, "qa-architect", <-r.executes)
		return done
	}

	done := run(context.Background())
	r.clk.Add(99 * time.Millisecond)
	select {
	case <-done:
		t.Fatal("execute returned before the task latency")
	default:
	}
	r.clk.Add(time.Millisecond)
	got := <-done
	require.NoError(t, got.err)
	assert.Equal(t, pool.Result{Output: "qa-architect", Specialist: "qa-architect"}, got.res)

	ctx, cancel := context.WithCancel(context.Background())
	done = run(ctx)
	cancel()
	got = <-done
	require.ErrorIs(t, got.err, context.Canceled)

	require.NoError(t, in.Close())
}

func TestExecuteZeroLatencyDoesNotAllocate(t *testing.T) {
	cat, err := catalog.Load()
	require.NoError(t, err)
	fw, err := sim.New(cat, sim.WithClock(clock.NewMock()), sim.WithStartLatency(0), sim.WithTaskLatency(0), sim.WithMemory(0))
	require.NoError(t, err)
	in, err := fw.Start(context.Background(), "react-lead")
	require.NoError(t, err)
	var inst pool.Instance = in
	ctx := context.Background()
	task := pool.Task{Specialist: "react-lead", Command: "implement", Priority: pool.PriorityHigh}
	allocs := testing.AllocsPerRun(1000, func() {
		res, err := inst.Execute(ctx, task)
		if err != nil || res.Output != "react-lead" {
			panic(fmt.Sprint(res, err))
		}
	})
	assert.Zero(t, allocs)
	require.NoError(t, in.Close())
}

func TestClose(t *testing.T) {
	r := newRig(t, sim.WithStartLatency(0), sim.WithTaskLatency(0))
	in, err := r.fw.Start(context.Background(), "ml-architect")
	require.NoError(t, err)
	require.NoError(t, in.Close())
	assert.Zero(t, in.MemoryBytes())
	require.ErrorIs(t, in.Close(), sim.ErrClosed)
	_, err = in.Execute(context.Background(), pool.Task{})
	require.ErrorIs(t, err, sim.ErrClosed)
	assert.Equal(t, 1, r.fw.Closes("ml-architect"))
	n, _ := r.fw.Live()
	assert.Zero(t, n)
}

func TestFaults(t *testing.T) {
	r := newRig(t, sim.WithStartLatency(0), sim.WithTaskLatency(0), sim.WithMemory(mib))
	const id = "security-architect"
	boom := errors.New("boom")

	r.fw.FailStart(id, boom)
	_, err := r.fw.Start(context.Background(), id)
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), id)

	r.fw.PanicStart(id)
	v := catchPanic(func() { _, _ = r.fw.Start(context.Background(), id) })
	require.NotNil(t, v, "Start must really panic")
	perr, ok := v.(error)
	require.True(t, ok, "panic value %v is an error", v)
	require.ErrorIs(t, perr, sim.ErrInjected)

	assert.Equal(t, 0, r.fw.Starts(id))
	assert.Equal(t, 2, r.fw.StartAttempts(id))
	n, _ := r.fw.Live()
	assert.Zero(t, n, "failed starts hold nothing")

	r.fw.Heal(id)
	in, err := r.fw.Start(context.Background(), id)
	require.NoError(t, err)

	// Execute faults reach instances that are already live.
	r.fw.FailExecute(id, nil)
	_, err = in.Execute(context.Background(), pool.Task{})
	require.ErrorIs(t, err, sim.ErrInjected)
	r.fw.FailExecute(id, boom)
	_, err = in.Execute(context.Background(), pool.Task{})
	require.ErrorIs(t, err, boom)

	r.fw.PanicExecute(id)
	v = catchPanic(func() { _, _ = in.Execute(context.Background(), pool.Task{}) })
	require.NotNil(t, v, "Execute must really panic")
	require.ErrorIs(t, v.(error), sim.ErrInjected)

	r.fw.Heal(id)
	res, err := in.Execute(context.Background(), pool.Task{})
	require.NoError(t, err)
	assert.Equal(t, id, res.Output)

	// Faults are per specialist.
	r.fw.FailExecute(id, boom)
	other, err := r.fw.Start(context.Background(), "penetration-tester")
	require.NoError(t, err)
	_, err = other.Execute(context.Background(), pool.Task{})
	require.NoError(t, err)

	assert.PanicsWithValue(t, `sim: FailStart("ghost"): unknown specialist`, func() { r.fw.FailStart("ghost", nil) })
	require.NoError(t, in.Close())
	require.NoError(t, other.Close())
}

// Faults fire after the latency, like a real start that fails part-way.
func TestStartFaultAfterLatency(t *testing.T) {
	r := newRig(t)
	r.fw.FailStart("react-lead", nil)
	done := r.startAsync(t, context.Background(), "react-lead")
	r.clk.Add(time.Second)
	res := <-done
	require.ErrorIs(t, res.err, sim.ErrInjected)
}

func catchPanic(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

func TestConcurrentStartsOnMockClock(t *testing.T) {
	r := newRig(t, sim.WithMemory(mib))
	const n = 20
	var wg sync.WaitGroup
	results := make(chan startResult, n)
	specs := r.fw.Catalog().Specialists
	for i := range n {
		wg.Go(func() {
			in, err := r.fw.Start(context.Background(), specs[i%5].ID)
			results <- startResult{in, err}
		})
	}
	for range n {
		<-r.starts // every timer armed: one advance releases them all
	}
	r.clk.Add(time.Second)
	wg.Wait()
	close(results)
	for res := range results {
		require.NoError(t, res.err)
		require.NoError(t, res.in.Close())
	}
	assert.Equal(t, n, r.fw.TotalStarts())
	for _, s := range specs[:5] {
		assert.Equal(t, 4, r.fw.Starts(s.ID))
		assert.Equal(t, 4, r.fw.Closes(s.ID))
	}
	live, bytes := r.fw.Live()
	assert.Zero(t, live)
	assert.Zero(t, bytes)
}

// Many goroutines start, execute and close while faults come and go; the
// race detector checks the rest.
func TestConcurrentUse(t *testing.T) {
	cat, err := catalog.Load()
	require.NoError(t, err)
	fw, err := sim.New(cat, sim.WithClock(clock.NewMock()), sim.WithStartLatency(0), sim.WithTaskLatency(0), sim.WithMemory(4096))
	require.NoError(t, err)
	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				id := cat.Specialists[(w*rounds+i)%len(cat.Specialists)].ID
				in, err := fw.Start(context.Background(), id)
				if err != nil {
					t.Error(err)
					return
				}
				for range 3 {
					_, _ = in.Execute(context.Background(), pool.Task{Specialist: id})
				}
				_ = fw.Specs()
				_, _ = fw.Live()
				if err := in.Close(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Go(func() {
		for i := range rounds {
			id := cat.Specialists[i%len(cat.Specialists)].ID
			fw.FailExecute(id, nil)
			fw.Heal(id)
		}
	})
	wg.Wait()
	assert.Equal(t, workers*rounds, fw.TotalStarts())
	live, bytes := fw.Live()
	assert.Zero(t, live)
	assert.Zero(t, bytes)
}

func BenchmarkExecuteZeroLatency(b *testing.B) {
	cat, err := catalog.Load()
	require.NoError(b, err)
	fw, err := sim.New(cat, sim.WithClock(clock.NewMock()), sim.WithStartLatency(0), sim.WithTaskLatency(0), sim.WithMemory(0))
	require.NoError(b, err)
	in, err := fw.Start(context.Background(), "react-lead")
	require.NoError(b, err)
	defer func() { _ = in.Close() }()
	var inst pool.Instance = in
	ctx := context.Background()
	task := pool.Task{Specialist: "react-lead", Command: "implement"}

	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := inst.Execute(ctx, task); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := inst.Execute(ctx, task); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
