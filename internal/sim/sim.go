// Package sim is a simulated BUMBA framework built from the specialist
// catalogue, for tests, examples and benchmarks of the pool and its
// surroundings. Hosts must not import it.
//
// A Framework turns every catalogue specialist into a pool.Spec whose Start
// waits a start latency on an injected clock and then really allocates the
// specialist's memory, so that memory figures can be checked against the Go
// runtime's. Instances execute tasks after a task latency and return a
// deterministic output. The Framework keeps the ground truth tests compare
// against (live instances and bytes, starts and closes per specialist) and
// can inject faults: failing or panicking starts and executions.
//
// Tests run it on a *clock.Mock and use WithStartHook / WithExecuteHook to
// learn that a timer is armed before they advance the clock.
package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/internal/catalog"
	"github.com/bumba/pooling/pool"
)

// Errors of the simulation; compare with errors.Is.
var (
	// ErrInvalidConfig wraps every error New returns for a bad option.
	ErrInvalidConfig = errors.New("invalid simulation configuration")
	// ErrInjected is the fault FailStart and FailExecute inject when given a
	// nil error, and is wrapped by the value of every injected panic.
	ErrInjected = errors.New("injected fault")
	// ErrClosed is returned by Execute and Close on a closed instance.
	ErrClosed = errors.New("instance closed")
	// ErrUnknownSpecialist is returned by Start for an ID not in the
	// catalogue.
	ErrUnknownSpecialist = errors.New("unknown specialist")
)

// Framework is the simulated BUMBA framework. It is safe for concurrent use.
type Framework struct {
	cat         *catalog.Catalog
	clk         clock.Clock
	taskLatency time.Duration
	startHook   func(id string)
	executeHook func(id string)
	specialists []*specialist // catalogue order
	byID        map[string]*specialist

	mu          sync.Mutex // guards the counters below and those of specialist
	liveCount   int
	liveBytes   int64
	totalStarts int
}

// specialist is the framework's view of one catalogue entry.
type specialist struct {
	fw           *Framework
	id           string
	department   string
	priority     pool.Priority
	memory       int64
	startLatency time.Duration
	// output is the boxed ID every Execute returns; boxing it once keeps
	// Execute free of allocations.
	output any

	startFault atomic.Pointer[fault]
	execFault  atomic.Pointer[fault]

	// Guarded by fw.mu.
	attempts, starts, closes, live int
}

// fault is an injected failure: an error, or a panic when panics is set.
type fault struct {
	err    error
	panics bool
}

func (f *fault) fire(op, id string) error {
	if f.panics {
		panic(fmt.Errorf("sim: %s %s: injected panic: %w", op, id, ErrInjected))
	}
	return fmt.Errorf("sim: %s %s: %w", op, id, f.err)
}

// New builds a framework with one specialist per catalogue entry.
func New(cat *catalog.Catalog, opts ...Option) (*Framework, error) {
	if cat == nil {
		return nil, fmt.Errorf("sim: nil catalogue: %w", ErrInvalidConfig)
	}
	cfg := defaultConfig(cat)
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := cfg.validate(cat); err != nil {
		return nil, err
	}
	fw := &Framework{
		cat:         cat,
		clk:         cfg.clock,
		taskLatency: cfg.taskLatency,
		startHook:   cfg.startHook,
		executeHook: cfg.executeHook,
		specialists: make([]*specialist, 0, len(cat.Specialists)),
		byID:        make(map[string]*specialist, len(cat.Specialists)),
	}
	for _, cs := range cat.Specialists {
		sp := &specialist{
			fw:           fw,
			id:           cs.ID,
			department:   cs.Department,
			priority:     cs.Priority,
			memory:       cfg.memory,
			startLatency: cfg.startLatency,
			output:       cs.ID,
		}
		if m, ok := cfg.specialistMemory[cs.ID]; ok {
			sp.memory = m
		}
		if d, ok := cfg.specialistStart[cs.ID]; ok {
			sp.startLatency = d
		}
		fw.specialists = append(fw.specialists, sp)
		fw.byID[cs.ID] = sp
	}
	return fw, nil
}

func (c *config) validate(cat *catalog.Catalog) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("sim: %s: %w", fmt.Sprintf(format, args...), ErrInvalidConfig)
	}
	known := func(id string) bool { _, ok := cat.Specialist(id); return ok }
	switch {
	case c.clock == nil:
		return bad("WithClock(nil): want a clock")
	case c.startLatency < 0:
		return bad("WithStartLatency(%v): want a duration >= 0", c.startLatency)
	case c.taskLatency < 0:
		return bad("WithTaskLatency(%v): want a duration >= 0", c.taskLatency)
	case c.memory < 0 || c.memory > math.MaxInt:
		return bad("WithMemory(%d): want 0 to %d bytes", c.memory, math.MaxInt)
	}
	for id, m := range c.specialistMemory {
		if !known(id) {
			return fmt.Errorf("sim: WithSpecialistMemory(%q, %d): %w: %w", id, m, ErrUnknownSpecialist, ErrInvalidConfig)
		}
		if m < 0 || m > math.MaxInt {
			return bad("WithSpecialistMemory(%q, %d): want 0 to %d bytes", id, m, math.MaxInt)
		}
	}
	for id, d := range c.specialistStart {
		if !known(id) {
			return fmt.Errorf("sim: WithSpecialistStartLatency(%q, %v): %w: %w", id, d, ErrUnknownSpecialist, ErrInvalidConfig)
		}
		if d < 0 {
			return bad("WithSpecialistStartLatency(%q, %v): want a duration >= 0", id, d)
		}
	}
	return nil
}

// Catalog returns the catalogue the framework was built from.
func (fw *Framework) Catalog() *catalog.Catalog { return fw.cat }

// Clock returns the clock latencies are waited on.
func (fw *Framework) Clock() clock.Clock { return fw.clk }

// Specs returns one pool.Spec per specialist, in catalogue order: ID,
// department and priority from the catalogue, Memory and ColdStart as
// configured, and Start calling (*Framework).Start. Each call returns a
// fresh slice.
func (fw *Framework) Specs() []pool.Spec {
	specs := make([]pool.Spec, 0, len(fw.specialists))
	for _, sp := range fw.specialists {
		specs = append(specs, pool.Spec{
			ID:         sp.id,
			Department: sp.department,
			Priority:   sp.priority,
			Memory:     sp.memory,
			ColdStart:  sp.startLatency,
			Start: func(ctx context.Context) (pool.Instance, error) {
				in, err := fw.start(ctx, sp)
				if err != nil {
					return nil, err // a nil *Instance in a non-nil interface would fool callers
				}
				return in, nil
			},
		})
	}
	return specs
}

// Start starts one instance of the specialist: it waits the start latency
// on the clock (returning the context's error if ctx ends first), then, if
// a fault is injected, fails or panics; otherwise it allocates the
// specialist's memory and returns the instance. Faults fire after the
// latency, as a real start would fail after doing some of its work; give the
// specialist zero latency to make it fail at once.
func (fw *Framework) Start(ctx context.Context, id string) (*Instance, error) {
	sp, ok := fw.byID[id]
	if !ok {
		return nil, fmt.Errorf("sim: start %q: %w", id, ErrUnknownSpecialist)
	}
	return fw.start(ctx, sp)
}

func (fw *Framework) start(ctx context.Context, sp *specialist) (*Instance, error) {
	fw.mu.Lock()
	sp.attempts++
	fw.mu.Unlock()

	if err := fw.wait(ctx, sp.startLatency, fw.startHook, sp.id); err != nil {
		return nil, fmt.Errorf("sim: start %s: %w", sp.id, err)
	}
	if f := sp.startFault.Load(); f != nil {
		return nil, f.fire("start", sp.id)
	}

	in := &Instance{sp: sp, buf: allocate(sp.memory)}
	n := int64(len(in.buf))
	in.size.Store(n)

	fw.mu.Lock()
	sp.starts++
	sp.live++
	fw.totalStarts++
	fw.liveCount++
	fw.liveBytes += n
	fw.mu.Unlock()
	return in, nil
}

// wait blocks for d on the framework's clock or until ctx ends, calling
// hook once the timer is armed. A zero d takes no timer: the zero-latency
// paths must neither allocate nor touch the clock.
func (fw *Framework) wait(ctx context.Context, d time.Duration, hook func(string), id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		if hook != nil {
			hook(id)
		}
		return nil
	}
	t := fw.clk.Timer(d)
	defer t.Stop() // releases the timer (and a mock clock's slot) on cancellation
	if hook != nil {
		hook(id)
	}
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// allocate returns n bytes that are really resident.
func allocate(n int64) []byte {
	if n == 0 {
		return nil
	}
	buf := make([]byte, n)
	// Fresh pages from the OS are known to be zero and are not touched by
	// make; writing one byte per page makes them resident, so that RSS as
	// well as the heap figures see the memory.
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	return buf
}

func (fw *Framework) closed(in *Instance, n int64) {
	fw.mu.Lock()
	in.sp.closes++
	in.sp.live--
	fw.liveCount--
	fw.liveBytes -= n
	fw.mu.Unlock()
}

// Live returns the number of started, not yet closed instances and the
// bytes they hold: the ground truth for the pool's warm set and memory.
func (fw *Framework) Live() (instances int, bytes int64) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.liveCount, fw.liveBytes
}

// LiveOf returns the number of live instances of one specialist.
func (fw *Framework) LiveOf(id string) int {
	return fw.count(id, func(sp *specialist) int { return sp.live })
}

// Starts returns the number of successful starts of one specialist.
func (fw *Framework) Starts(id string) int {
	return fw.count(id, func(sp *specialist) int { return sp.starts })
}

// StartAttempts returns the number of calls to Start for one specialist,
// including those that failed, panicked or were cancelled.
func (fw *Framework) StartAttempts(id string) int {
	return fw.count(id, func(sp *specialist) int { return sp.attempts })
}

// Closes returns the number of successful Close calls on instances of one
// specialist.
func (fw *Framework) Closes(id string) int {
	return fw.count(id, func(sp *specialist) int { return sp.closes })
}

// TotalStarts returns the number of successful starts of all specialists.
func (fw *Framework) TotalStarts() int {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.totalStarts
}

// count reads one counter; an unknown ID has none.
func (fw *Framework) count(id string, get func(*specialist) int) int {
	sp, ok := fw.byID[id]
	if !ok {
		return 0
	}
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return get(sp)
}

// FailStart makes every later start of the specialist fail with an error
// wrapping err (ErrInjected if err is nil), until Heal. It panics on an
// unknown ID: that is a bug in the test.
func (fw *Framework) FailStart(id string, err error) {
	fw.mustGet("FailStart", id).startFault.Store(&fault{err: orInjected(err)})
}

// PanicStart makes every later start of the specialist panic, until Heal.
// The panic is real, so that the caller's recovery can be tested; its value
// is an error wrapping ErrInjected.
func (fw *Framework) PanicStart(id string) {
	fw.mustGet("PanicStart", id).startFault.Store(&fault{panics: true})
}

// FailExecute makes every later Execute on the specialist's instances,
// live or future, fail with an error wrapping err (ErrInjected if nil),
// until Heal.
func (fw *Framework) FailExecute(id string, err error) {
	fw.mustGet("FailExecute", id).execFault.Store(&fault{err: orInjected(err)})
}

// PanicExecute makes every later Execute on the specialist's instances
// panic, until Heal.
func (fw *Framework) PanicExecute(id string) {
	fw.mustGet("PanicExecute", id).execFault.Store(&fault{panics: true})
}

// Heal removes every fault injected into the specialist.
func (fw *Framework) Heal(id string) {
	sp := fw.mustGet("Heal", id)
	sp.startFault.Store(nil)
	sp.execFault.Store(nil)
}

func (fw *Framework) mustGet(op, id string) *specialist {
	sp, ok := fw.byID[id]
	if !ok {
		panic(fmt.Sprintf("sim: %s(%q): %v", op, id, ErrUnknownSpecialist))
	}
	return sp
}

func orInjected(err error) error {
	if err == nil {
		return ErrInjected
	}
	return err
}
