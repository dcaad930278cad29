package main

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
)

// driver moves one mock clock for the whole simulation, as internal/simrun
// does: time moves only as far as the work at hand needs. Every simulated
// timer (starts, tasks, an injected slowdown) reports its deadline through
// arm before it blocks, so the driver knows where to advance to.
type driver struct {
	clk    *clock.Mock
	origin time.Time

	mu    sync.Mutex
	armed []time.Time
	wake  chan struct{}
}

// Epoch is where the simulated clock starts: a fixed, realistic date (a
// Monday morning), so that times and rollback IDs read like a real
// deployment's ("rb-20260302-…") and every run starts at the same instant.
var Epoch = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)

func newDriver() *driver {
	clk := clock.NewMock()
	clk.Set(Epoch)
	return &driver{clk: clk, origin: clk.Now(), wake: make(chan struct{}, 1)}
}

// elapsed is the simulated time since the start.
func (d *driver) elapsed() time.Duration { return d.clk.Now().Sub(d.origin) }

// hook returns a sim start/execute hook for timers of length delay.
func (d *driver) hook(delay time.Duration) func(string) {
	return func(string) { d.arm(delay) }
}

// arm records a timer armed now that fires after delay.
func (d *driver) arm(delay time.Duration) {
	if delay <= 0 {
		return
	}
	d.mu.Lock()
	d.armed = append(d.armed, d.clk.Now().Add(delay))
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// sleep waits delay on the simulated clock (or until ctx ends).
func (d *driver) sleep(ctx context.Context, delay time.Duration) error {
	if delay <= 0 {
		return ctx.Err()
	}
	t := d.clk.Timer(delay)
	defer t.Stop()
	d.arm(delay)
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// settle lets goroutines woken by the clock (pre-warms arming their start
// timers, shadow runs) run before time moves again.
func settle() {
	for range 64 {
		runtime.Gosched()
	}
}

// kick fires timers already due: one armed while Mock.Add was running can
// fall behind the time Add reached, and the mock fires timers only in Add.
func (d *driver) kick() { d.clk.Add(0) }

// advanceTo moves the clock to t (never backwards), firing timers on the way.
func (d *driver) advanceTo(t time.Time) {
	settle()
	if gap := t.Sub(d.clk.Now()); gap > 0 {
		d.clk.Add(gap)
	}
	d.dropFired()
}

func (d *driver) dropFired() {
	now := d.clk.Now()
	d.mu.Lock()
	d.armed = slices.DeleteFunc(d.armed, func(t time.Time) bool { return !t.After(now) })
	d.mu.Unlock()
}

func (d *driver) next() (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.armed) == 0 {
		return time.Time{}, false
	}
	return slices.MinFunc(d.armed, time.Time.Compare), true
}

// do runs fn on its own goroutine and moves the clock through the armed
// timers until fn returns.
func (d *driver) do(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
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
	for {
		if finished() {
			return
		}
		settle()
		if finished() {
			return
		}
		if at, ok := d.next(); ok {
			if gap := at.Sub(d.clk.Now()); gap > 0 {
				d.clk.Add(gap)
			}
			d.dropFired()
			continue
		}
		d.kick()
		select {
		case <-done:
			return
		case <-d.wake:
		}
	}
}
