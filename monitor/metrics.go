package monitor

import (
	"encoding/json"
	"time"
)

// Metric names a measured series: what rules compare, Query summarises and
// samples hold. Metrics lists them all with their kind, unit and meaning.
type Metric string

// Gauges: the value at the sample's time.
const (
	// MetricMemoryUsage is the share of the allowed memory the pool holds:
	// MemoryCurrent / limit, where the limit is WithMemoryLimit (the pool's
	// memory budget) when set, else the pool's MemoryBaseline (what the
	// always-warm legacy system holds). 17 of 83 equal specialists warm
	// read ≈ 0.20. It does not count warm slots: the pool fills them to
	// its cap by design. Absent while the limit is unknown (no limit and a
	// zero baseline).
	MetricMemoryUsage Metric = "memory_usage"
	// MetricMemoryEfficiency is MemorySaved / MemoryBaseline, 0–1.
	MetricMemoryEfficiency Metric = "memory_efficiency"
	// MetricMemoryCurrent is the bytes held by warm specialists.
	MetricMemoryCurrent Metric = "memory_current_bytes"
	// MetricMemoryBaseline is what every specialist would hold warm.
	MetricMemoryBaseline Metric = "memory_baseline_bytes"
	// MetricMemorySaved is baseline − current, in bytes.
	MetricMemorySaved Metric = "memory_saved_bytes"
	// MetricQueueDepth is the tasks waiting for a start.
	MetricQueueDepth Metric = "queue_depth"
	// MetricWarmSpecialists is the specialists warm or executing.
	MetricWarmSpecialists Metric = "warm_specialists"
	// MetricSpecialists is every specialist the pool has.
	MetricSpecialists Metric = "specialists"
	// MetricWarmThreshold is the warm threshold in force.
	MetricWarmThreshold Metric = "warm_threshold"
)

// Counts: how many happened during the sample's interval (the difference of
// the sources' counters between two samples).
const (
	// MetricTasks is tasks accepted by the pool.
	MetricTasks Metric = "tasks"
	// MetricWarmHits is tasks that found their specialist warm.
	MetricWarmHits Metric = "warm_hits"
	// MetricColdStarts is starts a task had to wait for.
	MetricColdStarts Metric = "cold_starts"
	// MetricPrewarmsUsed is pre-warms that served a task before cooling.
	MetricPrewarmsUsed Metric = "prewarms_used"
	// MetricPrewarmsWasted is pre-warms that cooled unused.
	MetricPrewarmsWasted Metric = "prewarms_wasted"
	// MetricTaskErrors is pool tasks that returned an error.
	MetricTaskErrors Metric = "task_errors"
	// MetricRejected is pool tasks refused with ErrQueueFull.
	MetricRejected Metric = "rejected_tasks"
	// MetricEvictions is specialists cooled to make room.
	MetricEvictions Metric = "evictions"
	// MetricCalls is intelligent-path calls: the bridge's calls of the
	// pool (served and shadow); without a bridge, the pool's tasks
	// (accepted + rejected).
	MetricCalls Metric = "calls"
	// MetricErrors is the failures among MetricCalls: the bridge's errors
	// on the intelligent path; without a bridge, task errors + rejections.
	MetricErrors Metric = "errors"
	// MetricLatencySum is the summed latency of the intelligent path's
	// calls, in milliseconds (bridge only).
	MetricLatencySum Metric = "latency_sum_ms"
	// MetricLegacyCalls is legacy-path calls (bridge only).
	MetricLegacyCalls Metric = "legacy_calls"
	// MetricLegacyErrors is failures among MetricLegacyCalls.
	MetricLegacyErrors Metric = "legacy_errors"
	// MetricLegacyLatencySum is the summed legacy latency, in ms.
	MetricLegacyLatencySum Metric = "legacy_latency_sum_ms"
	// MetricFallbacks is commands the pool failed that legacy then served.
	MetricFallbacks Metric = "fallbacks"
	// MetricAutoFallbacks is the bridge's automatic switches to Fallback.
	MetricAutoFallbacks Metric = "auto_fallbacks"
	// MetricRollbacks is rollbacks: RecordRollback calls plus automatic
	// fallbacks of the bridge, one fallback counting once even when the
	// rollback package also records it (WatchRollbacks).
	MetricRollbacks Metric = "rollbacks"
	// MetricShadowCompared is shadow runs compared.
	MetricShadowCompared Metric = "shadow_compared"
	// MetricShadowMatched is shadow runs whose result matched legacy.
	MetricShadowMatched Metric = "shadow_matched"
	// MetricWorkflowsSeen is workflow instances the detector saw run.
	MetricWorkflowsSeen Metric = "workflows_seen"
	// MetricWorkflowsRecognised is those it named in time.
	MetricWorkflowsRecognised Metric = "workflows_recognised"
	// MetricWorkflowDetections is every time a workflow was named.
	MetricWorkflowDetections Metric = "workflow_detections"
	// MetricThresholdAdjustments is the adaptive threshold's moves.
	MetricThresholdAdjustments Metric = "threshold_adjustments"
)

// Rates: ratios of counts over the sample's interval (absent when the
// denominator is zero: no evidence).
const (
	// MetricWarmHitRate is warm_hits / tasks, 0–1.
	MetricWarmHitRate Metric = "warm_hit_rate"
	// MetricErrorRate is errors / calls, 0–1.
	MetricErrorRate Metric = "error_rate"
	// MetricResponseTime is latency_sum_ms / calls: the intelligent path's
	// mean latency in milliseconds.
	MetricResponseTime Metric = "response_time_ms"
	// MetricLegacyResponseTime is the legacy path's mean latency in ms.
	MetricLegacyResponseTime Metric = "legacy_response_time_ms"
	// MetricPredictionAccuracy is prewarms_used / (used + wasted), 0–1.
	MetricPredictionAccuracy Metric = "prediction_accuracy"
	// MetricWorkflowDetectionRate is workflows_recognised /
	// workflows_seen, 0–1.
	MetricWorkflowDetectionRate Metric = "workflow_detection_rate"
	// MetricShadowMatchRate is shadow_matched / shadow_compared, 0–1.
	MetricShadowMatchRate Metric = "shadow_match_rate"
	// MetricResponseTimeOverhead is response_time_ms −
	// legacy_response_time_ms (present when both are).
	MetricResponseTimeOverhead Metric = "response_time_overhead_ms"
)

type metricKind uint8

const (
	kindGauge metricKind = iota + 1
	kindCount
	kindRatio
	kindDiff
)

func (k metricKind) String() string {
	switch k {
	case kindGauge:
		return "gauge"
	case kindCount:
		return "count"
	case kindRatio:
		return "rate"
	case kindDiff:
		return "difference"
	}
	return "?"
}

// Metric indices; the table below is in this order.
const (
	idMemoryUsage = iota
	idMemoryEfficiency
	idMemoryCurrent
	idMemoryBaseline
	idMemorySaved
	idQueueDepth
	idWarm
	idSpecialists
	idWarmThreshold
	idTasks
	idWarmHits
	idColdStarts
	idPrewarmsUsed
	idPrewarmsWasted
	idTaskErrors
	idRejected
	idEvictions
	idCalls
	idErrors
	idLatencySum
	idLegacyCalls
	idLegacyErrors
	idLegacyLatencySum
	idFallbacks
	idAutoFallbacks
	idRollbacks
	idShadowCompared
	idShadowMatched
	idWorkflowsSeen
	idWorkflowsRecognised
	idWorkflowDetections
	idThresholdAdjustments
	idWarmHitRate
	idErrorRate
	idResponseTime
	idLegacyResponseTime
	idPredictionAccuracy
	idWorkflowDetectionRate
	idShadowMatchRate
	idResponseTimeOverhead
	numMetrics
)

type metricDef struct {
	name Metric
	kind metricKind
	unit string
	help string
	// ratio: num / sum(den); diff: a − b.
	num  int
	den  []int
	a, b int
}

// metricTable describes every metric, indexed by id. It is never written.
var metricTable = [numMetrics]metricDef{
	idMemoryUsage:          {name: MetricMemoryUsage, kind: kindGauge, unit: "ratio", help: "memory current / limit (WithMemoryLimit, else memory baseline)"},
	idMemoryEfficiency:     {name: MetricMemoryEfficiency, kind: kindGauge, unit: "ratio", help: "memory saved / baseline"},
	idMemoryCurrent:        {name: MetricMemoryCurrent, kind: kindGauge, unit: "bytes", help: "bytes held by warm specialists"},
	idMemoryBaseline:       {name: MetricMemoryBaseline, kind: kindGauge, unit: "bytes", help: "bytes all specialists would hold warm"},
	idMemorySaved:          {name: MetricMemorySaved, kind: kindGauge, unit: "bytes", help: "baseline − current"},
	idQueueDepth:           {name: MetricQueueDepth, kind: kindGauge, unit: "tasks", help: "tasks waiting for a start"},
	idWarm:                 {name: MetricWarmSpecialists, kind: kindGauge, unit: "specialists", help: "specialists warm or executing"},
	idSpecialists:          {name: MetricSpecialists, kind: kindGauge, unit: "specialists", help: "specialists in the pool"},
	idWarmThreshold:        {name: MetricWarmThreshold, kind: kindGauge, unit: "score", help: "warm threshold in force"},
	idTasks:                {name: MetricTasks, kind: kindCount, unit: "tasks", help: "tasks accepted"},
	idWarmHits:             {name: MetricWarmHits, kind: kindCount, unit: "tasks", help: "tasks that found their specialist warm"},
	idColdStarts:           {name: MetricColdStarts, kind: kindCount, unit: "starts", help: "starts a task waited for"},
	idPrewarmsUsed:         {name: MetricPrewarmsUsed, kind: kindCount, unit: "starts", help: "pre-warms used before they cooled"},
	idPrewarmsWasted:       {name: MetricPrewarmsWasted, kind: kindCount, unit: "starts", help: "pre-warms that cooled unused"},
	idTaskErrors:           {name: MetricTaskErrors, kind: kindCount, unit: "tasks", help: "pool tasks that failed"},
	idRejected:             {name: MetricRejected, kind: kindCount, unit: "tasks", help: "pool tasks refused (queue full)"},
	idEvictions:            {name: MetricEvictions, kind: kindCount, unit: "specialists", help: "specialists cooled to make room"},
	idCalls:                {name: MetricCalls, kind: kindCount, unit: "calls", help: "intelligent-path calls"},
	idErrors:               {name: MetricErrors, kind: kindCount, unit: "calls", help: "intelligent-path failures"},
	idLatencySum:           {name: MetricLatencySum, kind: kindCount, unit: "ms", help: "summed intelligent-path latency"},
	idLegacyCalls:          {name: MetricLegacyCalls, kind: kindCount, unit: "calls", help: "legacy-path calls"},
	idLegacyErrors:         {name: MetricLegacyErrors, kind: kindCount, unit: "calls", help: "legacy-path failures"},
	idLegacyLatencySum:     {name: MetricLegacyLatencySum, kind: kindCount, unit: "ms", help: "summed legacy-path latency"},
	idFallbacks:            {name: MetricFallbacks, kind: kindCount, unit: "commands", help: "pool failures served by legacy"},
	idAutoFallbacks:        {name: MetricAutoFallbacks, kind: kindCount, unit: "switches", help: "automatic switches to fallback mode"},
	idRollbacks:            {name: MetricRollbacks, kind: kindCount, unit: "rollbacks", help: "rollbacks recorded plus automatic fallbacks, each fallback once"},
	idShadowCompared:       {name: MetricShadowCompared, kind: kindCount, unit: "runs", help: "shadow runs compared"},
	idShadowMatched:        {name: MetricShadowMatched, kind: kindCount, unit: "runs", help: "shadow runs that matched legacy"},
	idWorkflowsSeen:        {name: MetricWorkflowsSeen, kind: kindCount, unit: "workflows", help: "workflow instances seen"},
	idWorkflowsRecognised:  {name: MetricWorkflowsRecognised, kind: kindCount, unit: "workflows", help: "workflow instances recognised in time"},
	idWorkflowDetections:   {name: MetricWorkflowDetections, kind: kindCount, unit: "detections", help: "workflows named by the detector"},
	idThresholdAdjustments: {name: MetricThresholdAdjustments, kind: kindCount, unit: "adjustments", help: "adaptive warm-threshold moves"},
	idWarmHitRate:          {name: MetricWarmHitRate, kind: kindRatio, unit: "ratio", help: "warm_hits / tasks", num: idWarmHits, den: []int{idTasks}},
	idErrorRate:            {name: MetricErrorRate, kind: kindRatio, unit: "ratio", help: "errors / calls", num: idErrors, den: []int{idCalls}},
	idResponseTime:         {name: MetricResponseTime, kind: kindRatio, unit: "ms", help: "intelligent-path mean latency", num: idLatencySum, den: []int{idCalls}},
	idLegacyResponseTime:   {name: MetricLegacyResponseTime, kind: kindRatio, unit: "ms", help: "legacy-path mean latency", num: idLegacyLatencySum, den: []int{idLegacyCalls}},
	idPredictionAccuracy:   {name: MetricPredictionAccuracy, kind: kindRatio, unit: "ratio", help: "prewarms_used / (used + wasted)", num: idPrewarmsUsed, den: []int{idPrewarmsUsed, idPrewarmsWasted}},
	idWorkflowDetectionRate: {name: MetricWorkflowDetectionRate, kind: kindRatio, unit: "ratio", help: "workflows_recognised / workflows_seen",
		num: idWorkflowsRecognised, den: []int{idWorkflowsSeen}},
	idShadowMatchRate:      {name: MetricShadowMatchRate, kind: kindRatio, unit: "ratio", help: "shadow_matched / shadow_compared", num: idShadowMatched, den: []int{idShadowCompared}},
	idResponseTimeOverhead: {name: MetricResponseTimeOverhead, kind: kindDiff, unit: "ms", help: "response_time_ms − legacy_response_time_ms", a: idResponseTime, b: idLegacyResponseTime},
}

// metricID returns the index of m, or -1.
func metricID(m Metric) int {
	for i := range metricTable {
		if metricTable[i].name == m {
			return i
		}
	}
	return -1
}

// Valid reports whether m is one of Metrics().
func (m Metric) Valid() bool { return metricID(m) >= 0 }

// MetricInfo describes a metric.
type MetricInfo struct {
	Name Metric `json:"name"`
	// Kind is "gauge" (value at the sample's time), "count" (events during
	// the interval), "rate" (a ratio of two counts over the interval) or
	// "difference" (of two rates).
	Kind string `json:"kind"`
	Unit string `json:"unit"`
	Help string `json:"help"`
}

// Metrics lists every metric, in a fixed order.
func Metrics() []MetricInfo {
	out := make([]MetricInfo, numMetrics)
	for i, d := range metricTable {
		out[i] = MetricInfo{Name: d.name, Kind: d.kind.String(), Unit: d.unit, Help: d.help}
	}
	return out
}

// Sample is one collection: the metrics measured at Time over the Interval
// since the previous sample (the first one measures since New). A metric
// with no evidence (no pool, no bridge, no calls in the interval …) is
// absent.
type Sample struct {
	Time     time.Time
	Interval time.Duration
	has      uint64
	v        [numMetrics]float64
}

func (s *Sample) set(id int, v float64) {
	s.v[id] = v
	s.has |= 1 << id
}

func (s *Sample) present(id int) bool { return s.has&(1<<id) != 0 }

// Value returns the metric's value and whether the sample has it.
func (s Sample) Value(m Metric) (float64, bool) {
	id := metricID(m)
	if id < 0 || !s.present(id) {
		return 0, false
	}
	return s.v[id], true
}

// Values returns the metrics the sample has.
func (s Sample) Values() map[Metric]float64 {
	out := make(map[Metric]float64, numMetrics)
	for id := range numMetrics {
		if s.present(id) {
			out[metricTable[id].name] = s.v[id]
		}
	}
	return out
}

// IsZero reports whether s is the zero Sample (no collection yet).
func (s Sample) IsZero() bool { return s.Time.IsZero() && s.has == 0 }

// MarshalJSON encodes {"time", "intervalMs", "values": {metric: value}}.
func (s Sample) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Time       time.Time          `json:"time"`
		IntervalMs int64              `json:"intervalMs"`
		Values     map[Metric]float64 `json:"values"`
	}{s.Time.UTC(), s.Interval.Milliseconds(), s.Values()})
}

// derive fills the rates and differences from the counts already set.
func (s *Sample) derive() {
	for id := range numMetrics {
		d := &metricTable[id]
		switch d.kind {
		case kindRatio:
			if v, ok := ratioOf(d, func(i int) (float64, bool) { return s.v[i], s.present(i) }); ok {
				s.set(id, v)
			}
		case kindDiff:
			if s.present(d.a) && s.present(d.b) {
				s.set(id, s.v[d.a]-s.v[d.b])
			}
		}
	}
}

// ratioOf computes a ratio metric from its parts; false without evidence.
func ratioOf(d *metricDef, get func(int) (float64, bool)) (float64, bool) {
	num, ok := get(d.num)
	if !ok {
		return 0, false
	}
	var den float64
	for _, i := range d.den {
		v, ok := get(i)
		if !ok {
			return 0, false
		}
		den += v
	}
	if !(den > 0) {
		return 0, false
	}
	return num / den, true
}
