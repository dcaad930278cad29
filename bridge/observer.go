package bridge

import (
	"time"
)

// Kind tells what an Outcome reports.
type Kind uint8

// Kinds of outcome.
const (
	// KindServed reports a command whose answer was returned to the caller.
	KindServed Kind = iota + 1
	// KindShadow reports a shadow run: the intelligent executor's result,
	// compared with the legacy answer that was served. It is delivered
	// from the shadow run's goroutine, after (or before) the served outcome
	// of the same command.
	KindShadow
)

// String returns "served" or "shadow".
func (k Kind) String() string {
	switch k {
	case KindServed:
		return "served"
	case KindShadow:
		return "shadow"
	}
	return "Kind(?)"
}

// Verdict is what became of a command's shadow run.
type Verdict uint8

// Verdicts.
const (
	// VerdictNone: no shadow run is involved (modes other than Shadow).
	VerdictNone Verdict = iota
	// VerdictPending: a shadow run was started; its verdict comes in a
	// later KindShadow outcome. Only on KindServed outcomes.
	VerdictPending
	// VerdictSkipped: no shadow run, because the shadow concurrency bound
	// was reached or the bridge is closing. Only on KindServed outcomes.
	VerdictSkipped
	// VerdictMatch: the comparator found the results equivalent.
	VerdictMatch
	// VerdictMismatch: the comparator found them different (this includes
	// a shadow run that timed out or panicked, by default).
	VerdictMismatch
	// VerdictCanceled: the shadow run was cancelled by Close, or the legacy
	// executor panicked; nothing was compared.
	VerdictCanceled
	// VerdictUnrouted: the intelligent executor has no route for the
	// command (ErrUnroutable); nothing was compared. In every other mode
	// legacy serves such a command too.
	VerdictUnrouted
)

// String returns the verdict's name.
func (v Verdict) String() string {
	switch v {
	case VerdictNone:
		return "none"
	case VerdictPending:
		return "pending"
	case VerdictSkipped:
		return "skipped"
	case VerdictMatch:
		return "match"
	case VerdictMismatch:
		return "mismatch"
	case VerdictCanceled:
		return "canceled"
	case VerdictUnrouted:
		return "unrouted"
	}
	return "Verdict(?)"
}

// Outcome is what the bridge reports to its observers for every command it
// served and every shadow run it finished.
type Outcome struct {
	// Kind is KindServed or KindShadow.
	Kind Kind
	// At is the clock time the outcome was complete.
	At time.Time
	// Mode is the mode that routed the command.
	Mode Mode
	// Command is the command.
	Command Command
	// Path is the executor whose result this outcome reports: the path
	// served (KindServed), or PathIntelligent (KindShadow).
	Path Path
	// Latency is how long the call took on the bridge's clock. For a
	// served command that fell back it covers the failed intelligent call
	// and the legacy call: what the caller waited.
	Latency time.Duration
	// Err is the error of that path (returned to the caller if served).
	Err error
	// FellBack reports that the intelligent executor failed with
	// IntelligentErr and legacy served the command instead.
	FellBack bool
	// IntelligentErr is the intelligent executor's error when FellBack.
	IntelligentErr error
	// Verdict is the shadow verdict (see Verdict).
	Verdict Verdict
	// Unrouted reports that the intelligent executor had no route for the
	// command (ErrUnroutable), so legacy served it.
	Unrouted bool
	// Legacy is, for KindShadow, the legacy result it was compared with.
	Legacy Result
}

// Reason tells why the mode or percentage changed.
type Reason uint8

// Reasons.
const (
	// ReasonManual: SetMode or SetPercentage was called.
	ReasonManual Reason = iota + 1
	// ReasonAutoFallback: the intelligent path's success rate fell below
	// the threshold and the bridge switched itself to ModeFallback.
	ReasonAutoFallback
)

// String returns "manual" or "auto_fallback".
func (r Reason) String() string {
	switch r {
	case ReasonManual:
		return "manual"
	case ReasonAutoFallback:
		return "auto_fallback"
	}
	return "Reason(?)"
}

// Transition reports a change of mode or percentage.
type Transition struct {
	// Seq orders transitions: it grows by one per transition. Concurrent
	// transitions may reach an observer out of order; Seq says which came
	// first.
	Seq uint64
	// At is the clock time of the change.
	At time.Time
	// Reason says why.
	Reason Reason
	// From and To are the modes before and after (equal when only the
	// percentage changed).
	From, To Mode
	// FromPercentage and ToPercentage are the hybrid percentages before
	// and after.
	FromPercentage, ToPercentage float64
	// Window is the intelligent path's rolling window when the change was
	// made; for ReasonAutoFallback it is the evidence.
	Window WindowStats
}

// Observer receives every outcome and transition.
//
// Observers are called synchronously, on the goroutine that produced the
// event: OnOutcome for a served command runs on the caller's goroutine
// before Execute returns, so it adds to the caller's latency; for a shadow
// run it runs on the shadow goroutine, which Close waits for. An observer
// must therefore be fast and must not block: count into atomics, or hand
// the event to a buffered channel of its own with a non-blocking send and
// count what it drops. Observers may be called concurrently from many
// goroutines. They may call the bridge (SetMode, Stats, …); they must not
// call Close and wait for it from OnOutcome of a shadow run. A panic in an
// observer is recovered, logged and counted (Stats.ObserverPanics); the
// other observers are still called.
type Observer interface {
	OnOutcome(Outcome)
	OnTransition(Transition)
}

// ObserverFuncs adapts functions to Observer; a nil field ignores that
// event.
type ObserverFuncs struct {
	Outcome    func(Outcome)
	Transition func(Transition)
}

// OnOutcome calls f.Outcome if set.
func (f ObserverFuncs) OnOutcome(o Outcome) {
	if f.Outcome != nil {
		f.Outcome(o)
	}
}

// OnTransition calls f.Transition if set.
func (f ObserverFuncs) OnTransition(t Transition) {
	if f.Transition != nil {
		f.Transition(t)
	}
}
