package pool

import (
	"fmt"
	"time"
)

// State is where a specialist is in its life cycle.
//
//	cold ──start──▶ warming ──ok──▶ warm ⇄ active (executing)
//	                   │                │
//	                   └─fail─▶ error   └─cooldown / eviction─▶ cooling ─▶ cold
//
// A specialist in error is cold with a remembered failure: the next task for
// it tries a new start.
type State int32

// States of a specialist.
const (
	StateCold State = iota
	StateWarming
	StateWarm
	StateActive
	StateCooling
	StateError
)

var stateNames = [...]string{"cold", "warming", "warm", "active", "cooling", "error"}

// String returns the state's lower-case name.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// MarshalText lets states appear by name in JSON exports.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// EventKind says what happened in an Event.
type EventKind int

// Kinds of pool events.
const (
	// EventStarted: a specialist finished starting (Duration is how long).
	EventStarted EventKind = iota + 1
	// EventStartFailed: a start returned an error or panicked (Err).
	EventStartFailed
	// EventCooled: a warm specialist was closed (Reason: "cooldown",
	// "evicted" or "closed").
	EventCooled
	// EventPrewarm: a predicted specialist is being started ahead of need
	// (Probability).
	EventPrewarm
	// EventThresholdAdjusted: adaptive scaling moved the warm threshold
	// (Threshold is the new value, Reason why).
	EventThresholdAdjusted
	// EventPrewarmDeclined: a predicted specialist was not started because
	// no idle specialist could make room or the one that could is worth more
	// (Reason, Probability).
	EventPrewarmDeclined
)

var eventNames = [...]string{"", "started", "start-failed", "cooled", "prewarm", "threshold-adjusted", "prewarm-declined"}

// String returns the kind's name.
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is something the pool did, reported to WithObserver functions.
type Event struct {
	Kind        EventKind
	At          time.Time
	Specialist  string
	Department  string
	Duration    time.Duration
	Probability float64
	Threshold   float64
	Reason      string
	Err         error
	// Prewarm marks an EventStarted whose start was a pre-warm.
	Prewarm bool
}
