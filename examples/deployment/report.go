package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/monitor"
	"github.com/bumba/pooling/rollback"
)

// mb is the monitor's megabyte (2^20 bytes).
const mb = 1 << 20

// Report is the deployment report: the seed's figures, each step's gate
// with its measured values, and every rollback.
type Report struct {
	// Outcome is "completed" (the plan's last gate passed), "rolled_back"
	// or "stopped" (neither, e.g. held).
	Outcome   string `json:"outcome"`
	Plan      string `json:"plan"`
	FinalStep string `json:"finalStep"`
	State     string `json:"state"`
	Routing   string `json:"routing"`
	// StepsPassed counts the steps whose gate passed.
	StepsPassed int `json:"stepsPassed"`
	Steps       int `json:"steps"`

	// StartedAt is the simulated clock's start (a fixed date: Epoch);
	// SimulatedTime how long the run took on it.
	StartedAt        time.Time `json:"startedAt"`
	SimulatedTime    string    `json:"simulatedTime"`
	SimulatedSeconds float64   `json:"simulatedSeconds"`
	Commands         int       `json:"commands"`

	Fault *FaultReport `json:"fault,omitempty"`

	Memory MemoryReport `json:"memory"`
	// WarmHitRate is the pool's warm hits / tasks over the whole run.
	WarmHitRate float64 `json:"warmHitRate"`
	Tasks       uint64  `json:"tasks"`
	WarmHits    uint64  `json:"warmHits"`
	ColdStarts  uint64  `json:"coldStarts"`
	Prewarms    uint64  `json:"prewarms"`

	Latency LatencyReport `json:"latency"`

	// ErrorRate is the intelligent path's errors / calls (shadow runs
	// included); ServedErrorRate the share of answers callers got that
	// were errors (a failed pool call retried on legacy is not one).
	ErrorRate         float64 `json:"errorRate"`
	IntelligentCalls  uint64  `json:"intelligentCalls"`
	IntelligentErrors uint64  `json:"intelligentErrors"`
	ServedErrorRate   float64 `json:"servedErrorRate"`
	Fallbacks         uint64  `json:"fallbacks"`

	Compatibility CompatibilityReport `json:"compatibility"`

	Gates     []StepReport     `json:"gates"`
	Rollbacks []RollbackReport `json:"rollbacks"`
	Tunings   []string         `json:"tunings,omitempty"`

	// Cost is the one annual-saving figure: the memory saved at the end of
	// the run, priced.
	Cost CostReport `json:"cost"`
	// Monitor is what the monitor saw over the whole run (its memory and
	// cost figures are left out: the report has one of each, above).
	Monitor MonitorSummary `json:"monitor"`
}

// MonitorSummary is the monitor's period report over the run, without its
// memory and cost figures.
type MonitorSummary struct {
	Samples     uint64               `json:"samples"`
	Alerts      monitor.ReportAlerts `json:"alerts"`
	Rollbacks   uint64               `json:"rollbacks"`
	HealthScore float64              `json:"healthScore"`
	Status      string               `json:"status"`
}

// FaultReport says what was injected, and when.
type FaultReport struct {
	Kind        string `json:"kind"`
	Phase       string `json:"phase"`
	What        string `json:"what"`
	Injected    bool   `json:"injected"`
	InjectedAt  string `json:"injectedAt,omitempty"`
	Handled     bool   `json:"handled"`
	HandledText string `json:"handledText"`
}

// MemoryReport is the one memory-saved figure: the pool's memory at the end
// of the run against the always-warm legacy system (the pool's baseline),
// in MB of 2^20 bytes.
type MemoryReport struct {
	LegacyMB float64 `json:"legacyMb"`
	PoolMB   float64 `json:"poolMb"`
	SavedMB  float64 `json:"savedMb"`
	// Efficiency is the pool's MemoryEfficiency (saved / baseline, 0–1).
	Efficiency  float64 `json:"efficiency"`
	Warm        int     `json:"warm"`
	MaxWarm     int     `json:"maxWarm"`
	Specialists int     `json:"specialists"`
}

// LatencyReport compares the paths' mean latencies on the simulated clock.
type LatencyReport struct {
	LegacyMeanMs      float64 `json:"legacyMeanMs"`
	IntelligentMeanMs float64 `json:"intelligentMeanMs"`
	OverheadMs        float64 `json:"overheadMs"`
	Ratio             float64 `json:"ratio"`
	Note              string  `json:"note"`
}

// CompatibilityReport is the shadow comparison.
type CompatibilityReport struct {
	Compared uint64 `json:"compared"`
	Matched  uint64 `json:"matched"`
	// Share is Matched / Compared, a fraction (0–1).
	Share float64 `json:"share"`
}

// StepReport is one step of the plan and its gate.
type StepReport struct {
	Step    string `json:"step"`
	Routing string `json:"routing"`
	Soak    string `json:"soak"`
	// Status is "passed", "current", "rolled_back" or "not_reached".
	Status    string        `json:"status"`
	StartedAt string        `json:"startedAt,omitempty"`
	Checks    []CheckReport `json:"checks"`
}

// CheckReport is one gate criterion with its measured value.
type CheckReport struct {
	Criterion string  `json:"criterion"`
	Value     float64 `json:"value"`
	Measured  string  `json:"measured"`
	HasData   bool    `json:"hasData"`
	Passed    bool    `json:"passed"`
}

// RollbackReport is one rollback record and its analysis.
type RollbackReport struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Automatic bool   `json:"automatic"`
	Trigger   string `json:"trigger"`
	Reason    string `json:"reason"`
	Status    string `json:"status"`
	StartedAt string `json:"startedAt"`
	Before    string `json:"before"`
	After     string `json:"after"`
	Verified  *bool  `json:"verified,omitempty"`
	Analysis  string `json:"analysis"`
}

// CostReport turns the memory saved at the end of the run (MemoryReport)
// into money at the monitor's price: SavedMB × CostPerMBMonth × 12.
type CostReport struct {
	CostPerMBMonth  float64 `json:"costPerMbMonthUsd"`
	AnnualSavingUSD float64 `json:"annualSavingUsd"`
	// MeasuredOver says what the saving is measured over.
	MeasuredOver string `json:"measuredOver"`
}

func clockText(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

// report builds the report from the live system.
func (s *system) report() Report {
	s.quiesce()
	s.monitor.Collect()
	now := s.drv.elapsed()
	st := s.ctrl.Status()
	ps := s.pool.Stats()
	rd, _ := s.metrics.Read()
	bs := s.bridge.Stats()
	mrep := s.monitor.Report(now)

	r := Report{
		Plan:             st.Plan,
		FinalStep:        st.Step.Name,
		State:            string(st.State),
		Routing:          migrate.CurrentRouting(s.bridge).String(),
		Steps:            len(s.plan.Steps),
		StartedAt:        s.drv.origin,
		SimulatedTime:    clockText(now),
		SimulatedSeconds: now.Seconds(),
		Commands:         s.commands,
		WarmHitRate:      ps.WarmHitRate,
		Tasks:            ps.Tasks,
		WarmHits:         ps.WarmHits,
		ColdStarts:       ps.ColdStarts,
		Prewarms:         ps.Prewarms,
		Monitor: MonitorSummary{Samples: mrep.Samples, Alerts: mrep.Alerts, Rollbacks: mrep.Rollbacks,
			HealthScore: mrep.HealthScore, Status: string(mrep.Status)},
	}
	switch st.State {
	case migrate.StateCompleted:
		r.Outcome = "completed"
	case migrate.StateRolledBack:
		r.Outcome = "rolled_back"
	default:
		r.Outcome = "stopped"
	}
	r.Memory = MemoryReport{
		LegacyMB:    float64(ps.MemoryBaseline) / mb,
		PoolMB:      float64(ps.MemoryCurrent) / mb,
		SavedMB:     float64(ps.MemorySaved) / mb,
		Efficiency:  ps.MemoryEfficiency,
		Warm:        ps.Warm + ps.Active + ps.Warming,
		MaxWarm:     ps.MaxWarm,
		Specialists: ps.Specialists,
	}

	lat := LatencyReport{Note: "means on the simulated clock: a command takes the task time on either system, plus a cold start (1 s) on the pool when its specialist is not warm; intelligent includes shadow runs"}
	if rd.Legacy.Calls > 0 {
		lat.LegacyMeanMs = ms(rd.Legacy.Mean())
	}
	if rd.Intelligent.Calls > 0 {
		lat.IntelligentMeanMs = ms(rd.Intelligent.Mean())
	}
	if rd.Legacy.Calls > 0 && rd.Intelligent.Calls > 0 {
		lat.OverheadMs = lat.IntelligentMeanMs - lat.LegacyMeanMs
		if lat.LegacyMeanMs > 0 {
			lat.Ratio = lat.IntelligentMeanMs / lat.LegacyMeanMs
		}
	}
	r.Latency = lat
	r.IntelligentCalls, r.IntelligentErrors = rd.Intelligent.Calls, rd.Intelligent.Errors
	if rd.Intelligent.Calls > 0 {
		r.ErrorRate = float64(rd.Intelligent.Errors) / float64(rd.Intelligent.Calls)
	}
	if rd.Served.Requests > 0 {
		r.ServedErrorRate = float64(rd.Served.Errors) / float64(rd.Served.Requests)
	}
	for _, m := range bs.Modes {
		r.Fallbacks += m.Fallbacks
	}
	r.Compatibility = CompatibilityReport{Compared: bs.Shadow.Compared, Matched: bs.Shadow.Matched}
	if bs.Shadow.Compared > 0 {
		r.Compatibility.Share = float64(bs.Shadow.Matched) / float64(bs.Shadow.Compared)
	}

	r.Gates, r.StepsPassed = s.gates(st)
	for _, t := range s.ctrl.Tunings() {
		r.Tunings = append(r.Tunings, fmt.Sprintf("[%s] %s", clockText(t.At.Sub(s.drv.origin)), t))
	}
	r.Rollbacks = []RollbackReport{}
	for _, rec := range s.rollback.History() {
		r.Rollbacks = append(r.Rollbacks, s.rollbackReport(rec))
	}
	r.Cost = CostReport{
		CostPerMBMonth:  mrep.CostPerMBMonth,
		AnnualSavingUSD: r.Memory.SavedMB * mrep.CostPerMBMonth * 12,
		MeasuredOver:    "the memory saved at the end of the run",
	}
	if s.cfg.Fault != FaultNone {
		f := &FaultReport{Kind: s.cfg.Fault, Phase: s.cfg.FaultPhase, What: faultText(s.cfg), Injected: s.faultOn}
		if s.faultOn {
			f.InjectedAt = clockText(s.faultAt)
		}
		f.Handled, f.HandledText = s.faultHandled(r)
		r.Fault = f
	}
	return r
}

// faultHandled: an automatic rollback happened after the fault and
// everything now goes to legacy.
func (s *system) faultHandled(r Report) (bool, string) {
	if !s.faultOn {
		return false, "the fault was never injected: the rollout did not reach step " + s.cfg.FaultPhase
	}
	for _, rb := range r.Rollbacks {
		if rb.Automatic {
			if migrate.CurrentRouting(s.bridge).Equal(migrate.Legacy) {
				return true, fmt.Sprintf("automatic rollback %s (trigger %s) %s after the fault; everything goes to legacy",
					rb.ID, rb.Trigger, clockText(s.rollbackAt-s.faultAt))
			}
			return false, "automatic rollback " + rb.ID + " but the bridge still routes to the pool"
		}
	}
	return false, "no automatic rollback"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// gates lists every step with the gate evaluation that passed it (or the
// latest one, for the step it stopped in).
func (s *system) gates(st migrate.Status) ([]StepReport, int) {
	passed := map[string]*migrate.GateResult{}
	for _, d := range s.ctrl.History() {
		switch d.Action {
		case migrate.ActionAdvance:
			if !d.Manual && d.Gate != nil {
				passed[d.From] = d.Gate
			}
		case migrate.ActionComplete:
			if d.Gate != nil {
				passed[d.Step] = d.Gate
			}
		}
	}
	var out []StepReport
	n := 0
	for i, step := range s.plan.Steps {
		sr := StepReport{Step: step.Name, Routing: step.Routing.String(), Soak: step.Soak.String(), Status: "not_reached", Checks: []CheckReport{}}
		if at, ok := s.stepStarts[step.Name]; ok {
			sr.StartedAt = clockText(at)
		}
		var g *migrate.GateResult
		switch {
		case passed[step.Name] != nil:
			sr.Status, g = "passed", passed[step.Name]
			n++
		case i == st.Index:
			sr.Status, g = "current", st.Gate
			if g == nil {
				g = s.lastGate[step.Name]
			}
			if st.State == migrate.StateRolledBack {
				sr.Status = "rolled_back"
			}
		}
		if g != nil {
			for _, c := range g.Checks {
				sr.Checks = append(sr.Checks, CheckReport{Criterion: c.Criterion.String(), Value: c.Value,
					Measured: c.Detail, HasData: c.HasData, Passed: c.Passed})
			}
		}
		out = append(out, sr)
	}
	return out, n
}

func (s *system) rollbackReport(rec rollback.Record) RollbackReport {
	rr := RollbackReport{ID: rec.ID, Kind: string(rec.Kind), Automatic: rec.Automatic, Trigger: rec.Trigger,
		Reason: rec.Reason, Status: string(rec.Status), StartedAt: clockText(rec.StartedAt.Sub(s.drv.origin)),
		Before: rec.Before.String(), After: rec.After.String()}
	if rec.Verification != nil {
		v := rec.Verification.Passed
		rr.Verified = &v
	}
	if a, err := s.rollback.Analyze(rec.ID); err == nil {
		rr.Analysis = a.Text()
	}
	return rr
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

// WriteText renders the report as the operator reads it.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nDEPLOYMENT REPORT — %s: %s (%d of %d steps passed; final step %s, routing %s)\n",
		r.Plan, strings.ToUpper(strings.ReplaceAll(r.Outcome, "_", " ")), r.StepsPassed, r.Steps, r.FinalStep, r.Routing)
	fmt.Fprintf(&b, "simulated %s from %s, %d commands\n\n", r.SimulatedTime, r.StartedAt.UTC().Format("2006-01-02 15:04 MST"), r.Commands)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "memory saved\t%.1f MB of %.1f MB (%.1f%%) at the end of the run: pool holds %.1f MB, %d of %d specialists warm (cap %d)\n",
		r.Memory.SavedMB, r.Memory.LegacyMB, 100*r.Memory.Efficiency, r.Memory.PoolMB, r.Memory.Warm, r.Memory.Specialists, r.Memory.MaxWarm)
	fmt.Fprintf(tw, "warm hit rate\t%s (%d of %d pool tasks; %d cold starts, %d pre-warms)\n",
		pct(r.WarmHitRate), r.WarmHits, r.Tasks, r.ColdStarts, r.Prewarms)
	fmt.Fprintf(tw, "latency\tintelligent %.0f ms vs legacy %.0f ms: overhead %+.0f ms (%.2f×)\n",
		r.Latency.IntelligentMeanMs, r.Latency.LegacyMeanMs, r.Latency.OverheadMs, r.Latency.Ratio)
	fmt.Fprintf(tw, "error rate\t%s intelligent (%d of %d calls); %s of answers served; %d fell back to legacy\n",
		pct(r.ErrorRate), r.IntelligentErrors, r.IntelligentCalls, pct(r.ServedErrorRate), r.Fallbacks)
	fmt.Fprintf(tw, "compatibility\t%.1f%% (%d of %d shadow comparisons matched)\n",
		100*r.Compatibility.Share, r.Compatibility.Matched, r.Compatibility.Compared)
	fmt.Fprintf(tw, "annual cost saving\t$%.2f (%s: %.1f MB × $%.2f/MB-month × 12)\n",
		r.Cost.AnnualSavingUSD, r.Cost.MeasuredOver, r.Memory.SavedMB, r.Cost.CostPerMBMonth)
	fmt.Fprintf(tw, "rollbacks\t%d\n", len(r.Rollbacks))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "(%s)\n", r.Latency.Note)

	fmt.Fprintf(&b, "\nGATES\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "step\trouting\tstarted\tstatus\tcriterion\tmeasured\t\n")
	for _, g := range r.Gates {
		if len(g.Checks) == 0 {
			crit := "—"
			if g.Status == "passed" {
				crit = "no criteria"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\t\n", g.Step, g.Routing, dash(g.StartedAt), g.Status, crit)
			continue
		}
		for i, c := range g.Checks {
			mark := "ok"
			switch {
			case !c.HasData:
				mark = "no data"
			case !c.Passed:
				mark = "FAIL"
			}
			if i == 0 {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s: %s\t\n", g.Step, g.Routing, dash(g.StartedAt), g.Status, c.Criterion, mark, c.Measured)
			} else {
				fmt.Fprintf(tw, "\t\t\t\t%s\t%s: %s\t\n", c.Criterion, mark, c.Measured)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Tunings) > 0 {
		fmt.Fprintf(&b, "\nOPTIMISATION\n")
		for _, t := range r.Tunings {
			fmt.Fprintf(&b, "  %s\n", t)
		}
	}
	if r.Fault != nil {
		fmt.Fprintf(&b, "\nFAULT %s from step %s: %s\n", r.Fault.Kind, r.Fault.Phase, r.Fault.What)
		if r.Fault.Injected {
			fmt.Fprintf(&b, "  injected at %s; ", r.Fault.InjectedAt)
		} else {
			fmt.Fprintf(&b, "  ")
		}
		verdict := "NOT HANDLED"
		if r.Fault.Handled {
			verdict = "handled"
		}
		fmt.Fprintf(&b, "%s: %s\n", verdict, r.Fault.HandledText)
	}
	for _, rb := range r.Rollbacks {
		fmt.Fprintf(&b, "\nROLLBACK %s at %s — %s, trigger %s, %s\n", rb.ID, rb.StartedAt, rb.Kind, rb.Trigger, rb.Status)
		fmt.Fprintf(&b, "%s\n", strings.TrimRight(rb.Analysis, "\n"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
