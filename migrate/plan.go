package migrate

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/internal/jsonx"
)

// Phase is one of the seed's six deployment phases.
type Phase string

// Phases, in rollout order.
const (
	PhasePreparation  Phase = "preparation"
	PhaseShadow       Phase = "shadow"
	PhaseHybrid       Phase = "hybrid"
	PhaseFull         Phase = "full"
	PhaseOptimisation Phase = "optimisation"
	PhaseVerification Phase = "verification"
)

// Metric names a figure a gate criterion checks.
type Metric string

// Metrics a gate can check. Rates and shares are fractions in [0, 1].
const (
	// MetricMemoryEfficiency is the pool's memory efficiency, the lowest
	// sampled in the window (it must hold throughout). Needs one sample.
	MetricMemoryEfficiency Metric = "memory_efficiency"
	// MetricErrorRate is the intelligent executor's error rate over the
	// window (shadow runs included). Needs Gate.MinCalls calls.
	MetricErrorRate Metric = "error_rate"
	// MetricLatencyRatio is the intelligent executor's mean latency over
	// the window divided by the legacy baseline mean. Needs Gate.MinCalls
	// intelligent calls and a baseline.
	MetricLatencyRatio Metric = "latency_ratio"
	// MetricCompatibility is the share of shadow comparisons that matched.
	// Needs Gate.MinCompared comparisons.
	MetricCompatibility Metric = "compatibility"
)

func (m Metric) valid() bool {
	switch m {
	case MetricMemoryEfficiency, MetricErrorRate, MetricLatencyRatio, MetricCompatibility:
		return true
	}
	return false
}

// Op compares a value with a threshold.
type Op string

// Comparison operators.
const (
	Above   Op = ">"
	Below   Op = "<"
	AtLeast Op = ">="
	AtMost  Op = "<="
)

func (o Op) holds(v, t float64) bool {
	switch o {
	case Above:
		return v > t
	case Below:
		return v < t
	case AtLeast:
		return v >= t
	case AtMost:
		return v <= t
	}
	return false
}

func (o Op) valid() bool { return o == Above || o == Below || o == AtLeast || o == AtMost }

// Criterion is one condition of a gate: Metric Op Threshold must hold.
type Criterion struct {
	Metric    Metric  `json:"metric"`
	Op        Op      `json:"op"`
	Threshold float64 `json:"threshold"`
}

// String renders "error_rate < 2%" or "latency_ratio < 2.5x".
func (c Criterion) String() string {
	return fmt.Sprintf("%s %s %s", c.Metric, c.Op, formatValue(c.Metric, c.Threshold))
}

func formatValue(m Metric, v float64) string {
	if m == MetricLatencyRatio {
		return fmt.Sprintf("%.2fx", v)
	}
	return fmt.Sprintf("%.2f%%", 100*v)
}

// Gate is what must hold over a step's soak time for the step to advance.
// A gate without criteria always passes. A criterion whose metric lacks
// data (fewer calls or comparisons than the minimum, no memory sample, no
// latency baseline) does not pass: no data means not passed.
type Gate struct {
	Criteria []Criterion `json:"criteria"`
	// MinCalls is the number of intelligent calls the window must hold
	// before the error rate and the latency ratio count.
	MinCalls uint64 `json:"minCalls"`
	// MinCompared is the number of shadow comparisons the window must hold
	// before compatibility counts.
	MinCompared uint64 `json:"minCompared"`
	// MaxLatency is the absolute limit a latency-ratio criterion applies
	// instead of the ratio while the legacy baseline is below
	// MinLatencyBaseline: it passes when the intelligent mean is below
	// MaxLatency (0: such a criterion has no data). DefaultGate uses
	// DefaultMaxLatency, the seed's "performance degradation" line.
	MaxLatency time.Duration `json:"maxLatencyMs"`
}

// MarshalJSON writes MaxLatency in milliseconds and no criteria as [] in the module's JSON convention (internal/jsonx).
func (g Gate) MarshalJSON() ([]byte, error) { return jsonx.Marshal(g) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form).
func (g *Gate) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, g) }

func (g Gate) validate() error {
	for i, c := range g.Criteria {
		if !c.Metric.valid() {
			return fmt.Errorf("criterion %d: metric %q: want memory_efficiency, error_rate, latency_ratio or compatibility", i, c.Metric)
		}
		if !c.Op.valid() {
			return fmt.Errorf("criterion %d: op %q: want >, <, >= or <=", i, c.Op)
		}
		if math.IsNaN(c.Threshold) || math.IsInf(c.Threshold, 0) || c.Threshold < 0 {
			return fmt.Errorf("criterion %d (%s): threshold %v: want a finite value >= 0", i, c.Metric, c.Threshold)
		}
		if c.Metric != MetricLatencyRatio && c.Threshold > 1 {
			return fmt.Errorf("criterion %d (%s): threshold %v: want a fraction in [0, 1]", i, c.Metric, c.Threshold)
		}
	}
	return nil
}

// CheckResult is one criterion evaluated on a window.
type CheckResult struct {
	Criterion
	// Value is the measured value (meaningful when HasData).
	Value   float64 `json:"value"`
	HasData bool    `json:"hasData"`
	Passed  bool    `json:"passed"`
	// Absolute: a latency-ratio criterion judged on Gate.MaxLatency
	// because the legacy baseline is below MinLatencyBaseline; Value is
	// then the mean over that limit.
	Absolute bool `json:"absolute,omitempty"`
	// Detail says what was measured, or what data was missing.
	Detail string `json:"detail"`
}

// MarshalJSON writes it in the module's JSON convention (internal/jsonx).
func (c CheckResult) MarshalJSON() ([]byte, error) { return jsonx.Marshal(c) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form).
func (c *CheckResult) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, c) }

// GateResult is a gate evaluated on a window.
type GateResult struct {
	// Passed: every criterion had data and held.
	Passed bool `json:"passed"`
	// Failed: a criterion with data did not hold (the soak restarts).
	Failed bool `json:"failed"`
	// NoData: no criterion failed but one lacked data.
	NoData bool          `json:"noData"`
	Checks []CheckResult `json:"checks"`
}

// MarshalJSON writes no checks as [] in the module's JSON convention (internal/jsonx).
func (g GateResult) MarshalJSON() ([]byte, error) { return jsonx.Marshal(g) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form).
func (g *GateResult) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, g) }

// String renders the checks on one line.
func (r GateResult) String() string {
	if len(r.Checks) == 0 {
		return "no criteria"
	}
	parts := make([]string, len(r.Checks))
	for i, c := range r.Checks {
		mark := "ok"
		switch {
		case !c.HasData:
			mark = "no data"
		case !c.Passed:
			mark = "FAILED"
		}
		parts[i] = fmt.Sprintf("%s [%s: %s]", c.Criterion, mark, c.Detail)
	}
	return strings.Join(parts, "; ")
}

// cause summarises why a gate did not pass, as a stable key: the failing
// and the data-less criteria.
func (r GateResult) cause() string {
	var b strings.Builder
	for _, c := range r.Checks {
		if !c.Passed {
			fmt.Fprintf(&b, "%s:%t;", c.Metric, c.HasData)
		}
	}
	return b.String()
}

// Evaluate checks the gate on w against the latency baseline b.
func (g Gate) Evaluate(w Window, b Baseline) GateResult {
	res := GateResult{Passed: true, Checks: make([]CheckResult, 0, len(g.Criteria))}
	for _, c := range g.Criteria {
		cr := CheckResult{Criterion: c}
		switch c.Metric {
		case MetricMemoryEfficiency:
			if w.Memory.Samples == 0 {
				cr.Detail = "no memory sample"
				break
			}
			cr.Value, cr.HasData = w.Memory.Min, true
			cr.Detail = fmt.Sprintf("lowest %.2f%% of %d samples", 100*w.Memory.Min, w.Memory.Samples)
		case MetricErrorRate:
			if w.Intelligent.Calls < max(g.MinCalls, 1) {
				cr.Detail = fmt.Sprintf("%d of %d intelligent calls", w.Intelligent.Calls, max(g.MinCalls, 1))
				break
			}
			cr.Value, _ = w.ErrorRate()
			cr.HasData = true
			cr.Detail = fmt.Sprintf("%d errors in %d calls", w.Intelligent.Errors, w.Intelligent.Calls)
		case MetricLatencyRatio:
			base, known := b.Mean()
			switch {
			case w.Intelligent.Calls < max(g.MinCalls, 1):
				cr.Detail = fmt.Sprintf("%d of %d intelligent calls", w.Intelligent.Calls, max(g.MinCalls, 1))
			case !known:
				cr.Detail = "no legacy latency baseline"
			case base < MinLatencyBaseline && g.MaxLatency <= 0:
				cr.Detail = fmt.Sprintf("legacy baseline %v below the %v floor and no absolute limit", base, MinLatencyBaseline)
			case base < MinLatencyBaseline:
				// Judged on the absolute limit: holds as the ratio
				// criterion would when the mean is within it.
				mean := w.Intelligent.Mean()
				cr.HasData, cr.Absolute = true, true
				cr.Value = float64(mean) / float64(g.MaxLatency)
				cr.Passed = mean < g.MaxLatency
				if !cr.Passed {
					res.Failed = true
				}
				cr.Detail = fmt.Sprintf("mean %v vs absolute limit %v (legacy baseline %v below the %v floor: no ratio)",
					mean, g.MaxLatency, base, MinLatencyBaseline)
			default:
				cr.Value, _ = w.LatencyRatio(b)
				cr.HasData = true
				cr.Detail = fmt.Sprintf("mean %v vs legacy %v", w.Intelligent.Mean(), base)
			}
		case MetricCompatibility:
			if w.Compared < max(g.MinCompared, 1) {
				cr.Detail = fmt.Sprintf("%d of %d comparisons", w.Compared, max(g.MinCompared, 1))
				break
			}
			cr.Value, _ = w.Compatibility()
			cr.HasData = true
			cr.Detail = fmt.Sprintf("%d of %d matched", w.Matched, w.Compared)
		}
		if cr.HasData && !cr.Absolute {
			cr.Passed = c.Op.holds(cr.Value, c.Threshold)
			if !cr.Passed {
				res.Failed = true
			}
		}
		if !cr.Passed {
			res.Passed = false
		}
		res.Checks = append(res.Checks, cr)
	}
	res.NoData = !res.Passed && !res.Failed
	return res
}

// Step is one step of a plan: route as Routing for at least Soak, then
// advance when Gate holds over the soak.
type Step struct {
	// Name identifies the step (unique in its plan): "hybrid-50".
	Name  string `json:"name"`
	Phase Phase  `json:"phase"`
	// Routing is applied to the bridge when the step begins.
	Routing Routing `json:"routing"`
	// Soak is how long the gate must hold before the step advances.
	Soak time.Duration `json:"soakMs"`
	Gate Gate          `json:"gate"`
	// Tune runs the optimiser (see Tuner) during the step.
	Tune bool `json:"tune,omitempty"`
}

// MarshalJSON writes the soak in milliseconds in the module's JSON convention (internal/jsonx).
func (s Step) MarshalJSON() ([]byte, error) { return jsonx.Marshal(s) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form).
func (s *Step) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, s) }

// Plan is an ordered list of steps.
type Plan struct {
	Name  string `json:"name"`
	Steps []Step `json:"steps"`
}

// MarshalJSON writes no steps as [] in the module's JSON convention (internal/jsonx).
func (p Plan) MarshalJSON() ([]byte, error) { return jsonx.Marshal(p) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form).
func (p *Plan) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, p) }

// Index returns the position of the step named name, or -1.
func (p Plan) Index(name string) int {
	for i, s := range p.Steps {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// Duration is the sum of the soak times: the shortest the plan can take.
func (p Plan) Duration() time.Duration {
	var d time.Duration
	for _, s := range p.Steps {
		d += s.Soak
	}
	return d
}

// Validate checks the plan: at least one step, unique non-empty names,
// valid routings, non-negative soaks and valid gates. Errors wrap
// ErrInvalidPlan and name the step.
func (p Plan) Validate() error {
	if len(p.Steps) == 0 {
		return fmt.Errorf("%w: no steps", ErrInvalidPlan)
	}
	seen := make(map[string]bool, len(p.Steps))
	for i, s := range p.Steps {
		if strings.TrimSpace(s.Name) == "" {
			return fmt.Errorf("%w: step %d has no name", ErrInvalidPlan, i)
		}
		if seen[s.Name] {
			return fmt.Errorf("%w: step %d: name %q used twice", ErrInvalidPlan, i, s.Name)
		}
		seen[s.Name] = true
		if err := s.Routing.validate(); err != nil {
			return fmt.Errorf("%w: step %q: %v", ErrInvalidPlan, s.Name, err)
		}
		if s.Soak < 0 {
			return fmt.Errorf("%w: step %q: soak %v: want >= 0", ErrInvalidPlan, s.Name, s.Soak)
		}
		if err := s.Gate.validate(); err != nil {
			return fmt.Errorf("%w: step %q: %v", ErrInvalidPlan, s.Name, err)
		}
	}
	return nil
}

// DefaultGate is the seed's success criteria for a step that serves from
// the pool: memory efficiency > 70 %, error rate < 2 %, response-time
// ratio to legacy < 2.5×, over at least DefaultMinCalls intelligent calls.
func DefaultGate() Gate {
	return Gate{
		Criteria: []Criterion{
			{Metric: MetricMemoryEfficiency, Op: Above, Threshold: DefaultMinMemoryEfficiency},
			{Metric: MetricErrorRate, Op: Below, Threshold: DefaultMaxErrorRate},
			{Metric: MetricLatencyRatio, Op: Below, Threshold: DefaultMaxLatencyRatio},
		},
		MinCalls:   DefaultMinCalls,
		MaxLatency: DefaultMaxLatency,
	}
}

// ShadowGate is DefaultGate plus command compatibility 100 % over at least
// DefaultMinCompared shadow comparisons.
func ShadowGate() Gate {
	g := DefaultGate()
	g.Criteria = append(g.Criteria, Criterion{Metric: MetricCompatibility, Op: AtLeast, Threshold: DefaultMinCompatibility})
	g.MinCompared = DefaultMinCompared
	return g
}

// DefaultPlan is the seed's six phases as eight steps:
//
//	step          routing      soak    gate
//	preparation   fallback     10 min  none (legacy serves; the pool starts)
//	shadow        shadow       30 min  ShadowGate
//	hybrid-25     hybrid 25 %  30 min  DefaultGate
//	hybrid-50     hybrid 50 %  30 min  DefaultGate
//	hybrid-75     hybrid 75 %  30 min  DefaultGate
//	full          full 100 %   30 min  DefaultGate
//	optimisation  full 100 %   1 h     DefaultGate, tuning on
//	verification  full 100 %   30 min  DefaultGate
func DefaultPlan() Plan {
	hybrid := func(pct float64) Step {
		return Step{
			Name: fmt.Sprintf("hybrid-%g", pct), Phase: PhaseHybrid,
			Routing: Routing{Mode: bridge.ModeHybrid, Percentage: pct},
			Soak:    DefaultHybridSoak, Gate: DefaultGate(),
		}
	}
	full := Routing{Mode: bridge.ModeFull, Percentage: 100}
	return Plan{
		Name: "default",
		Steps: []Step{
			{Name: "preparation", Phase: PhasePreparation, Routing: Legacy, Soak: DefaultPreparationSoak},
			{Name: "shadow", Phase: PhaseShadow, Routing: Routing{Mode: bridge.ModeShadow}, Soak: DefaultShadowSoak, Gate: ShadowGate()},
			hybrid(25), hybrid(50), hybrid(75),
			{Name: "full", Phase: PhaseFull, Routing: full, Soak: DefaultFullSoak, Gate: DefaultGate()},
			{Name: "optimisation", Phase: PhaseOptimisation, Routing: full, Soak: DefaultOptimisationSoak, Gate: DefaultGate(), Tune: true},
			{Name: "verification", Phase: PhaseVerification, Routing: full, Soak: DefaultVerificationSoak, Gate: DefaultGate()},
		},
	}
}
