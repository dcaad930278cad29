// Package simrun drives a pool over the simulated BUMBA framework on a mock
// clock, as fast as the CPU allows: time moves only when the task at hand
// waits for a simulated start (or execution), and between tasks it jumps to
// the next arrival. Tests, examples and benchmarks use it; hosts never do.
package simrun

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/internal/catalog"
	"github.com/bumba/pooling/internal/sim"
	"github.com/bumba/pooling/internal/workload"
	"github.com/bumba/pooling/pool"
)

// Harness wires a mock clock, a simulated framework and a pool.
type Harness struct {
	Clock     *clock.Mock
	Framework *sim.Framework
	Pool      *pool.Pool
	Catalog   *catalog.Catalog

	origin  time.Time
	latency func(id string) time.Duration
	armedMu sync.Mutex
	armed   []time.Time // deadlines of simulated timers now armed
	wake    chan struct{}
}

// Config is what New needs beyond the catalogue.
type Config struct {
	// StartLatency of every specialist (default: the catalogue's 1 s).
	StartLatency time.Duration
	// TaskLatency of every task (default 0: tasks take no simulated time).
	TaskLatency time.Duration
	// Memory per specialist (default: the catalogue's 5 MiB).
	Memory int64
	// Declare passes the catalogue's workflows to the pool.
	Declare bool
	// SimOptions and PoolOptions are appended to the harness's own.
	SimOptions  []sim.Option
	PoolOptions []pool.Option
}

// New builds the harness. Close it when done.
func New(cat *catalog.Catalog, cfg Config) (*Harness, error) {
	if cfg.StartLatency == 0 {
		cfg.StartLatency = cat.Costs.ColdStart
	}
	if cfg.Memory == 0 {
		cfg.Memory = cat.Costs.WarmMemoryBytes
	}
	h := &Harness{Clock: clock.NewMock(), Catalog: cat, wake: make(chan struct{}, 1)}
	h.origin = h.Clock.Now()
	h.latency = func(string) time.Duration { return cfg.StartLatency }
	arm := func(d time.Duration) func(string) {
		return func(string) {
			if d <= 0 {
				return
			}
			h.armedMu.Lock()
			h.armed = append(h.armed, h.Clock.Now().Add(d))
			h.armedMu.Unlock()
			select {
			case h.wake <- struct{}{}:
			default:
			}
		}
	}
	simOpts := append([]sim.Option{
		sim.WithClock(h.Clock),
		sim.WithStartLatency(cfg.StartLatency),
		sim.WithTaskLatency(cfg.TaskLatency),
		sim.WithMemory(cfg.Memory),
		sim.WithStartHook(arm(cfg.StartLatency)),
		sim.WithExecuteHook(arm(cfg.TaskLatency)),
	}, cfg.SimOptions...)
	fw, err := sim.New(cat, simOpts...)
	if err != nil {
		return nil, err
	}
	poolOpts := []pool.Option{pool.WithClock(h.Clock)}
	if cfg.Declare {
		for _, w := range cat.Workflows {
			poolOpts = append(poolOpts, pool.WithWorkflows(pool.Workflow{Name: w.Name, Steps: w.Steps}))
		}
	}
	p, err := pool.New(fw.Specs(), append(poolOpts, cfg.PoolOptions...)...)
	if err != nil {
		return nil, err
	}
	h.Framework, h.Pool = fw, p
	return h, nil
}

// Elapsed is the simulated time since the harness was built.
func (h *Harness) Elapsed() time.Duration { return h.Clock.Now().Sub(h.origin) }

// kick fires timers that are already due: a timer armed by another goroutine
// while Clock.Add was running can fall behind the time Add reached, and the
// mock clock fires timers only inside Add.
func (h *Harness) kick() { h.Clock.Add(0) }

// settle gives the pool's goroutines a chance to run (pre-warms arming their
// start timers) before time moves.
func settle() {
	for range 64 {
		runtime.Gosched()
	}
}

// AdvanceTo moves the clock to origin+at (never backwards), firing the
// simulated timers on the way.
func (h *Harness) AdvanceTo(at time.Duration) {
	settle()
	if d := at - h.Elapsed(); d > 0 {
		h.Clock.Add(d)
	}
	h.dropFired()
}

func (h *Harness) dropFired() {
	now := h.Clock.Now()
	h.armedMu.Lock()
	h.armed = slices.DeleteFunc(h.armed, func(t time.Time) bool { return !t.After(now) })
	h.armedMu.Unlock()
}

func (h *Harness) nextDeadline() (time.Time, bool) {
	h.armedMu.Lock()
	defer h.armedMu.Unlock()
	if len(h.armed) == 0 {
		return time.Time{}, false
	}
	return slices.MinFunc(h.armed, func(a, b time.Time) int { return a.Compare(b) }), true
}

type outcome struct {
	res pool.Result
	err error
}

// Execute runs one task, moving the clock only as far as the task needs.
func (h *Harness) Execute(ctx context.Context, t pool.Task) (pool.Result, error) {
	done := make(chan outcome, 1)
	go func() {
		res, err := h.Pool.Execute(ctx, t)
		done <- outcome{res, err}
	}()
	for {
		select {
		case o := <-done:
			return o.res, o.err
		default:
		}
		settle()
		select {
		case o := <-done:
			return o.res, o.err
		default:
		}
		if at, ok := h.nextDeadline(); ok {
			if d := at.Sub(h.Clock.Now()); d > 0 {
				h.Clock.Add(d)
			}
			h.dropFired()
			continue
		}
		h.kick()
		select {
		case o := <-done:
			return o.res, o.err
		case <-h.wake:
		}
	}
}

// Quiesce lets every start and task in flight finish, moving the clock
// through their simulated timers, so that a snapshot taken next is stable.
func (h *Harness) Quiesce() {
	for {
		settle()
		at, ok := h.nextDeadline()
		if !ok {
			h.kick()
			settle()
			if _, ok := h.nextDeadline(); !ok {
				return
			}
			continue
		}
		if d := at.Sub(h.Clock.Now()); d > 0 {
			h.Clock.Add(d)
		}
		h.dropFired()
	}
}

// Result of a replay.
type Result struct {
	Events, Errors int
	// Waited is the total time tasks waited for starts.
	Waited time.Duration
	// Duration is the simulated time the replay took.
	Duration time.Duration
	// FirstError is the first task error, if any.
	FirstError error
}

// Replay runs the events in order, each at its arrival time (or as soon as
// the previous one finished, if later).
func (h *Harness) Replay(ctx context.Context, events []workload.Event) Result {
	var r Result
	begin := h.Elapsed()
	for _, e := range events {
		h.AdvanceTo(begin + e.At)
		res, err := h.Execute(ctx, e.Task)
		r.Events++
		r.Waited += res.Waited
		if err != nil {
			r.Errors++
			if r.FirstError == nil {
				r.FirstError = fmt.Errorf("event at %v for %q: %w", e.At, e.Task.Specialist, err)
			}
		}
	}
	settle()
	r.Duration = h.Elapsed() - begin
	return r
}

// Close closes the pool, moving the clock while pre-warms still wait on it.
func (h *Harness) Close() error {
	done := make(chan error, 1)
	go func() { done <- h.Pool.Close(context.Background()) }()
	for {
		settle()
		select {
		case err := <-done:
			return err
		default:
		}
		if at, ok := h.nextDeadline(); ok {
			if d := at.Sub(h.Clock.Now()); d > 0 {
				h.Clock.Add(d)
			}
			h.dropFired()
			continue
		}
		h.kick()
		select {
		case err := <-done:
			return err
		case <-h.wake:
		}
	}
}

// Load builds a harness on the embedded catalogue.
func Load(cfg Config) (*Harness, error) {
	cat, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	return New(cat, cfg)
}
