package monitor

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bumba/pooling/internal/jsonx"
)

// Report is what happened over a period (the seed's `metrics-report
// --period=1h` and deployment report), from the stored samples. Rates are
// ratios of the period's summed counts; a figure whose count is 0 had no
// evidence (the text rendering shows "n/a").
type Report struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Samples uint64    `json:"samples"`

	// Memory, averaged over the samples: MB of 2^20 bytes.
	MemoryCurrentMB  float64 `json:"memoryCurrentMB"`
	MemoryBaselineMB float64 `json:"memoryBaselineMB"`
	MemorySavedMB    float64 `json:"memorySavedMB"`
	// MemorySavedShare is MemorySavedMB / MemoryBaselineMB, a fraction
	// (0–1) of what the always-warm legacy system holds.
	MemorySavedShare float64 `json:"memorySavedShare"`

	// WarmHitRate is WarmHits / Tasks (0–1).
	WarmHitRate float64 `json:"warmHitRate"`
	Tasks       uint64  `json:"tasks"`
	WarmHits    uint64  `json:"warmHits"`

	// ResponseTimeMs is the intelligent path's mean latency,
	// LegacyResponseTimeMs legacy's, and ResponseTimeOverheadMs their
	// difference (both paths need calls in the period: shadow mode gives
	// both for the same commands).
	ResponseTimeMs         float64 `json:"responseTimeMs"`
	LegacyResponseTimeMs   float64 `json:"legacyResponseTimeMs"`
	ResponseTimeOverheadMs float64 `json:"responseTimeOverheadMs"`
	Calls                  uint64  `json:"calls"`
	LegacyCalls            uint64  `json:"legacyCalls"`

	// ErrorRate is Errors / Calls on the intelligent path (0–1).
	ErrorRate float64 `json:"errorRate"`
	Errors    uint64  `json:"errors"`

	// PredictionAccuracy is PrewarmsUsed / (PrewarmsUsed + PrewarmsWasted).
	PredictionAccuracy float64 `json:"predictionAccuracy"`
	PrewarmsUsed       uint64  `json:"prewarmsUsed"`
	PrewarmsWasted     uint64  `json:"prewarmsWasted"`

	// WorkflowDetectionRate is WorkflowsRecognised / WorkflowsSeen;
	// WorkflowDetections counts every workflow named.
	WorkflowDetectionRate float64 `json:"workflowDetectionRate"`
	WorkflowsSeen         uint64  `json:"workflowsSeen"`
	WorkflowsRecognised   uint64  `json:"workflowsRecognised"`
	WorkflowDetections    uint64  `json:"workflowDetections"`

	Alerts    ReportAlerts `json:"alerts"`
	Rollbacks uint64       `json:"rollbacks"`

	// HealthScore and Status are the verdict at the end of the period.
	HealthScore float64 `json:"healthScore"`
	Status      Status  `json:"status"`

	// AnnualCostSaving is MemorySavedMB × CostPerMBMonth × 12, in dollars.
	CostPerMBMonth   float64 `json:"costPerMBMonth"`
	AnnualCostSaving float64 `json:"annualCostSaving"`
}

// MarshalJSON writes the Report in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (r Report) MarshalJSON() ([]byte, error) { return jsonx.Marshal(r) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier form).
func (r *Report) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, r) }

// ReportAlerts counts the alerts that fired in the period, by severity,
// and the ones firing at its end.
type ReportAlerts struct {
	Critical int `json:"critical"`
	Warning  int `json:"warning"`
	Info     int `json:"info"`
	// Rules names the rules that fired, sorted.
	Rules []string `json:"rules"`
	// Firing is the alerts of any severity firing at the end.
	Firing int `json:"firing"`
}

// MarshalJSON writes the ReportAlerts in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (r ReportAlerts) MarshalJSON() ([]byte, error) { return jsonx.Marshal(r) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier form).
func (r *ReportAlerts) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, r) }

// Report summarises the last period (clamped to the retention and to the
// monitor's life).
func (m *Monitor) Report(period time.Duration) Report {
	now := m.clk.Now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	from := m.clampFrom(now.Add(-period))
	a := m.store.collect(m.lowerBound(from), now.UnixNano(), m.cfg.interval, -1)
	// rollbacks is present in every sample, so its count is the samples'.
	r := Report{From: from, To: now, Samples: a.cnt[idRollbacks], CostPerMBMonth: m.cfg.costPerMB}
	get := func(id int) float64 { v, _ := a.value(id); return v }
	count := func(id int) uint64 { return uint64(get(id) + 0.5) }
	r.MemoryCurrentMB = mb(get(idMemoryCurrent))
	r.MemoryBaselineMB = mb(get(idMemoryBaseline))
	r.MemorySavedMB = mb(get(idMemorySaved))
	if r.MemoryBaselineMB > 0 {
		r.MemorySavedShare = r.MemorySavedMB / r.MemoryBaselineMB
	}
	r.WarmHitRate, r.Tasks, r.WarmHits = get(idWarmHitRate), count(idTasks), count(idWarmHits)
	r.ResponseTimeMs, r.LegacyResponseTimeMs = get(idResponseTime), get(idLegacyResponseTime)
	if _, ok := a.value(idResponseTimeOverhead); ok {
		r.ResponseTimeOverheadMs = get(idResponseTimeOverhead)
	}
	r.Calls, r.LegacyCalls = count(idCalls), count(idLegacyCalls)
	r.ErrorRate, r.Errors = get(idErrorRate), count(idErrors)
	r.PredictionAccuracy, r.PrewarmsUsed, r.PrewarmsWasted = get(idPredictionAccuracy), count(idPrewarmsUsed), count(idPrewarmsWasted)
	r.WorkflowDetectionRate = get(idWorkflowDetectionRate)
	r.WorkflowsSeen, r.WorkflowsRecognised, r.WorkflowDetections = count(idWorkflowsSeen), count(idWorkflowsRecognised), count(idWorkflowDetections)
	r.Rollbacks = count(idRollbacks)
	r.AnnualCostSaving = r.MemorySavedMB * m.cfg.costPerMB * 12

	rules := map[string]bool{}
	for _, al := range m.historyLocked() {
		if !al.FiredAt.After(from) || al.FiredAt.After(now) {
			continue
		}
		switch al.Severity {
		case SeverityCritical:
			r.Alerts.Critical++
		case SeverityWarning:
			r.Alerts.Warning++
		case SeverityInfo:
			r.Alerts.Info++
		}
		rules[al.Rule] = true
	}
	r.Alerts.Rules = make([]string, 0, len(rules))
	for name := range rules {
		r.Alerts.Rules = append(r.Alerts.Rules, name)
	}
	slices.Sort(r.Alerts.Rules)
	r.Alerts.Firing, _, _ = m.firingLocked()
	if !m.latest.IsZero() {
		h := m.healthLocked(now, nil)
		r.HealthScore, r.Status = h.Score, h.Status
	}
	return r
}

// WriteText renders the report as a plain-text table.
func (r Report) WriteText(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "BUMBA Intelligent Pooling report: %s → %s (%v, %d samples)\n",
		r.From.UTC().Format(time.RFC3339), r.To.UTC().Format(time.RFC3339), r.To.Sub(r.From).Round(time.Second), r.Samples); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	na := "n/a"
	pct := func(v float64, n uint64, detail string) string {
		if n == 0 {
			return na
		}
		return fmt.Sprintf("%.1f %% (%s)", 100*v, detail)
	}
	fmt.Fprintf(tw, "metric\tvalue\n")
	if r.MemoryBaselineMB > 0 {
		fmt.Fprintf(tw, "memory saved\t%.1f MB mean over the period's samples (%.1f %% of %.1f MB; %.1f MB held)\n", r.MemorySavedMB, 100*r.MemorySavedShare, r.MemoryBaselineMB, r.MemoryCurrentMB)
	} else {
		fmt.Fprintf(tw, "memory saved\t%s\n", na)
	}
	fmt.Fprintf(tw, "warm hit rate\t%s\n", pct(r.WarmHitRate, r.Tasks, fmt.Sprintf("%d of %d tasks", r.WarmHits, r.Tasks)))
	switch {
	case r.Calls > 0 && r.LegacyCalls > 0:
		fmt.Fprintf(tw, "response time\t%.0f ms (legacy %.0f ms, overhead %+.0f ms)\n", r.ResponseTimeMs, r.LegacyResponseTimeMs, r.ResponseTimeOverheadMs)
	case r.Calls > 0:
		fmt.Fprintf(tw, "response time\t%.0f ms (overhead n/a: no legacy calls)\n", r.ResponseTimeMs)
	default:
		fmt.Fprintf(tw, "response time\t%s\n", na)
	}
	fmt.Fprintf(tw, "error rate\t%s\n", pct(r.ErrorRate, r.Calls, fmt.Sprintf("%d of %d calls", r.Errors, r.Calls)))
	decided := r.PrewarmsUsed + r.PrewarmsWasted
	fmt.Fprintf(tw, "prediction accuracy\t%s\n", pct(r.PredictionAccuracy, decided, fmt.Sprintf("%d of %d pre-warms used", r.PrewarmsUsed, decided)))
	fmt.Fprintf(tw, "workflow detection\t%s; %d detections\n",
		pct(r.WorkflowDetectionRate, r.WorkflowsSeen, fmt.Sprintf("%d of %d instances", r.WorkflowsRecognised, r.WorkflowsSeen)), r.WorkflowDetections)
	alerts := fmt.Sprintf("%d critical, %d warning, %d info fired; %d firing now", r.Alerts.Critical, r.Alerts.Warning, r.Alerts.Info, r.Alerts.Firing)
	if len(r.Alerts.Rules) > 0 {
		alerts += " (" + strings.Join(r.Alerts.Rules, ", ") + ")"
	}
	fmt.Fprintf(tw, "alerts\t%s\n", alerts)
	fmt.Fprintf(tw, "rollbacks\t%d\n", r.Rollbacks)
	if r.Status != "" {
		fmt.Fprintf(tw, "health\t%.1f (%s)\n", r.HealthScore, r.Status)
	}
	fmt.Fprintf(tw, "annual cost saving\t$%.0f: the mean memory saved × $%.2f/MB-month × 12\n", r.AnnualCostSaving, r.CostPerMBMonth)
	return tw.Flush()
}

// String returns the plain-text table.
func (r Report) String() string {
	var b strings.Builder
	_ = r.WriteText(&b)
	return b.String()
}
