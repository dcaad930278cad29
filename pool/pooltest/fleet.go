package pooltest

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/pool"
)

// Errors of the fakes; compare with errors.Is.
var (
	// ErrInvalidConfig wraps every configuration error: a nil clock, an
	// empty or duplicate ID, a negative memory, and Drive or Advance on a
	// clock that is not a *clock.Mock.
	ErrInvalidConfig = errors.New("invalid pooltest configuration")
	// ErrInjected is the error an injected failure returns when given a nil
	// error, and is wrapped by the value of every injected panic.
	ErrInjected = errors.New("injected fault")
	// ErrClosed is returned by Execute and Close on a closed instance.
	ErrClosed = errors.New("instance closed")
)

// Fleet is a set of fake specialists sharing one clock and one set of
// counters. It is safe for concurrent use and starts no goroutine of its
// own (Drive runs the function it is given on one, until it returns).
type Fleet struct {
	clk      clock.Clock
	defaults settings
	log      *slog.Logger

	regMu sync.Mutex // guards the registry
	list  []*Specialist
	byID  map[string]*Specialist
	err   error // the first configuration error

	mu     sync.Mutex // guards the counters of the fleet and of every specialist
	totals residency

	waits waitSet

	settleMu sync.Mutex // guards dump
	dump     []byte     // settle's stack snapshot, reused

	hookPanics counter
}

// residency is what is resident now and at peak.
type residency struct {
	resident, peakResident int
	bytes, peakBytes       int64
}

func (r *residency) add(n int, bytes int64) {
	r.resident += n
	r.bytes += bytes
	r.peakResident = max(r.peakResident, r.resident)
	r.peakBytes = max(r.peakBytes, r.bytes)
}

// New returns an empty fleet whose fakes wait on clk. The options are the
// defaults of every specialist added later. A nil clock is a configuration
// error, reported by Err and by every start.
func New(clk clock.Clock, opts ...Option) *Fleet {
	f := &Fleet{clk: clk, byID: make(map[string]*Specialist)}
	for _, o := range opts {
		o.apply(&f.defaults)
	}
	f.log = f.defaults.logger
	if f.log == nil {
		f.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	f.waits.init()
	if clk == nil {
		f.err = fmt.Errorf("pooltest: New(nil clock): want a clock (tests: clock.NewMock()): %w", ErrInvalidConfig)
	}
	return f
}

// Clock returns the clock the fakes wait on.
func (f *Fleet) Clock() clock.Clock { return f.clk }

// Err returns the first configuration error of the fleet or of a specialist
// added to it (nil clock, empty or duplicate ID, negative memory), or nil.
// A misconfigured specialist's starts fail with the same error, so nothing
// misconfigured can pass unnoticed; Err lets a test fail at once.
func (f *Fleet) Err() error {
	f.regMu.Lock()
	defer f.regMu.Unlock()
	return f.err
}

// Add adds a fake specialist to the fleet and returns it. The fleet's
// defaults apply, then opts. IDs are unique in a fleet: a specialist with an
// empty or already used ID, or a negative memory, is returned all the same,
// but every start of it fails with an error wrapping ErrInvalidConfig and
// Err reports it; a duplicate is not registered under its ID.
func (f *Fleet) Add(id, department string, opts ...Option) *Specialist {
	cfg := f.defaults
	for _, o := range opts {
		o.apply(&cfg)
	}
	s := newSpecialist(f, id, department, cfg)

	f.regMu.Lock()
	defer f.regMu.Unlock()
	switch _, dup := f.byID[id]; {
	case f.clk == nil:
		s.err = f.err
	case id == "":
		s.err = fmt.Errorf("pooltest: Add(%q, %q): empty ID: %w", id, department, ErrInvalidConfig)
	case dup:
		s.err = fmt.Errorf("pooltest: Add(%q, %q): duplicate ID: %w", id, department, ErrInvalidConfig)
	case cfg.memory < 0 || cfg.memory > math.MaxInt:
		s.err = fmt.Errorf("pooltest: Add(%q): WithMemory(%d): want 0 to %d bytes: %w", id, cfg.memory, math.MaxInt, ErrInvalidConfig)
	}
	if s.err != nil && f.err == nil {
		f.err = s.err
	}
	f.list = append(f.list, s)
	if id != "" && f.byID[id] == nil {
		f.byID[id] = s
	}
	return s
}

// Spec adds a fake specialist (see Add) and returns its pool.Spec, for
// building a pool's spec list in place.
func (f *Fleet) Spec(id, department string, opts ...Option) pool.Spec {
	return f.Add(id, department, opts...).Spec()
}

// Specs returns the pool.Spec of every specialist, in the order they were
// added. Each call returns a fresh slice.
func (f *Fleet) Specs() []pool.Spec {
	list := f.Specialists()
	specs := make([]pool.Spec, len(list))
	for i, s := range list {
		specs[i] = s.Spec()
	}
	return specs
}

// Specialists returns every specialist, in the order they were added. Each
// call returns a fresh slice.
func (f *Fleet) Specialists() []*Specialist {
	f.regMu.Lock()
	defer f.regMu.Unlock()
	return append([]*Specialist(nil), f.list...)
}

// Specialist returns the specialist with the given ID.
func (f *Fleet) Specialist(id string) (*Specialist, bool) {
	f.regMu.Lock()
	defer f.regMu.Unlock()
	s, ok := f.byID[id]
	return s, ok
}

// Counts returns the fleet's counters: the sums over its specialists, with
// Resident and its peaks taken over the fleet as a whole (the peak of the
// sum, not the sum of the peaks), and HookPanics including those of
// Fleet.Sleep.
func (f *Fleet) Counts() Counts {
	var c Counts
	for _, s := range f.Specialists() {
		c.addEvents(s.Counts())
	}
	f.mu.Lock()
	c.setResidency(f.totals)
	f.mu.Unlock()
	c.HookPanics = f.hookPanics.load()
	return c
}

// Counts is what fakes did, for one specialist or for a whole fleet. Each
// field is exact; a snapshot taken while calls run may mix moments.
type Counts struct {
	// Starts counts Start calls, whatever their outcome.
	Starts int `json:"starts"`
	// StartErrors counts starts that returned an error: injected, ended by
	// their context, or misconfigured.
	StartErrors int `json:"startErrors"`
	// StartPanics counts starts that panicked (injected).
	StartPanics int `json:"startPanics"`
	// Instances counts starts that returned an instance.
	Instances int `json:"instances"`
	// Calls counts Execute calls, whatever their outcome.
	Calls int `json:"calls"`
	// CallErrors counts Execute calls that returned an error.
	CallErrors int `json:"callErrors"`
	// CallPanics counts Execute calls that panicked.
	CallPanics int `json:"callPanics"`
	// Closes counts instances closed: the first Close of each, once it has
	// returned (with an error or a panic too).
	Closes int `json:"closes"`
	// CloseErrors counts closes that returned an injected error.
	CloseErrors int `json:"closeErrors"`
	// ClosePanics counts closes that panicked (injected).
	ClosePanics int `json:"closePanics"`
	// Violations counts breaches of the pool.Instance contract: Execute on a
	// closed instance, Close on a closed one, Close while an Execute runs.
	// The pool promises none; a correct integration leaves it at zero.
	Violations int `json:"violations"`
	// HookPanics counts panics recovered from the wait hook.
	HookPanics int `json:"hookPanics"`

	// Resident is the number of instances held now, from the moment their
	// start begins (a start allocates its memory first) until their Close
	// returns, or their start fails.
	Resident int `json:"resident"`
	// ResidentBytes is the memory those hold, really allocated.
	ResidentBytes int64 `json:"residentBytes"`
	// PeakResident and PeakResidentBytes are the highest Resident and
	// ResidentBytes so far.
	PeakResident      int   `json:"peakResident"`
	PeakResidentBytes int64 `json:"peakResidentBytes"`
}

func (c *Counts) addEvents(o Counts) {
	c.Starts += o.Starts
	c.StartErrors += o.StartErrors
	c.StartPanics += o.StartPanics
	c.Instances += o.Instances
	c.Calls += o.Calls
	c.CallErrors += o.CallErrors
	c.CallPanics += o.CallPanics
	c.Closes += o.Closes
	c.CloseErrors += o.CloseErrors
	c.ClosePanics += o.ClosePanics
	c.Violations += o.Violations
}

func (c *Counts) setResidency(r residency) {
	c.Resident, c.ResidentBytes = r.resident, r.bytes
	c.PeakResident, c.PeakResidentBytes = r.peakResident, r.peakBytes
}

// hook calls the wait hook h, recovering, counting and logging its panic.
func (f *Fleet) hook(h func(Wait), w Wait, own *counter) {
	defer func() {
		if r := recover(); r != nil {
			f.hookPanics.add(1)
			if own != nil {
				own.add(1)
			}
			f.log.Error("pooltest: wait hook panicked", "specialist", w.Specialist, "op", string(w.Op), "panic", r)
		}
	}()
	h(w)
}
