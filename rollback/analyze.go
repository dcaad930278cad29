package rollback

import (
	"fmt"
	"strings"
	"time"

	"github.com/bumba/pooling/internal/jsonx"
)

// Cause is one condition that was in breach when a rollback started.
type Cause struct {
	Trigger   string    `json:"trigger"`
	Condition Condition `json:"condition"`
	Value     float64   `json:"value"`
	Threshold float64   `json:"threshold"`
	// HeldFor is how long it had held; Fired says it had held for its For.
	HeldFor time.Duration `json:"heldForMs"`
	Fired   bool          `json:"fired"`
	Detail  string        `json:"detail"`
}

// MarshalJSON writes the Cause in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (c Cause) MarshalJSON() ([]byte, error) { return jsonx.Marshal(c) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form, for saved records).
func (c *Cause) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, c) }

// Analysis is the root-cause report of one rollback (the seed's
// "analyze-rollback --rollback-id=<id>").
type Analysis struct {
	Record Record `json:"record"`
	// Duration is from the start to the end (or to the analysis while in
	// progress).
	Duration time.Duration `json:"durationMs"`
	// DetectionDelay is, for a rollback caused by a trigger, how long its
	// condition held before the rollback began.
	DetectionDelay time.Duration `json:"detectionDelayMs"`
	// Causes are the conditions in breach when it started, the one that
	// fired first.
	Causes []Cause `json:"causes"`
	// FailedChecks are the verification checks that failed, at any stage.
	FailedChecks []string `json:"failedChecks"`
	// Previous are the earlier rollbacks with the same trigger, oldest
	// first: a recurring problem.
	Previous []string `json:"previous"`
	// Recommendations are what to look at before rolling out again.
	Recommendations []string  `json:"recommendations"`
	GeneratedAt     time.Time `json:"generatedAt"`
}

// MarshalJSON writes the Analysis in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (a Analysis) MarshalJSON() ([]byte, error) { return jsonx.Marshal(a) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form, for saved records).
func (a *Analysis) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, a) }

// Analyze returns the analysis of the rollback with the given ID, or
// ErrUnknownRollback.
func (m *Manager) Analyze(id string) (Analysis, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	idx := -1
	for i, r := range m.st.Records {
		if r.ID == id {
			idx = i
			break
		}
	}
	if idx < 0 {
		return Analysis{}, fmt.Errorf("%w: %q", ErrUnknownRollback, id)
	}
	now := m.clk.Now()
	rec := m.st.Records[idx].clone()
	a := Analysis{Record: rec, GeneratedAt: now}
	end := rec.FinishedAt
	if end.IsZero() {
		end = now
	}
	a.Duration = end.Sub(rec.StartedAt)
	for _, s := range rec.Evidence.Triggers {
		if !s.Holding {
			continue
		}
		c := Cause{Trigger: s.Name, Condition: s.Condition, Value: s.Value, Threshold: s.Threshold, Fired: s.Fired, Detail: s.Detail}
		if !s.Since.IsZero() {
			c.HeldFor = rec.Evidence.At.Sub(s.Since)
		}
		if s.Name == rec.Trigger {
			a.DetectionDelay = c.HeldFor
			a.Causes = append([]Cause{c}, a.Causes...)
		} else {
			a.Causes = append(a.Causes, c)
		}
	}
	for _, st := range rec.Stages {
		if st.Verification == nil {
			continue
		}
		for _, c := range st.Verification.Checks {
			if !c.Passed && !c.Skipped {
				a.FailedChecks = append(a.FailedChecks, fmt.Sprintf("%s at %s: %s", c.Name, st.Routing, c.Detail))
			}
		}
	}
	for _, r := range m.st.Records[:idx] {
		if r.Trigger == rec.Trigger && rec.Trigger != TriggerManual {
			a.Previous = append(a.Previous, r.ID)
		}
	}
	a.Recommendations = recommend(rec, a)
	return a, nil
}

// recommend turns the causes into the seed's troubleshooting advice.
func recommend(rec Record, a Analysis) []string {
	var out []string
	seen := map[Condition]bool{}
	advice := map[Condition]string{
		ConditionErrorRate: "High error rate: check specialist initialization (pool StartFailures, Specialists()[i].LastError), " +
			"review department mappings (bridge routes), and check for task queue overflows (pool Rejected, ErrQueueFull).",
		ConditionLatency: "Slow responses: increase warm specialists (max warm), lower the warm threshold, " +
			"review prediction accuracy and cold-start cost.",
		ConditionMemory: "Low memory efficiency: increase the warm threshold (0.3 → 0.4), reduce max warm (17 → 15), " +
			"and check specialists for memory leaks.",
		ConditionHealth:        "Low health score: look at the monitor's health components and active alerts at the time.",
		ConditionCriticalAlert: "Critical alerts persisted: resolve them first (see the record's evidence for their names).",
	}
	for _, c := range a.Causes {
		if !seen[c.Condition] {
			seen[c.Condition] = true
			out = append(out, advice[c.Condition])
		}
	}
	switch rec.Trigger {
	case TriggerBridgeFallback:
		out = append(out, "The bridge fell back on its own because the pool's success rate dropped below its threshold: "+
			"treat it as a high error rate. "+advice[ConditionErrorRate])
	case TriggerManual:
		out = append(out, "Rolled back by hand: "+rec.Reason+".")
	}
	if rec.Escalated {
		out = append(out, "The planned rollback was escalated ("+rec.EscalationReason+"): the problem grew while stepping down.")
	}
	if len(a.FailedChecks) > 0 {
		out = append(out, "Verification failed after switching to legacy: legacy itself may be unhealthy; check it before redeploying.")
	}
	if len(a.Previous) > 0 {
		out = append(out, fmt.Sprintf("Recurring: %d earlier rollback(s) by the same trigger (%s); fix the cause before another attempt.",
			len(a.Previous), strings.Join(a.Previous, ", ")))
	}
	out = append(out, "Then redeploy gradually: start again in shadow mode (migrate Controller.SetStep(ctx, \"shadow\", reason)) and watch closely.")
	return out
}

// Text renders the analysis for an operator.
func (a Analysis) Text() string {
	var b strings.Builder
	r := a.Record
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	how := "by hand"
	if r.Automatic {
		how = "automatic"
	}
	fmt.Fprintf(&b, "ROLLBACK ANALYSIS %s\n", r.ID)
	fmt.Fprintf(&b, "  kind       %s (%s)\n", r.Kind, how)
	fmt.Fprintf(&b, "  trigger    %s\n", r.Trigger)
	fmt.Fprintf(&b, "  reason     %s\n", r.Reason)
	status := string(r.Status)
	if r.Verification != nil {
		if r.Verification.Passed {
			status += ", verification passed"
		} else {
			status += ", verification FAILED"
		}
	}
	fmt.Fprintf(&b, "  status     %s\n", status)
	fmt.Fprintf(&b, "  started    %s\n", ts(r.StartedAt))
	fmt.Fprintf(&b, "  finished   %s (%v)\n", ts(r.FinishedAt), a.Duration)
	fmt.Fprintf(&b, "  routing    %s → %s\n", r.Before, r.After)
	if a.DetectionDelay > 0 {
		fmt.Fprintf(&b, "  detected   after the condition held %v\n", a.DetectionDelay)
	}
	if r.Note != "" {
		fmt.Fprintf(&b, "  note       %s\n", r.Note)
	}

	ev := r.Evidence
	b.WriteString("Metrics when it started\n")
	if ev.ReadError != "" {
		fmt.Fprintf(&b, "  metrics unavailable: %s\n", ev.ReadError)
	}
	if ev.ErrorRate != nil {
		fmt.Fprintf(&b, "  error rate         %.2f%% (%d of %d intelligent calls over %v)\n",
			100**ev.ErrorRate, ev.Window.Intelligent.Errors, ev.Window.Intelligent.Calls, ev.Window.Duration())
	}
	if ev.LatencyRatio != nil {
		fmt.Fprintf(&b, "  response time      %.2fx the legacy baseline (%v vs %v)\n", *ev.LatencyRatio, ev.Window.Intelligent.Mean(), ev.Baseline)
	}
	if ev.MemoryEfficiency != nil {
		fmt.Fprintf(&b, "  memory efficiency  %.2f%%\n", 100**ev.MemoryEfficiency)
	}
	if ev.HealthScore != nil {
		fmt.Fprintf(&b, "  health score       %.1f\n", *ev.HealthScore)
	}
	for _, al := range ev.CriticalAlerts {
		fmt.Fprintf(&b, "  critical alert     %s since %s: %s\n", al.Name, ts(al.Since), al.Message)
	}
	if len(ev.Triggers) > 0 {
		b.WriteString("Triggers\n")
		for _, s := range ev.Triggers {
			fmt.Fprintf(&b, "  %s\n", s)
		}
	}
	if len(a.Causes) > 0 {
		b.WriteString("Causes\n")
		for _, c := range a.Causes {
			fired := ""
			if c.Fired {
				fired = ", fired"
			}
			fmt.Fprintf(&b, "  %s: %s (held %v%s)\n", c.Trigger, c.Detail, c.HeldFor, fired)
		}
	}
	b.WriteString("Stages\n")
	for i, s := range r.Stages {
		v := "not verified yet"
		if s.Verification != nil {
			v = s.Verification.String()
		}
		fmt.Fprintf(&b, "  %d. %s from %s — %s\n", i+1, s.Routing, ts(s.StartedAt), v)
	}
	if r.Escalated {
		fmt.Fprintf(&b, "Escalated: %s\n", r.EscalationReason)
	}
	if len(a.FailedChecks) > 0 {
		b.WriteString("Failed checks\n")
		for _, c := range a.FailedChecks {
			fmt.Fprintf(&b, "  %s\n", c)
		}
	}
	if len(a.Previous) > 0 {
		fmt.Fprintf(&b, "Earlier rollbacks by the same trigger: %s\n", strings.Join(a.Previous, ", "))
	}
	b.WriteString("Recommendations\n")
	for _, s := range a.Recommendations {
		fmt.Fprintf(&b, "  - %s\n", s)
	}
	return b.String()
}

// String is Text.
func (a Analysis) String() string { return a.Text() }
