package pooltest

import (
	"bytes"
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

// settle returns once every other goroutine of the process is parked
// (blocked on a channel, a lock, a timer, I/O: nothing left to run that could
// arm a wait before the clock moves), as a stack snapshot shows, yielding
// between looks, ever longer (a snapshot stops the world, so looking too
// often would hold back the goroutines it waits for). A process where some
// goroutine stays busy (a parallel test, a spinning worker) is given a
// bounded number of yields instead (some 60 000, a few milliseconds); Drive
// and Advance are exact only without such goroutines.
func (f *Fleet) settle() {
	f.settleMu.Lock()
	defer f.settleMu.Unlock()
	yields := 8
	for range settleRounds {
		for range yields {
			runtime.Gosched()
		}
		if f.quiescent() {
			return
		}
		yields = min(2*yields, maxYields)
	}
}

// settleRounds and maxYields bound settle; maxDump bounds the stack
// snapshot's buffer.
const (
	settleRounds = 24
	maxYields    = 4096
	maxDump      = 16 << 20
)

// quiescent reports whether every goroutine but the caller is parked.
func (f *Fleet) quiescent() bool {
	if f.dump == nil {
		f.dump = make([]byte, 64<<10)
	}
	for {
		n := runtime.Stack(f.dump, true)
		if n < len(f.dump) {
			return parked(f.dump[:n])
		}
		if 2*len(f.dump) > maxDump {
			return false // too many goroutines to look at: yield instead
		}
		f.dump = make([]byte, 2*len(f.dump))
	}
}

// parked reads a runtime.Stack(all) dump: the caller's goroutine first,
// then one "goroutine N [state, …]:" header per goroutine, its top frame on
// the next line. A goroutine is parked when it waits for another
// goroutine's action or a timer (a channel, a select, a lock, a wait
// group, a condition, a sleep, I/O); any other state (running, runnable,
// preempted, waiting for the collector or for this very snapshot's stop of
// the world, which show as "semacquire" or "GC …") passes soon by itself.
func parked(dump []byte) bool {
	first := true
	for len(dump) > 0 {
		var line []byte
		line, dump, _ = bytes.Cut(dump, []byte("\n"))
		if !bytes.HasPrefix(line, []byte("goroutine ")) {
			continue
		}
		if first { // the caller
			first = false
			continue
		}
		_, state, _ := bytes.Cut(line, []byte("["))
		state, _, _ = bytes.Cut(state, []byte("]"))
		state, _, _ = bytes.Cut(state, []byte(","))
		state = bytes.TrimSuffix(state, []byte(" (durable)"))
		switch string(state) {
		case "chan receive", "chan send", "chan receive (nil chan)", "chan send (nil chan)",
			"select", "select (no cases)", "sync.Mutex.Lock", "sync.RWMutex.Lock", "sync.RWMutex.RLock",
			"sync.WaitGroup.Wait", "sync.Cond.Wait", "sleep", "IO wait", "finalizer wait", "cleanup wait":
		case "syscall":
			// os/signal's loop sits in a syscall for ever; any other
			// syscall returns and runs on.
			top, _, _ := bytes.Cut(dump, []byte("\n"))
			if !bytes.HasPrefix(top, []byte("os/signal.signal_recv")) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// Advance moves the fleet's mock clock forward by d, stopping at each armed
// wait's deadline on the way, and before each step lets every goroutine run
// until it is parked again (see Drive): so a chain of waits inside d (a
// cold start, then the call it was for, then the host's own Sleep)
// completes as it would in real time, each at its deadline. When it
// returns, what the clock woke has run until parked again: a pool's
// maintenance that fell due, say, has cooled what it cools. It returns an
// error wrapping ErrInvalidConfig, without moving anything, if the fleet's
// clock is not a *clock.Mock. Call it from one goroutine at a time, as
// Mock.Add.
func (f *Fleet) Advance(d time.Duration) error {
	m, err := f.mock("Advance")
	if err != nil {
		return err
	}
	target := m.Now().Add(d)
	for {
		f.settle()
		next, ok, _, _ := f.waits.snapshot(m.Now())
		if !ok || next.After(target) {
			if gap := target.Sub(m.Now()); gap > 0 {
				m.Add(gap)
			}
			f.settle() // what the last step woke (a pool's maintenance) has run
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
// with every latency taken exactly on the mock clock. Before each move it
// lets every goroutine run until all are parked (blocked on a channel, a
// lock, a timer), as a stack snapshot of the process shows, so that no wait
// about to be armed is jumped over; when nothing is armed it waits, without
// polling, for something to be armed or for fn to return. A panic in fn is
// raised again on the caller's goroutine. It returns an error wrapping
// ErrInvalidConfig, without calling fn, if the fleet's clock is not a
// *clock.Mock. Call it from one goroutine at a time, as Mock.Add.
//
// Drive knows only the fleet's waits: if fn blocks on other timers of the
// mock clock (the host's own clk.Sleep, say), use Fleet.Sleep for them, or
// move the clock yourself. It is exact only while the process has no
// goroutine that stays busy (a t.Parallel test running beside it, a
// spinning worker): then it yields a bounded number of times before each
// move instead, and concurrent waits may end late; AwaitWaiting with
// Mock.Add stays exact.
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
		f.settle()
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
