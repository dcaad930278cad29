package monitor

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bumba/pooling/internal/nilcheck"
	"github.com/bumba/pooling/rollback"
)

// RollbackInfo describes a rollback the host (or the rollback package)
// performed.
type RollbackInfo struct {
	// ID identifies the rollback record ("analyse rollback <id>").
	ID string `json:"id"`
	// Reason is why, in words ("Production issue").
	Reason string `json:"reason"`
	// Trigger is what set it off: a trigger name ("error_rate",
	// "health_score", "manual" …).
	Trigger string `json:"trigger"`
	// Time is when it happened; zero means now on the monitor's clock.
	Time time.Time `json:"time"`
	// BridgeFallback marks the record of one of the bridge's own automatic
	// fallbacks (rollback.KindBridgeFallback). The monitor also sees
	// those in the bridge's counters; either way one fallback counts as
	// one rollback.
	BridgeFallback bool `json:"bridgeFallback,omitempty"`
}

// RecordRollback reports a rollback. It is logged at once at error level
// ("ROLLBACK TRIGGERED", with id, reason and trigger), kept (Rollbacks
// returns the newest 100), counted in the rollbacks metric of the next
// sample, and rules on that metric are evaluated at once: the default
// rollback_triggered alert fires now, without waiting for the next sample,
// and resolves at the first sample after the one that counts it. It may be
// called from any goroutine, including from an alert listener.
//
// A record with BridgeFallback set is the record of a bridge automatic
// fallback, which the monitor also counts from the bridge's counters: the
// two are one rollback. If a sample has already counted the fallback, the
// record is kept and logged but neither counted again nor re-fires the
// alert. WatchRollbacks does all this for a rollback.Manager.
func (m *Monitor) RecordRollback(r RollbackInfo) {
	now := m.clk.Now()
	if r.Time.IsZero() {
		r.Time = now
	}
	m.log.Error("monitor: ROLLBACK TRIGGERED", "id", r.ID, "reason", r.Reason, "trigger", r.Trigger, "at", r.Time)
	detail := fmt.Sprintf("rollback %s: %s (trigger %s)", r.ID, r.Reason, r.Trigger)

	m.mu.Lock()
	*m.rollbacks.push() = r
	if r.BridgeFallback {
		m.fallbacksRecorded++
		if m.fallbacksRecorded <= m.fallbacksCounted {
			// Already counted from the bridge's counters.
			m.mu.Unlock()
			return
		}
		m.fallbacksCounted++
	}
	m.rollbackTotal++
	m.rollbackNew++
	v := float64(m.rollbackNew)
	for i := range m.alerts {
		rs := &m.alerts[i]
		// Only a condition that now holds is applied: the count so far is
		// a lower bound of the sample's, so "false" is not yet known.
		if rs.rule.Metric == MetricRollbacks && rs.rule.Op.holds(v, rs.rule.Threshold) {
			m.stepLocked(rs, now, v, true, detail)
		}
	}
	m.mu.Unlock()
	m.drain()
}

// Rollbacks returns the newest recorded rollbacks (at most 100), oldest
// first.
func (m *Monitor) Rollbacks() []RollbackInfo {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]RollbackInfo, m.rollbacks.n)
	for i := range out {
		out[i] = *m.rollbacks.at(i)
	}
	return out
}

// ActiveCritical returns the critical alerts firing now, each with the
// time it fired as its Since — except rollback_triggered, which a rollback
// itself raises (it must not count as a reason for the next one). With
// HealthScore it makes *Monitor the rollback package's Health and Alerts,
// without glue:
//
//	rollback.New(b, metrics, rollback.WithHealth(m), rollback.WithAlerts(m))
func (m *Monitor) ActiveCritical() []rollback.Alert {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []rollback.Alert{}
	for _, rs := range m.alerts {
		a := rs.alert
		if a.State == StateFiring && a.Severity == SeverityCritical && a.Rule != RuleRollbackTriggered {
			out = append(out, rollback.Alert{Name: a.Rule, Message: a.Message, Since: a.FiredAt})
		}
	}
	slices.SortFunc(out, func(a, b rollback.Alert) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// RollbackSource is what WatchRollbacks needs; *rollback.Manager satisfies
// it.
type RollbackSource interface {
	AddListener(f func(rollback.Event)) error
}

// WatchRollbacks hands the monitor a rollback manager: every rollback it
// starts (automatic, by hand, or its record of a bridge fallback) is
// reported with RecordRollback, so rollback_triggered fires and the
// rollbacks metric, Report and rollbacks_total count it — once: the record
// of a bridge fallback and the fallback in the bridge's counters are one
// rollback. A nil source is an error wrapping ErrInvalidConfig.
func (m *Monitor) WatchRollbacks(src RollbackSource) error {
	if nilcheck.Is(src) {
		return fmt.Errorf("monitor: WatchRollbacks(nil): want a rollback source such as *rollback.Manager: %w", ErrInvalidConfig)
	}
	return src.AddListener(func(e rollback.Event) {
		if e.Type != rollback.EventStarted {
			return
		}
		r := e.Record
		m.RecordRollback(RollbackInfo{
			ID: r.ID, Reason: r.Reason, Trigger: r.Trigger, Time: r.StartedAt,
			BridgeFallback: r.Kind == rollback.KindBridgeFallback,
		})
	})
}
