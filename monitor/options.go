package monitor

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/internal/nilcheck"
)

// Errors returned by the monitor; compare with errors.Is.
var (
	// ErrInvalidConfig wraps every error New, a rule check and
	// LogLevelFromEnv return for a bad setting: the message names the
	// setting, the value and the allowed range.
	ErrInvalidConfig = errors.New("invalid configuration")
	// ErrUnknownMetric is returned by Query for a name that is not one of
	// Metrics(); rules naming one are rejected with ErrInvalidConfig.
	ErrUnknownMetric = errors.New("unknown metric")
	// ErrRunning is returned by Run while another Run is in progress.
	ErrRunning = errors.New("monitor already running")
)

// Defaults, in one place. Each has an Option to change it.
const (
	// DefaultInterval is how often Run collects a sample (the seed's
	// metricsCollectionInterval, 30 000 ms).
	DefaultInterval = 30 * time.Second
	// DefaultRetention is how long samples are kept (the seed's
	// metricsRetentionDays, 30).
	DefaultRetention = 30 * 24 * time.Hour
	// DefaultCostPerMBMonth is the price of one MB of resident memory for a
	// month, in dollars (the seed's $0.50/MB/month).
	DefaultCostPerMBMonth = 0.50
	// DefaultHealthWindow is the span over which the health figures that
	// are rates (error rate, response time, warm hit rate) are measured.
	DefaultHealthWindow = 5 * time.Minute
	// DefaultAlertHistory is how many resolved alerts AlertHistory keeps.
	DefaultAlertHistory = 1000
	// DefaultRollbackHistory is how many rollbacks Rollbacks keeps.
	DefaultRollbackHistory = 100

	// Allowed ranges.
	MinInterval     = time.Second
	MaxInterval     = time.Hour
	MaxRetention    = 400 * 24 * time.Hour
	maxAlertHistory = 1 << 20
)

// Option configures a Monitor. Options are applied in order by New, which
// then validates the result as a whole.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config holds every setting; defaultConfig is the one place defaults live.
type config struct {
	pool         PoolSource
	bridge       BridgeSource
	clock        clock.Clock
	logger       *slog.Logger
	interval     time.Duration
	retention    time.Duration
	rules        []Rule
	noDefaults   bool
	costPerMB    float64
	listeners    []func(Alert)
	weights      HealthWeights
	healthWindow time.Duration
	memoryLimit  int64
	alertHistory int
	restore      io.Reader // WithRestore
	err          error     // first error met while applying options
}

func defaultConfig() config {
	return config{
		clock:        clock.New(),
		logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		interval:     DefaultInterval,
		retention:    DefaultRetention,
		costPerMB:    DefaultCostPerMBMonth,
		weights:      DefaultHealthWeights(),
		healthWindow: DefaultHealthWindow,
		alertHistory: DefaultAlertHistory,
	}
}

func (c *config) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

func invalid(setting string, value any, allowed string) error {
	return fmt.Errorf("monitor: %s %v: allowed %s: %w", setting, value, allowed, ErrInvalidConfig)
}

// WithPool samples the pool's Stats every interval: specialists, memory,
// queue depth, warm hits, pre-warms, workflow detections, threshold
// adjustments. At least one of WithPool and WithBridge is required.
func WithPool(p PoolSource) Option {
	return optionFunc(func(c *config) {
		if nilcheck.Is(p) {
			c.fail(invalid("WithPool", "nil", "a pool source (*pool.Pool)"))
			return
		}
		c.pool = p
	})
}

// WithBridge samples the bridge's Stats every interval: calls, errors and
// latency per path, fallbacks, automatic fallbacks, shadow comparisons.
func WithBridge(b BridgeSource) Option {
	return optionFunc(func(c *config) {
		if nilcheck.Is(b) {
			c.fail(invalid("WithBridge", "nil", "a bridge source (*bridge.Bridge)"))
			return
		}
		c.bridge = b
	})
}

// WithClock sets the clock every timestamp and the collection ticker come
// from (default: the real clock). Tests pass clock.NewMock().
func WithClock(clk clock.Clock) Option {
	return optionFunc(func(c *config) {
		if clk == nil {
			c.fail(invalid("WithClock", "nil", "a clock.Clock"))
			return
		}
		c.clock = clk
	})
}

// WithLogger sets the logger (default: discard). Alerts are logged with
// "ALERT" in the message, rollbacks with "ROLLBACK", intelligent-path
// failures with "ERROR", adaptive adjustments with "Adaptive", and every
// sample as "Memory: … Response: … Warm: …", so the seed's grep habits
// work. Set its level from BUMBA_LOG_LEVEL with LogLevelFromEnv.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l == nil {
			c.fail(invalid("WithLogger", "nil", "a *slog.Logger"))
			return
		}
		c.logger = l
	})
}

// WithInterval sets how often Run collects a sample (default 30 s).
// Allowed: 1 s to 1 h.
func WithInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < MinInterval || d > MaxInterval {
			c.fail(invalid("interval", d, fmt.Sprintf("%v to %v", MinInterval, MaxInterval)))
			return
		}
		c.interval = d
	})
}

// WithRetention sets how long samples are kept (default 30 days), at
// decreasing resolution (see the package documentation). Allowed: the
// interval to 400 days.
func WithRetention(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 || d > MaxRetention {
			c.fail(invalid("retention", d, fmt.Sprintf("the interval to %v", MaxRetention)))
			return
		}
		c.retention = d
	})
}

// WithRules adds alert rules to the defaults (or to none, with
// WithoutDefaultRules). New checks each one (see Rule.Validate) and rejects
// two rules with the same name.
func WithRules(rules ...Rule) Option {
	return optionFunc(func(c *config) { c.rules = append(c.rules, rules...) })
}

// WithRule adds one alert rule; see WithRules.
func WithRule(r Rule) Option { return WithRules(r) }

// WithoutDefaultRules drops the seed's alert table (DefaultRules): only the
// rules given with WithRules are evaluated.
func WithoutDefaultRules() Option {
	return optionFunc(func(c *config) { c.noDefaults = true })
}

// WithCostPerMBMonth sets the price of one MB (2^20 bytes) of resident
// memory for a month, in dollars, that reports turn saved memory into an
// annual saving with (default $0.50). Allowed: ≥ 0.
func WithCostPerMBMonth(usd float64) Option {
	return optionFunc(func(c *config) {
		if !(usd >= 0) || math.IsInf(usd, 0) {
			c.fail(invalid("cost per MB-month", usd, "a finite number ≥ 0 (dollars)"))
			return
		}
		c.costPerMB = usd
	})
}

// WithListener adds a function called with every alert that starts firing
// and every alert that resolves (never twice for the same transition).
// Listeners are called one at a time, in the order of the transitions,
// without any lock of the monitor held, so they may call the monitor
// (Alerts, Health, RecordRollback …). A listener that panics is recovered,
// logged and counted; the others are still called and collection goes on.
// AddListener adds one at run time.
func WithListener(f func(Alert)) Option {
	return optionFunc(func(c *config) {
		if f == nil {
			c.fail(invalid("WithListener", "nil", "a function"))
			return
		}
		c.listeners = append(c.listeners, f)
	})
}

// WithHealthWeights replaces the weights of the health score's components
// (default DefaultHealthWeights). Allowed: each finite and ≥ 0, their sum
// > 0.
func WithHealthWeights(w HealthWeights) Option {
	return optionFunc(func(c *config) {
		if err := w.validate(); err != nil {
			c.fail(err)
			return
		}
		c.weights = w
	})
}

// WithHealthWindow sets the span over which the health figures that are
// rates are measured (default 5 min). Allowed: the interval to the
// retention.
func WithHealthWindow(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.fail(invalid("health window", d, "the interval to the retention"))
			return
		}
		c.healthWindow = d
	})
}

// WithMemoryLimit sets the bytes the pool's warm specialists may hold — the
// pool's memory budget (pool.WithMemoryBudget), which pool.Stats does not
// report. Memory usage is MemoryCurrent / limit. Default 0: no limit, and
// memory usage is MemoryCurrent / MemoryBaseline, the share of what the
// always-warm legacy system holds (absent while the baseline is 0).
// Allowed: ≥ 0.
func WithMemoryLimit(bytes int64) Option {
	return optionFunc(func(c *config) {
		if bytes < 0 {
			c.fail(invalid("memory limit", bytes, "≥ 0 bytes (0: none)"))
			return
		}
		c.memoryLimit = bytes
	})
}

// WithAlertHistory sets how many resolved alerts AlertHistory keeps (the
// newest; default 1000). Allowed: 1 to 1 048 576.
func WithAlertHistory(n int) Option {
	return optionFunc(func(c *config) {
		if n < 1 || n > maxAlertHistory {
			c.fail(invalid("alert history", n, fmt.Sprintf("1 to %d", maxAlertHistory)))
			return
		}
		c.alertHistory = n
	})
}

// validate checks the settings together.
func (c *config) validate() error {
	if c.err != nil {
		return c.err
	}
	if c.pool == nil && c.bridge == nil {
		return fmt.Errorf("monitor: no source: want WithPool, WithBridge or both: %w", ErrInvalidConfig)
	}
	if c.retention < c.interval {
		return invalid("retention", c.retention, fmt.Sprintf("≥ the interval (%v), at most %v", c.interval, MaxRetention))
	}
	if c.healthWindow < c.interval || c.healthWindow > c.retention {
		return invalid("health window", c.healthWindow, fmt.Sprintf("the interval (%v) to the retention (%v)", c.interval, c.retention))
	}
	return nil
}
