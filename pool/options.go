package pool

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/benbjohnson/clock"
)

// Option configures a Pool. Options are applied in order by New, which then
// validates the result as a whole.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// Adaptive bounds of the warm threshold (the seed's "auto-adjusts 0.2-0.6").
const (
	MinAdaptiveThreshold = 0.2
	MaxAdaptiveThreshold = 0.6
)

// config holds every setting; defaultConfig is the one place defaults live.
type config struct {
	clock              clock.Clock
	logger             *slog.Logger
	maxSpecialists     int
	maxWarm            int // 0: 20 % of the specialists, at least 1
	memoryBudget       int64
	cooldown           time.Duration
	warmThreshold      float64
	usageDecay         float64
	predictionWindow   int
	priorityWeighting  bool
	departmentBalance  bool
	workflowOptimizing bool
	adaptiveScaling    bool
	maxQueue           int
	warmingConcurrency int
	batchSize          int
	maintenance        time.Duration
	prewarmMinProb     float64
	workflows          []Workflow
	predictor          Predictor
	warmer             Warmer
	balancer           Balancer
	observer           func(Event)
	restore            io.Reader
	err                error // first error met while applying options
}

func defaultConfig() config {
	return config{
		clock:              clock.New(),
		logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		cooldown:           45 * time.Second,
		warmThreshold:      0.3,
		usageDecay:         0.02,
		predictionWindow:   15,
		priorityWeighting:  true,
		departmentBalance:  true,
		workflowOptimizing: true,
		adaptiveScaling:    true,
		maxQueue:           1024,
		warmingConcurrency: 3,
		batchSize:          5,
		maintenance:        5 * time.Second,
		prewarmMinProb:     0.3,
	}
}

// WithClock sets the clock every timing decision reads (default: the real
// clock). Tests pass clock.NewMock().
func WithClock(c clock.Clock) Option {
	return optionFunc(func(cfg *config) {
		if c == nil {
			cfg.fail(fmt.Errorf("pool: WithClock(nil): want a clock: %w", ErrInvalidConfig))
			return
		}
		cfg.clock = c
	})
}

// WithLogger sets the logger (default: discard). Adaptive adjustments, start
// failures, evictions and workflow detections are logged.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(cfg *config) {
		if l == nil {
			cfg.fail(fmt.Errorf("pool: WithLogger(nil): want a logger: %w", ErrInvalidConfig))
			return
		}
		cfg.logger = l
	})
}

// WithMaxSpecialists caps the number of specs New accepts (seed:
// maxSpecialists, env BUMBA_POOL_MAX_SPECIALISTS). Default 0: no cap.
func WithMaxSpecialists(n int) Option {
	return optionFunc(func(cfg *config) { cfg.maxSpecialists = n })
}

// WithMaxWarm is the hard cap on warm (and warming) specialists (seed:
// maxWarmSpecialists, env BUMBA_POOL_MAX_WARM). Allowed: 1 to the number of
// specialists. Default: 20 % of the specialists rounded up (17 of 83).
func WithMaxWarm(n int) Option {
	return optionFunc(func(cfg *config) {
		if n < 1 {
			cfg.fail(fmt.Errorf("pool: max warm %d: allowed 1 to the number of specialists: %w", n, ErrInvalidConfig))
			return
		}
		cfg.maxWarm = n
	})
}

// WithMemoryBudget caps the bytes held by warm specialists (env
// BUMBA_POOL_MEMORY_BUDGET). Default 0: no budget, only the warm cap.
func WithMemoryBudget(bytes int64) Option {
	return optionFunc(func(cfg *config) { cfg.memoryBudget = bytes })
}

// WithCooldown is how long a specialist may stay idle before it is cooled,
// unless its usage score is at or above the warm threshold or the Predictor
// expects it (seed: cooldownTime, env BUMBA_POOL_COOLDOWN). Default 45 s.
func WithCooldown(d time.Duration) Option {
	return optionFunc(func(cfg *config) { cfg.cooldown = d })
}

// WithWarmThreshold is the usage score (0–1) at or above which an idle
// specialist stays warm past its cooldown (seed: warmThreshold, env
// BUMBA_POOL_WARMTHRESHOLD). Default 0.3. Allowed 0–1, and 0.2–0.6 when
// adaptive scaling is on.
func WithWarmThreshold(x float64) Option {
	return optionFunc(func(cfg *config) { cfg.warmThreshold = x })
}

// WithUsageDecay is the usage score's exponential decay rate per second
// (seed: usageDecayRate, env BUMBA_POOL_USAGE_DECAY): a use counts
// e^(-rate·seconds since it) — half after ln 2 / rate seconds, 35 s at the
// default 0.02. Allowed 0–1.
func WithUsageDecay(rate float64) Option {
	return optionFunc(func(cfg *config) { cfg.usageDecay = rate })
}

// WithPredictionWindow is how many recent tasks the default Predictor looks
// back over (seed: predictionWindow, env BUMBA_POOL_PREDICTION_WINDOW).
// Default 15; allowed 2–1000.
func WithPredictionWindow(n int) Option {
	return optionFunc(func(cfg *config) { cfg.predictionWindow = n })
}

// WithPriorityWeighting weights each use by its priority — high 1.0, medium
// 0.6, low 0.3 (seed: priorityWeighting, env BUMBA_POOL_PRIORITY_WEIGHTING).
// Default true; off, every use weighs 1.
func WithPriorityWeighting(on bool) Option {
	return optionFunc(func(cfg *config) { cfg.priorityWeighting = on })
}

// WithDepartmentBalance keeps departments from starving one another: the
// default Balancer does not evict the last warm specialist of a department
// that had work within the cooldown while another victim exists (seed:
// departmentBalance, env BUMBA_POOL_DEPARTMENT_BALANCE). Default true.
func WithDepartmentBalance(on bool) Option {
	return optionFunc(func(cfg *config) { cfg.departmentBalance = on })
}

// WithWorkflowOptimization turns workflow detection in the default Predictor
// on or off (seed: workflowOptimization, env
// BUMBA_POOL_WORKFLOW_OPTIMIZATION). Default true.
func WithWorkflowOptimization(on bool) Option {
	return optionFunc(func(cfg *config) { cfg.workflowOptimizing = on })
}

// WithAdaptiveScaling lets the warm threshold tune itself inside [0.2, 0.6]
// from memory pressure and hit rate (seed: adaptiveScaling, env
// BUMBA_POOL_ADAPTIVE_SCALING). Default true.
func WithAdaptiveScaling(on bool) Option {
	return optionFunc(func(cfg *config) { cfg.adaptiveScaling = on })
}

// WithMaxQueue bounds the tasks waiting for a specialist to start; beyond it
// Execute returns ErrQueueFull (env BUMBA_POOL_MAX_QUEUE). Default 1024;
// allowed ≥ 1.
func WithMaxQueue(n int) Option {
	return optionFunc(func(cfg *config) { cfg.maxQueue = n })
}

// WithWarmingConcurrency bounds the starts running at once (seed:
// warmingConcurrency, env BUMBA_POOL_WARMING_CONCURRENCY). Default 3;
// allowed 1–1000. It configures the default Warmer.
func WithWarmingConcurrency(n int) Option {
	return optionFunc(func(cfg *config) { cfg.warmingConcurrency = n })
}

// WithBatchSize bounds how many predicted specialists are pre-warmed in one
// batch (seed: batchSize, env BUMBA_POOL_BATCH_SIZE). Default 5; allowed
// 1–1000.
func WithBatchSize(n int) Option {
	return optionFunc(func(cfg *config) { cfg.batchSize = n })
}

// WithMaintenanceInterval is how often idle specialists are checked for
// cooling and the threshold adapted, on the pool's clock. Default 5 s;
// allowed 10 ms–1 h.
func WithMaintenanceInterval(d time.Duration) Option {
	return optionFunc(func(cfg *config) { cfg.maintenance = d })
}

// WithPrewarmProbability is the least predicted probability worth a
// pre-warm. Default 0.3; allowed 0–1.
func WithPrewarmProbability(p float64) Option {
	return optionFunc(func(cfg *config) { cfg.prewarmMinProb = p })
}

// WithWorkflows declares workflows the default Predictor knows from the
// start, in addition to those it learns.
func WithWorkflows(w ...Workflow) Option {
	return optionFunc(func(cfg *config) { cfg.workflows = append(cfg.workflows, w...) })
}

// WithPredictor replaces the default Predictor.
func WithPredictor(p Predictor) Option {
	return optionFunc(func(cfg *config) {
		if p == nil {
			cfg.fail(fmt.Errorf("pool: WithPredictor(nil): want a predictor: %w", ErrInvalidConfig))
			return
		}
		cfg.predictor = p
	})
}

// WithWarmer replaces the default Warmer.
func WithWarmer(w Warmer) Option {
	return optionFunc(func(cfg *config) {
		if w == nil {
			cfg.fail(fmt.Errorf("pool: WithWarmer(nil): want a warmer: %w", ErrInvalidConfig))
			return
		}
		cfg.warmer = w
	})
}

// WithBalancer replaces the default Balancer.
func WithBalancer(b Balancer) Option {
	return optionFunc(func(cfg *config) {
		if b == nil {
			cfg.fail(fmt.Errorf("pool: WithBalancer(nil): want a balancer: %w", ErrInvalidConfig))
			return
		}
		cfg.balancer = b
	})
}

// WithObserver registers a function called with every pool event (starts,
// evictions, coolings, pre-warms, workflow detections, threshold
// adjustments). It is called synchronously, outside the pool's locks, so it
// must be quick; it may call Stats or Specialists.
func WithObserver(f func(Event)) Option {
	return optionFunc(func(cfg *config) {
		if f == nil {
			cfg.fail(fmt.Errorf("pool: WithObserver(nil): want a function: %w", ErrInvalidConfig))
			return
		}
		prev := cfg.observer
		if prev == nil {
			cfg.observer = f
			return
		}
		cfg.observer = func(e Event) { prev(e); f(e) }
	})
}

func (c *config) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

func invalid(setting string, value any, allowed string) error {
	return fmt.Errorf("pool: %s %v: allowed %s: %w", setting, value, allowed, ErrInvalidConfig)
}

// validate checks the settings against n specialists whose largest needs
// maxMem bytes.
func (c *config) validate(n int, maxMem int64) error {
	if c.err != nil {
		return c.err
	}
	switch {
	case c.maxSpecialists < 0:
		return invalid("max specialists", c.maxSpecialists, "≥ 0 (0: no cap)")
	case c.maxSpecialists > 0 && n > c.maxSpecialists:
		return invalid("specialist count", n, fmt.Sprintf("at most max specialists (%d)", c.maxSpecialists))
	case c.maxWarm > n:
		return invalid("max warm", c.maxWarm, fmt.Sprintf("1 to the number of specialists (%d)", n))
	case c.memoryBudget < 0:
		return invalid("memory budget", c.memoryBudget, "≥ 0 bytes (0: none)")
	case c.memoryBudget > 0 && c.memoryBudget < maxMem:
		return invalid("memory budget", c.memoryBudget, fmt.Sprintf("≥ the largest specialist's memory (%d bytes)", maxMem))
	case c.cooldown < 0:
		return invalid("cooldown", c.cooldown, "≥ 0")
	case c.warmThreshold < 0 || c.warmThreshold > 1 || c.warmThreshold != c.warmThreshold:
		return invalid("warm threshold", c.warmThreshold, "0–1")
	case c.adaptiveScaling && (c.warmThreshold < MinAdaptiveThreshold || c.warmThreshold > MaxAdaptiveThreshold):
		return invalid("warm threshold", c.warmThreshold, "0.2–0.6 with adaptive scaling")
	case c.usageDecay < 0 || c.usageDecay > 1 || c.usageDecay != c.usageDecay:
		return invalid("usage decay", c.usageDecay, "0–1 per second")
	case c.predictionWindow < 2 || c.predictionWindow > 1000:
		return invalid("prediction window", c.predictionWindow, "2–1000 tasks")
	case c.maxQueue < 1:
		return invalid("max queue", c.maxQueue, "≥ 1")
	case c.warmingConcurrency < 1 || c.warmingConcurrency > 1000:
		return invalid("warming concurrency", c.warmingConcurrency, "1–1000")
	case c.batchSize < 1 || c.batchSize > 1000:
		return invalid("batch size", c.batchSize, "1–1000")
	case c.maintenance < 10*time.Millisecond || c.maintenance > time.Hour:
		return invalid("maintenance interval", c.maintenance, "10ms–1h")
	case c.prewarmMinProb < 0 || c.prewarmMinProb > 1 || c.prewarmMinProb != c.prewarmMinProb:
		return invalid("prewarm probability", c.prewarmMinProb, "0–1")
	}
	return nil
}
