package admin

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/benbjohnson/clock"
)

// Defaults, in one place. Each has an Option to change it.
const (
	// Prefix is where the host mounts the handler: mux.Handle(admin.Prefix, h).
	Prefix = "/admin/"
	// Base is the versioned root of every route.
	Base = "/admin/v1"
	// MaxBodyBytes bounds a request body (413 beyond).
	MaxBodyBytes = 64 << 10
	// MaxReasonBytes bounds a reason.
	MaxReasonBytes = 1024
	// DefaultActionLimit is how many actions the audit record keeps (the
	// newest).
	DefaultActionLimit = 1000
	// DefaultStreamInterval is how often an event stream looks for new
	// samples, decisions and rollbacks.
	DefaultStreamInterval = time.Second
	// DefaultKeepAlive is how often an idle event stream sends a comment.
	DefaultKeepAlive = 15 * time.Second
	// DefaultMaxStreams bounds the event streams open at once (503 beyond).
	DefaultMaxStreams = 16
	// StreamBuffer is how many events a stream holds for a slow client; the
	// ones beyond are dropped and counted (the "dropped" field of the next
	// event tells how many).
	StreamBuffer = 256
	// DefaultReportPeriod is the report's period without ?period.
	DefaultReportPeriod = time.Hour
)

// ErrInvalidConfig wraps every error New returns for a bad Option; the
// message names the option and the value.
var ErrInvalidConfig = errors.New("admin: invalid configuration")

// Option configures a Handler.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	pool      Pool
	bridge    Bridge
	rollout   Rollout
	rollbacks Rollbacks
	monitor   Monitor
	fleet     FleetStatus

	auth, readAuth Authorizer
	confirm        bool
	replica        string
	clock          clock.Clock
	logger         *slog.Logger
	actionLimit    int
	streamEvery    time.Duration
	keepAlive      time.Duration
	maxStreams     int
	started        time.Time
	errs           []error
}

func defaults() config {
	return config{
		clock:       clock.New(),
		logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		actionLimit: DefaultActionLimit,
		streamEvery: DefaultStreamInterval,
		keepAlive:   DefaultKeepAlive,
		maxStreams:  DefaultMaxStreams,
	}
}

// WithPool gives the pool (stats, specialists).
func WithPool(p Pool) Option { return optionFunc(func(c *config) { c.pool = p }) }

// WithBridge gives the bridge (mode, percentage, stats, transitions).
func WithBridge(b Bridge) Option { return optionFunc(func(c *config) { c.bridge = b }) }

// WithRollout gives the migrate controller (step, gate, decisions, advance,
// hold, resume, set step).
func WithRollout(r Rollout) Option { return optionFunc(func(c *config) { c.rollout = r }) }

// WithRollbacks gives the rollback manager (records, analyses, triggers,
// emergency and planned rollback).
func WithRollbacks(r Rollbacks) Option { return optionFunc(func(c *config) { c.rollbacks = r }) }

// WithMonitor gives the monitor (health, alerts, reports, metric queries,
// samples).
func WithMonitor(m Monitor) Option { return optionFunc(func(c *config) { c.monitor = m }) }

// WithFleet gives the replica's fleet status: the status then reports the
// replica, the leader and whether it is partitioned.
func WithFleet(f FleetStatus) Option { return optionFunc(func(c *config) { c.fleet = f }) }

// WithAuthorizer opens the mutating routes to the requests a authorizes.
// Without it every mutating route answers 403.
func WithAuthorizer(a Authorizer) Option { return optionFunc(func(c *config) { c.auth = a }) }

// WithReadAuthorizer closes the read routes (and the event stream) to
// requests a does not authorize. Default: read routes are open.
func WithReadAuthorizer(a Authorizer) Option {
	return optionFunc(func(c *config) { c.readAuth = a })
}

// WithRequireConfirmation makes a rollback request without "confirm": true
// answer 428 and change nothing (the seed's requireConfirmation). Default
// false, as in the seed.
func WithRequireConfirmation(on bool) Option {
	return optionFunc(func(c *config) { c.confirm = on })
}

// WithReplica names this process in the status (default: the fleet's
// replica name, else the host name is up to the host; empty is allowed).
func WithReplica(name string) Option { return optionFunc(func(c *config) { c.replica = name }) }

// WithClock sets the clock uptime, audit times and the event stream's ticks
// come from. Default: the real clock.
func WithClock(clk clock.Clock) Option {
	return optionFunc(func(c *config) {
		if clk == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: WithClock: nil clock", ErrInvalidConfig))
			return
		}
		c.clock = clk
	})
}

// WithStartTime sets the time uptime counts from (default: when New ran).
func WithStartTime(t time.Time) Option { return optionFunc(func(c *config) { c.started = t }) }

// WithLogger sets the logger actions are logged to. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: WithLogger: nil logger", ErrInvalidConfig))
			return
		}
		c.logger = l
	})
}

// WithActionLimit sets how many actions the audit record keeps, 1–1 048 576.
// Default 1000.
func WithActionLimit(n int) Option {
	return optionFunc(func(c *config) {
		if n < 1 || n > 1<<20 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithActionLimit(%d): allowed 1 to 1048576", ErrInvalidConfig, n))
			return
		}
		c.actionLimit = n
	})
}

// WithStreamInterval sets how often an event stream polls for new samples,
// decisions and rollbacks, 10 ms–1 min. Default 1 s.
func WithStreamInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 10*time.Millisecond || d > time.Minute {
			c.errs = append(c.errs, fmt.Errorf("%w: WithStreamInterval(%v): allowed 10ms to 1m", ErrInvalidConfig, d))
			return
		}
		c.streamEvery = d
	})
}

// WithMaxStreams bounds the event streams open at once, 1–1024. Default 16.
func WithMaxStreams(n int) Option {
	return optionFunc(func(c *config) {
		if n < 1 || n > 1024 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithMaxStreams(%d): allowed 1 to 1024", ErrInvalidConfig, n))
			return
		}
		c.maxStreams = n
	})
}

func (c *config) validate() error {
	if len(c.errs) > 0 {
		return errors.Join(c.errs...)
	}
	if c.pool == nil && c.bridge == nil && c.rollout == nil && c.rollbacks == nil && c.monitor == nil {
		return fmt.Errorf("%w: nothing to administer: give at least one of WithPool, WithBridge, WithRollout, WithRollbacks, WithMonitor", ErrInvalidConfig)
	}
	for _, a := range []Authorizer{c.auth, c.readAuth} {
		if b, ok := a.(*bearer); ok {
			if err := b.validate(); err != nil {
				return err
			}
		}
	}
	return nil
}
