package monitor

import (
	"fmt"
	"time"
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
}

// RecordRollback reports a rollback. It is logged at once at error level
// ("ROLLBACK TRIGGERED", with id, reason and trigger), kept (Rollbacks
// returns the newest 100), counted in the rollbacks metric of the next
// sample, and rules on that metric are evaluated at once: the default
// rollback_triggered alert fires now, without waiting for the next sample,
// and resolves at the first sample after the one that counts it. It may be
// called from any goroutine, including from an alert listener.
func (m *Monitor) RecordRollback(r RollbackInfo) {
	now := m.clk.Now()
	if r.Time.IsZero() {
		r.Time = now
	}
	m.log.Error("monitor: ROLLBACK TRIGGERED", "id", r.ID, "reason", r.Reason, "trigger", r.Trigger, "at", r.Time)
	detail := fmt.Sprintf("rollback %s: %s (trigger %s)", r.ID, r.Reason, r.Trigger)

	m.mu.Lock()
	*m.rollbacks.push() = r
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
