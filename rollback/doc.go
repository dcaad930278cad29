// Package rollback watches the rollout and takes the host back to its
// legacy executor when things go wrong: automatically when a trigger
// fires, or by hand, as an emergency (everything to legacy at once) or a
// planned rollback (stepping the pool's share down with a verification
// between steps). Every rollback is a durable Record that can be listed,
// fetched and analysed.
//
// # Triggers
//
// DefaultTriggers are the seed's, each with the time its condition must
// hold before it fires:
//
//	trigger            condition                               for
//	error_rate         error rate > 10 %                       1 min
//	response_time      response time > 3× the legacy baseline  2 min
//	memory_efficiency  memory efficiency < 20 %                2 min
//	health_score       health score < 60                       1 min
//	critical_alert     a critical alert persisting             2 min
//
// The error rate and response time are the intelligent executor's over the
// trailing minute (WithTriggerWindow), with at least 10 calls
// (WithMinVolume); a minute with fewer is widened back, reading by reading,
// up to 15 minutes (WithMaxLookback) before the trigger has no data. The
// baseline is the legacy mean latency learned from every legacy call seen
// and kept in the Store; a ratio needs a baseline of at least
// migrate.MinLatencyBaseline (1 ms), below which the response-time trigger
// holds on the absolute WithMaxLatency (5 s) instead. The health score and
// the critical alerts come from the monitor through the small Health and
// Alerts interfaces declared here: *monitor.Monitor satisfies both
// (rollback.WithHealth(m), rollback.WithAlerts(m)); HealthFunc and
// AlertsFunc adapt anything else. Hand the manager to the monitor with
// m.WatchRollbacks(manager) so that every rollback fires its
// rollback_triggered alert.
// A figure without data never holds. While the bridge is in Fallback mode
// nothing holds: there is nothing to roll back. (In Shadow mode triggers do
// hold: the pool runs beside legacy, and rolling back stops it.)
// WithAutoRollback(false) only reports a fired trigger (EventTriggered).
//
// # Rolling back
//
// Emergency switches the bridge to Fallback in one call (then zeroes the
// hybrid percentage) and records the rollback; Planned steps the pool's
// share down 75 → 50 → 25 → 0 % (WithPlannedSteps; starting below the
// current share) and then to Fallback. An automatic rollback is an
// emergency. Each stage is verified WithVerifyAfter (2 min) after it
// began, by Check: the routing is what was set, the served error rate is
// below 2 %, the served response time is below 3× the baseline, and the
// health score is at least 60 (checks without enough data are skipped). A
// planned stage that fails its verification, a trigger firing, or an
// Emergency by hand switches to legacy at once (Record.Escalated). The
// last verification completes the record. A WithConfirm function must
// approve every manual rollback. There can be any number of rollbacks in a
// manager's lifetime; only one runs at a time.
//
// Register Manager.Observer with the bridge so that the bridge's own
// automatic fallback is recorded too (KindBridgeFallback).
//
// # Driving it
//
// Check does the work at the clock's now. Call it on an interval (Run
// does, every 10 s), or hand the Manager to the migrate controller as its
// Guard: the controller calls Check on every Step and stops the rollout
// when a rollback happens. Nothing starts a goroutine except Run.
//
// # Records, logs and listeners
//
// A Record has an ID, its kind, whether it was automatic, the reason, the
// trigger, start and finish times, the routing before and after, the
// evidence (the metrics and trigger states that caused it), its stages and
// the verification. History, Get and Analyze read them; Analyze adds the
// causes, the time to detect, failed checks, earlier rollbacks by the same
// trigger and the seed's troubleshooting advice, and renders as text.
// Records are kept in a migrate.Store (section SectionRollbacks: share the
// controller's store), so they survive restarts, and a rollback in progress
// resumes. Every rollback is logged at error level with "ROLLBACK" in the
// message ("ROLLBACK TRIGGERED" when automatic), and listeners
// (WithListener) get an Event for each change, so that the monitor can
// raise its "rollback triggered" alert.
package rollback
