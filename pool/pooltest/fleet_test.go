package pooltest_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/pool/pooltest"
)

const mib = 1 << 20

var ctx = context.Background()

type started struct {
	in  *pooltest.Instance
	err error
}

// startAsync starts s on its own goroutine and returns once the start is
// parked on the clock.
func startAsync(t *testing.T, f *pooltest.Fleet, s *pooltest.Specialist, c context.Context) <-chan started {
	t.Helper()
	before := f.Waiting()
	done := make(chan started, 1)
	go func() {
		in, err := s.Start(c)
		done <- started{in, err}
	}()
	require.NoError(t, f.AwaitWaiting(ctx, before+1))
	return done
}

func pending[T any](ch <-chan T) bool {
	select {
	case v := <-ch:
		panic(v)
	default:
		return true
	}
}

func catchPanic(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

func TestSpecFromDefaultsAndOverrides(t *testing.T) {
	f := pooltest.New(clock.NewMock(), pooltest.WithStartLatency(2*time.Second), pooltest.WithMemory(3*mib),
		pooltest.WithPriority(pool.PriorityLow))
	a := f.Spec("a", "D1")
	b := f.Spec("b", "D2", pooltest.WithStartLatency(5*time.Second), pooltest.WithMemory(7), pooltest.WithPriority(pool.PriorityHigh))
	assert.Equal(t, "a", a.ID)
	assert.Equal(t, "D1", a.Department)
	assert.Equal(t, pool.PriorityLow, a.Priority)
	assert.Equal(t, int64(3*mib), a.Memory)
	assert.Equal(t, 2*time.Second, a.ColdStart)
	assert.Equal(t, pool.PriorityHigh, b.Priority)
	assert.Equal(t, int64(7), b.Memory)
	assert.Equal(t, 5*time.Second, b.ColdStart)
	require.NoError(t, f.Err())

	specs := f.Specs()
	require.Len(t, specs, 2)
	assert.Equal(t, []string{"a", "b"}, []string{specs[0].ID, specs[1].ID})
	specs[0].ID = "changed" // a fresh slice each call
	assert.Equal(t, "a", f.Specs()[0].ID)
	s, ok := f.Specialist("b")
	require.True(t, ok)
	assert.Equal(t, "D2", s.Department())
	_, ok = f.Specialist("ghost")
	assert.False(t, ok)
	assert.Len(t, f.Specialists(), 2)
}

func TestConfigurationErrors(t *testing.T) {
	f := pooltest.New(clock.NewMock())
	first := f.Add("a", "D")
	dup := f.Add("a", "D")
	empty := f.Add("", "D")
	neg := f.Add("neg", "D", pooltest.WithMemory(-1))

	require.ErrorIs(t, f.Err(), pooltest.ErrInvalidConfig)
	assert.Contains(t, f.Err().Error(), `Add("a", "D"): duplicate ID`, "the first error is kept")
	got, _ := f.Specialist("a")
	assert.Same(t, first, got, "a duplicate is not registered")

	for _, tt := range []struct {
		s    *pooltest.Specialist
		want string
	}{
		{dup, "duplicate ID"},
		{empty, "empty ID"},
		{neg, "WithMemory(-1)"},
	} {
		in, err := tt.s.Start(ctx)
		require.ErrorIs(t, err, pooltest.ErrInvalidConfig)
		assert.Contains(t, err.Error(), tt.want)
		assert.Nil(t, in)
		c := tt.s.Counts()
		assert.Equal(t, 1, c.Starts)
		assert.Equal(t, 1, c.StartErrors)
		assert.Zero(t, c.Resident)
	}
	in, err := first.Start(ctx)
	require.NoError(t, err, "a good specialist is unaffected")
	require.NoError(t, in.Close())

	// pool.New rejects the negative memory itself, naming it.
	_, err = pool.New([]pool.Spec{neg.Spec()})
	require.ErrorIs(t, err, pool.ErrInvalidConfig)
}

func TestNilClock(t *testing.T) {
	f := pooltest.New(nil, pooltest.WithStartLatency(time.Second))
	require.ErrorIs(t, f.Err(), pooltest.ErrInvalidConfig)
	assert.Contains(t, f.Err().Error(), "nil clock")
	_, err := f.Add("a", "D").Start(ctx)
	require.ErrorIs(t, err, pooltest.ErrInvalidConfig)
	require.ErrorIs(t, f.Sleep(ctx, time.Second), pooltest.ErrInvalidConfig)
	require.ErrorIs(t, f.Drive(func() { t.Fatal("Drive ran fn without a mock clock") }), pooltest.ErrInvalidConfig)
	require.ErrorIs(t, f.Advance(time.Second), pooltest.ErrInvalidConfig)
}

func TestDriveNeedsAMockClock(t *testing.T) {
	f := pooltest.New(clock.New())
	err := f.Drive(func() { t.Fatal("Drive ran fn without a mock clock") })
	require.ErrorIs(t, err, pooltest.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "want a *clock.Mock")
	require.ErrorIs(t, f.Advance(time.Second), pooltest.ErrInvalidConfig)
}

func TestStartTakesExactlyItsLatencyAndIsResidentMeanwhile(t *testing.T) {
	clk := clock.NewMock()
	f := pooltest.New(clk, pooltest.WithStartLatency(time.Second), pooltest.WithMemory(2*mib))
	s := f.Add("react-lead", "FRONTEND")
	t0 := clk.Now()
	done := startAsync(t, f, s, ctx)

	assert.Equal(t, []pooltest.Wait{{Specialist: "react-lead", Op: pooltest.OpStart, Deadline: t0.Add(time.Second)}}, f.Waits())
	c := s.Counts()
	assert.Equal(t, 1, c.Starts)
	assert.Equal(t, 1, c.Resident, "resident from the start's beginning")
	assert.Equal(t, int64(2*mib), c.ResidentBytes)
	assert.Zero(t, c.Instances)

	clk.Add(time.Second - time.Millisecond)
	assert.True(t, pending(done), "returned before its latency")
	clk.Add(time.Millisecond)
	res := <-done
	require.NoError(t, res.err)
	assert.Equal(t, "react-lead", res.in.ID())
	assert.Same(t, s, res.in.Specialist())
	assert.Equal(t, int64(2*mib), res.in.MemoryBytes())
	assert.Zero(t, f.Waiting())
	assert.Equal(t, 1, s.Counts().Instances)

	require.NoError(t, res.in.Close())
	assert.Zero(t, res.in.MemoryBytes())
	c = f.Counts()
	assert.Equal(t, 1, c.Closes)
	assert.Zero(t, c.Resident)
	assert.Zero(t, c.ResidentBytes)
	assert.Equal(t, 1, c.PeakResident)
	assert.Equal(t, int64(2*mib), c.PeakResidentBytes)
}

func TestStartHonoursItsContext(t *testing.T) {
	clk := clock.NewMock()
	f := pooltest.New(clk, pooltest.WithStartLatency(time.Second), pooltest.WithMemory(mib))
	s := f.Add("vue-specialist", "FRONTEND")
	c, cancel := context.WithCancel(ctx)
	done := startAsync(t, f, s, c)
	cancel()
	res := <-done
	require.ErrorIs(t, res.err, context.Canceled)
	assert.Contains(t, res.err.Error(), "start vue-specialist")
	assert.Nil(t, res.in)
	assert.Zero(t, f.Waiting(), "the abandoned wait is gone")

	// Already cancelled: fails at once, arming nothing, holding nothing.
	_, err := s.Start(c)
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, f.Waiting())

	cnt := s.Counts()
	assert.Equal(t, 2, cnt.Starts)
	assert.Equal(t, 2, cnt.StartErrors)
	assert.Zero(t, cnt.Instances)
	assert.Zero(t, cnt.Resident)
	assert.Zero(t, cnt.ResidentBytes)
	assert.Equal(t, int64(mib), cnt.PeakResidentBytes, "the cancelled start held its memory while it waited")
}

func TestSpecStartReturnsANilInterfaceOnFailure(t *testing.T) {
	f := pooltest.New(clock.NewMock())
	s := f.Add("a", "D")
	s.FailStart(nil)
	in, err := s.Spec().Start(ctx)
	require.ErrorIs(t, err, pooltest.ErrInjected)
	assert.True(t, in == nil, "a nil *Instance in a non-nil interface would fool callers")
	s.Heal()
	in, err = s.Spec().Start(ctx)
	require.NoError(t, err)
	_, ok := in.(pool.Sizer)
	assert.True(t, ok)
	require.NoError(t, in.Close())
}

// heapAlloc returns the live heap after a full collection.
func heapAlloc() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

func TestMemoryIsReallyAllocatedAndFreed(t *testing.T) {
	f := pooltest.New(clock.NewMock(), pooltest.WithMemory(4*mib))
	before := heapAlloc()
	var ins []*pooltest.Instance
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		in, err := f.Add(id, "D").Start(ctx)
		require.NoError(t, err)
		ins = append(ins, in)
	}
	grown := heapAlloc() - before
	c := f.Counts()
	assert.Equal(t, 5, c.Resident)
	assert.Equal(t, int64(20*mib), c.ResidentBytes)
	assert.GreaterOrEqual(t, grown, c.ResidentBytes*95/100, "heap grew by %d, want about %d", grown, c.ResidentBytes)

	for _, in := range ins {
		require.NoError(t, in.Close())
	}
	assert.Less(t, heapAlloc()-before, int64(4*mib), "closing releases the memory")
	assert.Zero(t, f.Counts().ResidentBytes)
}

func TestExecute(t *testing.T) {
	clk := clock.NewMock()
	f := pooltest.New(clk, pooltest.WithExecuteLatency(100*time.Millisecond))
	s := f.Add("qa-architect", "QA")
	in, err := s.Start(ctx)
	require.NoError(t, err)

	type outcome struct {
		res pool.Result
		err error
	}
	run := func(c context.Context) <-chan outcome {
		done := make(chan outcome, 1)
		go func() {
			res, err := in.Execute(c, pool.Task{Command: "test"})
			done <- outcome{res, err}
		}()
		require.NoError(t, f.AwaitWaiting(ctx, 1))
		return done
	}
	done := run(ctx)
	assert.Equal(t, pooltest.OpExecute, f.Waits()[0].Op)
	clk.Add(99 * time.Millisecond)
	assert.True(t, pending(done))
	clk.Add(time.Millisecond)
	got := <-done
	require.NoError(t, got.err)
	assert.Equal(t, pool.Result{Output: "qa-architect", Specialist: "qa-architect"}, got.res)

	c, cancel := context.WithCancel(ctx)
	done = run(c)
	cancel()
	got = <-done
	require.ErrorIs(t, got.err, context.Canceled)
	assert.Contains(t, got.err.Error(), "execute qa-architect")

	cnt := s.Counts()
	assert.Equal(t, 2, cnt.Calls)
	assert.Equal(t, 1, cnt.CallErrors)
	assert.Zero(t, cnt.CallPanics)
	require.NoError(t, in.Close())
}

func TestHandler(t *testing.T) {
	boom := errors.New("boom")
	f := pooltest.New(clock.NewMock(), pooltest.WithHandler(func(_ context.Context, id string, task pool.Task) (any, error) {
		switch task.Command {
		case "fail":
			return nil, boom
		case "panic":
			panic("handler panic")
		}
		return id + ":" + task.Command, nil
	}))
	s := f.Add("a", "D")
	plain := f.Add("b", "D", pooltest.WithHandler(nil))
	in, err := s.Start(ctx)
	require.NoError(t, err)
	res, err := in.Execute(ctx, pool.Task{Command: "review"})
	require.NoError(t, err)
	assert.Equal(t, "a:review", res.Output)
	_, err = in.Execute(ctx, pool.Task{Command: "fail"})
	require.ErrorIs(t, err, boom)
	assert.Equal(t, "handler panic", catchPanic(func() { _, _ = in.Execute(ctx, pool.Task{Command: "panic"}) }))
	c := s.Counts()
	assert.Equal(t, 3, c.Calls)
	assert.Equal(t, 1, c.CallErrors)
	assert.Equal(t, 1, c.CallPanics)
	require.NoError(t, in.Close())

	in, err = plain.Start(ctx)
	require.NoError(t, err)
	res, err = in.Execute(ctx, pool.Task{Command: "review"})
	require.NoError(t, err)
	assert.Equal(t, "b", res.Output, "a nil handler restores the default")
	require.NoError(t, in.Close())
}

func TestExecuteWithoutLatencyDoesNotAllocate(t *testing.T) {
	f := pooltest.New(clock.NewMock())
	in, err := f.Add("react-lead", "FRONTEND").Start(ctx)
	require.NoError(t, err)
	var inst pool.Instance = in
	task := pool.Task{Specialist: "react-lead", Command: "implement"}
	allocs := testing.AllocsPerRun(1000, func() {
		if res, err := inst.Execute(ctx, task); err != nil || res.Output != "react-lead" {
			panic("unexpected result")
		}
	})
	assert.Zero(t, allocs)
	require.NoError(t, in.Close())
}

func TestCloseLatencyKeepsTheInstanceResident(t *testing.T) {
	clk := clock.NewMock()
	f := pooltest.New(clk, pooltest.WithCloseLatency(3*time.Second), pooltest.WithMemory(mib))
	s := f.Add("ml-architect", "AI")
	in, err := s.Start(ctx)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- in.Close() }()
	require.NoError(t, f.AwaitWaiting(ctx, 1))
	assert.Equal(t, pooltest.OpClose, f.Waits()[0].Op)
	clk.Add(2 * time.Second)
	assert.True(t, pending(done))
	c := s.Counts()
	assert.Equal(t, 1, c.Resident, "resident until Close returns")
	assert.Zero(t, c.Closes)
	clk.Add(time.Second)
	require.NoError(t, <-done)
	c = s.Counts()
	assert.Zero(t, c.Resident)
	assert.Equal(t, 1, c.Closes)
}

func TestStartFaults(t *testing.T) {
	clk := clock.NewMock()
	f := pooltest.New(clk, pooltest.WithMemory(mib))
	s := f.Add("security-architect", "SECURITY")
	other := f.Add("penetration-tester", "SECURITY")
	boom := errors.New("boom")

	s.FailStart(boom)
	_, err := s.Start(ctx)
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "start security-architect")
	s.FailStart(nil)
	_, err = s.Start(ctx)
	require.ErrorIs(t, err, pooltest.ErrInjected)

	s.PanicStart()
	v := catchPanic(func() { _, _ = s.Start(ctx) })
	perr, ok := v.(error)
	require.True(t, ok, "panic value %v is an error", v)
	require.ErrorIs(t, perr, pooltest.ErrInjected)

	c := s.Counts()
	assert.Equal(t, 3, c.Starts)
	assert.Equal(t, 2, c.StartErrors)
	assert.Equal(t, 1, c.StartPanics)
	assert.Zero(t, c.Instances)
	assert.Zero(t, c.Resident, "failed starts hold nothing")
	assert.Zero(t, c.ResidentBytes)

	in, err := other.Start(ctx)
	require.NoError(t, err, "faults are per specialist")
	require.NoError(t, in.Close())

	s.Heal()
	in, err = s.Start(ctx)
	require.NoError(t, err)
	require.NoError(t, in.Close())
}

// A start fault fires after the latency, as a real start fails part-way.
func TestStartFaultFiresAfterTheLatency(t *testing.T) {
	clk := clock.NewMock()
	f := pooltest.New(clk, pooltest.WithStartLatency(time.Second))
	s := f.Add("react-lead", "FRONTEND")
	s.FailStart(nil)
	done := startAsync(t, f, s, ctx)
	assert.True(t, pending(done))
	clk.Add(time.Second)
	require.ErrorIs(t, (<-done).err, pooltest.ErrInjected)
}

func TestExecuteFaultsReachLiveInstances(t *testing.T) {
	f := pooltest.New(clock.NewMock())
	s := f.Add("a", "D")
	other := f.Add("b", "D")
	in, err := s.Start(ctx)
	require.NoError(t, err)
	oin, err := other.Start(ctx)
	require.NoError(t, err)
	boom := errors.New("boom")

	s.FailExecute(boom)
	_, err = in.Execute(ctx, pool.Task{})
	require.ErrorIs(t, err, boom)
	s.FailExecute(nil)
	_, err = in.Execute(ctx, pool.Task{})
	require.ErrorIs(t, err, pooltest.ErrInjected)
	_, err = oin.Execute(ctx, pool.Task{})
	require.NoError(t, err, "faults are per specialist")

	s.PanicExecute()
	v := catchPanic(func() { _, _ = in.Execute(ctx, pool.Task{}) })
	require.ErrorIs(t, v.(error), pooltest.ErrInjected)

	s.Heal()
	res, err := in.Execute(ctx, pool.Task{})
	require.NoError(t, err)
	assert.Equal(t, "a", res.Output)

	c := s.Counts()
	assert.Equal(t, 4, c.Calls)
	assert.Equal(t, 2, c.CallErrors)
	assert.Equal(t, 1, c.CallPanics)
	require.NoError(t, in.Close())
	require.NoError(t, oin.Close())
}

func TestCloseFaultsStillRelease(t *testing.T) {
	f := pooltest.New(clock.NewMock(), pooltest.WithMemory(mib))
	s := f.Add("a", "D")
	a, err := s.Start(ctx)
	require.NoError(t, err)
	b, err := s.Start(ctx)
	require.NoError(t, err)

	s.FailClose(nil)
	require.ErrorIs(t, a.Close(), pooltest.ErrInjected)
	s.PanicClose()
	v := catchPanic(func() { _ = b.Close() })
	require.ErrorIs(t, v.(error), pooltest.ErrInjected)

	c := s.Counts()
	assert.Equal(t, 2, c.Closes)
	assert.Equal(t, 1, c.CloseErrors)
	assert.Equal(t, 1, c.ClosePanics)
	assert.Zero(t, c.Resident, "a failed close released the instance all the same")
	assert.Zero(t, c.ResidentBytes)
	assert.Zero(t, a.MemoryBytes())
	assert.Zero(t, c.Violations)
}

func TestLatenciesChangeAtRunTime(t *testing.T) {
	clk := clock.NewMock()
	f := pooltest.New(clk)
	s := f.Add("a", "D")
	s.SetStartLatency(2 * time.Second)
	assert.Equal(t, 2*time.Second, s.Spec().ColdStart)
	done := startAsync(t, f, s, ctx)
	clk.Add(2 * time.Second)
	res := <-done
	require.NoError(t, res.err)

	s.SetExecuteLatency(time.Second)
	s.SetCloseLatency(time.Second)
	var err error
	require.NoError(t, f.Drive(func() { _, err = res.in.Execute(ctx, pool.Task{}) }))
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, clk.Now().Sub(time.Unix(0, 0)))
	require.NoError(t, f.Drive(func() { require.NoError(t, res.in.Close()) }))
	assert.Equal(t, 4*time.Second, clk.Now().Sub(time.Unix(0, 0)))

	s.SetStartLatency(-time.Second) // counts as zero
	s.SetCloseLatency(-time.Second)
	in, err := s.Start(ctx)
	require.NoError(t, err)
	require.NoError(t, in.Close())
	assert.Equal(t, 4*time.Second, clk.Now().Sub(time.Unix(0, 0)))
}

func TestViolations(t *testing.T) {
	clk := clock.NewMock()
	f := pooltest.New(clk)
	s := f.Add("a", "D")

	in, err := s.Start(ctx)
	require.NoError(t, err)
	require.NoError(t, in.Close())
	assert.Zero(t, s.Counts().Violations)
	require.ErrorIs(t, in.Close(), pooltest.ErrClosed)
	_, err = in.Execute(ctx, pool.Task{})
	require.ErrorIs(t, err, pooltest.ErrClosed)
	c := s.Counts()
	assert.Equal(t, 2, c.Violations)
	assert.Equal(t, 1, c.Closes, "a second close closes nothing")
	assert.Equal(t, 1, c.CallErrors)

	// Close while an Execute runs.
	s.SetExecuteLatency(time.Second)
	in, err = s.Start(ctx)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := in.Execute(ctx, pool.Task{})
		done <- err
	}()
	require.NoError(t, f.AwaitWaiting(ctx, 1))
	require.NoError(t, in.Close())
	assert.Equal(t, 3, s.Counts().Violations)
	clk.Add(time.Second)
	require.NoError(t, <-done)
}

func TestFleetCountsTakeThePeakOfTheSum(t *testing.T) {
	f := pooltest.New(clock.NewMock(), pooltest.WithMemory(mib))
	a, b := f.Add("a", "D"), f.Add("b", "D", pooltest.WithMemory(3*mib))
	in, err := a.Start(ctx)
	require.NoError(t, err)
	require.NoError(t, in.Close())
	in, err = b.Start(ctx)
	require.NoError(t, err)

	c := f.Counts()
	assert.Equal(t, 2, c.Starts)
	assert.Equal(t, 2, c.Instances)
	assert.Equal(t, 1, c.Closes)
	assert.Equal(t, 1, c.Resident)
	assert.Equal(t, int64(3*mib), c.ResidentBytes)
	assert.Equal(t, 1, c.PeakResident, "never two at once")
	assert.Equal(t, int64(3*mib), c.PeakResidentBytes)
	assert.Equal(t, 1, a.Counts().PeakResident)
	assert.Equal(t, int64(mib), a.Counts().PeakResidentBytes)

	in2, err := a.Start(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, f.Counts().PeakResident)
	assert.Equal(t, int64(4*mib), f.Counts().PeakResidentBytes)
	require.NoError(t, in.Close())
	require.NoError(t, in2.Close())
}

func TestWaitHook(t *testing.T) {
	clk := clock.NewMock()
	var mu sync.Mutex
	var seen []pooltest.Wait
	var logs bytes.Buffer
	f := pooltest.New(clk,
		pooltest.WithStartLatency(time.Second),
		pooltest.WithWaitHook(func(w pooltest.Wait) {
			mu.Lock()
			seen = append(seen, w)
			mu.Unlock()
		}),
		pooltest.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
	)
	a := f.Add("a", "D")
	bad := f.Add("bad", "D", pooltest.WithWaitHook(func(pooltest.Wait) { panic("hook bug") }))
	quiet := f.Add("quiet", "D", pooltest.WithStartLatency(0))

	in, err := quiet.Start(ctx)
	require.NoError(t, err, "zero latency: no timer, no hook")
	require.NoError(t, in.Close())

	require.NoError(t, f.Drive(func() {
		in, err := a.Start(ctx)
		require.NoError(t, err)
		require.NoError(t, in.Close())
	}))
	mu.Lock()
	assert.Equal(t, []pooltest.Wait{{Specialist: "a", Op: pooltest.OpStart, Deadline: time.Unix(1, 0)}}, seen)
	mu.Unlock()

	require.NoError(t, f.Drive(func() {
		in, err := bad.Start(ctx)
		require.NoError(t, err, "a panicking hook does not break the start")
		require.NoError(t, in.Close())
	}))
	assert.Equal(t, 1, bad.Counts().HookPanics)
	assert.Equal(t, 1, f.Counts().HookPanics)
	assert.Contains(t, logs.String(), "wait hook panicked")
	assert.Contains(t, logs.String(), "hook bug")
}

func TestAwaitWaitingHonoursItsContext(t *testing.T) {
	f := pooltest.New(clock.NewMock())
	c, cancel := context.WithCancel(ctx)
	cancel()
	err := f.AwaitWaiting(c, 1)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "AwaitWaiting(1): 0 waiting")
	require.NoError(t, f.AwaitWaiting(ctx, 0))
}

func TestWaitsAreSortedByDeadline(t *testing.T) {
	clk := clock.NewMock()
	f := pooltest.New(clk)
	slow := f.Add("slow", "D", pooltest.WithStartLatency(5*time.Second))
	fast := f.Add("fast", "D", pooltest.WithStartLatency(time.Second))
	d1 := startAsync(t, f, slow, ctx)
	d2 := startAsync(t, f, fast, ctx)
	sleep := make(chan error, 1)
	go func() { sleep <- f.Sleep(ctx, 3*time.Second) }()
	require.NoError(t, f.AwaitWaiting(ctx, 3))
	assert.Equal(t, 3, f.Waiting())
	t0 := time.Unix(0, 0)
	assert.Equal(t, []pooltest.Wait{
		{Specialist: "fast", Op: pooltest.OpStart, Deadline: t0.Add(time.Second)},
		{Specialist: "", Op: pooltest.OpSleep, Deadline: t0.Add(3 * time.Second)},
		{Specialist: "slow", Op: pooltest.OpStart, Deadline: t0.Add(5 * time.Second)},
	}, f.Waits())
	require.NoError(t, f.Advance(5*time.Second))
	require.NoError(t, <-sleep)
	for _, d := range []<-chan started{d1, d2} {
		r := <-d
		require.NoError(t, r.err)
		require.NoError(t, r.in.Close())
	}
}

func TestSleep(t *testing.T) {
	clk := clock.NewMock()
	f := pooltest.New(clk)
	require.NoError(t, f.Sleep(ctx, 0))
	require.NoError(t, f.Sleep(ctx, -time.Second))
	c, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.Sleep(c, time.Hour) }()
	require.NoError(t, f.AwaitWaiting(ctx, 1))
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.ErrorIs(t, f.Sleep(c, time.Second), context.Canceled, "already ended")
	assert.Zero(t, f.Waiting())

	require.NoError(t, f.Drive(func() { require.NoError(t, f.Sleep(ctx, time.Minute)) }))
	assert.Equal(t, time.Minute, clk.Now().Sub(time.Unix(0, 0)))
}
