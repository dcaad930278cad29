package migrate

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/internal/jsonx"
	"github.com/bumba/pooling/internal/nilcheck"
)

// Defaults, in one place. Each setting has an Option, and DefaultPlan uses
// the gate thresholds and soak times below.
const (
	// The seed's success criteria (fractions; the latency ratio is a
	// factor).
	DefaultMinMemoryEfficiency = 0.70
	DefaultMaxErrorRate        = 0.02
	DefaultMaxLatencyRatio     = 2.5
	// DefaultMaxLatency is the gates' absolute latency limit while the
	// legacy baseline is below MinLatencyBaseline (the seed's 2 500 ms
	// "performance degradation").
	DefaultMaxLatency       = 2500 * time.Millisecond
	DefaultMinCompatibility = 1.0
	// DefaultMinCalls is the intelligent calls a gate's window must hold
	// before the error rate and latency ratio count.
	DefaultMinCalls = 100
	// DefaultMinCompared is the shadow comparisons a gate's window must
	// hold before compatibility counts.
	DefaultMinCompared = 100

	// Soak times of DefaultPlan (the seed's phase durations).
	DefaultPreparationSoak  = 10 * time.Minute
	DefaultShadowSoak       = 30 * time.Minute
	DefaultHybridSoak       = 30 * time.Minute
	DefaultFullSoak         = 30 * time.Minute
	DefaultOptimisationSoak = time.Hour
	DefaultVerificationSoak = 30 * time.Minute

	// DefaultInterval is how often Run evaluates (the seed's
	// metricsCollectionInterval).
	DefaultInterval = 30 * time.Second
	// DefaultHistoryLimit is how many decisions and tuning changes are kept
	// (the newest).
	DefaultHistoryLimit = 1000

	// Optimisation (the seed's optimize-system and troubleshooting rules).
	DefaultTuneInterval      = 10 * time.Minute
	DefaultThresholdMin      = 0.2
	DefaultThresholdMax      = 0.6
	DefaultThresholdStep     = 0.05
	DefaultMaxWarmSpread     = 3 // max warm tuned within its starting value ± 3 (17 → 14…20)
	DefaultMaxWarmStep       = 1
	DefaultTargetEfficiency  = 0.75
	DefaultTargetHitRate     = 0.80
	DefaultTuneMinTasks      = 50
	minInterval              = time.Millisecond
	maxHistoryLimit          = 1 << 20
	maxTuneThresholdRangeTop = 1.0
)

// Tuning bounds the optimisation phase (see Tuner). The zero MaxWarmMin and
// MaxWarmMax mean "the pool's max warm when tuning starts, ± 3".
type Tuning struct {
	// Interval is the soak time between two tuning rounds.
	Interval time.Duration `json:"intervalMs"`
	// ThresholdMin, ThresholdMax bound the warm threshold; ThresholdStep
	// is one move.
	ThresholdMin  float64 `json:"thresholdMin"`
	ThresholdMax  float64 `json:"thresholdMax"`
	ThresholdStep float64 `json:"thresholdStep"`
	// MaxWarmMin, MaxWarmMax bound max warm; MaxWarmStep is one move.
	MaxWarmMin  int `json:"maxWarmMin"`
	MaxWarmMax  int `json:"maxWarmMax"`
	MaxWarmStep int `json:"maxWarmStep"`
	// TargetEfficiency: below it, memory is reclaimed (threshold up, max
	// warm down). TargetHitRate: below it, with memory to spare, more is
	// kept warm (max warm up, threshold down).
	TargetEfficiency float64 `json:"targetEfficiency"`
	TargetHitRate    float64 `json:"targetHitRate"`
	// MinTasks is the pool tasks a round needs to judge the hit rate.
	MinTasks uint64 `json:"minTasks"`
}

// MarshalJSON writes the interval in milliseconds in the module's JSON convention (internal/jsonx).
func (t Tuning) MarshalJSON() ([]byte, error) { return jsonx.Marshal(t) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form).
func (t *Tuning) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, t) }

// DefaultTuning returns the default optimisation bounds.
func DefaultTuning() Tuning {
	return Tuning{
		Interval:     DefaultTuneInterval,
		ThresholdMin: DefaultThresholdMin, ThresholdMax: DefaultThresholdMax, ThresholdStep: DefaultThresholdStep,
		MaxWarmStep:      DefaultMaxWarmStep,
		TargetEfficiency: DefaultTargetEfficiency, TargetHitRate: DefaultTargetHitRate,
		MinTasks: DefaultTuneMinTasks,
	}
}

func (t Tuning) validate() error {
	frac := func(x float64) bool { return x >= 0 && x <= 1 }
	switch {
	case t.Interval <= 0:
		return invalid("WithTuning", "Interval", t.Interval, "> 0")
	case !frac(t.ThresholdMin) || !frac(t.ThresholdMax) || t.ThresholdMin > t.ThresholdMax:
		return invalid("WithTuning", "ThresholdMin/ThresholdMax", fmt.Sprintf("%v/%v", t.ThresholdMin, t.ThresholdMax), "0 <= min <= max <= 1")
	case !(t.ThresholdStep > 0 && t.ThresholdStep <= maxTuneThresholdRangeTop):
		return invalid("WithTuning", "ThresholdStep", t.ThresholdStep, "(0, 1]")
	case t.MaxWarmMin < 0 || t.MaxWarmMax < 0 || (t.MaxWarmMax > 0 && t.MaxWarmMin > t.MaxWarmMax):
		return invalid("WithTuning", "MaxWarmMin/MaxWarmMax", fmt.Sprintf("%d/%d", t.MaxWarmMin, t.MaxWarmMax), "0 (derived) or 1 <= min <= max")
	case (t.MaxWarmMin == 0) != (t.MaxWarmMax == 0):
		return invalid("WithTuning", "MaxWarmMin/MaxWarmMax", fmt.Sprintf("%d/%d", t.MaxWarmMin, t.MaxWarmMax), "both 0 (derived) or both set")
	case t.MaxWarmStep < 1:
		return invalid("WithTuning", "MaxWarmStep", t.MaxWarmStep, ">= 1")
	case !frac(t.TargetEfficiency):
		return invalid("WithTuning", "TargetEfficiency", t.TargetEfficiency, "[0, 1]")
	case !frac(t.TargetHitRate):
		return invalid("WithTuning", "TargetHitRate", t.TargetHitRate, "[0, 1]")
	}
	return nil
}

// config is what the options set.
type config struct {
	clock        clock.Clock
	logger       *slog.Logger
	plan         Plan
	store        Store
	guard        Guard
	tuner        Tuner
	tuning       Tuning
	interval     time.Duration
	historyLimit int
	startStep    string
	listeners    []func(Decision)
}

// defaultConfig returns every default.
func defaultConfig() config {
	return config{
		clock:        clock.New(),
		logger:       slog.New(slog.DiscardHandler),
		plan:         DefaultPlan(),
		tuning:       DefaultTuning(),
		interval:     DefaultInterval,
		historyLimit: DefaultHistoryLimit,
	}
}

// An Option configures a Controller. A bad value makes New return an error
// that wraps ErrInvalidConfig and names the option, the value and the
// allowed range.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

func invalid(name, field string, value any, allowed string) error {
	if field != "" {
		name += "." + field
	}
	return fmt.Errorf("%w: %s(%v): want %s", ErrInvalidConfig, name, value, allowed)
}

// WithClock sets the clock soak times, decisions and Run's ticks are read
// from. Default: the real clock. Tests pass clock.NewMock().
func WithClock(c clock.Clock) Option {
	return optionFunc(func(cfg *config) error {
		if nilcheck.Is(c) {
			return invalid("WithClock", "", c, "a non-nil clock.Clock")
		}
		cfg.clock = c
		return nil
	})
}

// WithLogger sets the logger. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(cfg *config) error {
		if l == nil {
			return invalid("WithLogger", "", l, "a non-nil *slog.Logger")
		}
		cfg.logger = l
		return nil
	})
}

// WithPlan sets the plan (validated with Plan.Validate). Default
// DefaultPlan().
func WithPlan(p Plan) Option {
	return optionFunc(func(cfg *config) error {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("%w: WithPlan: %w", ErrInvalidConfig, err)
		}
		cfg.plan = p
		return nil
	})
}

// WithStore sets where the rollout's state is kept (section
// SectionRollout). Default: a MemoryStore, which does not survive a
// restart; use OpenFileStore for durability, and hand the same Store to
// the rollback manager.
func WithStore(s Store) Option {
	return optionFunc(func(cfg *config) error {
		if nilcheck.Is(s) {
			return invalid("WithStore", "", s, "a non-nil Store")
		}
		cfg.store = s
		return nil
	})
}

// WithGuard sets the rollback side (a *rollback.Manager): Step calls
// its Check first, and a new rollback stops the rollout. Default: none;
// the controller then notices a rollback only by the routing it finds.
func WithGuard(g Guard) Option {
	return optionFunc(func(cfg *config) error {
		if nilcheck.Is(g) {
			return invalid("WithGuard", "", g, "a non-nil Guard")
		}
		cfg.guard = g
		return nil
	})
}

// WithTuner sets what the optimisation phase tunes (the pool: *pool.Pool
// is a Tuner). Default: none; steps with Tune then only soak, and the
// controller warns: at New and on entering such a step (log at warn level),
// and in Status().Warnings while it runs.
func WithTuner(t Tuner) Option {
	return optionFunc(func(cfg *config) error {
		if nilcheck.Is(t) {
			return invalid("WithTuner", "", t, "a non-nil Tuner")
		}
		cfg.tuner = t
		return nil
	})
}

// WithTuning sets the optimisation bounds. Default DefaultTuning().
func WithTuning(t Tuning) Option {
	return optionFunc(func(cfg *config) error {
		if err := t.validate(); err != nil {
			return err
		}
		cfg.tuning = t
		return nil
	})
}

// WithInterval sets how often Run evaluates, at least 1 ms. Default 30 s.
func WithInterval(d time.Duration) Option {
	return optionFunc(func(cfg *config) error {
		if d < minInterval {
			return invalid("WithInterval", "", d, fmt.Sprintf(">= %v", minInterval))
		}
		cfg.interval = d
		return nil
	})
}

// WithHistoryLimit sets how many decisions and tuning changes are kept,
// in [1, 1048576]. Default 1000.
func WithHistoryLimit(n int) Option {
	return optionFunc(func(cfg *config) error {
		if n < 1 || n > maxHistoryLimit {
			return invalid("WithHistoryLimit", "", n, fmt.Sprintf("[1, %d]", maxHistoryLimit))
		}
		cfg.historyLimit = n
		return nil
	})
}

// WithStartStep names the step a rollout without saved state starts at.
// Default: the plan's first step. Saved state always wins.
func WithStartStep(name string) Option {
	return optionFunc(func(cfg *config) error {
		if strings.TrimSpace(name) == "" {
			return invalid("WithStartStep", "", fmt.Sprintf("%q", name), "a step name of the plan")
		}
		cfg.startStep = name
		return nil
	})
}

// WithListener adds a function called with every recorded decision, after
// it was saved, on the goroutine that made it, without the controller's
// lock held. It must be fast; it may call the controller. A panic in it is
// recovered and logged.
func WithListener(f func(Decision)) Option {
	return optionFunc(func(cfg *config) error {
		if f == nil {
			return invalid("WithListener", "", "nil", "a non-nil func(Decision)")
		}
		cfg.listeners = append(cfg.listeners, f)
		return nil
	})
}
