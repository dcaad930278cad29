package rollback

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/internal/jsonx"
	"github.com/bumba/pooling/internal/nilcheck"
	"github.com/bumba/pooling/migrate"
)

// Defaults, in one place. Each has an Option to change it.
const (
	// The seed's automatic rollback triggers.
	DefaultMaxErrorRate        = 0.10
	DefaultMaxLatencyRatio     = 3.0
	DefaultMinMemoryEfficiency = 0.20
	DefaultMinHealth           = 60.0
	// Their for-durations (the seed gives 2 minutes for critical alerts).
	DefaultErrorRateFor     = time.Minute
	DefaultLatencyFor       = 2 * time.Minute
	DefaultMemoryFor        = 2 * time.Minute
	DefaultHealthFor        = time.Minute
	DefaultCriticalAlertFor = 2 * time.Minute

	// DefaultTriggerWindow is the trailing window rates are measured over.
	DefaultTriggerWindow = time.Minute
	// DefaultMinVolume is the intelligent calls the trigger window must
	// hold before the error rate and the latency ratio count.
	DefaultMinVolume = 10
	// DefaultMaxLookback is how far back the error-rate and response-time
	// triggers look, past their window, for DefaultMinVolume calls: a host
	// with fewer than 10 intelligent calls a minute is judged over up to
	// the last 15 minutes (at least 10 calls per 15 min) instead of never.
	DefaultMaxLookback = 15 * time.Minute
	// DefaultMaxLatency is the response-time trigger's absolute limit while
	// the legacy baseline is below migrate.MinLatencyBaseline (the seed's
	// 5 000 ms "severe performance degradation").
	DefaultMaxLatency = 5 * time.Second
	// maxRing bounds the readings kept for the lookback, whatever the
	// Check rate (Run checks every 10 s: 91 readings cover 15 min).
	maxRing = 1024
	// DefaultAutoRollback: a fired trigger rolls back (the seed's
	// autoRollbackEnabled, BUMBA_AUTO_ROLLBACK).
	DefaultAutoRollback = true
	// DefaultVerifyAfter is how long after a rollback (or each planned
	// stage) it is verified.
	DefaultVerifyAfter = 2 * time.Minute
	// DefaultInterval is how often Run checks.
	DefaultInterval = 10 * time.Second
	// DefaultMaxRecords is how many rollback records are kept.
	DefaultMaxRecords = 1000

	// Verification (the seed's rollback verification checklist).
	DefaultVerifyMaxErrorRate    = 0.02
	DefaultVerifyMaxLatencyRatio = 3.0
	DefaultVerifyMaxLatency      = 2500 * time.Millisecond
	DefaultVerifyMinHealth       = 60.0
	DefaultVerifyMinVolume       = 10

	minInterval   = time.Millisecond
	maxMaxRecords = 1 << 20
)

// DefaultPlannedSteps are the hybrid percentages a planned rollback steps
// down through before everything goes to legacy: 75 → 50 → 25 → 0.
func DefaultPlannedSteps() []float64 { return []float64{75, 50, 25} }

// Criteria is what a rollback's verification checks (the seed's checklist:
// commands answered normally, error rates back to baseline, response times
// acceptable, monitoring operational).
type Criteria struct {
	// MaxErrorRate bounds the share of answers served with an error.
	MaxErrorRate float64 `json:"maxErrorRate"`
	// MaxLatencyRatio bounds the served mean latency over the legacy
	// baseline.
	MaxLatencyRatio float64 `json:"maxLatencyRatio"`
	// MaxLatency bounds the mean latency instead of MaxLatencyRatio while
	// the legacy baseline is below migrate.MinLatencyBaseline (0: the
	// response-time check is then skipped).
	MaxLatency time.Duration `json:"maxLatencyMs"`
	// MinHealth is the health score required (with WithHealth).
	MinHealth float64 `json:"minHealth"`
	// MinVolume is the answers needed to judge the error rate and the
	// latency; with fewer, those checks are skipped.
	MinVolume uint64 `json:"minVolume"`
}

// MarshalJSON writes the Criteria in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (c Criteria) MarshalJSON() ([]byte, error) { return jsonx.Marshal(c) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form, for saved records).
func (c *Criteria) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, c) }

// DefaultCriteria returns the default verification criteria.
func DefaultCriteria() Criteria {
	return Criteria{
		MaxErrorRate: DefaultVerifyMaxErrorRate, MaxLatencyRatio: DefaultVerifyMaxLatencyRatio,
		MaxLatency: DefaultVerifyMaxLatency,
		MinHealth:  DefaultVerifyMinHealth, MinVolume: DefaultVerifyMinVolume,
	}
}

// Request is what a Confirm function is asked to approve.
type Request struct {
	Kind    Kind
	Reason  string
	Current migrate.Routing
}

// MarshalJSON writes the Request in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (r Request) MarshalJSON() ([]byte, error) { return jsonx.Marshal(r) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form, for saved records).
func (r *Request) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, r) }

// ConfirmFunc approves a manual rollback (true) or declines it (false, or
// an error). It is called without any lock held and may block, for
// example to ask an operator; honour ctx.
type ConfirmFunc func(ctx context.Context, r Request) (bool, error)

type config struct {
	clock         clock.Clock
	logger        *slog.Logger
	store         migrate.Store
	triggers      []Trigger
	health        Health
	alerts        Alerts
	autoRollback  bool
	confirm       ConfirmFunc
	plannedSteps  []float64
	verifyAfter   time.Duration
	criteria      Criteria
	triggerWindow time.Duration
	minVolume     uint64
	lookback      time.Duration
	maxLatency    time.Duration
	interval      time.Duration
	maxRecords    int
	listeners     []func(Event)
}

func defaultConfig() config {
	return config{
		clock:         clock.New(),
		logger:        slog.New(slog.DiscardHandler),
		triggers:      DefaultTriggers(),
		autoRollback:  DefaultAutoRollback,
		plannedSteps:  DefaultPlannedSteps(),
		verifyAfter:   DefaultVerifyAfter,
		criteria:      DefaultCriteria(),
		triggerWindow: DefaultTriggerWindow,
		minVolume:     DefaultMinVolume,
		lookback:      DefaultMaxLookback,
		maxLatency:    DefaultMaxLatency,
		interval:      DefaultInterval,
		maxRecords:    DefaultMaxRecords,
	}
}

// An Option configures a Manager. A bad value makes New return an error
// that wraps ErrInvalidConfig and names the option, the value and the
// allowed range.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

func invalid(name string, value any, allowed string) error {
	return fmt.Errorf("%w: %s(%v): want %s", ErrInvalidConfig, name, value, allowed)
}

// WithClock sets the clock. Default: the real clock.
func WithClock(c clock.Clock) Option {
	return optionFunc(func(cfg *config) error {
		if nilcheck.Is(c) {
			return invalid("WithClock", c, "a non-nil clock.Clock")
		}
		cfg.clock = c
		return nil
	})
}

// WithLogger sets the logger. Rollbacks are logged at error level with
// "ROLLBACK" in the message. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(cfg *config) error {
		if l == nil {
			return invalid("WithLogger", l, "a non-nil *slog.Logger")
		}
		cfg.logger = l
		return nil
	})
}

// WithStore sets where records are kept (section SectionRollbacks); pass
// the controller's Store. Default: a migrate.MemoryStore.
func WithStore(s migrate.Store) Option {
	return optionFunc(func(cfg *config) error {
		if nilcheck.Is(s) {
			return invalid("WithStore", s, "a non-nil migrate.Store")
		}
		cfg.store = s
		return nil
	})
}

// WithTriggers replaces the triggers (names unique). Default
// DefaultTriggers(). No trigger at all disables automatic rollback.
func WithTriggers(ts ...Trigger) Option {
	return optionFunc(func(cfg *config) error {
		seen := map[string]bool{}
		for _, t := range ts {
			if err := t.validate(); err != nil {
				return fmt.Errorf("%w: WithTriggers: %v", ErrInvalidConfig, err)
			}
			if seen[t.Name] {
				return invalid("WithTriggers", t.Name, "unique trigger names")
			}
			seen[t.Name] = true
		}
		cfg.triggers = append([]Trigger(nil), ts...)
		return nil
	})
}

// WithHealth sets the health score source. Default: none (the health
// trigger and check have no data).
func WithHealth(h Health) Option {
	return optionFunc(func(cfg *config) error {
		if nilcheck.Is(h) {
			return invalid("WithHealth", h, "a non-nil Health")
		}
		cfg.health = h
		return nil
	})
}

// WithAlerts sets the critical alerts source. Default: none.
func WithAlerts(a Alerts) Option {
	return optionFunc(func(cfg *config) error {
		if nilcheck.Is(a) {
			return invalid("WithAlerts", a, "a non-nil Alerts")
		}
		cfg.alerts = a
		return nil
	})
}

// WithAutoRollback sets whether a fired trigger rolls back (true) or is
// only logged and reported to listeners (false). Default true.
func WithAutoRollback(on bool) Option {
	return optionFunc(func(cfg *config) error {
		cfg.autoRollback = on
		return nil
	})
}

// WithConfirm sets a function that must approve every manual rollback
// (Emergency, Planned). Automatic rollbacks never wait for it. Default:
// none (the seed's requireConfirmation: false).
func WithConfirm(f ConfirmFunc) Option {
	return optionFunc(func(cfg *config) error {
		if f == nil {
			return invalid("WithConfirm", "nil", "a non-nil ConfirmFunc")
		}
		cfg.confirm = f
		return nil
	})
}

// WithPlannedSteps sets the hybrid percentages a planned rollback steps
// down through, strictly decreasing, each in (0, 100). Everything goes to
// legacy after the last. Default 75, 50, 25.
func WithPlannedSteps(pcts ...float64) Option {
	return optionFunc(func(cfg *config) error {
		for i, p := range pcts {
			if !(p > 0 && p < 100) || (i > 0 && p >= pcts[i-1]) {
				return invalid("WithPlannedSteps", pcts, "strictly decreasing percentages in (0, 100)")
			}
		}
		cfg.plannedSteps = append([]float64(nil), pcts...)
		return nil
	})
}

// WithVerifyAfter sets how long after a rollback, and after each planned
// stage, it is verified (positive). Default 2 min.
func WithVerifyAfter(d time.Duration) Option {
	return optionFunc(func(cfg *config) error {
		if d <= 0 {
			return invalid("WithVerifyAfter", d, "> 0")
		}
		cfg.verifyAfter = d
		return nil
	})
}

// WithCriteria sets the verification criteria. Default DefaultCriteria().
func WithCriteria(c Criteria) Option {
	return optionFunc(func(cfg *config) error {
		switch {
		case !(c.MaxErrorRate >= 0 && c.MaxErrorRate <= 1):
			return invalid("WithCriteria.MaxErrorRate", c.MaxErrorRate, "[0, 1]")
		case !(c.MaxLatencyRatio > 0) || math.IsInf(c.MaxLatencyRatio, 0):
			return invalid("WithCriteria.MaxLatencyRatio", c.MaxLatencyRatio, "a finite value > 0")
		case c.MaxLatency < 0:
			return invalid("WithCriteria.MaxLatency", c.MaxLatency, ">= 0")
		case !(c.MinHealth >= 0 && c.MinHealth <= 100):
			return invalid("WithCriteria.MinHealth", c.MinHealth, "[0, 100]")
		}
		cfg.criteria = c
		return nil
	})
}

// WithTriggerWindow sets the trailing window error rates and latencies are
// measured over (positive). Default 1 min.
func WithTriggerWindow(d time.Duration) Option {
	return optionFunc(func(cfg *config) error {
		if d <= 0 {
			return invalid("WithTriggerWindow", d, "> 0")
		}
		cfg.triggerWindow = d
		return nil
	})
}

// WithMinVolume sets the intelligent calls the trigger window must hold
// before the error rate and latency triggers count (at least 1). Default
// 10.
func WithMinVolume(n int) Option {
	return optionFunc(func(cfg *config) error {
		if n < 1 {
			return invalid("WithMinVolume", n, ">= 1")
		}
		cfg.minVolume = uint64(n)
		return nil
	})
}

// WithMaxLookback sets how far back the error-rate and response-time
// triggers look when their window holds fewer than WithMinVolume
// intelligent calls: the window is widened, reading by reading, until it
// holds them or reaches this far back; only then is there "no data". At
// least the trigger window: a shorter d counts as the trigger window (no
// lookback). Default 15 min.
func WithMaxLookback(d time.Duration) Option {
	return optionFunc(func(cfg *config) error {
		if d <= 0 {
			return invalid("WithMaxLookback", d, "> 0 (and at least the trigger window)")
		}
		cfg.lookback = d
		return nil
	})
}

// WithMaxLatency sets the response-time trigger's absolute limit, used
// instead of the latency ratio while the legacy baseline is below
// migrate.MinLatencyBaseline: the trigger then holds when the intelligent
// mean is above d (positive). Default 5 s.
func WithMaxLatency(d time.Duration) Option {
	return optionFunc(func(cfg *config) error {
		if d <= 0 {
			return invalid("WithMaxLatency", d, "> 0")
		}
		cfg.maxLatency = d
		return nil
	})
}

// WithInterval sets how often Run checks (at least 1 ms). Default 10 s.
func WithInterval(d time.Duration) Option {
	return optionFunc(func(cfg *config) error {
		if d < minInterval {
			return invalid("WithInterval", d, fmt.Sprintf(">= %v", minInterval))
		}
		cfg.interval = d
		return nil
	})
}

// WithMaxRecords sets how many records are kept (the newest), in
// [1, 1048576]. Default 1000.
func WithMaxRecords(n int) Option {
	return optionFunc(func(cfg *config) error {
		if n < 1 || n > maxMaxRecords {
			return invalid("WithMaxRecords", n, fmt.Sprintf("[1, %d]", maxMaxRecords))
		}
		cfg.maxRecords = n
		return nil
	})
}

// WithListener adds a function called with every Event, after the record
// was saved, without the manager's lock held, on the goroutine that made
// the change. It must be fast; it may call the manager. A panic in it is
// recovered and logged. The monitor's "rollback triggered" alert hooks in
// here.
func WithListener(f func(Event)) Option {
	return optionFunc(func(cfg *config) error {
		if f == nil {
			return invalid("WithListener", "nil", "a non-nil func(Event)")
		}
		cfg.listeners = append(cfg.listeners, f)
		return nil
	})
}
