// Package monitor measures a pool and a bridge over time: it samples their
// counters every interval, keeps the samples for a retention period,
// evaluates alert rules, scores health 0–100, serves the seed's health
// endpoint, exposes Prometheus metrics on the host's registry, and logs so
// that the seed's `grep "ALERT\|ERROR\|ROLLBACK"` habits work.
//
// # Wiring
//
//	m, err := monitor.New(monitor.WithPool(p), monitor.WithBridge(b), monitor.WithLogger(logger))
//	if err != nil {
//		return err // names the setting, the value and the allowed range
//	}
//	b.AddObserver(m.BridgeObserver())           // latency histograms (optional)
//	registry.MustRegister(m.Collector())        // the host's registry, never the global one
//	mux.Handle(monitor.HealthPath, m.Handler()) // GET /health/intelligent-pooling
//	go m.Run(ctx)                               // a sample every 30 s until ctx ends
//
// The monitor reads the pool and the bridge through PoolSource and
// BridgeSource (their Stats methods), which *pool.Pool and *bridge.Bridge
// satisfy; either may be left out. It starts no goroutine but Run's, which
// returns when its context ends; a host may instead call Collect on its own
// schedule. Time comes only from the injected clock (WithClock), logs only
// go to the injected *slog.Logger (WithLogger, default discard).
//
// # Metrics
//
// Every figure is measured from the sources' counters, as the difference
// between two samples (the first sample measures from New). Metrics lists
// them all. The ones the rules and the health score use:
//
//   - memory_usage (0–1): the share of the allowed memory the pool holds —
//     memory current / limit, where the limit is WithMemoryLimit (the
//     pool's memory budget) when set, else the pool's memory baseline
//     (what the always-warm legacy system holds): 17 of 83 equal
//     specialists warm read ≈ 0.20. Warm slots do not count: the pool
//     fills them to its cap by design, so a full warm set is healthy.
//     Absent while the limit is unknown (no limit, baseline 0).
//   - memory_efficiency (0–1): the pool's MemorySaved / MemoryBaseline.
//   - error_rate (0–1): failures / calls on the intelligent path in the
//     interval — the bridge's intelligent-path calls (served and shadow)
//     and their errors; without a bridge, the pool's (task errors +
//     rejections) / (tasks + rejections).
//   - response_time_ms: the intelligent path's mean latency in the
//     interval, from the bridge's per-path call counts and mean latency
//     (legacy_response_time_ms likewise; response_time_overhead_ms is
//     their difference).
//   - warm_hit_rate (0–1): warm hits / tasks in the interval.
//   - prediction_accuracy (0–1): pre-warms used / (used + wasted) in the
//     interval.
//   - queue_depth: tasks waiting for a start, at the sample.
//   - rollbacks, workflow_detections, threshold_adjustments: events in the
//     interval (rollbacks are RecordRollback calls plus the bridge's
//     automatic fallbacks; a fallback the rollback package also records
//     counts once).
//
// A rate whose denominator is zero in an interval (no calls, no tasks, no
// pre-warm decided) is absent from that sample: there is no evidence.
//
// # Retention and its memory bound
//
// Samples are kept at three resolutions, each in a fixed-capacity ring:
// the newest 720 samples as they are (6 h at 30 s), 5-minute aggregates
// for 24 h (289 buckets) and 1-hour aggregates for the whole retention
// (721 buckets for 30 days). An aggregate keeps, per metric, the sample
// count, sum, minimum and maximum, so counts and rates stay exact at any
// resolution. A sample is 360 bytes and a bucket 1 152, so at the defaults
// the store never holds more than 720×360 + (289+721)×1 152 = 1 422 720
// bytes (1.36 MiB), whatever the uptime; the bound grows only with the
// retention, by 1 152 bytes per hour of it. The rings grow as they fill
// and never past their capacity; BenchmarkRetention30Days collects 30
// simulated days and reports the bytes held (equal to the bound) and the
// live heap the monitor adds (about the same).
//
// Query summarises one metric over a period (count, sum, mean, min, max,
// p95, per-second rate) from the finest resolution that reaches back far
// enough; Report summarises them all (the seed's `metrics-report
// --period=1h`, its deployment report): memory saved in MB and percent,
// warm hit rate, response time and its overhead over legacy, error rate,
// prediction accuracy, workflow detection, alerts, rollbacks, and the
// annual cost saving at WithCostPerMBMonth (default $0.50 per MB-month),
// as JSON or as a plain-text table.
//
// Snapshot writes the stored samples and the resolved alerts; WithRestore
// loads them into a new monitor, so that a deploy keeps the history (an
// envelope like the pool's: "BUMBAMON", version, length, JSON, SHA-256;
// at most MaxSnapshotBytes; refused whole with ErrSnapshot otherwise).
//
// # Alerts
//
// A Rule is data: name, severity, metric, comparison, threshold, and the
// for-duration the condition must hold before the alert fires. An alert
// is pending from the first sample whose value meets the condition, fires
// at the first sample at least the for-duration later (at once with 0),
// and resolves at the first sample that does not meet it; a pending alert
// whose condition clears is dropped unannounced. A sample without the
// metric changes nothing. There is one alert per rule at a time (they are
// de-duplicated by name); listeners (WithListener, AddListener) hear each
// firing and each resolution once, in order, without any monitor lock
// held, and a panicking listener is recovered and counted. Alerts returns
// the pending and firing ones, AlertHistory the fired ones.
//
// DefaultRules is the seed's table — critical: memory usage > 90 %, error
// rate > 10 %, queue depth > 25, response time > 5 000 ms, rollback
// triggered; warning: memory > 80 %, error rate > 5 %, warm hit rate
// < 40 %, response time > 2 500 ms, prediction accuracy < 50 %; info:
// memory efficiency > 80 %, workflow detected, adaptive adjustment. Hosts
// add their own with WithRules or replace the table (WithoutDefaultRules).
// RecordRollback reports a rollback: rollback_triggered fires at once.
// WatchRollbacks(manager) does it for every rollback a rollback.Manager
// starts; *Monitor is that manager's Health (HealthScore) and Alerts
// (ActiveCritical) as is. A bridge automatic fallback counts as one
// rollback whether the monitor sees it in the bridge's counters, in the
// manager's record, or both.
//
// # Health
//
// The health score (Health, HealthScore) weighs six components, each 1 at
// the seed's target and 0 at its alert threshold (see HealthWeights): error
// rate 30, response time 20, warm hit rate 20 (those three over the last 5
// minutes), memory usage 10, memory efficiency 10 and queue depth 10 (at
// the latest sample). Components without data are left out and the others
// re-weighed. The status is CRITICAL below 60 (the seed's rollback
// trigger), DEGRADED below 80 or while a critical alert fires, HEALTHY
// otherwise. Handler serves it at HealthPath in exactly the seed's JSON
// shape — status, uptime (ms), specialists{warm,total,utilization},
// performance{averageResponseTime (ms), warmHitRate (0–1), queueDepth},
// memory{current, saved (MB), efficiency (%)}, alerts (critical and
// warning alerts firing), lastCheck (RFC 3339, UTC) — with 200 for HEALTHY
// or DEGRADED, 503 for CRITICAL and 405 for methods other than GET and
// HEAD.
//
// # Prometheus
//
// Collector (or Register on the host's registry — never the global one
// unless the host passes it) computes every metric from the latest sample
// at scrape time. Names: bumba_pool_ prefix, base units, _total counters,
// ratios 0–1. Pool: specialists, specialists_warm, specialists_warming,
// specialists_warm_max, queue_depth, memory_{current,baseline,saved}_bytes,
// memory_efficiency_ratio, memory_usage_ratio, warm_threshold,
// start_duration_average_seconds, warm_hit_ratio, prediction_accuracy_ratio,
// workflow_detection_ratio, and the counters tasks, warm_hits, misses,
// cold_starts, prewarms, prewarms_used, prewarms_wasted, prewarms_declined,
// start_failures, task_errors, tasks_rejected, evictions,
// threshold_adjustments, workflow_detections, workflows_seen,
// workflows_recognised (each _total); per department{department}:
// department_specialists, department_specialists_warm,
// department_tasks_total, department_warm_hits_total,
// department_memory_current_bytes. Bridge: error_ratio,
// response_time_seconds{path}, bridge_calls_total{path},
// bridge_errors_total{path}, bridge_fallbacks_total,
// bridge_auto_fallbacks_total, bridge_shadow_compared_total,
// bridge_shadow_mismatches_total, bridge_mode{mode}, bridge_hybrid_ratio,
// and the histogram bridge_request_duration_seconds{path,kind} fed by
// BridgeObserver. Monitor: health_score (0–100), health_status{status},
// alerts_firing{severity}, alerts_total{severity}, rollbacks_total,
// uptime_seconds, last_sample_timestamp_seconds,
// monitor_listener_panics_total.
//
// # Logs
//
// Alerts are logged with "ALERT" in the message (critical at error level,
// warning at warn, info and resolutions at info), rollbacks with "ROLLBACK
// TRIGGERED" at error level, intelligent-path failures with "ERROR" at
// error level, adaptive threshold moves with "Adaptive adjustment", and
// each sample at info level as "Memory: … Response: … Warm: … Queue: …".
// LogLevelFromEnv reads the handler's level from BUMBA_LOG_LEVEL.
package monitor
