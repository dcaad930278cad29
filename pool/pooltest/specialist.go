package pooltest

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bumba/pooling/pool"
)

// Specialist is one fake specialist of a fleet: its configuration, its
// injected faults and latencies, and its counters. Its methods are safe for
// concurrent use, also while its instances run; an injection applies to
// every later start, execute or close, of live instances too.
type Specialist struct {
	f          *Fleet
	id         string
	department string
	priority   pool.Priority
	memory     int64
	handler    Handler
	hook       func(Wait)
	err        error // a configuration error every start returns
	// output is the boxed ID the default handler answers with; boxing it
	// once keeps Execute free of allocations.
	output any

	startLatency, executeLatency, closeLatency atomic.Int64
	startFault, executeFault, closeFault       atomic.Pointer[fault]

	// Per call, so lock-free: parallel callers only contend on the line.
	calls, callErrors, callPanics, violations, hookPanics counter

	// Guarded by f.mu.
	starts, startErrors, startPanics, instances int
	closes, closeErrors, closePanics            int
	res                                         residency
}

func newSpecialist(f *Fleet, id, department string, cfg settings) *Specialist {
	s := &Specialist{
		f: f, id: id, department: department,
		priority: cfg.priority, memory: cfg.memory, handler: cfg.handler, hook: cfg.hook,
		output: id,
	}
	s.startLatency.Store(int64(cfg.startLatency))
	s.executeLatency.Store(int64(cfg.executeLatency))
	s.closeLatency.Store(int64(cfg.closeLatency))
	return s
}

// counter is a count updated without a lock.
type counter struct{ n atomic.Int64 }

func (c *counter) add(d int64) { c.n.Add(d) }
func (c *counter) load() int   { return int(c.n.Load()) }

// fault is an injected failure: an error, or a panic.
type fault struct {
	err    error
	panics bool
}

func (ft *fault) error(op, id string) error {
	return fmt.Errorf("pooltest: %s %s: %w", op, id, ft.err)
}

// panicValue is what an injected panic panics with: an error wrapping
// ErrInjected, so that a recovering caller can tell it with errors.Is.
func panicValue(op, id string) error {
	return fmt.Errorf("pooltest: %s %s: injected panic: %w", op, id, ErrInjected)
}

// ID returns the specialist's ID.
func (s *Specialist) ID() string { return s.id }

// Department returns the specialist's department.
func (s *Specialist) Department() string { return s.department }

// Spec returns the specialist as a pool.Spec: ID, Department, Priority and
// Memory as configured, ColdStart the start latency in force now, and Start
// calling s.Start (a failed start returns a nil Instance, not a nil
// *Instance in an interface).
func (s *Specialist) Spec() pool.Spec {
	return pool.Spec{
		ID:         s.id,
		Department: s.department,
		Priority:   s.priority,
		Memory:     s.memory,
		ColdStart:  time.Duration(s.startLatency.Load()),
		Start: func(ctx context.Context) (pool.Instance, error) {
			in, err := s.Start(ctx)
			if err != nil {
				return nil, err
			}
			return in, nil
		},
	}
}

// Start starts an instance, as the pool would through the Spec. It
// allocates the specialist's memory first (from then on the instance is
// resident), waits the start latency on the fleet's clock, then fails or
// panics if a fault is injected, and otherwise returns the instance. An
// injected fault fires after the latency, as a real start fails part-way;
// set the latency to zero to fail at once. If ctx ends first, or has ended
// already, Start returns an error wrapping ctx.Err(). A failed or panicking
// start releases its memory before it returns.
func (s *Specialist) Start(ctx context.Context) (*Instance, error) {
	f := s.f
	if err := s.err; err != nil {
		s.countFailedStart()
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		s.countFailedStart()
		return nil, fmt.Errorf("pooltest: start %s: %w", s.id, err)
	}
	mem := s.memory
	f.mu.Lock()
	s.starts++
	s.res.add(1, mem)
	f.totals.add(1, mem)
	f.mu.Unlock()
	buf := allocate(mem)

	outcome := outcomePanicked // unless a return says otherwise
	defer func() {
		if outcome == outcomeOK {
			return
		}
		f.mu.Lock()
		s.res.add(-1, -mem)
		f.totals.add(-1, -mem)
		if outcome == outcomePanicked {
			s.startPanics++
		} else {
			s.startErrors++
		}
		f.mu.Unlock()
	}()

	if err := f.wait(ctx, time.Duration(s.startLatency.Load()), s.id, OpStart, s.hook, &s.hookPanics); err != nil {
		outcome = outcomeFailed
		return nil, fmt.Errorf("pooltest: start %s: %w", s.id, err)
	}
	if ft := s.startFault.Load(); ft != nil {
		if ft.panics {
			panic(panicValue("start", s.id))
		}
		outcome = outcomeFailed
		return nil, ft.error("start", s.id)
	}
	in := &Instance{s: s, buf: buf}
	in.size.Store(int64(len(buf)))
	outcome = outcomeOK
	f.mu.Lock()
	s.instances++
	f.mu.Unlock()
	return in, nil
}

type outcome uint8

const (
	outcomeOK outcome = iota
	outcomeFailed
	outcomePanicked
)

// countFailedStart counts a start that failed before it held anything.
func (s *Specialist) countFailedStart() {
	s.f.mu.Lock()
	s.starts++
	s.startErrors++
	s.f.mu.Unlock()
}

// Counts returns the specialist's counters.
func (s *Specialist) Counts() Counts {
	c := Counts{
		Calls:      s.calls.load(),
		CallErrors: s.callErrors.load(),
		CallPanics: s.callPanics.load(),
		Violations: s.violations.load(),
		HookPanics: s.hookPanics.load(),
	}
	s.f.mu.Lock()
	c.Starts, c.StartErrors, c.StartPanics, c.Instances = s.starts, s.startErrors, s.startPanics, s.instances
	c.Closes, c.CloseErrors, c.ClosePanics = s.closes, s.closeErrors, s.closePanics
	c.setResidency(s.res)
	s.f.mu.Unlock()
	return c
}

// FailStart makes every later start fail, after its latency, with an error
// wrapping err (ErrInjected if err is nil), until Heal.
func (s *Specialist) FailStart(err error) { s.startFault.Store(failure(err)) }

// PanicStart makes every later start panic, after its latency, until Heal.
// The panic is real, so that the caller's recovery can be tested; its value
// is an error wrapping ErrInjected.
func (s *Specialist) PanicStart() { s.startFault.Store(&fault{panics: true}) }

// FailExecute makes every later Execute on the specialist's instances, live
// or future, fail after its latency with an error wrapping err (ErrInjected
// if err is nil), until Heal.
func (s *Specialist) FailExecute(err error) { s.executeFault.Store(failure(err)) }

// PanicExecute makes every later Execute panic after its latency, until
// Heal.
func (s *Specialist) PanicExecute() { s.executeFault.Store(&fault{panics: true}) }

// FailClose makes every later Close return an error wrapping err
// (ErrInjected if nil) after its latency, until Heal. The instance is
// released all the same: the close returned.
func (s *Specialist) FailClose(err error) { s.closeFault.Store(failure(err)) }

// PanicClose makes every later Close panic after its latency, until Heal.
// The instance is released all the same.
func (s *Specialist) PanicClose() { s.closeFault.Store(&fault{panics: true}) }

// Heal removes every fault injected into the specialist. Latencies stay.
func (s *Specialist) Heal() {
	s.startFault.Store(nil)
	s.executeFault.Store(nil)
	s.closeFault.Store(nil)
}

// SetStartLatency sets the start latency of later starts (negative counts
// as zero). A Spec taken earlier keeps the ColdStart it had.
func (s *Specialist) SetStartLatency(d time.Duration) { s.startLatency.Store(int64(max(d, 0))) }

// SetExecuteLatency sets the latency of later Execute calls (negative
// counts as zero).
func (s *Specialist) SetExecuteLatency(d time.Duration) { s.executeLatency.Store(int64(max(d, 0))) }

// SetCloseLatency sets the latency of later Close calls (negative counts as
// zero).
func (s *Specialist) SetCloseLatency(d time.Duration) { s.closeLatency.Store(int64(max(d, 0))) }

func failure(err error) *fault {
	if err == nil {
		err = ErrInjected
	}
	return &fault{err: err}
}

// Instance is a started fake specialist. It implements pool.Instance and
// pool.Sizer. Execute may be called concurrently, also with Close (which
// the pool never does, and Counts.Violations records).
type Instance struct {
	s       *Specialist
	closed  atomic.Bool
	running atomic.Int64 // Execute calls in progress
	size    atomic.Int64
	buf     []byte // written only by the Close that wins closed
}

var (
	_ pool.Instance = (*Instance)(nil)
	_ pool.Sizer    = (*Instance)(nil)
)

// ID returns the instance's specialist ID.
func (in *Instance) ID() string { return in.s.id }

// Specialist returns the fake the instance was started from.
func (in *Instance) Specialist() *Specialist { return in.s }

// Execute waits the execute latency on the fleet's clock (or until ctx
// ends), then fails or panics if a fault is injected, and otherwise returns
// the handler's Output (by default the specialist's ID) in a Result naming
// the specialist. On a closed instance it returns an error wrapping
// ErrClosed and counts a violation. With zero latency and the default
// handler it allocates nothing.
func (in *Instance) Execute(ctx context.Context, t pool.Task) (pool.Result, error) {
	s := in.s
	s.calls.add(1)
	in.running.Add(1)
	defer in.running.Add(-1)
	if in.closed.Load() {
		s.violations.add(1)
		s.callErrors.add(1)
		return pool.Result{}, fmt.Errorf("pooltest: execute %s: %w", s.id, ErrClosed)
	}
	returned := false
	defer func() {
		if !returned { // panicking: count it and let it go on
			s.callPanics.add(1)
		}
	}()
	out, err := in.execute(ctx, t)
	returned = true
	if err != nil {
		s.callErrors.add(1)
		return pool.Result{}, err
	}
	return pool.Result{Output: out, Specialist: s.id}, nil
}

func (in *Instance) execute(ctx context.Context, t pool.Task) (any, error) {
	s := in.s
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pooltest: execute %s: %w", s.id, err)
	}
	if err := s.f.wait(ctx, time.Duration(s.executeLatency.Load()), s.id, OpExecute, s.hook, &s.hookPanics); err != nil {
		return nil, fmt.Errorf("pooltest: execute %s: %w", s.id, err)
	}
	if ft := s.executeFault.Load(); ft != nil {
		if ft.panics {
			panic(panicValue("execute", s.id))
		}
		return nil, ft.error("execute", s.id)
	}
	if s.handler != nil {
		return s.handler(ctx, s.id, t)
	}
	return s.output, nil
}

// MemoryBytes returns the bytes the instance holds: its allocation while
// open, zero once closed.
func (in *Instance) MemoryBytes() int64 { return in.size.Load() }

// Close waits the close latency on the fleet's clock, then releases the
// instance's memory (also when an injected fault makes it fail or panic).
// Closing a closed instance returns an error wrapping ErrClosed and counts
// a violation; so does closing one while an Execute runs (it closes all the
// same).
func (in *Instance) Close() error {
	s, f := in.s, in.s.f
	if !in.closed.CompareAndSwap(false, true) {
		s.violations.add(1)
		return fmt.Errorf("pooltest: close %s: %w", s.id, ErrClosed)
	}
	if in.running.Load() > 0 {
		s.violations.add(1)
	}
	outcome := outcomePanicked
	defer func() {
		n := in.size.Swap(0)
		in.buf = nil
		f.mu.Lock()
		s.closes++
		switch outcome {
		case outcomeFailed:
			s.closeErrors++
		case outcomePanicked:
			s.closePanics++
		}
		s.res.add(-1, -n)
		f.totals.add(-1, -n)
		f.mu.Unlock()
	}()
	// Close has no context: its wait ends only with its latency.
	_ = f.wait(context.Background(), time.Duration(s.closeLatency.Load()), s.id, OpClose, s.hook, &s.hookPanics)
	if ft := s.closeFault.Load(); ft != nil {
		if ft.panics {
			panic(panicValue("close", s.id))
		}
		outcome = outcomeFailed
		return ft.error("close", s.id)
	}
	outcome = outcomeOK
	return nil
}

// allocate returns n bytes that are really resident.
func allocate(n int64) []byte {
	if n <= 0 {
		return nil
	}
	buf := make([]byte, n)
	// Fresh pages from the OS read as zero and make does not touch them;
	// writing one byte per page makes them resident, so that RSS as well as
	// the heap figures see the memory.
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	return buf
}
