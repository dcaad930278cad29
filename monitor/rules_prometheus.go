package monitor

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// PrometheusRulesGroup is the name of the rule group PrometheusRules
// renders.
const PrometheusRulesGroup = "bumba_pool"

// PrometheusCountWindow is the range over which PrometheusRules measures a
// count metric (tasks, rollbacks, workflow detections …): the monitor
// counts events per collection interval, Prometheus as
// rate(counter[5m]) × interval, the mean count per interval over the last
// five minutes (a range well above a usual 15–60 s scrape interval, so a
// single late scrape does not empty it).
const PrometheusCountWindow = 5 * time.Minute

// promSeries says how one monitor metric reads in PromQL over the exported
// metrics: expr yields the metric in Prometheus' base units, and a
// threshold is multiplied by scale to compare with it (milliseconds →
// seconds).
type promSeries struct {
	expr  string
	scale float64
}

// promExpr returns metric id as a PromQL expression; interval is the
// monitor's collection interval (counts are per interval).
func promExpr(id int, interval time.Duration) promSeries {
	w := "[" + model.Duration(PrometheusCountWindow).String() + "]"
	per := strconv.FormatFloat(interval.Seconds(), 'g', -1, 64)
	rate := func(name string) string { return "rate(" + namespace + "_" + name + w + ")" }
	count := func(expr string) promSeries { return promSeries{"(" + expr + ") * " + per, 1} }
	gauge := func(name string) promSeries { return promSeries{namespace + "_" + name, 1} }
	// bridgeOrPool reads a per-path bridge counter, else (no bridge) the
	// pool's counters summed.
	bridgeOrPool := func(bridgeName, path string, pool ...string) string {
		b := "sum without (path) (" + rate(bridgeName+`{path="`+path+`"}`) + ")"
		parts := make([]string, len(pool))
		for i, p := range pool {
			parts[i] = rate(p)
		}
		return b + " or (" + strings.Join(parts, " + ") + ")"
	}
	latencySum := func(path string) promSeries {
		s := count("sum without (path, kind) (" + rate(`bridge_request_duration_seconds_sum{path="`+path+`"}`) + ")")
		s.scale = 1e-3
		return s
	}
	respTime := func(path string) string { return namespace + `_response_time_seconds{path="` + path + `"}` }
	switch id {
	case idMemoryUsage:
		return gauge("memory_usage_ratio")
	case idMemoryEfficiency:
		return gauge("memory_efficiency_ratio")
	case idMemoryCurrent:
		return gauge("memory_current_bytes")
	case idMemoryBaseline:
		return gauge("memory_baseline_bytes")
	case idMemorySaved:
		return gauge("memory_saved_bytes")
	case idQueueDepth:
		return gauge("queue_depth")
	case idWarm:
		return gauge("specialists_warm")
	case idSpecialists:
		return gauge("specialists")
	case idWarmThreshold:
		return gauge("warm_threshold")
	case idTasks:
		return count(rate("tasks_total"))
	case idWarmHits:
		return count(rate("warm_hits_total"))
	case idColdStarts:
		return count(rate("cold_starts_total"))
	case idPrewarmsUsed:
		return count(rate("prewarms_used_total"))
	case idPrewarmsWasted:
		return count(rate("prewarms_wasted_total"))
	case idTaskErrors:
		return count(rate("task_errors_total"))
	case idRejected:
		return count(rate("tasks_rejected_total"))
	case idEvictions:
		return count(rate("evictions_total"))
	case idCalls:
		return count(bridgeOrPool("bridge_calls_total", "intelligent", "tasks_total", "tasks_rejected_total"))
	case idErrors:
		return count(bridgeOrPool("bridge_errors_total", "intelligent", "task_errors_total", "tasks_rejected_total"))
	case idLatencySum:
		return latencySum("intelligent")
	case idLegacyCalls:
		return count("sum without (path) (" + rate(`bridge_calls_total{path="legacy"}`) + ")")
	case idLegacyErrors:
		return count("sum without (path) (" + rate(`bridge_errors_total{path="legacy"}`) + ")")
	case idLegacyLatencySum:
		return latencySum("legacy")
	case idFallbacks:
		return count(rate("bridge_fallbacks_total"))
	case idAutoFallbacks:
		return count(rate("bridge_auto_fallbacks_total"))
	case idRollbacks:
		// rollbacks_total already counts the bridge's automatic
		// fallbacks, each once (see RecordRollback).
		return count(rate("rollbacks_total"))
	case idShadowCompared:
		return count(rate("bridge_shadow_compared_total"))
	case idShadowMatched:
		return count(rate("bridge_shadow_compared_total") + " - " + rate("bridge_shadow_mismatches_total"))
	case idWorkflowsSeen:
		return count(rate("workflows_seen_total"))
	case idWorkflowsRecognised:
		return count(rate("workflows_recognised_total"))
	case idWorkflowDetections:
		return count(rate("workflow_detections_total"))
	case idThresholdAdjustments:
		return count(rate("threshold_adjustments_total"))
	case idWarmHitRate:
		return gauge("warm_hit_ratio")
	case idErrorRate:
		return gauge("error_ratio")
	case idResponseTime:
		return promSeries{respTime("intelligent"), 1e-3}
	case idLegacyResponseTime:
		return promSeries{respTime("legacy"), 1e-3}
	case idPredictionAccuracy:
		return gauge("prediction_accuracy_ratio")
	case idWorkflowDetectionRate:
		return gauge("workflow_detection_ratio")
	case idShadowMatchRate:
		return promSeries{"1 - " + rate("bridge_shadow_mismatches_total") + " / " + rate("bridge_shadow_compared_total"), 1}
	case idResponseTimeOverhead:
		return promSeries{respTime("intelligent") + " - ignoring (path) " + respTime("legacy"), 1e-3}
	}
	return promSeries{}
}

// PrometheusExpr returns the PromQL expression that reads metric over the
// metrics the Collector exports, in Prometheus' base units (seconds where
// the monitor has milliseconds), for a monitor collecting every interval
// (counts are per interval: rate over PrometheusCountWindow × interval).
// The error wraps ErrUnknownMetric.
func PrometheusExpr(metric Metric, interval time.Duration) (string, error) {
	id := metricID(metric)
	if id < 0 {
		return "", fmt.Errorf("monitor: metric %q: %w", metric, ErrUnknownMetric)
	}
	return promExpr(id, interval).expr, nil
}

var invalidAlertChar = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// promAlertName turns a rule's name into a valid Prometheus alert name
// (letters, digits, underscores; not starting with a digit).
func promAlertName(name string) string {
	s := invalidAlertChar.ReplaceAllString(name, "_")
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		s = "_" + s
	}
	return s
}

// yamlString quotes s as a YAML double-quoted scalar (JSON's escapes are
// YAML's).
func yamlString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// noTemplate keeps Prometheus from reading a host's text as a template.
func noTemplate(s string) string {
	return strings.ReplaceAll(s, "{{", `{{ "{{" }}`)
}

// PrometheusRules renders rules as a Prometheus alerting-rules file (one
// group, PrometheusRulesGroup) over the metrics the Collector exports, for
// a monitor collecting every interval: each rule becomes an alert of the
// same name (characters Prometheus does not allow replaced with "_"), the
// same comparison and threshold (converted to base units: response times
// in seconds), the same for-duration, a severity label and the rule's
// message as the summary annotation. Rules are checked first (see
// Rule.Validate); the error wraps ErrInvalidConfig.
//
// Prometheus evaluates at every scrape and a missing series resolves an
// alert, where the monitor evaluates at each sample and leaves an alert as
// it was when a sample lacks the metric; the thresholds and durations are
// the same.
func PrometheusRules(rules []Rule, interval time.Duration) ([]byte, error) {
	if interval <= 0 {
		return nil, invalid("interval", interval, "> 0")
	}
	var b strings.Builder
	b.WriteString("# Prometheus alerting rules rendered by monitor.PrometheusRules from the\n")
	b.WriteString("# monitor's rule table (collection interval " + model.Duration(interval).String() + "): change the rules in Go\n")
	b.WriteString("# and render again rather than editing this file.\n")
	b.WriteString("groups:\n  - name: " + PrometheusRulesGroup + "\n    rules:\n")
	seen := map[string]string{}
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return nil, err
		}
		name := promAlertName(r.Name)
		if prev, dup := seen[name]; dup {
			return nil, fmt.Errorf("monitor: rules %q and %q both render as alert %q: %w", prev, r.Name, name, ErrInvalidConfig)
		}
		seen[name] = r.Name
		s := promExpr(metricID(r.Metric), interval)
		th := strconv.FormatFloat(r.Threshold*s.scale, 'g', -1, 64)
		cond := fmt.Sprintf("%s %s %s", r.Metric, r.Op, strconv.FormatFloat(r.Threshold, 'g', -1, 64))
		if r.For > 0 {
			cond += " for " + model.Duration(r.For).String()
		}
		fmt.Fprintf(&b, "      - alert: %s\n", name)
		fmt.Fprintf(&b, "        expr: %s\n", yamlString("("+s.expr+") "+string(r.Op)+" "+th))
		if r.For > 0 {
			fmt.Fprintf(&b, "        for: %s\n", model.Duration(r.For))
		}
		fmt.Fprintf(&b, "        labels:\n          severity: %s\n", yamlString(string(r.Severity)))
		fmt.Fprintf(&b, "        annotations:\n")
		fmt.Fprintf(&b, "          summary: %s\n", yamlString(noTemplate(r.Message)))
		fmt.Fprintf(&b, "          description: %s\n", yamlString(noTemplate("monitor rule "+r.Name+": "+cond)+
			" (now {{ $value }} in base units)"))
	}
	return []byte(b.String()), nil
}

// PrometheusRules renders the monitor's rule table (Rules: the defaults
// and the host's WithRules) for its interval; see the package function.
// The only error left after New's checks is two rule names that render
// as the same alert name (such as "a-b" and "a_b").
func (m *Monitor) PrometheusRules() ([]byte, error) {
	return PrometheusRules(m.Rules(), m.cfg.interval)
}
