package admin

import (
	"math"
	"time"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/monitor"
	"github.com/bumba/pooling/pool"
)

// Status is GET /admin/v1/status: the one-screen view of a running host.
// Sections whose object the host did not give are absent.
type Status struct {
	Replica   string    `json:"replica"`
	Now       time.Time `json:"now"`
	StartedAt time.Time `json:"startedAt"`
	UptimeMs  int64     `json:"uptimeMs"`
	// Mode and Percentage are the bridge's routing now (percentage in
	// percent, 0–100).
	Mode       string  `json:"mode,omitempty"`
	Percentage float64 `json:"percentage"`
	// Rollout is the controller's step, soak and gate.
	Rollout *RolloutStatus `json:"rollout,omitempty"`
	Health  *HealthSummary `json:"health,omitempty"`
	// Alerts are the alerts firing now (pending ones are in /alerts).
	Alerts []AlertSummary `json:"alerts"`
	// Rollback is the most recent rollback (absent if none).
	Rollback *RollbackSummary `json:"rollback,omitempty"`
	// Partitioned reports that the replica is cut off from its fleet's
	// shared state (false without a fleet); Fleet gives the details.
	Partitioned bool         `json:"partitioned"`
	Fleet       *FleetReport `json:"fleet,omitempty"`
	// Pool is a short summary of the pool.
	Pool *PoolSummary `json:"pool,omitempty"`
}

// FleetReport is the fleet section of Status.
type FleetReport struct {
	Replica     string `json:"replica"`
	Leader      string `json:"leader"`
	Partitioned bool   `json:"partitioned"`
}

// PoolSummary is the pool section of Status.
type PoolSummary struct {
	Specialists      int     `json:"specialists"`
	Warm             int     `json:"warm"`
	MaxWarm          int     `json:"maxWarm"`
	WarmHitRate      float64 `json:"warmHitRate"`
	MemoryEfficiency float64 `json:"memoryEfficiency"`
	QueueDepth       int     `json:"queueDepth"`
}

// HealthSummary is the health section of Status.
type HealthSummary struct {
	Status string  `json:"status"`
	Score  float64 `json:"score"`
	// Alerts is the critical and warning alerts firing (the seed's count).
	Alerts int `json:"alerts"`
}

// AlertSummary is one firing alert in Status.
type AlertSummary struct {
	Rule     string    `json:"rule"`
	Severity string    `json:"severity"`
	Message  string    `json:"message"`
	Value    float64   `json:"value"`
	FiredAt  time.Time `json:"firedAt,omitzero"`
}

// RollbackSummary is the latest rollback in Status.
type RollbackSummary struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	Reason     string    `json:"reason"`
	Trigger    string    `json:"trigger"`
	InProgress bool      `json:"inProgress"`
}

// RolloutStatus is the rollout section of Status and GET /admin/v1/rollout.
type RolloutStatus struct {
	Plan  string `json:"plan"`
	Step  string `json:"step"`
	Phase string `json:"phase"`
	Index int    `json:"index"`
	Steps int    `json:"steps"`
	State string `json:"state"`
	// Reason is why the rollout is held or rolled back.
	Reason string `json:"reason,omitempty"`
	// Routing is what the step routes (percentage in percent).
	Mode       string  `json:"mode"`
	Percentage float64 `json:"percentage"`
	// SoakMs is the step's soak time, SoakedMs what has accrued,
	// RemainingMs what is left.
	SoakMs      int64 `json:"soakMs"`
	SoakedMs    int64 `json:"soakedMs"`
	RemainingMs int64 `json:"remainingMs"`
	// Gate is the last evaluation of the step's gate (absent before one).
	Gate          *GateReport `json:"gate,omitempty"`
	StepStartedAt time.Time   `json:"stepStartedAt,omitzero"`
	LastRollback  string      `json:"lastRollback,omitempty"`
	// PlanSteps lists the plan (only in GET /admin/v1/rollout).
	PlanSteps []PlanStep `json:"planSteps,omitempty"`
}

// GateReport is a gate evaluation.
type GateReport struct {
	Passed bool          `json:"passed"`
	Failed bool          `json:"failed"`
	NoData bool          `json:"noData"`
	Checks []CheckReport `json:"checks"`
}

// CheckReport is one gate criterion: Metric Op Threshold, measured Value.
// Rates are fractions 0–1, the latency ratio a factor.
type CheckReport struct {
	Metric    string  `json:"metric"`
	Op        string  `json:"op"`
	Threshold float64 `json:"threshold"`
	Value     float64 `json:"value"`
	HasData   bool    `json:"hasData"`
	Passed    bool    `json:"passed"`
	Detail    string  `json:"detail"`
}

// PlanStep is one step of the plan.
type PlanStep struct {
	Name       string   `json:"name"`
	Phase      string   `json:"phase"`
	Mode       string   `json:"mode"`
	Percentage float64  `json:"percentage"`
	SoakMs     int64    `json:"soakMs"`
	Gate       []string `json:"gate"`
	Tune       bool     `json:"tune,omitempty"`
}

func rolloutStatus(st migrate.Status) *RolloutStatus {
	rs := &RolloutStatus{
		Plan: st.Plan, Step: st.Step.Name, Phase: string(st.Step.Phase), Index: st.Index, Steps: st.Steps,
		State: string(st.State), Reason: st.Reason,
		Mode: modeName(st.Step.Routing.Mode), Percentage: st.Step.Routing.Percentage,
		SoakMs: st.Step.Soak.Milliseconds(), SoakedMs: st.Soaked.Milliseconds(), RemainingMs: st.Remaining().Milliseconds(),
		StepStartedAt: st.StepStartedAt, LastRollback: st.LastRollback,
	}
	if st.Gate != nil {
		rs.Gate = gateReport(*st.Gate)
	}
	return rs
}

func gateReport(g migrate.GateResult) *GateReport {
	out := &GateReport{Passed: g.Passed, Failed: g.Failed, NoData: g.NoData, Checks: make([]CheckReport, 0, len(g.Checks))}
	for _, c := range g.Checks {
		out.Checks = append(out.Checks, CheckReport{
			Metric: string(c.Metric), Op: string(c.Op), Threshold: c.Threshold,
			Value: finite(c.Value), HasData: c.HasData, Passed: c.Passed, Detail: c.Detail,
		})
	}
	return out
}

func planSteps(p migrate.Plan) []PlanStep {
	out := make([]PlanStep, 0, len(p.Steps))
	for _, s := range p.Steps {
		g := make([]string, 0, len(s.Gate.Criteria))
		for _, c := range s.Gate.Criteria {
			g = append(g, c.String())
		}
		out = append(out, PlanStep{Name: s.Name, Phase: string(s.Phase), Mode: modeName(s.Routing.Mode),
			Percentage: s.Routing.Percentage, SoakMs: s.Soak.Milliseconds(), Gate: g, Tune: s.Tune})
	}
	return out
}

func modeName(m bridge.Mode) string {
	if !m.Valid() {
		return ""
	}
	return m.String()
}

// finite maps NaN and infinities (which JSON cannot carry) to 0.
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

func alertSummaries(as []monitor.Alert) []AlertSummary {
	out := []AlertSummary{}
	for _, a := range as {
		if a.State != monitor.StateFiring {
			continue
		}
		out = append(out, AlertSummary{Rule: a.Rule, Severity: string(a.Severity), Message: a.Message, Value: finite(a.Value), FiredAt: a.FiredAt})
	}
	return out
}

// PoolStats is GET /admin/v1/pool: pool.Stats with camelCase keys and
// milliseconds.
type PoolStats struct {
	Specialists           int                        `json:"specialists"`
	Warm                  int                        `json:"warm"`
	Active                int                        `json:"active"`
	Warming               int                        `json:"warming"`
	Cooling               int                        `json:"cooling"`
	Cold                  int                        `json:"cold"`
	Errored               int                        `json:"errored"`
	MaxWarm               int                        `json:"maxWarm"`
	Tasks                 uint64                     `json:"tasks"`
	WarmHits              uint64                     `json:"warmHits"`
	Misses                uint64                     `json:"misses"`
	ColdStarts            uint64                     `json:"coldStarts"`
	Prewarms              uint64                     `json:"prewarms"`
	StartFailures         uint64                     `json:"startFailures"`
	TaskErrors            uint64                     `json:"taskErrors"`
	Panics                uint64                     `json:"panics"`
	Rejected              uint64                     `json:"rejected"`
	Evictions             uint64                     `json:"evictions"`
	Cooled                uint64                     `json:"cooled"`
	WarmHitRate           float64                    `json:"warmHitRate"`
	PrewarmsUsed          uint64                     `json:"prewarmsUsed"`
	PrewarmsLate          uint64                     `json:"prewarmsLate"`
	PrewarmsWasted        uint64                     `json:"prewarmsWasted"`
	PrewarmsDeclined      uint64                     `json:"prewarmsDeclined"`
	PredictionAccuracy    float64                    `json:"predictionAccuracy"`
	ObservationsDropped   uint64                     `json:"observationsDropped"`
	CallbackPanics        uint64                     `json:"callbackPanics"`
	WorkflowsSeen         uint64                     `json:"workflowsSeen"`
	WorkflowsRecognised   uint64                     `json:"workflowsRecognised"`
	WorkflowDetections    uint64                     `json:"workflowDetections"`
	WorkflowDetectionRate float64                    `json:"workflowDetectionRate"`
	QueueDepth            int                        `json:"queueDepth"`
	MemoryCurrent         int64                      `json:"memoryCurrentBytes"`
	MemoryBaseline        int64                      `json:"memoryBaselineBytes"`
	MemorySaved           int64                      `json:"memorySavedBytes"`
	MemoryEfficiency      float64                    `json:"memoryEfficiency"`
	WarmThreshold         float64                    `json:"warmThreshold"`
	ThresholdAdjustments  uint64                     `json:"thresholdAdjustments"`
	AverageStartMs        float64                    `json:"averageStartMs"`
	Departments           map[string]DepartmentStats `json:"departments"`
}

// DepartmentStats is one department in PoolStats.
type DepartmentStats struct {
	Specialists    int     `json:"specialists"`
	Warm           int     `json:"warm"`
	Active         int     `json:"active"`
	Warming        int     `json:"warming"`
	Cold           int     `json:"cold"`
	Tasks          uint64  `json:"tasks"`
	WarmHits       uint64  `json:"warmHits"`
	Misses         uint64  `json:"misses"`
	ColdStarts     uint64  `json:"coldStarts"`
	Prewarms       uint64  `json:"prewarms"`
	WarmHitRate    float64 `json:"warmHitRate"`
	MemoryCurrent  int64   `json:"memoryCurrentBytes"`
	MemoryBaseline int64   `json:"memoryBaselineBytes"`
}

func poolStats(s pool.Stats) PoolStats {
	out := PoolStats{
		Specialists: s.Specialists, Warm: s.Warm, Active: s.Active, Warming: s.Warming, Cooling: s.Cooling,
		Cold: s.Cold, Errored: s.Errored, MaxWarm: s.MaxWarm, Tasks: s.Tasks, WarmHits: s.WarmHits,
		Misses: s.Misses, ColdStarts: s.ColdStarts, Prewarms: s.Prewarms, StartFailures: s.StartFailures,
		TaskErrors: s.TaskErrors, Panics: s.Panics, Rejected: s.Rejected, Evictions: s.Evictions, Cooled: s.Cooled,
		WarmHitRate: finite(s.WarmHitRate), PrewarmsUsed: s.PrewarmsUsed, PrewarmsLate: s.PrewarmsLate,
		PrewarmsWasted: s.PrewarmsWasted, PrewarmsDeclined: s.PrewarmsDeclined,
		PredictionAccuracy: finite(s.PredictionAccuracy), ObservationsDropped: s.ObservationsDropped,
		CallbackPanics: s.CallbackPanics, WorkflowsSeen: s.Workflows.Seen, WorkflowsRecognised: s.Workflows.Recognised,
		WorkflowDetections: s.Workflows.Detections, WorkflowDetectionRate: finite(s.WorkflowDetectionRate),
		QueueDepth: s.QueueDepth, MemoryCurrent: s.MemoryCurrent, MemoryBaseline: s.MemoryBaseline,
		MemorySaved: s.MemorySaved, MemoryEfficiency: finite(s.MemoryEfficiency), WarmThreshold: finite(s.WarmThreshold),
		ThresholdAdjustments: s.ThresholdAdjustments, AverageStartMs: float64(s.AverageStart) / float64(time.Millisecond),
		Departments: make(map[string]DepartmentStats, len(s.Departments)),
	}
	for name, d := range s.Departments {
		out.Departments[name] = DepartmentStats{Specialists: d.Specialists, Warm: d.Warm, Active: d.Active,
			Warming: d.Warming, Cold: d.Cold, Tasks: d.Tasks, WarmHits: d.WarmHits, Misses: d.Misses,
			ColdStarts: d.ColdStarts, Prewarms: d.Prewarms, WarmHitRate: finite(d.WarmHitRate),
			MemoryCurrent: d.MemoryCurrent, MemoryBaseline: d.MemoryBaseline}
	}
	return out
}

// HealthReport is GET /admin/v1/health: the seed's health JSON plus the
// score and its components.
type HealthReport struct {
	monitor.Health
	Score      float64             `json:"score"`
	Components []monitor.Component `json:"components"`
}
