// Package sim is a simulated BUMBA framework built from the specialist
// catalogue, for tests, examples and benchmarks of the pool and its
// surroundings. Hosts must not import it: what they need to test their own
// integration is pool/pooltest, which this package is built on.
//
// A Framework is a pooltest.Fleet with one fake specialist per catalogue
// entry: its Start allocates the specialist's memory, really, then waits a
// start latency on an injected clock; its instances execute tasks after a
// task latency and answer with the specialist's ID. The Framework keeps the
// ground truth tests compare against (resident instances and bytes, starts
// and closes per specialist; Fleet has the rest) and injects faults:
// failing or panicking starts and executions.
//
// Tests run it on a *clock.Mock and drive the clock with the fleet's Drive,
// Advance or AwaitWaiting, or with WithStartHook / WithExecuteHook, which
// say when a timer is armed.
package sim

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/internal/catalog"
	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/pool/pooltest"
)

// Errors of the simulation; compare with errors.Is.
var (
	// ErrInvalidConfig wraps every error New returns for a bad option.
	ErrInvalidConfig = errors.New("invalid simulation configuration")
	// ErrInjected is the fault FailStart and FailExecute inject when given a
	// nil error, and is wrapped by the value of every injected panic.
	ErrInjected = pooltest.ErrInjected
	// ErrClosed is returned by Execute and Close on a closed instance.
	ErrClosed = pooltest.ErrClosed
	// ErrUnknownSpecialist is returned by Start for an ID not in the
	// catalogue.
	ErrUnknownSpecialist = errors.New("unknown specialist")
)

// Instance is a started specialist: a pooltest.Instance, which implements
// pool.Instance and pool.Sizer.
type Instance = pooltest.Instance

// Framework is the simulated BUMBA framework. It is safe for concurrent use.
type Framework struct {
	cat         *catalog.Catalog
	fleet       *pooltest.Fleet
	specialists []*pooltest.Specialist // catalogue order
	byID        map[string]*pooltest.Specialist
	memory      map[string]int64 // what each instance of a specialist holds
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
	fleetOpts := []pooltest.Option{
		pooltest.WithStartLatency(cfg.startLatency),
		pooltest.WithExecuteLatency(cfg.taskLatency),
		pooltest.WithMemory(cfg.memory),
	}
	if cfg.startHook != nil || cfg.executeHook != nil {
		start, execute := cfg.startHook, cfg.executeHook
		fleetOpts = append(fleetOpts, pooltest.WithWaitHook(func(w pooltest.Wait) {
			switch {
			case w.Op == pooltest.OpStart && start != nil:
				start(w.Specialist)
			case w.Op == pooltest.OpExecute && execute != nil:
				execute(w.Specialist)
			}
		}))
	}
	fw := &Framework{
		cat:         cat,
		fleet:       pooltest.New(cfg.clock, fleetOpts...),
		specialists: make([]*pooltest.Specialist, 0, len(cat.Specialists)),
		byID:        make(map[string]*pooltest.Specialist, len(cat.Specialists)),
		memory:      make(map[string]int64, len(cat.Specialists)),
	}
	for _, cs := range cat.Specialists {
		opts := []pooltest.Option{pooltest.WithPriority(cs.Priority)}
		fw.memory[cs.ID] = cfg.memory
		if m, ok := cfg.specialistMemory[cs.ID]; ok {
			opts = append(opts, pooltest.WithMemory(m))
			fw.memory[cs.ID] = m
		}
		if d, ok := cfg.specialistStart[cs.ID]; ok {
			opts = append(opts, pooltest.WithStartLatency(d))
		}
		sp := fw.fleet.Add(cs.ID, cs.Department, opts...)
		fw.specialists = append(fw.specialists, sp)
		fw.byID[cs.ID] = sp
	}
	if err := fw.fleet.Err(); err != nil {
		return nil, fmt.Errorf("sim: %w: %w", err, ErrInvalidConfig)
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
func (fw *Framework) Clock() clock.Clock { return fw.fleet.Clock() }

// Fleet returns the fakes the framework is made of: their counters
// (calls, errors, panics, peaks, contract violations), their waits on the
// clock, and Drive / Advance / AwaitWaiting to move a mock clock.
func (fw *Framework) Fleet() *pooltest.Fleet { return fw.fleet }

// Specs returns one pool.Spec per specialist, in catalogue order: ID,
// department and priority from the catalogue, Memory and ColdStart as
// configured. Each call returns a fresh slice.
func (fw *Framework) Specs() []pool.Spec { return fw.fleet.Specs() }

// Start starts one instance of the specialist (see pooltest.Specialist.Start):
// it allocates the memory, waits the start latency on the clock (returning
// the context's error if ctx ends first), then, if a fault is injected,
// fails or panics; otherwise it returns the instance. Faults fire after the
// latency, as a real start would fail after doing some of its work; give
// the specialist zero latency to make it fail at once.
func (fw *Framework) Start(ctx context.Context, id string) (*Instance, error) {
	sp, ok := fw.byID[id]
	if !ok {
		return nil, fmt.Errorf("sim: start %q: %w", id, ErrUnknownSpecialist)
	}
	return sp.Start(ctx)
}

// Live returns the number of started, not yet closed instances and the
// bytes they hold: the ground truth for the pool's warm and active
// specialists and their memory. Starts in flight are not counted (they are
// the pool's warming ones); Fleet().Counts().Resident counts them too.
func (fw *Framework) Live() (instances int, bytes int64) {
	for _, sp := range fw.specialists {
		c := sp.Counts()
		n := c.Instances - c.Closes
		instances += n
		bytes += int64(n) * fw.memory[sp.ID()]
	}
	return instances, bytes
}

// LiveOf returns the number of started, not yet closed instances of one
// specialist.
func (fw *Framework) LiveOf(id string) int {
	return fw.count(id, func(c pooltest.Counts) int { return c.Instances - c.Closes })
}

// Starts returns the number of successful starts of one specialist.
func (fw *Framework) Starts(id string) int {
	return fw.count(id, func(c pooltest.Counts) int { return c.Instances })
}

// StartAttempts returns the number of calls to Start for one specialist,
// including those that failed, panicked or were cancelled.
func (fw *Framework) StartAttempts(id string) int {
	return fw.count(id, func(c pooltest.Counts) int { return c.Starts })
}

// Closes returns the number of instances of one specialist closed.
func (fw *Framework) Closes(id string) int {
	return fw.count(id, func(c pooltest.Counts) int { return c.Closes })
}

// TotalStarts returns the number of successful starts of all specialists.
func (fw *Framework) TotalStarts() int { return fw.fleet.Counts().Instances }

// count reads one counter; an unknown ID has none.
func (fw *Framework) count(id string, get func(pooltest.Counts) int) int {
	sp, ok := fw.byID[id]
	if !ok {
		return 0
	}
	return get(sp.Counts())
}

// FailStart makes every later start of the specialist fail with an error
// wrapping err (ErrInjected if err is nil), until Heal. It panics on an
// unknown ID: that is a bug in the test.
func (fw *Framework) FailStart(id string, err error) { fw.mustGet("FailStart", id).FailStart(err) }

// PanicStart makes every later start of the specialist panic, until Heal.
// The panic is real, so that the caller's recovery can be tested; its value
// is an error wrapping ErrInjected.
func (fw *Framework) PanicStart(id string) { fw.mustGet("PanicStart", id).PanicStart() }

// FailExecute makes every later Execute on the specialist's instances,
// live or future, fail with an error wrapping err (ErrInjected if nil),
// until Heal.
func (fw *Framework) FailExecute(id string, err error) {
	fw.mustGet("FailExecute", id).FailExecute(err)
}

// PanicExecute makes every later Execute on the specialist's instances
// panic, until Heal.
func (fw *Framework) PanicExecute(id string) { fw.mustGet("PanicExecute", id).PanicExecute() }

// Heal removes every fault injected into the specialist.
func (fw *Framework) Heal(id string) { fw.mustGet("Heal", id).Heal() }

func (fw *Framework) mustGet(op, id string) *pooltest.Specialist {
	sp, ok := fw.byID[id]
	if !ok {
		panic(fmt.Sprintf("sim: %s(%q): %v", op, id, ErrUnknownSpecialist))
	}
	return sp
}
