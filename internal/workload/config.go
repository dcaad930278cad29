package workload

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalidConfig wraps every error Generate and Config.Validate return
// for a bad setting.
var ErrInvalidConfig = errors.New("invalid workload configuration")

// Config shapes a generated workload. Start from DefaultConfig and change
// what a test needs; the zero Config is not valid.
type Config struct {
	// Seed makes the workload reproducible: the same catalogue, Config and
	// Seed give the same events. Default 1.
	Seed uint64

	// Tasks is the number of events (tasks) to generate, at least 1.
	// Default 2000.
	Tasks int

	// WorkflowShare is the fraction of tasks that are steps of workflow
	// instances, in [0, 1]; the rest are ad-hoc tasks. It is met on
	// average; near the end every open instance is completed, so that no
	// instance is cut short. Default 0.6.
	WorkflowShare float64

	// Concurrency is the largest number of workflow instances in flight at
	// once, interleaving their steps, at least 1 when WorkflowShare > 0.
	// Default 2.
	Concurrency int

	// MeanGap is the mean time between two tasks outside bursts and idle
	// gaps (gaps are exponentially distributed, as for independent
	// arrivals). Must be positive. Default 2 s.
	MeanGap time.Duration

	// StepGap is the least time between two consecutive steps of one
	// workflow instance: the previous step's work and hand-off. A step is
	// never issued sooner; when it is the only thing left to issue, the
	// workload waits for it. At least 0. Default 1 s.
	StepGap time.Duration

	// BurstProb is the probability, after each task, that a burst begins:
	// the next tasks arrive BurstGap apart on average instead of MeanGap.
	// In [0, 1]. Default 0.05.
	BurstProb float64

	// BurstSize is the largest number of tasks in one burst; each burst has
	// between 2 and BurstSize tasks, uniformly. At least 2 when
	// BurstProb > 0. Default 8.
	BurstSize int

	// BurstGap is the mean time between two tasks of a burst, at least 0.
	// Default 50 ms.
	BurstGap time.Duration

	// IdleProb is the probability, after each task outside a burst, of an
	// idle gap: a pause long enough for cooldowns to expire (workflow
	// instances in flight pause across it too). In [0, 1]. Default 0.01.
	IdleProb float64

	// IdleGap is the mean length of an idle gap; each is uniform in
	// [IdleGap/2, 3·IdleGap/2). Positive when IdleProb > 0. Default 3 min
	// (the pool's default cooldown is 45 s).
	IdleGap time.Duration

	// VariantRate is the probability that a workflow instance deviates from
	// its catalogue workflow: one step skipped, one step repeated, or an
	// extra ad-hoc step inserted (never before the first step), each
	// equally likely. In [0, 1]. Default 0.2.
	VariantRate float64

	// DepartmentOnlyShare is the fraction of ad-hoc tasks that name only a
	// department and leave the choice of specialist to the pool. Workflow
	// steps always name their specialist. In [0, 1]. Default 0.1.
	DepartmentOnlyShare float64

	// HotSetSkew is the exponent s of the Zipf-like popularity of
	// specialists for ad-hoc tasks: the specialist of rank r (in a
	// seed-dependent order) is drawn with weight 1/r^s. 0 is uniform;
	// larger values concentrate ad-hoc tasks on a small hot set. In
	// [0, 10]. Default 1.1.
	HotSetSkew float64

	// PriorityNoise is the probability that a task's priority is one level
	// off its specialist's (medium moves up or down, high and low move to
	// medium). In [0, 1]. Default 0.1.
	PriorityNoise float64
}

// DefaultConfig returns the default settings documented on Config.
func DefaultConfig() Config {
	return Config{
		Seed:                1,
		Tasks:               2000,
		WorkflowShare:       0.6,
		Concurrency:         2,
		MeanGap:             2 * time.Second,
		StepGap:             time.Second,
		BurstProb:           0.05,
		BurstSize:           8,
		BurstGap:            50 * time.Millisecond,
		IdleProb:            0.01,
		IdleGap:             3 * time.Minute,
		VariantRate:         0.2,
		DepartmentOnlyShare: 0.1,
		HotSetSkew:          1.1,
		PriorityNoise:       0.1,
	}
}

// Validate reports the first setting out of range, naming it, its value
// and the range allowed.
func (c Config) Validate() error {
	bad := func(field string, value any, want string) error {
		return fmt.Errorf("workload: Config.%s = %v: want %s: %w", field, value, want, ErrInvalidConfig)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"WorkflowShare", c.WorkflowShare},
		{"BurstProb", c.BurstProb},
		{"IdleProb", c.IdleProb},
		{"VariantRate", c.VariantRate},
		{"DepartmentOnlyShare", c.DepartmentOnlyShare},
		{"PriorityNoise", c.PriorityNoise},
	} {
		if !(f.v >= 0 && f.v <= 1) { // also rejects NaN
			return bad(f.name, f.v, "a value in [0, 1]")
		}
	}
	switch {
	case c.Tasks < 1:
		return bad("Tasks", c.Tasks, "at least 1")
	case c.WorkflowShare > 0 && c.Concurrency < 1:
		return bad("Concurrency", c.Concurrency, "at least 1 when WorkflowShare > 0")
	case c.MeanGap <= 0:
		return bad("MeanGap", c.MeanGap, "a positive duration")
	case c.StepGap < 0:
		return bad("StepGap", c.StepGap, "a duration >= 0")
	case c.BurstProb > 0 && c.BurstSize < 2:
		return bad("BurstSize", c.BurstSize, "at least 2 when BurstProb > 0")
	case c.BurstGap < 0:
		return bad("BurstGap", c.BurstGap, "a duration >= 0")
	case c.IdleProb > 0 && c.IdleGap <= 0:
		return bad("IdleGap", c.IdleGap, "a positive duration when IdleProb > 0")
	case !(c.HotSetSkew >= 0 && c.HotSetSkew <= 10):
		return bad("HotSetSkew", c.HotSetSkew, "a value in [0, 10]")
	}
	return nil
}
