package sim

import (
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/internal/catalog"
)

// Option configures a Framework.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is everything New can be told; defaultConfig holds every default.
type config struct {
	clock            clock.Clock
	startLatency     time.Duration
	taskLatency      time.Duration
	memory           int64
	specialistMemory map[string]int64
	specialistStart  map[string]time.Duration
	startHook        func(id string)
	executeHook      func(id string)
}

// defaultConfig is the one place defaults live: the catalogue's reference
// costs (1 s cold start, 100 ms per task, 5 MB per warm specialist) on the
// real clock.
func defaultConfig(cat *catalog.Catalog) config {
	return config{
		clock:        clock.New(),
		startLatency: cat.Costs.ColdStart,
		taskLatency:  cat.Costs.Task,
		memory:       cat.Costs.WarmMemoryBytes,
	}
}

// WithClock sets the clock every latency is waited on. Tests pass a
// *clock.Mock and advance it; the default is the real clock.
func WithClock(c clock.Clock) Option {
	return optionFunc(func(cfg *config) { cfg.clock = c })
}

// WithStartLatency sets how long starting any specialist takes (default:
// the catalogue's cold start, 1 s). Zero starts at once, without a timer.
func WithStartLatency(d time.Duration) Option {
	return optionFunc(func(cfg *config) { cfg.startLatency = d })
}

// WithSpecialistStartLatency overrides the start latency of one specialist.
func WithSpecialistStartLatency(id string, d time.Duration) Option {
	return optionFunc(func(cfg *config) {
		if cfg.specialistStart == nil {
			cfg.specialistStart = make(map[string]time.Duration)
		}
		cfg.specialistStart[id] = d
	})
}

// WithTaskLatency sets how long Execute takes (default: the catalogue's
// task time, 100 ms). Zero returns at once, without a timer or allocation,
// which is what benchmarks of the pool's own overhead want.
func WithTaskLatency(d time.Duration) Option {
	return optionFunc(func(cfg *config) { cfg.taskLatency = d })
}

// WithMemory sets how many bytes every started instance really allocates
// (default: the catalogue's warm size, 5 MiB). Zero allocates nothing.
func WithMemory(bytes int64) Option {
	return optionFunc(func(cfg *config) { cfg.memory = bytes })
}

// WithSpecialistMemory overrides the memory of one specialist.
func WithSpecialistMemory(id string, bytes int64) Option {
	return optionFunc(func(cfg *config) {
		if cfg.specialistMemory == nil {
			cfg.specialistMemory = make(map[string]int64)
		}
		cfg.specialistMemory[id] = bytes
	})
}

// WithStartHook registers a function called with the specialist's ID by
// every start that arms its latency timer, once the timer is armed and
// before the start blocks (a start with zero latency arms none and calls
// nothing). Drivers of a mock clock use it to learn what to advance to. It
// runs on the starting goroutine and must not block for long; a panic in it
// is recovered and counted (Fleet().Counts().HookPanics).
func WithStartHook(f func(id string)) Option {
	return optionFunc(func(cfg *config) { cfg.startHook = f })
}

// WithExecuteHook is WithStartHook for Execute: called with the instance's
// specialist ID once the task timer is armed (never with zero task
// latency). Executions are counted by the fleet (Fleet().Counts().Calls).
func WithExecuteHook(f func(id string)) Option {
	return optionFunc(func(cfg *config) { cfg.executeHook = f })
}
