package pooltest

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
)

// Op names what a Wait is for.
type Op string

// The waits a fleet knows of.
const (
	OpStart   Op = "start"
	OpExecute Op = "execute"
	OpClose   Op = "close"
	OpSleep   Op = "sleep" // Fleet.Sleep
)

// Wait is a goroutine parked on the fleet's clock: a fake's start, execute
// or close latency, or a Fleet.Sleep.
type Wait struct {
	// Specialist is the fake's ID ("" for Fleet.Sleep).
	Specialist string `json:"specialist"`
	Op         Op     `json:"op"`
	// Deadline is when the wait ends. It is never before the timer's own
	// deadline (it may be after it by as much as the clock moved while the
	// timer was being armed), so advancing a mock clock to it always
	// releases the wait.
	Deadline time.Time `json:"deadline"`
}

// waitSet is the waits armed now. Its size is the number of goroutines
// parked in them, so it needs no other bound.
type waitSet struct {
	mu   sync.Mutex
	list []*waitRec
	// changed is closed, and replaced, whenever a wait is armed or ends:
	// every watcher wakes, none can miss a change.
	changed chan struct{}
}

type waitRec struct {
	w   Wait
	idx int
}

func (ws *waitSet) init() { ws.changed = make(chan struct{}) }

func (ws *waitSet) notifyLocked() {
	close(ws.changed)
	ws.changed = make(chan struct{})
}

func (ws *waitSet) add(r *waitRec) {
	ws.mu.Lock()
	r.idx = len(ws.list)
	ws.list = append(ws.list, r)
	ws.notifyLocked()
	ws.mu.Unlock()
}

func (ws *waitSet) remove(r *waitRec) {
	ws.mu.Lock()
	last := len(ws.list) - 1
	ws.list[r.idx] = ws.list[last]
	ws.list[r.idx].idx = r.idx
	ws.list[last] = nil
	ws.list = ws.list[:last]
	ws.notifyLocked()
	ws.mu.Unlock()
}

// snapshot returns the earliest deadline (ok false without waits), whether
// a wait is due at now, and the channel closed at the next change.
func (ws *waitSet) snapshot(now time.Time) (next time.Time, ok, due bool, changed <-chan struct{}) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, r := range ws.list {
		if !ok || r.w.Deadline.Before(next) {
			next, ok = r.w.Deadline, true
		}
	}
	return next, ok, ok && !next.After(now), ws.changed
}

// wait blocks for d on the fleet's clock or until ctx ends, as a Wait the
// fleet knows of. A zero d takes no timer: the zero-latency paths neither
// allocate nor touch the clock.
func (f *Fleet) wait(ctx context.Context, d time.Duration, id string, op Op, hook func(Wait), own *counter) error {
	if d <= 0 {
		return nil
	}
	t := f.clk.Timer(d)
	defer t.Stop() // releases the timer (and a mock clock's slot) on cancellation
	// Now is read after the timer is armed: the deadline recorded is then
	// never before the timer's.
	r := &waitRec{w: Wait{Specialist: id, Op: op, Deadline: f.clk.Now().Add(d)}}
	f.waits.add(r)
	defer f.waits.remove(r)
	if hook != nil {
		f.hook(hook, r.w, own)
	}
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Sleep waits d on the fleet's clock, or until ctx ends (returning
// ctx.Err()), as a Wait that Drive, Advance and AwaitWaiting know of: use it
// for the host's own simulated delays in code a test drives. A d of zero or
// less returns at once.
func (f *Fleet) Sleep(ctx context.Context, d time.Duration) error {
	if f.clk == nil {
		return f.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return f.wait(ctx, d, "", OpSleep, f.defaults.hook, nil)
}

// Waiting returns the number of goroutines parked on the fleet's clock now.
func (f *Fleet) Waiting() int {
	f.waits.mu.Lock()
	defer f.waits.mu.Unlock()
	return len(f.waits.list)
}

// Waits returns the waits armed now, earliest deadline first (ties by
// specialist, then op).
func (f *Fleet) Waits() []Wait {
	f.waits.mu.Lock()
	out := make([]Wait, len(f.waits.list))
	for i, r := range f.waits.list {
		out[i] = r.w
	}
	f.waits.mu.Unlock()
	slices.SortFunc(out, func(a, b Wait) int {
		return cmp.Or(a.Deadline.Compare(b.Deadline), cmp.Compare(a.Specialist, b.Specialist), cmp.Compare(a.Op, b.Op))
	})
	return out
}

// AwaitWaiting blocks until at least n goroutines are parked on the fleet's
// clock, or ctx ends (returning ctx.Err()). It is the exact way to advance a
// mock clock: a test that knows how many starts (or calls, closes, sleeps)
// its code will begin waits for them all, then moves the clock, and no
// timer can be missed or fire late. It waits on the fleet's notifications,
// never by polling.
func (f *Fleet) AwaitWaiting(ctx context.Context, n int) error {
	for {
		f.waits.mu.Lock()
		k, changed := len(f.waits.list), f.waits.changed
		f.waits.mu.Unlock()
		if k >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("pooltest: AwaitWaiting(%d): %d waiting: %w", n, k, ctx.Err())
		}
	}
}

func (f *Fleet) mock(op string) (*clock.Mock, error) {
	m, ok := f.clk.(*clock.Mock)
	if !ok {
		return nil, fmt.Errorf("pooltest: %s: the fleet's clock is a %T, want a *clock.Mock: %w", op, f.clk, ErrInvalidConfig)
	}
	return m, nil
}

// settle lets runnable goroutines run (a goroutine woken by the clock
// arming its next wait, a pool's pre-warm beginning its start) before the
// clock moves again. It never waits on time.
func settle() {
	for range 64 {
		runtime.Gosched()
	}
}

// Advance moves the fleet's mock clock forward by d, stopping at each armed
// wait's deadline on the way until the goroutines it releases have gone on,
// so that a chain of waits inside d (a cold start, then the call it was
// for, then the host's own Sleep) completes as it would in real time. It
// returns an error wrapping ErrInvalidConfig, without moving anything, if
// the fleet's clock is not a *clock.Mock. Call it from one goroutine at a
// time, as Mock.Add.
//
// A wait armed by a goroutine that is running but has not armed it yet is
// found only if it is armed before Advance moves past its deadline: when
// code begins several waits at once, wait for them with AwaitWaiting first.
func (f *Fleet) Advance(d time.Duration) error {
	m, err := f.mock("Advance")
	if err != nil {
		return err
	}
	target := m.Now().Add(d)
	for {
		settle()
		next, ok, _, _ := f.waits.snapshot(m.Now())
		if !ok || next.After(target) {
			if gap := target.Sub(m.Now()); gap > 0 {
				m.Add(gap)
			}
			return nil
		}
		m.Add(max(next.Sub(m.Now()), 0))
		f.release(m)
	}
}

// release returns once no wait is due at the mock's time: each due wait's
// goroutine has received its timer and gone on.
func (f *Fleet) release(m *clock.Mock) {
	for {
		_, _, due, changed := f.waits.snapshot(m.Now())
		if !due {
			return
		}
		// A timer armed while Mock.Add was running can be left behind the
		// time Add reached; Add(0) fires it (and otherwise only yields).
		m.Add(0)
		<-changed
	}
}

// Drive runs fn on a goroutine of its own and, until fn returns, moves the
// fleet's mock clock to each armed wait's deadline in turn: a host call that
// cold-starts specialists, executes on them and closes them runs to its end
// with every latency taken exactly on the mock clock. When nothing is armed
// it waits, without polling, for something to be armed or for fn to
// return. A panic in fn is raised again on the caller's goroutine. It
// returns an error wrapping ErrInvalidConfig, without calling fn, if the
// fleet's clock is not a *clock.Mock. Call it from one goroutine at a time,
// as Mock.Add.
//
// Drive knows only the fleet's waits: if fn blocks on other timers of the
// mock clock (the host's own clk.Sleep, say), use Fleet.Sleep for them, or
// move the clock yourself. When fn begins several waits at once, each ends
// exactly at its deadline only if all are armed before the first one is
// reached; where that matters, use AwaitWaiting and Mock.Add.
func (f *Fleet) Drive(fn func()) error {
	m, err := f.mock("Drive")
	if err != nil {
		return err
	}
	done := make(chan struct{})
	var panicked any
	go func() {
		defer close(done)
		defer func() { panicked = recover() }()
		fn()
	}()
	finished := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	for !finished() {
		settle()
		next, ok, _, changed := f.waits.snapshot(m.Now())
		if finished() {
			break
		}
		if ok {
			m.Add(max(next.Sub(m.Now()), 0))
		}
		select {
		case <-done:
		case <-changed:
		}
	}
	if panicked != nil {
		panic(panicked)
	}
	return nil
}
