package monitor

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/bumba/pooling/internal/jsonx"
)

// Severity is how urgent an alert is.
type Severity string

// Severities, most urgent first.
const (
	SeverityCritical Severity = "critical"
	SeverityWarning  Severity = "warning"
	SeverityInfo     Severity = "info"
)

const numSeverities = 3

func (s Severity) index() int {
	switch s {
	case SeverityCritical:
		return 0
	case SeverityWarning:
		return 1
	case SeverityInfo:
		return 2
	}
	return -1
}

// Op compares a metric's value with a rule's threshold.
type Op string

// Comparisons.
const (
	Above   Op = ">"
	AtLeast Op = ">="
	Below   Op = "<"
	AtMost  Op = "<="
)

func (o Op) holds(v, threshold float64) bool {
	switch o {
	case Above:
		return v > threshold
	case AtLeast:
		return v >= threshold
	case Below:
		return v < threshold
	case AtMost:
		return v <= threshold
	}
	return false
}

// Rule is an alert rule: it holds while Metric Op Threshold in every sample
// that has the metric, and fires once it has held for at least For (at
// once with For 0). A sample without the metric (no evidence: no calls, no
// tasks, no decided pre-warms in the interval) leaves the rule's alert as it
// was.
type Rule struct {
	// Name identifies the rule and its alert (one alert per rule at a
	// time: alerts are de-duplicated by name).
	Name      string        `json:"name"`
	Severity  Severity      `json:"severity"`
	Metric    Metric        `json:"metric"`
	Op        Op            `json:"op"`
	Threshold float64       `json:"threshold"`
	For       time.Duration `json:"forMs"`
	// Message says what the alert means (the seed's text for the
	// defaults).
	Message string `json:"message"`
}

// MarshalJSON writes the Rule in the module's JSON convention (camelCase,
// durations in milliseconds, [] not null; internal/jsonx).
func (r Rule) MarshalJSON() ([]byte, error) { return jsonx.Marshal(r) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier form).
func (r *Rule) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, r) }

// Validate checks the rule; the error wraps ErrInvalidConfig and names the
// field, the value and what is allowed.
func (r Rule) Validate() error {
	bad := func(field string, v any, allowed string) error {
		return fmt.Errorf("monitor: rule %q: %s %v: allowed %s: %w", r.Name, field, v, allowed, ErrInvalidConfig)
	}
	switch {
	case strings.TrimSpace(r.Name) == "":
		return bad("name", `""`, "a non-empty name")
	case r.Severity.index() < 0:
		return bad("severity", fmt.Sprintf("%q", r.Severity), "critical, warning or info")
	case !r.Metric.Valid():
		return bad("metric", fmt.Sprintf("%q", r.Metric), "one of monitor.Metrics()")
	case !r.Op.valid():
		return bad("op", fmt.Sprintf("%q", r.Op), `">", ">=", "<" or "<="`)
	case math.IsNaN(r.Threshold) || math.IsInf(r.Threshold, 0):
		return bad("threshold", r.Threshold, "a finite number")
	case r.For < 0:
		return bad("for-duration", r.For, "≥ 0")
	}
	return nil
}

func (o Op) valid() bool {
	switch o {
	case Above, AtLeast, Below, AtMost:
		return true
	}
	return false
}

// String renders the rule as "name: metric > threshold for 1m0s (severity)".
func (r Rule) String() string {
	return fmt.Sprintf("%s: %s %s %g for %v (%s)", r.Name, r.Metric, r.Op, r.Threshold, r.For, r.Severity)
}

// Names of the default rules.
const (
	RuleMemoryCritical       = "memory_usage_critical"
	RuleErrorRateCritical    = "error_rate_critical"
	RuleQueueDepthCritical   = "queue_depth_critical"
	RuleResponseTimeCritical = "response_time_critical"
	RuleRollbackTriggered    = "rollback_triggered"
	RuleMemoryWarning        = "memory_usage_warning"
	RuleErrorRateWarning     = "error_rate_warning"
	RuleWarmHitRateLow       = "warm_hit_rate_low"
	RuleResponseTimeWarning  = "response_time_warning"
	RulePredictionAccuracy   = "prediction_accuracy_low"
	RuleMemoryEfficiency     = "memory_efficiency_excellent"
	RuleWorkflowDetected     = "workflow_detected"
	RuleAdaptiveAdjustment   = "adaptive_adjustment"
)

// DefaultRules returns the seed's alert table (a fresh copy). The
// thresholds and messages are the seed's; the for-durations are ours: long
// enough that one noisy 30-second sample does not page, short enough that a
// critical condition fires within two minutes.
//
//	critical  memory_usage > 0.90            for 2m   Critical memory pressure
//	critical  error_rate > 0.10              for 1m   High error rate detected
//	critical  queue_depth > 25               for 1m   Task queue overload
//	critical  response_time_ms > 5000        for 1m   Severe performance degradation
//	critical  rollbacks > 0                  at once  System rollback initiated
//	warning   memory_usage > 0.80            for 5m   Memory pressure warning
//	warning   error_rate > 0.05              for 2m   Elevated error rate
//	warning   warm_hit_rate < 0.40           for 10m  Low warm hit rate
//	warning   response_time_ms > 2500        for 2m   Performance degradation
//	warning   prediction_accuracy < 0.50     for 10m  Low prediction accuracy
//	info      memory_efficiency > 0.80       for 10m  Excellent memory efficiency
//	info      workflow_detections > 0        at once  Enterprise workflow optimized
//	info      threshold_adjustments > 0      at once  System self-tuned parameters
func DefaultRules() []Rule {
	return []Rule{
		{RuleMemoryCritical, SeverityCritical, MetricMemoryUsage, Above, 0.90, 2 * time.Minute, "Critical memory pressure"},
		{RuleErrorRateCritical, SeverityCritical, MetricErrorRate, Above, 0.10, time.Minute, "High error rate detected"},
		{RuleQueueDepthCritical, SeverityCritical, MetricQueueDepth, Above, 25, time.Minute, "Task queue overload"},
		{RuleResponseTimeCritical, SeverityCritical, MetricResponseTime, Above, 5000, time.Minute, "Severe performance degradation"},
		{RuleRollbackTriggered, SeverityCritical, MetricRollbacks, Above, 0, 0, "System rollback initiated"},
		{RuleMemoryWarning, SeverityWarning, MetricMemoryUsage, Above, 0.80, 5 * time.Minute, "Memory pressure warning"},
		{RuleErrorRateWarning, SeverityWarning, MetricErrorRate, Above, 0.05, 2 * time.Minute, "Elevated error rate"},
		{RuleWarmHitRateLow, SeverityWarning, MetricWarmHitRate, Below, 0.40, 10 * time.Minute, "Low warm hit rate"},
		{RuleResponseTimeWarning, SeverityWarning, MetricResponseTime, Above, 2500, 2 * time.Minute, "Performance degradation"},
		{RulePredictionAccuracy, SeverityWarning, MetricPredictionAccuracy, Below, 0.50, 10 * time.Minute, "Low prediction accuracy"},
		{RuleMemoryEfficiency, SeverityInfo, MetricMemoryEfficiency, Above, 0.80, 10 * time.Minute, "Excellent memory efficiency"},
		{RuleWorkflowDetected, SeverityInfo, MetricWorkflowDetections, Above, 0, 0, "Enterprise workflow optimized"},
		{RuleAdaptiveAdjustment, SeverityInfo, MetricThresholdAdjustments, Above, 0, 0, "System self-tuned parameters"},
	}
}
