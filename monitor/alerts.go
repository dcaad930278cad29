package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/bumba/pooling/internal/jsonx"
)

// AlertState is where an alert is in its life.
//
//	condition true ─▶ pending ──held for the rule's For──▶ firing ──condition false──▶ resolved
//	                     └──condition false──▶ (dropped, never notified)
type AlertState string

// Alert states.
const (
	StatePending  AlertState = "pending"
	StateFiring   AlertState = "firing"
	StateResolved AlertState = "resolved"
)

// Alert is one rule's alert: created when its condition first holds,
// notified to listeners when it fires and when it resolves.
type Alert struct {
	Rule      string        `json:"rule"`
	Severity  Severity      `json:"severity"`
	Metric    Metric        `json:"metric"`
	Op        Op            `json:"op"`
	Threshold float64       `json:"threshold"`
	For       time.Duration `json:"forMs"`
	Message   string        `json:"message"`
	State     AlertState    `json:"state"`
	// Value is the metric's latest value: one that met the condition while
	// pending or firing, the one that cleared it once resolved.
	Value float64 `json:"value"`
	// Since is when the condition was first seen holding; FiredAt when the
	// alert fired; ResolvedAt when it resolved.
	Since      time.Time `json:"since"`
	FiredAt    time.Time `json:"firedAt,omitzero"`
	ResolvedAt time.Time `json:"resolvedAt,omitzero"`
	// Detail adds context where there is some (the rollback that fired
	// rollback_triggered).
	Detail string `json:"detail,omitempty"`
}

// MarshalJSON writes the Alert in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (a Alert) MarshalJSON() ([]byte, error) { return jsonx.Marshal(a) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier form).
func (a *Alert) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, a) }

// String renders "ALERT critical error_rate_critical firing: High error
// rate detected (error_rate 0.12 > 0.1 for 1m0s)".
func (a Alert) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ALERT %s %s %s: %s (%s %s %s %s", a.Severity, a.Rule, a.State, a.Message,
		a.Metric, fmtValue(a.Metric, a.Value), a.Op, fmtValue(a.Metric, a.Threshold))
	if a.For > 0 {
		fmt.Fprintf(&b, " for %v", a.For)
	}
	b.WriteString(")")
	if a.Detail != "" {
		b.WriteString(": " + a.Detail)
	}
	return b.String()
}

// fmtValue formats a metric's value in its unit (ratios as percentages).
func fmtValue(m Metric, v float64) string {
	id := metricID(m)
	if id < 0 {
		return fmt.Sprintf("%g", v)
	}
	switch metricTable[id].unit {
	case "ratio":
		return fmt.Sprintf("%.1f%%", 100*v)
	case "ms":
		return fmt.Sprintf("%.0fms", v)
	case "bytes":
		return fmt.Sprintf("%.1fMB", mb(v))
	}
	return fmt.Sprintf("%g", v)
}

// ruleState is one rule's current alert (State "" when inactive).
type ruleState struct {
	rule  Rule
	alert Alert
}

// notice is an alert transition waiting to be logged and delivered.
type notice struct {
	alert Alert
}

// evaluateLocked runs every rule on the sample. m.mu is held.
func (m *Monitor) evaluateLocked(s *Sample) {
	for i := range m.alerts {
		rs := &m.alerts[i]
		v, ok := s.Value(rs.rule.Metric)
		if !ok {
			continue // no evidence: the alert stays as it is
		}
		m.stepLocked(rs, s.Time, v, rs.rule.Op.holds(v, rs.rule.Threshold), "")
	}
}

// stepLocked moves one rule's alert given whether its condition holds at t.
func (m *Monitor) stepLocked(rs *ruleState, t time.Time, v float64, holds bool, detail string) {
	a := &rs.alert
	switch {
	case holds && a.State == "":
		r := rs.rule
		*a = Alert{Rule: r.Name, Severity: r.Severity, Metric: r.Metric, Op: r.Op, Threshold: r.Threshold, For: r.For,
			Message: r.Message, State: StatePending, Value: v, Since: t, Detail: detail}
		if r.For > 0 {
			m.log.Debug("monitor: alert pending", "alert", r.Name, "severity", string(r.Severity), "value", v, "since", t)
			return
		}
		m.fireLocked(a, t)
	case holds:
		a.Value = v
		if detail != "" {
			a.Detail = detail
		}
		if a.State == StatePending && t.Sub(a.Since) >= a.For {
			m.fireLocked(a, t)
		}
	case a.State == StatePending:
		m.log.Debug("monitor: alert cleared before firing", "alert", a.Rule, "value", v)
		*a = Alert{}
	case a.State == StateFiring:
		a.State, a.Value, a.ResolvedAt = StateResolved, v, t
		*m.history.push() = *a
		m.queueLocked(*a)
		*a = Alert{}
	}
}

func (m *Monitor) fireLocked(a *Alert, t time.Time) {
	a.State, a.FiredAt = StateFiring, t
	m.fired[a.Severity.index()]++
	m.queueLocked(*a)
}

// queueLocked appends a transition for delivery; m.mu is held, so the queue
// is in transition order.
func (m *Monitor) queueLocked(a Alert) {
	m.qmu.Lock()
	m.queue = append(m.queue, notice{a})
	m.qmu.Unlock()
}

// drain logs and delivers queued transitions. One goroutine at a time
// delivers, holding no other lock; a notification queued meanwhile (even by
// a listener) is delivered by that goroutine, in order.
func (m *Monitor) drain() {
	m.qmu.Lock()
	if m.delivering {
		m.qmu.Unlock()
		return
	}
	m.delivering = true
	for len(m.queue) > 0 {
		batch := m.queue
		m.queue = nil
		m.qmu.Unlock()
		m.mu.RLock()
		ls := slices.Clone(m.listeners)
		m.mu.RUnlock()
		for _, n := range batch {
			m.logAlert(n.alert)
			for _, l := range ls {
				m.call(l.f, n.alert)
			}
		}
		m.qmu.Lock()
	}
	m.delivering = false
	m.qmu.Unlock()
}

func (m *Monitor) logAlert(a Alert) {
	attrs := []any{"alert", a.Rule, "severity", string(a.Severity), "metric", string(a.Metric),
		"value", a.Value, "threshold", a.Threshold, "state", string(a.State)}
	if a.State == StateResolved {
		m.log.Info("monitor: "+a.String(), append(attrs, "fired_at", a.FiredAt, "lasted", a.ResolvedAt.Sub(a.FiredAt))...)
		return
	}
	level := slog.LevelInfo
	switch a.Severity {
	case SeverityCritical:
		level = slog.LevelError
	case SeverityWarning:
		level = slog.LevelWarn
	}
	m.log.Log(context.Background(), level, "monitor: "+a.String(), attrs...)
}

// call runs one listener, recovering a panic.
func (m *Monitor) call(f func(Alert), a Alert) {
	defer func() {
		if r := recover(); r != nil {
			m.listenerPanics.Add(1)
			m.log.Error("monitor: ERROR alert listener panicked", "alert", a.Rule, "panic", fmt.Sprint(r))
		}
	}()
	f(a)
}

func (m *Monitor) addListener(f func(Alert)) uint64 {
	m.nextListener++
	m.listeners = append(m.listeners, listener{m.nextListener, f})
	return m.nextListener
}

// AddListener adds a listener at run time (see WithListener) and returns
// the function that removes it. A nil f is ignored.
func (m *Monitor) AddListener(f func(Alert)) (remove func()) {
	if f == nil {
		return func() {}
	}
	m.mu.Lock()
	id := m.addListener(f)
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.listeners = slices.DeleteFunc(m.listeners, func(l listener) bool { return l.id == id })
	}
}

// Alerts returns the active alerts — firing and pending — most severe
// first, then oldest first.
func (m *Monitor) Alerts() []Alert {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []Alert{}
	for _, rs := range m.alerts {
		if rs.alert.State != "" {
			out = append(out, rs.alert)
		}
	}
	slices.SortStableFunc(out, func(a, b Alert) int {
		if d := a.Severity.index() - b.Severity.index(); d != 0 {
			return d
		}
		return a.Since.Compare(b.Since)
	})
	return out
}

// Firing returns the number of alerts firing now, per severity.
func (m *Monitor) Firing() map[Severity]int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := map[Severity]int{SeverityCritical: 0, SeverityWarning: 0, SeverityInfo: 0}
	for _, rs := range m.alerts {
		if rs.alert.State == StateFiring {
			out[rs.alert.Severity]++
		}
	}
	return out
}

// firingLocked counts the alerts firing now: all of them, those of
// critical or warning severity, and whether one is critical.
func (m *Monitor) firingLocked() (all, trouble int, critical bool) {
	for _, rs := range m.alerts {
		if rs.alert.State != StateFiring {
			continue
		}
		all++
		if rs.alert.Severity != SeverityInfo {
			trouble++
		}
		critical = critical || rs.alert.Severity == SeverityCritical
	}
	return all, trouble, critical
}

// AlertHistory returns every alert that fired and is still kept: the
// resolved ones (the newest WithAlertHistory, default 1000) and the ones
// firing now, in the order they fired.
func (m *Monitor) AlertHistory() []Alert {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.historyLocked()
}

func (m *Monitor) historyLocked() []Alert {
	out := make([]Alert, 0, m.history.n)
	for i := range m.history.n {
		out = append(out, *m.history.at(i))
	}
	for _, rs := range m.alerts {
		if rs.alert.State == StateFiring {
			out = append(out, rs.alert)
		}
	}
	slices.SortStableFunc(out, func(a, b Alert) int { return a.FiredAt.Compare(b.FiredAt) })
	return out
}

// ListenerPanics returns how many listener panics were recovered.
func (m *Monitor) ListenerPanics() uint64 { return m.listenerPanics.Load() }
