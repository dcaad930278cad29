package rollback

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/bumba/pooling/internal/jsonx"
)

// Health is where the health score comes from: a 0–100 score, NaN when
// unknown. The monitor has one; adapt it with HealthFunc.
type Health interface {
	HealthScore() float64
}

// HealthFunc adapts a function to Health.
type HealthFunc func() float64

// HealthScore calls f.
func (f HealthFunc) HealthScore() float64 { return f() }

// Alert is an active critical alert.
type Alert struct {
	Name    string `json:"name"`
	Message string `json:"message,omitempty"`
	// Since is when the alert became active; zero if unknown (then it
	// counts from the first Check that saw it).
	Since time.Time `json:"since,omitzero"`
}

// MarshalJSON writes the Alert in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (a Alert) MarshalJSON() ([]byte, error) { return jsonx.Marshal(a) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form, for saved records).
func (a *Alert) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, a) }

// Alerts is where active critical alerts come from. The monitor has them;
// adapt it with AlertsFunc.
type Alerts interface {
	ActiveCritical() []Alert
}

// AlertsFunc adapts a function to Alerts.
type AlertsFunc func() []Alert

// ActiveCritical calls f.
func (f AlertsFunc) ActiveCritical() []Alert { return f() }

// Condition is what a trigger watches.
type Condition string

// Conditions. Each compares one figure with the trigger's threshold; a
// figure without data never holds.
const (
	// ConditionErrorRate holds when the intelligent executor's error rate
	// over the trigger window is above the threshold (a fraction), with
	// at least MinVolume calls in the window. A window with fewer is
	// widened back up to WithMaxLookback (default 15 min) first.
	ConditionErrorRate Condition = "error_rate"
	// ConditionLatency holds when the intelligent executor's mean latency
	// over the trigger window is above threshold × the legacy baseline,
	// with at least MinVolume calls. While the baseline is below
	// migrate.MinLatencyBaseline it holds when the mean is above
	// WithMaxLatency instead.
	ConditionLatency Condition = "latency_ratio"
	// ConditionMemory holds when the pool's memory efficiency now is below
	// the threshold (a fraction).
	ConditionMemory Condition = "memory_efficiency"
	// ConditionHealth holds when the health score (0–100) is below the
	// threshold. Needs WithHealth.
	ConditionHealth Condition = "health_score"
	// ConditionCriticalAlert holds while a critical alert is active; the
	// threshold is unused and For counts from the oldest alert's Since.
	// Needs WithAlerts.
	ConditionCriticalAlert Condition = "critical_alert"
)

// Trigger rolls back when its condition has held for at least For.
type Trigger struct {
	Name      string        `json:"name"`
	Condition Condition     `json:"condition"`
	Threshold float64       `json:"threshold"`
	For       time.Duration `json:"forMs"`
}

// MarshalJSON writes the Trigger in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (t Trigger) MarshalJSON() ([]byte, error) { return jsonx.Marshal(t) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form, for saved records).
func (t *Trigger) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, t) }

// String renders "error_rate > 10.00% for 1m0s".
func (t Trigger) String() string {
	switch t.Condition {
	case ConditionErrorRate:
		return fmt.Sprintf("error rate > %.2f%% for %v", 100*t.Threshold, t.For)
	case ConditionLatency:
		return fmt.Sprintf("response time > %gx the legacy baseline for %v", t.Threshold, t.For)
	case ConditionMemory:
		return fmt.Sprintf("memory efficiency < %.2f%% for %v", 100*t.Threshold, t.For)
	case ConditionHealth:
		return fmt.Sprintf("health score < %g for %v", t.Threshold, t.For)
	case ConditionCriticalAlert:
		return fmt.Sprintf("a critical alert active for %v", t.For)
	}
	return fmt.Sprintf("%s %v for %v", t.Condition, t.Threshold, t.For)
}

func (t Trigger) validate() error {
	if t.Name == "" {
		return fmt.Errorf("trigger %s: no name", t.Condition)
	}
	if t.For < 0 {
		return fmt.Errorf("trigger %q: For %v: want >= 0", t.Name, t.For)
	}
	if math.IsNaN(t.Threshold) || math.IsInf(t.Threshold, 0) || t.Threshold < 0 {
		return fmt.Errorf("trigger %q: threshold %v: want a finite value >= 0", t.Name, t.Threshold)
	}
	switch t.Condition {
	case ConditionErrorRate, ConditionMemory:
		if t.Threshold > 1 {
			return fmt.Errorf("trigger %q: threshold %v: want a fraction in [0, 1]", t.Name, t.Threshold)
		}
	case ConditionHealth:
		if t.Threshold > 100 {
			return fmt.Errorf("trigger %q: threshold %v: want [0, 100]", t.Name, t.Threshold)
		}
	case ConditionLatency, ConditionCriticalAlert:
	default:
		return fmt.Errorf("trigger %q: condition %q: want error_rate, latency_ratio, memory_efficiency, health_score or critical_alert", t.Name, t.Condition)
	}
	return nil
}

// DefaultTriggers are the seed's automatic rollback triggers:
//
//	name               condition                              for
//	error_rate         error rate > 10 %                      1 min
//	response_time      response time > 3× the legacy baseline 2 min
//	memory_efficiency  memory efficiency < 20 %               2 min
//	health_score       health score < 60                      1 min
//	critical_alert     a critical alert persisting            2 min
func DefaultTriggers() []Trigger {
	return []Trigger{
		{Name: "error_rate", Condition: ConditionErrorRate, Threshold: DefaultMaxErrorRate, For: DefaultErrorRateFor},
		{Name: "response_time", Condition: ConditionLatency, Threshold: DefaultMaxLatencyRatio, For: DefaultLatencyFor},
		{Name: "memory_efficiency", Condition: ConditionMemory, Threshold: DefaultMinMemoryEfficiency, For: DefaultMemoryFor},
		{Name: "health_score", Condition: ConditionHealth, Threshold: DefaultMinHealth, For: DefaultHealthFor},
		{Name: "critical_alert", Condition: ConditionCriticalAlert, For: DefaultCriticalAlertFor},
	}
}

// TriggerStatus is a trigger's state at a Check.
type TriggerStatus struct {
	Trigger
	// Known: the figure had data (and the source is configured).
	Known bool `json:"known"`
	// Value is the figure (a fraction, a factor, a 0–100 score, or the
	// number of active critical alerts). For the response-time trigger
	// judged on its absolute limit (Absolute) it is the mean latency in
	// milliseconds.
	Value float64 `json:"value"`
	// Absolute: a latency trigger judged on WithMaxLatency because the
	// legacy baseline is below migrate.MinLatencyBaseline.
	Absolute bool `json:"absolute,omitempty"`
	// Holding: the condition holds now; Since: from when.
	Holding bool      `json:"holding"`
	Since   time.Time `json:"since,omitzero"`
	// Fired: it has held for For.
	Fired bool `json:"fired"`
	// Detail says what was measured.
	Detail string `json:"detail"`
}

// MarshalJSON writes the TriggerStatus in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (t TriggerStatus) MarshalJSON() ([]byte, error) { return jsonx.Marshal(t) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form, for saved records).
func (t *TriggerStatus) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, t) }

// String renders the status on one line.
func (s TriggerStatus) String() string {
	state := "ok"
	switch {
	case s.Fired:
		state = "FIRED"
	case s.Holding:
		state = "holding"
	case !s.Known:
		state = "no data"
	}
	return fmt.Sprintf("%s (%s): %s — %s", s.Name, s.Trigger, state, s.Detail)
}

// alertsNow reads the critical alerts, recovering nothing: sources are
// trusted like the Router.
func (m *Manager) alertsNow(ctx context.Context) []Alert {
	if m.cfg.alerts == nil || ctx.Err() != nil {
		return nil
	}
	return m.cfg.alerts.ActiveCritical()
}

// healthNow reads the health score; ok is false without a source or for
// NaN.
func (m *Manager) healthNow() (float64, bool) {
	if m.cfg.health == nil {
		return 0, false
	}
	h := m.cfg.health.HealthScore()
	if math.IsNaN(h) || math.IsInf(h, 0) {
		return 0, false
	}
	return h, true
}
