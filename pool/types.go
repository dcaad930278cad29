package pool

import (
	"context"
	"fmt"
	"time"
)

// Priority is the importance of a specialist or a task. The zero value means
// "unset": a task without a priority takes its specialist's.
type Priority uint8

// Priorities, lowest first.
const (
	PriorityUnset Priority = iota
	PriorityLow
	PriorityMedium
	PriorityHigh
)

// String returns "low", "medium", "high" or "unset".
func (p Priority) String() string {
	switch p {
	case PriorityLow:
		return "low"
	case PriorityMedium:
		return "medium"
	case PriorityHigh:
		return "high"
	case PriorityUnset:
		return "unset"
	}
	return fmt.Sprintf("Priority(%d)", uint8(p))
}

// ParsePriority reads "low", "medium" or "high" (as in the BUMBA catalogue).
func ParsePriority(s string) (Priority, error) {
	switch s {
	case "low":
		return PriorityLow, nil
	case "medium":
		return PriorityMedium, nil
	case "high":
		return PriorityHigh, nil
	}
	return PriorityUnset, fmt.Errorf("pool: priority %q: want low, medium or high: %w", s, ErrInvalidConfig)
}

// weight is the catalogue's priority weight (high 1.0, medium 0.6, low 0.3).
func (p Priority) weight() float64 {
	switch p {
	case PriorityHigh:
		return 1.0
	case PriorityLow:
		return 0.3
	}
	return 0.6
}

// Spec describes one specialist: who it is, what it costs while warm and how
// to start it.
type Spec struct {
	// ID names the specialist; unique and non-empty.
	ID string
	// Department groups specialists; a task may name only a department.
	Department string
	// Priority weights the specialist's usage score (PriorityUnset = medium).
	Priority Priority
	// Memory is the number of bytes an instance holds while warm. An
	// instance that implements Sizer reports its real size instead.
	Memory int64
	// ColdStart is the expected time Start takes. It prices a cold start
	// when the pool weighs keeping this specialist warm against another;
	// zero means the pool's measured average start time.
	ColdStart time.Duration
	// Start creates a warm instance. It must honour ctx.
	Start func(ctx context.Context) (Instance, error)
}

// Instance is a started specialist. Execute may be called concurrently;
// Close is called once, when the pool cools the instance, and never while an
// Execute is running.
type Instance interface {
	Execute(ctx context.Context, t Task) (Result, error)
	Close() error
}

// Sizer is implemented by instances that know how many bytes they hold. The
// pool's memory figures use it in preference to Spec.Memory.
type Sizer interface {
	MemoryBytes() int64
}

// Task is one unit of work. It names a specialist, or only a department and
// lets the Balancer choose.
type Task struct {
	Specialist string
	Department string
	// Command is the BUMBA command name (implement, analyze, design, …).
	Command  string
	Priority Priority
	Payload  any
}

// Result is what an instance returned, annotated by the pool.
type Result struct {
	// Output is the instance's answer.
	Output any
	// Specialist is the ID of the specialist that served the task.
	Specialist string
	// Warm reports that the specialist was warm when the task arrived.
	Warm bool
	// Waited is how long the task waited for the specialist to start.
	Waited time.Duration
}
