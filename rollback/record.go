package rollback

import (
	"fmt"
	"strings"
	"time"

	"github.com/bumba/pooling/internal/jsonx"
	"github.com/bumba/pooling/migrate"
)

// Kind is how a rollback was made.
type Kind string

// Kinds.
const (
	// KindEmergency switches everything to legacy in one call.
	KindEmergency Kind = "emergency"
	// KindPlanned steps the percentage down with a verification between
	// steps.
	KindPlanned Kind = "planned"
	// KindBridgeFallback is the bridge's own automatic fallback, recorded
	// (see Manager.Observer).
	KindBridgeFallback Kind = "bridge_fallback"
)

// Status is where a rollback stands.
type Status string

// Statuses.
const (
	// StatusInProgress: stepping down, or waiting for verification.
	StatusInProgress Status = "in_progress"
	// StatusCompleted: everything goes to legacy and the verification ran
	// (see Record.Verification for its result).
	StatusCompleted Status = "completed"
	// StatusInterrupted: the routing was changed by someone else during a
	// planned rollback, which then stopped.
	StatusInterrupted Status = "interrupted"
)

// Trigger names of rollbacks not caused by a Trigger.
const (
	TriggerManual         = "manual"
	TriggerBridgeFallback = "bridge_auto_fallback"
)

// Check is one item of a verification.
type Check struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	// Skipped: not enough data to judge; a skipped check does not fail
	// the verification.
	Skipped bool   `json:"skipped,omitempty"`
	Detail  string `json:"detail"`
}

// MarshalJSON writes the Check in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (c Check) MarshalJSON() ([]byte, error) { return jsonx.Marshal(c) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form, for saved records).
func (c *Check) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, c) }

// Verification is the result of checking the system after a rollback (or a
// planned stage).
type Verification struct {
	At     time.Time `json:"at"`
	Passed bool      `json:"passed"`
	Checks []Check   `json:"checks"`
}

// MarshalJSON writes the Verification in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (v Verification) MarshalJSON() ([]byte, error) { return jsonx.Marshal(v) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form, for saved records).
func (v *Verification) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, v) }

// String renders "passed: routing ok; error rate ok (…)".
func (v Verification) String() string {
	parts := make([]string, len(v.Checks))
	for i, c := range v.Checks {
		mark := "ok"
		switch {
		case c.Skipped:
			mark = "skipped"
		case !c.Passed:
			mark = "FAILED"
		}
		parts[i] = fmt.Sprintf("%s %s (%s)", c.Name, mark, c.Detail)
	}
	res := "passed"
	if !v.Passed {
		res = "FAILED"
	}
	return res + ": " + strings.Join(parts, "; ")
}

// Stage is one routing a rollback went through.
type Stage struct {
	Routing   migrate.Routing `json:"routing"`
	StartedAt time.Time       `json:"startedAt"`
	// Verification is nil until the stage was verified.
	Verification *Verification `json:"verification,omitempty"`
}

// MarshalJSON writes the Stage in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (s Stage) MarshalJSON() ([]byte, error) { return jsonx.Marshal(s) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form, for saved records).
func (s *Stage) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, s) }

// Evidence is what the system looked like when a rollback started: the
// metrics that caused it.
type Evidence struct {
	At time.Time `json:"at"`
	// Window is the trailing trigger window.
	Window migrate.Window `json:"window"`
	// Figures of the window and sources; nil when unknown.
	ErrorRate        *float64 `json:"errorRate,omitempty"`
	LatencyRatio     *float64 `json:"latencyRatio,omitempty"`
	MemoryEfficiency *float64 `json:"memoryEfficiency,omitempty"`
	HealthScore      *float64 `json:"healthScore,omitempty"`
	// Baseline is the legacy mean latency (0 unknown).
	Baseline       time.Duration `json:"baselineMs"`
	CriticalAlerts []Alert       `json:"criticalAlerts,omitempty"`
	// Triggers is every trigger's state at that moment.
	Triggers []TriggerStatus `json:"triggers"`
	// ReadError is the Metrics error, if the metrics could not be read.
	ReadError string `json:"readError,omitempty"`
}

// MarshalJSON writes the Evidence in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (e Evidence) MarshalJSON() ([]byte, error) { return jsonx.Marshal(e) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form, for saved records).
func (e *Evidence) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, e) }

// Record is one rollback.
type Record struct {
	ID        string `json:"id"`
	Kind      Kind   `json:"kind"`
	Automatic bool   `json:"automatic"`
	Reason    string `json:"reason"`
	// Trigger is the fired trigger's name, TriggerManual or
	// TriggerBridgeFallback.
	Trigger    string    `json:"trigger"`
	Status     Status    `json:"status"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// Before is the routing when it started; After the routing now (the
	// final one once completed).
	Before migrate.Routing `json:"before"`
	After  migrate.Routing `json:"after"`
	// Evidence is the metrics that caused it.
	Evidence Evidence `json:"evidence"`
	// Stages are the routings it went through (one for an emergency).
	Stages []Stage `json:"stages"`
	// Escalated: a planned rollback switched to legacy at once, because a
	// stage failed its verification or a trigger fired; EscalationReason
	// says which.
	Escalated        bool   `json:"escalated,omitempty"`
	EscalationReason string `json:"escalationReason,omitempty"`
	// Verification is the final verification (nil while in progress).
	Verification *Verification `json:"verification,omitempty"`
	// Note explains an interruption.
	Note string `json:"note,omitempty"`
}

// MarshalJSON writes the Record in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (r Record) MarshalJSON() ([]byte, error) { return jsonx.Marshal(r) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form, for saved records).
func (r *Record) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, r) }

// InProgress reports whether the rollback is still running.
func (r Record) InProgress() bool { return r.Status == StatusInProgress }

// info is the controller's view of the record.
func (r Record) info() migrate.RollbackInfo {
	return migrate.RollbackInfo{ID: r.ID, At: r.StartedAt, Reason: r.Reason, Trigger: r.Trigger, InProgress: r.InProgress()}
}

// clone copies the record's slices, so that callers cannot reach into the
// manager's state.
func (r Record) clone() Record {
	r.Stages = append([]Stage(nil), r.Stages...)
	for i, s := range r.Stages {
		if s.Verification != nil {
			v := *s.Verification
			v.Checks = append([]Check(nil), v.Checks...)
			r.Stages[i].Verification = &v
		}
	}
	if r.Verification != nil {
		v := *r.Verification
		v.Checks = append([]Check(nil), v.Checks...)
		r.Verification = &v
	}
	r.Evidence.Triggers = append([]TriggerStatus(nil), r.Evidence.Triggers...)
	r.Evidence.CriticalAlerts = append([]Alert(nil), r.Evidence.CriticalAlerts...)
	return r
}

// EventType says what happened to a rollback.
type EventType string

// Event types.
const (
	// EventTriggered: a trigger fired while automatic rollback is
	// disabled; nothing was done (Record is zero).
	EventTriggered EventType = "triggered"
	// EventStarted: a rollback started (the monitor's "rollback
	// triggered" alert).
	EventStarted EventType = "started"
	// EventStage: a planned rollback stepped down.
	EventStage EventType = "stage"
	// EventEscalated: a planned rollback switched to legacy at once.
	EventEscalated EventType = "escalated"
	// EventCompleted: the rollback was verified (see
	// Record.Verification.Passed).
	EventCompleted EventType = "completed"
	// EventInterrupted: a planned rollback stopped because the routing was
	// changed by someone else.
	EventInterrupted EventType = "interrupted"
)

// Event tells listeners about a rollback.
type Event struct {
	Type   EventType `json:"type"`
	At     time.Time `json:"at"`
	Record Record    `json:"record"`
	// Trigger is the fired trigger for EventTriggered and for an
	// automatic EventStarted.
	Trigger *TriggerStatus `json:"trigger,omitempty"`
}

// MarshalJSON writes the Event in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (e Event) MarshalJSON() ([]byte, error) { return jsonx.Marshal(e) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form, for saved records).
func (e *Event) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, e) }
