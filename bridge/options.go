package bridge

import (
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/internal/nilcheck"
)

// Defaults, in one place. Each has an Option to change it.
const (
	// DefaultMode is the mode a new bridge starts in: the safe one.
	DefaultMode = ModeShadow
	// DefaultPercentage is the hybrid percentage a new bridge starts with.
	DefaultPercentage = 0.0
	// DefaultFallbackWindow is the span of the rolling window over which
	// the intelligent path's success rate is measured.
	DefaultFallbackWindow = 5 * time.Minute
	// DefaultFallbackThreshold is the success rate below which the bridge
	// falls back automatically (the seed's fallbackThreshold).
	DefaultFallbackThreshold = 0.8
	// DefaultMinVolume is the number of intelligent calls the window must
	// hold before the success rate can trigger a fallback.
	DefaultMinVolume = 10
	// DefaultShadowTimeout bounds one shadow run.
	DefaultShadowTimeout = 10 * time.Second
	// DefaultShadowConcurrency bounds the shadow runs in flight; beyond it
	// a shadow run is skipped, never queued.
	DefaultShadowConcurrency = 8
	// DefaultMismatchRing is how many mismatches are kept (the newest).
	DefaultMismatchRing = 100
	// DefaultMismatchBytes bounds the estimated size of the kept
	// mismatches (see WithMismatchBytes).
	DefaultMismatchBytes = 8 << 20
	// DefaultFallbackOnError: a failed intelligent call is retried on
	// legacy for that request.
	DefaultFallbackOnError = true
	// DefaultAutoFallback: the bridge falls back automatically.
	DefaultAutoFallback = true

	// windowBuckets is how many buckets the rolling window has.
	windowBuckets = 60
	// Ranges checked by the options.
	minFallbackWindow    = time.Second
	maxShadowConcurrency = 1 << 16
	maxMismatchRing      = 1 << 20
	minMismatchBytes     = 4 << 10
	maxMismatchBytes     = 1 << 40
)

// config is what the options set.
type config struct {
	clock             clock.Clock
	rand              rand.Source
	logger            *slog.Logger
	mode              Mode
	percentage        float64
	window            time.Duration
	threshold         float64
	minVolume         int
	confidence        float64
	shadowTimeout     time.Duration
	shadowConcurrency int
	mismatchRing      int
	mismatchBytes     int
	fallbackOnError   bool
	autoFallback      bool
	comparator        Comparator
	observers         []Observer
}

// defaultConfig returns every default. The random source is created here,
// so each bridge has its own.
func defaultConfig() config {
	return config{
		clock:             clock.New(),
		rand:              rand.NewPCG(rand.Uint64(), rand.Uint64()),
		logger:            slog.New(slog.DiscardHandler),
		mode:              DefaultMode,
		percentage:        DefaultPercentage,
		window:            DefaultFallbackWindow,
		threshold:         DefaultFallbackThreshold,
		minVolume:         DefaultMinVolume,
		confidence:        DefaultFallbackConfidence,
		shadowTimeout:     DefaultShadowTimeout,
		shadowConcurrency: DefaultShadowConcurrency,
		mismatchRing:      DefaultMismatchRing,
		mismatchBytes:     DefaultMismatchBytes,
		fallbackOnError:   DefaultFallbackOnError,
		autoFallback:      DefaultAutoFallback,
		comparator:        DefaultComparator(),
	}
}

// An Option configures a Bridge. A bad value makes New return an error that
// wraps ErrInvalidConfig and names the option, the value and the allowed
// range.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

func invalid(name string, value any, allowed string) error {
	return fmt.Errorf("%w: %s(%v): want %s", ErrInvalidConfig, name, value, allowed)
}

// WithClock sets the clock every time is read from (latencies, the rolling
// window, shadow timeouts). Default clock.New(), the real clock.
func WithClock(c clock.Clock) Option {
	return optionFunc(func(cfg *config) error {
		if c == nil {
			return invalid("WithClock", c, "a non-nil clock.Clock")
		}
		cfg.clock = c
		return nil
	})
}

// WithRand sets the random source hybrid routing draws from for commands
// without a routing key. The bridge serialises its calls to the source, so
// any math/rand/v2 Source will do. Default: a PCG source seeded at random.
func WithRand(src rand.Source) Option {
	return optionFunc(func(cfg *config) error {
		if src == nil {
			return invalid("WithRand", src, "a non-nil rand.Source")
		}
		cfg.rand = src
		return nil
	})
}

// WithLogger sets the logger. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(cfg *config) error {
		if l == nil {
			return invalid("WithLogger", l, "a non-nil *slog.Logger")
		}
		cfg.logger = l
		return nil
	})
}

// WithMode sets the mode the bridge starts in. Default ModeShadow.
func WithMode(m Mode) Option {
	return optionFunc(func(cfg *config) error {
		if !m.Valid() {
			return fmt.Errorf("%w: %w: WithMode(%v): want shadow, hybrid, full or fallback", ErrInvalidConfig, ErrUnknownMode, m)
		}
		cfg.mode = m
		return nil
	})
}

// WithPercentage sets the hybrid percentage the bridge starts with, in
// [0, 100]. Default 0.
func WithPercentage(p float64) Option {
	return optionFunc(func(cfg *config) error {
		if !validPercentage(p) {
			return fmt.Errorf("%w: %w: WithPercentage(%v): want [0, 100]", ErrInvalidConfig, ErrInvalidPercentage, p)
		}
		cfg.percentage = p
		return nil
	})
}

// WithFallbackWindow sets the span of the rolling window over which the
// intelligent path's success rate is measured, at least one second. The
// window is a ring of 60 buckets, so an event counts for between 59/60 and
// all of the span. Default 5 minutes.
func WithFallbackWindow(d time.Duration) Option {
	return optionFunc(func(cfg *config) error {
		if d < minFallbackWindow {
			return invalid("WithFallbackWindow", d, fmt.Sprintf(">= %v", minFallbackWindow))
		}
		cfg.window = d
		return nil
	})
}

// WithFallbackThreshold sets the success rate in (0, 1] below which the
// bridge falls back automatically. A rate equal to the threshold does not
// trigger. Default 0.8.
func WithFallbackThreshold(x float64) Option {
	return optionFunc(func(cfg *config) error {
		if !(x > 0 && x <= 1) {
			return invalid("WithFallbackThreshold", x, "(0, 1]")
		}
		cfg.threshold = x
		return nil
	})
}

// WithMinVolume sets how many intelligent calls the window must hold before
// a low success rate triggers a fallback, at least 1. Default 10.
func WithMinVolume(n int) Option {
	return optionFunc(func(cfg *config) error {
		if n < 1 {
			return invalid("WithMinVolume", n, ">= 1")
		}
		cfg.minVolume = n
		return nil
	})
}

// WithShadowTimeout bounds each shadow run (positive). Default 10 s.
func WithShadowTimeout(d time.Duration) Option {
	return optionFunc(func(cfg *config) error {
		if d <= 0 {
			return invalid("WithShadowTimeout", d, "> 0")
		}
		cfg.shadowTimeout = d
		return nil
	})
}

// WithShadowConcurrency bounds the shadow runs in flight, in [1, 65536].
// When the bound is reached a shadow run is skipped and counted, never
// queued. Default 8.
func WithShadowConcurrency(n int) Option {
	return optionFunc(func(cfg *config) error {
		if n < 1 || n > maxShadowConcurrency {
			return invalid("WithShadowConcurrency", n, fmt.Sprintf("[1, %d]", maxShadowConcurrency))
		}
		cfg.shadowConcurrency = n
		return nil
	})
}

// WithMismatchRing sets how many mismatches are kept (the newest), in
// [1, 1048576]. Default 100.
func WithMismatchRing(n int) Option {
	return optionFunc(func(cfg *config) error {
		if n < 1 || n > maxMismatchRing {
			return invalid("WithMismatchRing", n, fmt.Sprintf("[1, %d]", maxMismatchRing))
		}
		cfg.mismatchRing = n
		return nil
	})
}

// WithMismatchBytes bounds the kept mismatches by their estimated size
// in bytes (strings and byte slices by length, containers by their
// elements), in [4096, 1<<40]. Default 8 MiB. Each part of a mismatch —
// an answer's Output, Detail and error text, the command's name, routing
// key, Args and Options — is kept up to a tenth of n: a larger one is cut,
// to a Truncated value (Output, Detail, Options) or a text ending with a
// marker (error, Args), and the Mismatch is marked Truncated. The oldest
// mismatches are dropped to keep the total within n.
func WithMismatchBytes(n int) Option {
	return optionFunc(func(cfg *config) error {
		if n < minMismatchBytes || n > maxMismatchBytes {
			return invalid("WithMismatchBytes", n, fmt.Sprintf("[%d, %d]", minMismatchBytes, maxMismatchBytes))
		}
		cfg.mismatchBytes = n
		return nil
	})
}

// WithFallbackOnError sets whether a failed intelligent call (in Full or
// Hybrid mode) is retried on legacy for that request. A failure caused by
// the caller's own context being done is never retried. Default true.
func WithFallbackOnError(enabled bool) Option {
	return optionFunc(func(cfg *config) error {
		cfg.fallbackOnError = enabled
		return nil
	})
}

// WithAutoFallback sets whether the bridge switches itself to ModeFallback
// when the intelligent path's success rate drops below the threshold.
// Default true.
func WithAutoFallback(enabled bool) Option {
	return optionFunc(func(cfg *config) error {
		cfg.autoFallback = enabled
		return nil
	})
}

// WithComparator sets how shadow results are compared. Default
// DefaultComparator().
func WithComparator(c Comparator) Option {
	return optionFunc(func(cfg *config) error {
		if nilcheck.Is(c) {
			return invalid("WithComparator", c, "a non-nil Comparator")
		}
		cfg.comparator = c
		return nil
	})
}

// WithObserver registers an observer from the start (see Observer). It may
// be given more than once; observers are called in the order registered.
func WithObserver(o Observer) Option {
	return optionFunc(func(cfg *config) error {
		if nilcheck.Is(o) {
			return invalid("WithObserver", o, "a non-nil Observer")
		}
		cfg.observers = append(cfg.observers, o)
		return nil
	})
}

// validPercentage reports whether p is in [0, 100] (NaN is not).
func validPercentage(p float64) bool { return p >= 0 && p <= 100 && !math.IsNaN(p) }
