package migrate

import (
	"fmt"
	"math"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/internal/jsonx"
	"github.com/bumba/pooling/internal/nilcheck"
	"github.com/bumba/pooling/pool"
)

// Metrics is where the controller (and the rollback manager) read the
// system's numbers. Read returns cumulative counters since the source's
// Epoch plus current gauges; the readers take differences between
// successive readings to get the figures over a window (see Delta).
// NewStatsMetrics builds one from a bridge and a pool.
type Metrics interface {
	Read() (Reading, error)
}

// MetricsFunc adapts a function to Metrics.
type MetricsFunc func() (Reading, error)

// Read calls f.
func (f MetricsFunc) Read() (Reading, error) { return f() }

// PathCounts counts one executor's calls.
type PathCounts struct {
	Calls  uint64 `json:"calls"`
	Errors uint64 `json:"errors"`
	// Latency is the sum of the calls' latencies.
	Latency time.Duration `json:"latencyTotalMs"`
}

// MarshalJSON writes the latency sum in milliseconds in the module's JSON convention (internal/jsonx).
func (p PathCounts) MarshalJSON() ([]byte, error) { return jsonx.Marshal(p) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form).
func (p *PathCounts) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, p) }

// Mean is the mean latency, 0 without calls.
func (p PathCounts) Mean() time.Duration {
	if p.Calls == 0 {
		return 0
	}
	return p.Latency / time.Duration(p.Calls)
}

func (p PathCounts) sub(o PathCounts) PathCounts {
	return PathCounts{Calls: p.Calls - o.Calls, Errors: p.Errors - o.Errors, Latency: p.Latency - o.Latency}
}

func (p PathCounts) add(o PathCounts) PathCounts {
	return PathCounts{Calls: p.Calls + o.Calls, Errors: p.Errors + o.Errors, Latency: p.Latency + o.Latency}
}

func (p PathCounts) below(o PathCounts) bool { return p.Calls < o.Calls || p.Errors < o.Errors }

// Served counts the commands answered to callers, whatever path served them.
type Served struct {
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
}

// PoolReading is the pool's part of a Reading.
type PoolReading struct {
	// MemoryEfficiency is the share of the always-warm baseline memory the
	// pool saves now, in [0, 1] (pool.Stats.MemoryEfficiency). NaN or an
	// infinity is ignored (no sample).
	MemoryEfficiency float64 `json:"memoryEfficiency"`
	// Tasks and WarmHits are cumulative.
	Tasks    uint64 `json:"tasks"`
	WarmHits uint64 `json:"warmHits"`
	// Specialists, MaxWarm and WarmThreshold are the pool's now.
	Specialists   int     `json:"specialists"`
	MaxWarm       int     `json:"maxWarm"`
	WarmThreshold float64 `json:"warmThreshold"`
}

// MarshalJSON writes it in the module's JSON convention (internal/jsonx).
func (p PoolReading) MarshalJSON() ([]byte, error) { return jsonx.Marshal(p) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form).
func (p *PoolReading) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, p) }

// Reading is what a Metrics source reports at one moment: counters that
// only grow from Epoch on, and gauges.
type Reading struct {
	// At is when the reading was taken; Epoch when the source started
	// counting. A different Epoch (a restarted process) or a counter that
	// went back makes Delta count the new reading from zero.
	At    time.Time `json:"at"`
	Epoch time.Time `json:"epoch"`
	// Routing is the bridge's mode and percentage when read.
	Routing Routing `json:"routing"`
	// Intelligent counts the intelligent executor's calls in every mode
	// (shadow runs included); Legacy the legacy executor's.
	Intelligent PathCounts `json:"intelligent"`
	Legacy      PathCounts `json:"legacy"`
	// Served counts the answers returned to callers.
	Served Served `json:"served"`
	// Compared and Matched count shadow comparisons.
	Compared uint64 `json:"compared"`
	Matched  uint64 `json:"matched"`
	// Pool is nil when the source has no pool.
	Pool *PoolReading `json:"pool,omitempty"`
}

// MarshalJSON writes it in the module's JSON convention (internal/jsonx).
func (r Reading) MarshalJSON() ([]byte, error) { return jsonx.Marshal(r) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form).
func (r *Reading) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, r) }

// Gauge summarises a gauge's samples over a window.
type Gauge struct {
	Samples int     `json:"samples"`
	Min     float64 `json:"min"`
	Last    float64 `json:"last"`
}

func (g *Gauge) add(v float64) {
	if g.Samples == 0 || v < g.Min {
		g.Min = v
	}
	g.Last = v
	g.Samples++
}

func (g *Gauge) merge(o Gauge) {
	if o.Samples == 0 {
		return
	}
	if g.Samples == 0 || o.Min < g.Min {
		g.Min = o.Min
	}
	g.Last = o.Last
	g.Samples += o.Samples
}

// Window is what happened between two readings: counter differences and
// the gauge samples seen.
type Window struct {
	From        time.Time  `json:"from"`
	To          time.Time  `json:"to"`
	Intelligent PathCounts `json:"intelligent"`
	Legacy      PathCounts `json:"legacy"`
	Served      Served     `json:"served"`
	Compared    uint64     `json:"compared"`
	Matched     uint64     `json:"matched"`
	Tasks       uint64     `json:"tasks"`
	WarmHits    uint64     `json:"warmHits"`
	// Memory is the pool's memory efficiency as sampled by the readings.
	Memory Gauge `json:"memoryEfficiency"`
}

// MarshalJSON writes it in the module's JSON convention (internal/jsonx).
func (w Window) MarshalJSON() ([]byte, error) { return jsonx.Marshal(w) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form).
func (w *Window) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, w) }

// Delta is the window from prev to cur. A zero prev, a different Epoch, or
// a counter lower in cur than in prev (the source restarted) counts cur
// from zero: the window then starts at cur.Epoch.
func Delta(prev, cur Reading) Window {
	w := Window{From: prev.At, To: cur.At}
	restarted := prev.At.IsZero() || !prev.Epoch.Equal(cur.Epoch) ||
		cur.Intelligent.below(prev.Intelligent) || cur.Legacy.below(prev.Legacy) ||
		cur.Served.Requests < prev.Served.Requests || cur.Served.Errors < prev.Served.Errors ||
		cur.Compared < prev.Compared || cur.Matched < prev.Matched ||
		(cur.Pool != nil && prev.Pool != nil && (cur.Pool.Tasks < prev.Pool.Tasks || cur.Pool.WarmHits < prev.Pool.WarmHits))
	if restarted {
		prev = Reading{}
		w.From = cur.Epoch
	}
	w.Intelligent = cur.Intelligent.sub(prev.Intelligent)
	w.Legacy = cur.Legacy.sub(prev.Legacy)
	w.Served = Served{Requests: cur.Served.Requests - prev.Served.Requests, Errors: cur.Served.Errors - prev.Served.Errors}
	w.Compared = cur.Compared - prev.Compared
	w.Matched = cur.Matched - prev.Matched
	if cur.Pool != nil {
		var pt, ph uint64
		if prev.Pool != nil {
			pt, ph = prev.Pool.Tasks, prev.Pool.WarmHits
		}
		w.Tasks, w.WarmHits = cur.Pool.Tasks-pt, cur.Pool.WarmHits-ph
		if eff := cur.Pool.MemoryEfficiency; !math.IsNaN(eff) && !math.IsInf(eff, 0) {
			w.Memory.add(eff)
		}
	}
	return w
}

// Add extends w by the later window d (w keeps its From unless unset).
func (w *Window) Add(d Window) {
	if w.From.IsZero() {
		w.From = d.From
	}
	if d.To.After(w.To) {
		w.To = d.To
	}
	w.Intelligent = w.Intelligent.add(d.Intelligent)
	w.Legacy = w.Legacy.add(d.Legacy)
	w.Served.Requests += d.Served.Requests
	w.Served.Errors += d.Served.Errors
	w.Compared += d.Compared
	w.Matched += d.Matched
	w.Tasks += d.Tasks
	w.WarmHits += d.WarmHits
	w.Memory.merge(d.Memory)
}

// ErrorRate is the intelligent executor's error rate in [0, 1]; ok is
// false without calls.
func (w Window) ErrorRate() (rate float64, ok bool) {
	if w.Intelligent.Calls == 0 {
		return 0, false
	}
	return float64(w.Intelligent.Errors) / float64(w.Intelligent.Calls), true
}

// ServedErrorRate is the share of answers returned to callers that were
// errors; ok is false without answers.
func (w Window) ServedErrorRate() (rate float64, ok bool) {
	if w.Served.Requests == 0 {
		return 0, false
	}
	return float64(w.Served.Errors) / float64(w.Served.Requests), true
}

// Compatibility is the share of shadow comparisons that matched, in
// [0, 1]; ok is false without comparisons.
func (w Window) Compatibility() (share float64, ok bool) {
	if w.Compared == 0 {
		return 0, false
	}
	return float64(w.Matched) / float64(w.Compared), true
}

// HitRate is the pool's warm hit rate in [0, 1]; ok is false without
// tasks.
func (w Window) HitRate() (rate float64, ok bool) {
	if w.Tasks == 0 {
		return 0, false
	}
	return float64(w.WarmHits) / float64(w.Tasks), true
}

// MinLatencyBaseline is the smallest legacy mean latency a latency ratio is
// judged against. Below it (a legacy path answering in about no time) a
// ratio only measures noise — 41 ms over 1 ns is 41 666 666× — so the
// gates and triggers judge the intelligent mean against their absolute
// latency limit instead (Gate.MaxLatency, rollback.WithMaxLatency).
const MinLatencyBaseline = time.Millisecond

// LatencyRatio is the intelligent executor's mean latency over the
// baseline's (the legacy mean); ok is false without intelligent calls,
// without a baseline, or with a baseline below MinLatencyBaseline.
func (w Window) LatencyRatio(b Baseline) (ratio float64, ok bool) {
	base, known := b.Mean()
	if w.Intelligent.Calls == 0 || !known || base < MinLatencyBaseline {
		return 0, false
	}
	return float64(w.Intelligent.Mean()) / float64(base), true
}

// Judgeable reports whether the baseline is known and at least
// MinLatencyBaseline, so that a latency ratio against it means something.
func (b Baseline) Judgeable() bool {
	base, known := b.Mean()
	return known && base >= MinLatencyBaseline
}

// Duration is To − From.
func (w Window) Duration() time.Duration { return w.To.Sub(w.From) }

// Baseline is the legacy executor's mean latency, learned from every legacy
// call seen: the reference for latency ratios. It is kept in the durable
// state, so it survives a restart into Full mode (where legacy serves
// nothing).
type Baseline struct {
	Calls   uint64        `json:"calls"`
	Latency time.Duration `json:"latencyTotalMs"`
}

// MarshalJSON writes the latency sum in milliseconds in the module's JSON convention (internal/jsonx).
func (b Baseline) MarshalJSON() ([]byte, error) { return jsonx.Marshal(b) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier snake_case
// form).
func (b *Baseline) UnmarshalJSON(data []byte) error { return jsonx.Unmarshal(data, b) }

// Learn adds w's legacy calls.
func (b *Baseline) Learn(w Window) {
	b.Calls += w.Legacy.Calls
	b.Latency += w.Legacy.Latency
}

// Mean is the legacy mean latency; ok is false before any legacy call.
func (b Baseline) Mean() (mean time.Duration, ok bool) {
	if b.Calls == 0 {
		return 0, false
	}
	return b.Latency / time.Duration(b.Calls), true
}

// BridgeStats is what NewStatsMetrics reads from the bridge;
// *bridge.Bridge implements it.
type BridgeStats interface {
	Stats() bridge.Stats
}

// PoolStats is what NewStatsMetrics reads from the pool; *pool.Pool
// implements it.
type PoolStats interface {
	Stats() pool.Stats
}

// StatsMetrics is the Metrics of a bridge and a pool, read from their
// Stats: the intelligent and legacy paths' calls, errors and mean
// latencies summed over every mode, the answers served, the shadow
// comparisons, and the pool's memory efficiency, tasks and warm hits.
// Its Epoch is the clock time it was created.
type StatsMetrics struct {
	b     BridgeStats
	p     PoolStats
	clk   clock.Clock
	epoch time.Time
}

// NewStatsMetrics reads b and, if p is not nil, p, on clk. A nil b returns
// ErrNilMetrics; a nil clk ErrInvalidConfig.
func NewStatsMetrics(b BridgeStats, p PoolStats, clk clock.Clock) (*StatsMetrics, error) {
	if nilcheck.Is(b) {
		return nil, fmt.Errorf("%w: NewStatsMetrics: bridge is nil", ErrNilMetrics)
	}
	if nilcheck.Is(clk) {
		return nil, fmt.Errorf("%w: NewStatsMetrics: clock is nil, want a clock.Clock", ErrInvalidConfig)
	}
	if nilcheck.Is(p) {
		p = nil
	}
	return &StatsMetrics{b: b, p: p, clk: clk, epoch: clk.Now()}, nil
}

// Read implements Metrics. It never fails.
func (m *StatsMetrics) Read() (Reading, error) {
	bs := m.b.Stats()
	r := Reading{
		At:          m.clk.Now(),
		Epoch:       m.epoch,
		Routing:     Routing{Mode: bs.Mode, Percentage: bs.Percentage},
		Intelligent: pathCounts(bs.Paths[bridge.PathIntelligent]),
		Legacy:      pathCounts(bs.Paths[bridge.PathLegacy]),
		Compared:    bs.Shadow.Compared,
		Matched:     bs.Shadow.Matched,
	}
	for _, ms := range bs.Modes {
		r.Served.Requests += ms.Requests
		r.Served.Errors += ms.Errors
	}
	if m.p != nil {
		ps := m.p.Stats()
		r.Pool = &PoolReading{
			MemoryEfficiency: ps.MemoryEfficiency,
			Tasks:            ps.Tasks,
			WarmHits:         ps.WarmHits,
			Specialists:      ps.Specialists,
			MaxWarm:          ps.MaxWarm,
			WarmThreshold:    ps.WarmThreshold,
		}
	}
	return r, nil
}

func pathCounts(p bridge.PathStats) PathCounts {
	// The bridge's exact latency sum: a mean × calls rebuilt sum would be
	// truncated differently at each reading and could go down between
	// two of them (a negative latency in a window).
	return PathCounts{Calls: p.Calls, Errors: p.Errors, Latency: p.Latency.Total}
}
