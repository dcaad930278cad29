package bridge

import (
	"math"
	"time"

	"github.com/bumba/pooling/internal/jsonx"
	"github.com/bumba/pooling/internal/stats"
)

// Stats is a snapshot of what the bridge has done since New.
type Stats struct {
	// Mode and Percentage are the current routing.
	Mode       Mode    `json:"mode"`
	Percentage float64 `json:"percentage"`
	// Closed reports that Close was called.
	Closed bool `json:"closed"`
	// Modes has one entry per mode (all four are present).
	Modes map[Mode]ModeStats `json:"modes"`
	// Paths sums each path's calls over all modes.
	Paths map[Path]PathStats `json:"paths"`
	// Shadow is the shadow comparison so far.
	Shadow ShadowStats `json:"shadow"`
	// Window is the intelligent path's rolling window now.
	Window WindowStats `json:"window"`
	// AutoFallbacks counts automatic switches to ModeFallback.
	AutoFallbacks uint64 `json:"autoFallbacks"`
	// Rejected counts commands refused without calling an executor (empty
	// name, closed bridge).
	Rejected uint64 `json:"rejected"`
	// ObserverPanics counts panics recovered from observers.
	ObserverPanics uint64 `json:"observerPanics"`
}

// ModeStats is what happened while the bridge was in one mode.
type ModeStats struct {
	// Requests counts commands served in this mode; Errors those whose
	// served answer was an error.
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	// Fallbacks counts commands the intelligent executor failed and legacy
	// then served (Full and Hybrid).
	Fallbacks uint64 `json:"fallbacks"`
	// Unrouted counts commands the intelligent executor had no route for
	// (ErrUnroutable), which legacy served (Full and Hybrid).
	Unrouted uint64 `json:"unrouted"`
	// Paths has one entry per path: the executor calls made in this mode,
	// served or not (in Shadow mode the intelligent calls are the shadow
	// runs).
	Paths map[Path]PathStats `json:"paths"`
}

// PathStats counts one executor's calls.
type PathStats struct {
	Calls  uint64 `json:"calls"`
	Errors uint64 `json:"errors"`
	// Panics counts panics recovered from the executor (intelligent only).
	Panics  uint64       `json:"panics"`
	Latency LatencyStats `json:"latency"`
}

// ErrorRate returns Errors / Calls, 0 without calls.
func (p PathStats) ErrorRate() float64 {
	if p.Calls == 0 {
		return 0
	}
	return float64(p.Errors) / float64(p.Calls)
}

// LatencyStats summarises latencies on the bridge's clock. Percentiles come
// from a log-linear histogram: each is an upper bound at most 3.2 % above
// the true value (and never above Max).
type LatencyStats struct {
	P50  time.Duration `json:"p50Ms"`
	P95  time.Duration `json:"p95Ms"`
	P99  time.Duration `json:"p99Ms"`
	Max  time.Duration `json:"maxMs"`
	Mean time.Duration `json:"meanMs"`
	// Total is the sum of the latencies: exact, and never lower in a later
	// snapshot, so the difference of two snapshots is the latency of the
	// calls between them (Mean × calls is not: Mean is truncated).
	Total time.Duration `json:"totalMs"`
}

// MarshalJSON writes the latencies in milliseconds (keys ending in Ms).
func (l LatencyStats) MarshalJSON() ([]byte, error) { return jsonx.Marshal(l) }

// UnmarshalJSON reads what MarshalJSON writes.
func (l *LatencyStats) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, l) }

// ShadowStats is the shadow comparison.
type ShadowStats struct {
	// Started counts shadow runs started; Skipped those not started
	// because the concurrency bound was reached or the bridge was closing.
	Started uint64 `json:"started"`
	Skipped uint64 `json:"skipped"`
	// Compared counts finished runs that were compared; Matched and
	// Mismatched split them.
	Compared   uint64 `json:"compared"`
	Matched    uint64 `json:"matched"`
	Mismatched uint64 `json:"mismatched"`
	// Timeouts counts runs that hit the shadow timeout (compared, usually
	// as mismatches); Panics counts panics recovered from the intelligent
	// executor or the comparator during shadow runs; Canceled counts runs
	// cancelled by Close or whose legacy call panicked (not compared).
	Timeouts uint64 `json:"timeouts"`
	Panics   uint64 `json:"panics"`
	Canceled uint64 `json:"canceled"`
	// Unrouted counts runs the intelligent executor had no route for
	// (ErrUnroutable): not compared, not held against compatibility.
	Unrouted uint64 `json:"unrouted"`
	// InFlight is the number of shadow runs running now.
	InFlight int `json:"inFlight"`
	// Compatibility is Matched / Compared, a fraction in [0, 1] (0 before
	// anything was compared: check Compared).
	Compatibility float64 `json:"compatibility"`
}

// WindowStats is the intelligent path's rolling window: the evidence for
// automatic fallback.
type WindowStats struct {
	Span        time.Duration `json:"spanMs"`
	Successes   uint64        `json:"successes"`
	Failures    uint64        `json:"failures"`
	SuccessRate float64       `json:"successRate"`
	Threshold   float64       `json:"threshold"`
	MinVolume   uint64        `json:"minVolume"`
}

// MarshalJSON writes the span in milliseconds (spanMs).
func (w WindowStats) MarshalJSON() ([]byte, error) { return jsonx.Marshal(w) }

// UnmarshalJSON reads what MarshalJSON writes.
func (w *WindowStats) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, w) }

func (b *Bridge) windowStats(c stats.Counts) WindowStats {
	return WindowStats{
		Span: b.window.Span(), Successes: c.Successes, Failures: c.Failures,
		SuccessRate: c.SuccessRate(), Threshold: b.threshold, MinVolume: b.minVolume,
	}
}

func latencyStats(s stats.Snapshot) LatencyStats {
	return LatencyStats{
		P50:   time.Duration(s.Quantile(0.50)),
		P95:   time.Duration(s.Quantile(0.95)),
		P99:   time.Duration(s.Quantile(0.99)),
		Max:   time.Duration(s.Max),
		Mean:  time.Duration(s.Mean()),
		Total: time.Duration(min(s.Sum, math.MaxInt64)),
	}
}

// Stats returns a snapshot of the counters. Counters are read one by one
// while commands may run, so they can be a few commands apart; each
// histogram is self-consistent. Stats allocates; it is not meant for the
// hot path.
func (b *Bridge) Stats() Stats {
	st := Stats{
		Mode:           b.Mode(),
		Percentage:     b.Percentage(),
		Closed:         b.closed.Load(),
		Modes:          make(map[Mode]ModeStats, numModes),
		Paths:          make(map[Path]PathStats, 2),
		Window:         b.windowStats(b.window.Counts(b.clk.Now())),
		AutoFallbacks:  b.autoFallbacks.Load(),
		Rejected:       b.rejected.Load(),
		ObserverPanics: b.observerPanics.Load(),
	}
	var total [2]struct {
		calls, errors, panics uint64
		snap                  stats.Snapshot
	}
	for _, m := range Modes() {
		mc := b.counters(m)
		ms := ModeStats{
			Requests:  mc.requests.Load(),
			Errors:    mc.errors.Load(),
			Fallbacks: mc.fallbacks.Load(),
			Unrouted:  mc.unrouted.Load(),
			Paths:     make(map[Path]PathStats, 2),
		}
		for _, p := range Paths() {
			pc := &mc.paths[p-1]
			snap := pc.latency.Snapshot()
			ps := PathStats{Calls: snap.Count, Errors: pc.errors.Load(), Panics: pc.panics.Load(), Latency: latencyStats(snap)}
			ms.Paths[p] = ps
			t := &total[p-1]
			t.calls += ps.Calls
			t.errors += ps.Errors
			t.panics += ps.Panics
			t.snap.Merge(snap)
		}
		st.Modes[m] = ms
	}
	for _, p := range Paths() {
		t := total[p-1]
		st.Paths[p] = PathStats{Calls: t.calls, Errors: t.errors, Panics: t.panics, Latency: latencyStats(t.snap)}
	}
	s := &b.shadow
	st.Shadow = ShadowStats{
		Started:    s.started.Load(),
		Skipped:    s.skipped.Load(),
		Compared:   s.compared.Load(),
		Matched:    s.matched.Load(),
		Mismatched: s.mismatched.Load(),
		Timeouts:   s.timeouts.Load(),
		Panics:     s.panics.Load(),
		Canceled:   s.canceled.Load(),
		Unrouted:   s.unrouted.Load(),
		InFlight:   s.inFlight(),
	}
	if st.Shadow.Compared > 0 {
		st.Shadow.Compatibility = float64(st.Shadow.Matched) / float64(st.Shadow.Compared)
	}
	return st
}
