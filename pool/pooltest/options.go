package pooltest

import (
	"context"
	"log/slog"
	"time"

	"github.com/bumba/pooling/pool"
)

// Option configures fake specialists. Given to New it sets the default of
// every specialist of the fleet; given to Add or Spec it overrides that
// default for one specialist. Options apply in order.
type Option interface {
	apply(*settings)
}

type optionFunc func(*settings)

func (f optionFunc) apply(s *settings) { f(s) }

// Handler is the work an instance does once its execute latency has passed
// and no fault is injected: it returns the Result's Output. specialist is the
// instance's ID.
type Handler func(ctx context.Context, specialist string, t pool.Task) (any, error)

// settings is what one specialist is made of. The zero value is a fake that
// starts, executes and closes at once, holds no memory and answers with its
// ID.
type settings struct {
	priority       pool.Priority
	memory         int64
	startLatency   time.Duration
	executeLatency time.Duration
	closeLatency   time.Duration
	handler        Handler
	hook           func(Wait)
	logger         *slog.Logger
}

// WithPriority sets the Spec's priority (default unset, which the pool
// takes as medium).
func WithPriority(p pool.Priority) Option {
	return optionFunc(func(s *settings) { s.priority = p })
}

// WithMemory sets how many bytes a start really allocates, and holds until
// the instance is closed (default 0). It is also the Spec's Memory. A
// negative value makes every start fail with an error wrapping
// ErrInvalidConfig (and pool.New reject the Spec).
func WithMemory(bytes int64) Option {
	return optionFunc(func(s *settings) { s.memory = bytes })
}

// WithStartLatency sets how long a start takes on the fleet's clock (default
// 0: at once, without a timer). It is also the Spec's ColdStart. A negative
// latency counts as zero, as with time.Sleep.
func WithStartLatency(d time.Duration) Option {
	return optionFunc(func(s *settings) { s.startLatency = max(d, 0) })
}

// WithExecuteLatency sets how long Execute takes on the fleet's clock
// (default 0: at once, without a timer or an allocation). A negative latency
// counts as zero.
func WithExecuteLatency(d time.Duration) Option {
	return optionFunc(func(s *settings) { s.executeLatency = max(d, 0) })
}

// WithCloseLatency sets how long Close takes on the fleet's clock (default
// 0). Close has no context: a close waiting on a mock clock returns only
// once the clock has moved past it. A negative latency counts as zero.
func WithCloseLatency(d time.Duration) Option {
	return optionFunc(func(s *settings) { s.closeLatency = max(d, 0) })
}

// WithHandler sets what Execute answers (default: the specialist's ID as
// Output). A nil handler restores the default. The handler's error is
// returned as is and counted in Counts.CallErrors; its panic propagates
// and is counted in Counts.CallPanics.
func WithHandler(h Handler) Option {
	return optionFunc(func(s *settings) { s.handler = h })
}

// WithWaitHook registers a function called every time a fake arms a timer on
// the clock: on the waiting goroutine, after the timer is armed and before
// it blocks, so that a driver of a mock clock that hears of it can advance
// the clock without missing the timer. Zero latencies arm no timer and call
// nothing. A panic in the hook is recovered, counted (Counts.HookPanics)
// and logged. Most tests need no hook: Fleet.Drive, Fleet.Advance and
// Fleet.AwaitWaiting know the armed waits already.
func WithWaitHook(f func(Wait)) Option {
	return optionFunc(func(s *settings) { s.hook = f })
}

// WithLogger sets where the fleet logs a panicking hook (default: discard).
// It is a fleet setting: given to Add it is ignored.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(s *settings) { s.logger = l })
}
