package lab

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
)

// vclock is a virtual clock the replay sets directly. The pool only reads
// Now from it during a replay (its maintenance is driven with
// Pool.Maintain); timers and tickers come from a mock clock that never
// moves, so they never fire.
type vclock struct {
	now   atomic.Int64
	still *clock.Mock
}

var _ clock.Clock = (*vclock)(nil)

func newVClock(origin time.Time) *vclock {
	c := &vclock{still: clock.NewMock()}
	c.now.Store(origin.UnixNano())
	return c
}

func (c *vclock) set(t time.Time) { c.now.Store(t.UnixNano()) }

func (c *vclock) Now() time.Time                  { return time.Unix(0, c.now.Load()) }
func (c *vclock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
func (c *vclock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }
func (c *vclock) After(d time.Duration) <-chan time.Time {
	return c.still.After(d)
}
func (c *vclock) AfterFunc(d time.Duration, f func()) *clock.Timer { return c.still.AfterFunc(d, f) }
func (c *vclock) Sleep(time.Duration)                              {}
func (c *vclock) Tick(d time.Duration) <-chan time.Time            { return c.still.Tick(d) }
func (c *vclock) Ticker(d time.Duration) *clock.Ticker             { return c.still.Ticker(d) }
func (c *vclock) Timer(d time.Duration) *clock.Timer               { return c.still.Timer(d) }
func (c *vclock) WithDeadline(parent context.Context, d time.Time) (context.Context, context.CancelFunc) {
	return context.WithDeadline(parent, d)
}
func (c *vclock) WithTimeout(parent context.Context, t time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, t)
}
