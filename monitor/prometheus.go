package monitor

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bumba/pooling/bridge"
)

// namespace prefixes every metric name.
const namespace = "bumba_pool"

// LatencyBuckets are the bucket bounds, in seconds, of the latency
// histogram: 5 ms to 60 s, covering warm hits and cold starts.
func LatencyBuckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
}

// BridgeObserver returns the observer that feeds the latency histogram
// bumba_pool_bridge_request_duration_seconds{path,kind}: attach it with
// b.AddObserver(m.BridgeObserver()) or bridge.WithObserver. It only
// observes into lock-free histograms, so it adds next to nothing to a
// request. Everything else the monitor reads from the bridge's Stats.
func (m *Monitor) BridgeObserver() bridge.Observer {
	return bridge.ObserverFuncs{Outcome: func(o bridge.Outcome) {
		k := 0
		if o.Kind == bridge.KindShadow {
			k = 1
		}
		p := 0
		if o.Path == bridge.PathIntelligent {
			p = 1
		}
		m.latencyObs[k][p].Observe(o.Latency.Seconds())
	}}
}

// Register registers the monitor's collector (Collector) on reg: the host's
// registry, never the global one unless the host passes it.
func (m *Monitor) Register(reg prometheus.Registerer) error {
	return reg.Register(m.Collector())
}

// Collector returns a prometheus.Collector computing every metric from the
// latest sample (and the sources' counters read with it) at scrape time;
// it starts no goroutine. The names follow Prometheus conventions:
// bumba_pool_ prefix, base units (bytes, seconds), _total for counters,
// ratios 0–1. See the package documentation for the list.
func (m *Monitor) Collector() prometheus.Collector { return &collector{m: m, d: newDescs()} }

type descs struct {
	specialists, warm, warming, maxWarm, queue                          *prometheus.Desc
	memCurrent, memBaseline, memSaved, memEfficiency, memUsage          *prometheus.Desc
	threshold, avgStart                                                 *prometheus.Desc
	tasks, hits, misses, coldStarts, prewarms, used, wasted, declined   *prometheus.Desc
	startFailures, taskErrors, rejected, evictions, adjustments         *prometheus.Desc
	detections, seen, recognised                                        *prometheus.Desc
	deptSpecialists, deptWarm, deptTasks, deptHits, deptMem             *prometheus.Desc
	hitRatio, accuracy, detectionRatio, errorRatio, responseTime        *prometheus.Desc
	calls, errors, fallbacks, autoFallbacks, compared, mismatched, mode *prometheus.Desc
	hybrid                                                              *prometheus.Desc
	score, status, firing, alertsTotal, rollbacks, uptime, lastSample   *prometheus.Desc
	listenerPanics                                                      *prometheus.Desc
}

func newDescs() *descs {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(namespace+"_"+name, help, labels, nil)
	}
	return &descs{
		specialists:     d("specialists", "Specialists in the pool."),
		warm:            d("specialists_warm", "Specialists warm or executing."),
		warming:         d("specialists_warming", "Specialists starting."),
		maxWarm:         d("specialists_warm_max", "Warm cap in force."),
		queue:           d("queue_depth", "Tasks waiting for a specialist to start."),
		memCurrent:      d("memory_current_bytes", "Bytes held by warm specialists."),
		memBaseline:     d("memory_baseline_bytes", "Bytes all specialists would hold warm."),
		memSaved:        d("memory_saved_bytes", "Baseline minus current memory."),
		memEfficiency:   d("memory_efficiency_ratio", "Memory saved / baseline (0-1)."),
		memUsage:        d("memory_usage_ratio", "Memory held / allowed: the memory limit, else the always-warm baseline (0-1)."),
		threshold:       d("warm_threshold", "Warm threshold in force."),
		avgStart:        d("start_duration_average_seconds", "Mean duration of successful starts."),
		tasks:           d("tasks_total", "Tasks accepted."),
		hits:            d("warm_hits_total", "Tasks that found their specialist warm."),
		misses:          d("misses_total", "Tasks that waited for a start."),
		coldStarts:      d("cold_starts_total", "Starts begun because a task needed the specialist."),
		prewarms:        d("prewarms_total", "Starts begun because the predictor expected the specialist."),
		used:            d("prewarms_used_total", "Pre-warms that served a task before cooling."),
		wasted:          d("prewarms_wasted_total", "Pre-warms that cooled unused."),
		declined:        d("prewarms_declined_total", "Predictions not acted on."),
		startFailures:   d("start_failures_total", "Starts that failed or panicked."),
		taskErrors:      d("task_errors_total", "Tasks that returned an error."),
		rejected:        d("tasks_rejected_total", "Tasks refused because the queue was full."),
		evictions:       d("evictions_total", "Specialists cooled to make room."),
		adjustments:     d("threshold_adjustments_total", "Adaptive moves of the warm threshold."),
		detections:      d("workflow_detections_total", "Workflows named by the detector."),
		seen:            d("workflows_seen_total", "Workflow instances seen."),
		recognised:      d("workflows_recognised_total", "Workflow instances recognised in time."),
		deptSpecialists: d("department_specialists", "Specialists per department.", "department"),
		deptWarm:        d("department_specialists_warm", "Warm or executing specialists per department.", "department"),
		deptTasks:       d("department_tasks_total", "Tasks per department.", "department"),
		deptHits:        d("department_warm_hits_total", "Warm hits per department.", "department"),
		deptMem:         d("department_memory_current_bytes", "Bytes held by warm specialists per department.", "department"),
		hitRatio:        d("warm_hit_ratio", "Warm hits / tasks over the latest sample interval (0-1)."),
		accuracy:        d("prediction_accuracy_ratio", "Pre-warms used / decided over the latest sample interval (0-1)."),
		detectionRatio:  d("workflow_detection_ratio", "Workflows recognised / seen over the latest sample interval (0-1)."),
		errorRatio:      d("error_ratio", "Intelligent-path failures / calls over the latest sample interval (0-1)."),
		responseTime:    d("response_time_seconds", "Mean latency per path over the latest sample interval.", "path"),
		calls:           d("bridge_calls_total", "Executor calls per path (served and shadow).", "path"),
		errors:          d("bridge_errors_total", "Executor calls that failed, per path.", "path"),
		fallbacks:       d("bridge_fallbacks_total", "Commands the pool failed that legacy then served."),
		autoFallbacks:   d("bridge_auto_fallbacks_total", "Automatic switches to fallback mode."),
		compared:        d("bridge_shadow_compared_total", "Shadow runs compared."),
		mismatched:      d("bridge_shadow_mismatches_total", "Shadow runs whose result differed from legacy."),
		mode:            d("bridge_mode", "1 for the bridge's current mode.", "mode"),
		hybrid:          d("bridge_hybrid_ratio", "Share of commands routed to the pool in hybrid mode (0-1)."),
		score:           d("health_score", "Health score (0-100)."),
		status:          d("health_status", "1 for the current health status.", "status"),
		firing:          d("alerts_firing", "Alerts firing now.", "severity"),
		alertsTotal:     d("alerts_total", "Alerts that fired.", "severity"),
		rollbacks:       d("rollbacks_total", "Rollbacks: RecordRollback calls plus the bridge's automatic fallbacks, one fallback counting once even when also recorded."),
		uptime:          d("uptime_seconds", "Seconds since the monitor started."),
		lastSample:      d("last_sample_timestamp_seconds", "Unix time of the latest sample."),
		listenerPanics:  d("monitor_listener_panics_total", "Alert listener panics recovered."),
	}
}

type collector struct {
	m *Monitor
	d *descs
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	d := c.d
	for _, x := range []*prometheus.Desc{
		d.specialists, d.warm, d.warming, d.maxWarm, d.queue, d.memCurrent, d.memBaseline, d.memSaved, d.memEfficiency,
		d.memUsage, d.threshold, d.avgStart, d.tasks, d.hits, d.misses, d.coldStarts, d.prewarms, d.used, d.wasted,
		d.declined, d.startFailures, d.taskErrors, d.rejected, d.evictions, d.adjustments, d.detections, d.seen,
		d.recognised, d.deptSpecialists, d.deptWarm, d.deptTasks, d.deptHits, d.deptMem, d.hitRatio, d.accuracy,
		d.detectionRatio, d.errorRatio, d.responseTime, d.calls, d.errors, d.fallbacks, d.autoFallbacks, d.compared,
		d.mismatched, d.mode, d.hybrid, d.score, d.status, d.firing, d.alertsTotal, d.rollbacks, d.uptime,
		d.lastSample, d.listenerPanics,
	} {
		ch <- x
	}
	c.m.latency.Describe(ch)
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	m, d := c.m, c.d
	emit := func(desc *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		metric, err := prometheus.NewConstMetric(desc, t, v, labels...)
		if err != nil {
			metric = prometheus.NewInvalidMetric(desc, err)
		}
		ch <- metric
	}
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		emit(desc, prometheus.GaugeValue, v, labels...)
	}
	counter := func(desc *prometheus.Desc, v uint64, labels ...string) {
		emit(desc, prometheus.CounterValue, float64(v), labels...)
	}

	now := m.clk.Now()
	m.mu.RLock()
	latest := m.latest
	ps, bs := m.lastPool, m.lastBridge
	var health Health
	hasSample := !latest.IsZero()
	if hasSample {
		health = m.healthLocked(now, nil)
	}
	firing := [numSeverities]int{}
	for _, rs := range m.alerts {
		if rs.alert.State == StateFiring {
			firing[rs.alert.Severity.index()]++
		}
	}
	fired := m.fired
	rollbacks := m.rollbackTotal
	m.mu.RUnlock()

	sampled := func(desc *prometheus.Desc, id int, scale float64, labels ...string) {
		if latest.present(id) {
			gauge(desc, scale*latest.v[id], labels...)
		}
	}
	if m.cfg.pool != nil {
		gauge(d.specialists, float64(ps.Specialists))
		gauge(d.warm, float64(ps.Warm+ps.Active))
		gauge(d.warming, float64(ps.Warming))
		gauge(d.maxWarm, float64(ps.MaxWarm))
		gauge(d.queue, float64(ps.QueueDepth))
		gauge(d.memCurrent, float64(ps.MemoryCurrent))
		gauge(d.memBaseline, float64(ps.MemoryBaseline))
		gauge(d.memSaved, float64(ps.MemorySaved))
		gauge(d.memEfficiency, ps.MemoryEfficiency)
		sampled(d.memUsage, idMemoryUsage, 1)
		gauge(d.threshold, ps.WarmThreshold)
		gauge(d.avgStart, ps.AverageStart.Seconds())
		counter(d.tasks, ps.Tasks)
		counter(d.hits, ps.WarmHits)
		counter(d.misses, ps.Misses)
		counter(d.coldStarts, ps.ColdStarts)
		counter(d.prewarms, ps.Prewarms)
		counter(d.used, ps.PrewarmsUsed)
		counter(d.wasted, ps.PrewarmsWasted)
		counter(d.declined, ps.PrewarmsDeclined)
		counter(d.startFailures, ps.StartFailures)
		counter(d.taskErrors, ps.TaskErrors)
		counter(d.rejected, ps.Rejected)
		counter(d.evictions, ps.Evictions)
		counter(d.adjustments, ps.ThresholdAdjustments)
		counter(d.detections, ps.Workflows.Detections)
		counter(d.seen, ps.Workflows.Seen)
		counter(d.recognised, ps.Workflows.Recognised)
		names := make([]string, 0, len(ps.Departments))
		for name := range ps.Departments {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			ds := ps.Departments[name]
			gauge(d.deptSpecialists, float64(ds.Specialists), name)
			gauge(d.deptWarm, float64(ds.Warm+ds.Active), name)
			counter(d.deptTasks, ds.Tasks, name)
			counter(d.deptHits, ds.WarmHits, name)
			gauge(d.deptMem, float64(ds.MemoryCurrent), name)
		}
		sampled(d.hitRatio, idWarmHitRate, 1)
		sampled(d.accuracy, idPredictionAccuracy, 1)
		sampled(d.detectionRatio, idWorkflowDetectionRate, 1)
	}
	sampled(d.errorRatio, idErrorRate, 1)
	sampled(d.responseTime, idResponseTime, 1e-3, "intelligent")
	sampled(d.responseTime, idLegacyResponseTime, 1e-3, "legacy")
	if m.cfg.bridge != nil {
		for _, p := range bridge.Paths() {
			st := bs.Paths[p]
			counter(d.calls, st.Calls, p.String())
			counter(d.errors, st.Errors, p.String())
		}
		var fb uint64
		for _, ms := range bs.Modes {
			fb += ms.Fallbacks
		}
		counter(d.fallbacks, fb)
		counter(d.autoFallbacks, bs.AutoFallbacks)
		counter(d.compared, bs.Shadow.Compared)
		counter(d.mismatched, bs.Shadow.Mismatched)
		for _, mode := range bridge.Modes() {
			v := 0.0
			if bs.Mode == mode {
				v = 1
			}
			gauge(d.mode, v, mode.String())
		}
		gauge(d.hybrid, bs.Percentage/100)
	}
	if hasSample {
		gauge(d.score, health.Score)
		for _, st := range []Status{StatusHealthy, StatusDegraded, StatusCritical} {
			v := 0.0
			if health.Status == st {
				v = 1
			}
			gauge(d.status, v, string(st))
		}
		gauge(d.lastSample, float64(latest.Time.UnixNano())/1e9)
	}
	for i, sev := range []Severity{SeverityCritical, SeverityWarning, SeverityInfo} {
		gauge(d.firing, float64(firing[i]), string(sev))
		counter(d.alertsTotal, fired[i], string(sev))
	}
	counter(d.rollbacks, rollbacks)
	gauge(d.uptime, now.Sub(m.start).Seconds())
	counter(d.listenerPanics, m.listenerPanics.Load())
	m.latency.Collect(ch)
}
