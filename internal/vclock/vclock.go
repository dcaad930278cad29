// Package vclock is a clock.Clock whose time is set by hand and whose
// timers and tickers never fire: for driving a pool on a virtual clock
// with Pool.Maintain (the lab's replays, benchmarks), where the mock
// clock's Add would fire tickers and pause a millisecond per call.
package vclock

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
)

// Clock is a virtual clock its user sets directly. Timers and tickers come
// from a mock clock that never moves, so they never fire.
type Clock struct {
	now   atomic.Int64
	still *clock.Mock
}

var _ clock.Clock = (*Clock)(nil)

// New returns a Clock reading origin.
func New(origin time.Time) *Clock {
	c := &Clock{still: clock.NewMock()}
	c.now.Store(origin.UnixNano())
	return c
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.now.Store(t.UnixNano()) }

func (c *Clock) Now() time.Time                  { return time.Unix(0, c.now.Load()) }
func (c *Clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
func (c *Clock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }
func (c *Clock) After(d time.Duration) <-chan time.Time {
	return c.still.After(d)
}
func (c *Clock) AfterFunc(d time.Duration, f func()) *clock.Timer { return c.still.AfterFunc(d, f) }
func (c *Clock) Sleep(time.Duration)                              {}
func (c *Clock) Tick(d time.Duration) <-chan time.Time            { return c.still.Tick(d) }
func (c *Clock) Ticker(d time.Duration) *clock.Ticker             { return c.still.Ticker(d) }
func (c *Clock) Timer(d time.Duration) *clock.Timer               { return c.still.Timer(d) }
func (c *Clock) WithDeadline(parent context.Context, d time.Time) (context.Context, context.CancelFunc) {
	return context.WithDeadline(parent, d)
}
func (c *Clock) WithTimeout(parent context.Context, t time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, t)
}
