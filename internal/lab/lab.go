// Package lab replays workload traces through warm-set policies and measures
// them alike: the library's pool (driven for real on a virtual clock), the
// classic policies behind the pool's own seams (LRU, W-TinyLFU, fixed
// keep-alive, Belady's offline optimum, always-warm), and two that need
// timing the pool does not have (the Azure hybrid histogram and the BUMBA
// prototype's policy), simulated exactly as published.
//
// Measuring: a request is a warm hit when its specialist was ready when it
// arrived; otherwise it is a cold start and waits until the start it
// triggered or joined is done (starts are instantaneous for the policy's
// bookkeeping; their cost is charged to the requests that wait for them).
// Memory is held from a start to its release; wasted memory-time is the
// held byte·seconds minus those spent executing. Executions take no replay
// time: a trace's durations count only toward busy memory-time.
package lab

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/bumba/pooling/internal/trace"
	"github.com/bumba/pooling/pool"
)

// Result is one policy's measurement on one trace.
type Result struct {
	Policy   string `json:"policy"`
	Requests int    `json:"requests"`
	Hits     int    `json:"hits"`
	// HitRate is Hits / Requests.
	HitRate float64 `json:"hit_rate"`
	// ColdStarts counts requests that waited for a start.
	ColdStarts int `json:"cold_starts"`
	// ColdStartsVsOpt is ColdStarts / Belady's at the same capacity.
	ColdStartsVsOpt float64 `json:"cold_starts_vs_opt"`
	// P75ColdStartPct is the 75th percentile over specialists of their
	// share of cold-started requests, in percent.
	P75ColdStartPct float64 `json:"p75_cold_start_pct"`
	// MemoryEfficiency is 1 − held memory-time / always-warm memory-time.
	MemoryEfficiency float64 `json:"memory_efficiency"`
	// WastedMemoryTime is idle warm memory-time in GiB·s;
	// WastedMemoryTimeNorm scales it so that keepalive-10m = 100.
	WastedMemoryTime     float64 `json:"wasted_memory_gib_s"`
	WastedMemoryTimeNorm float64 `json:"wasted_memory_time_norm"`
	// AddedLatencyMs is the mean wait per request versus always-warm.
	AddedLatencyMs float64 `json:"added_latency_ms"`
	// PredictionAccuracy is the share of decided pre-warms used before
	// they cooled (absent for policies that do not pre-warm).
	PredictionAccuracy *float64 `json:"prediction_accuracy,omitempty"`
	// PrewarmsInTime is the share of used pre-warms that were ready when
	// their request arrived.
	PrewarmsInTime *float64 `json:"prewarms_in_time,omitempty"`
	// PeakWarm is the most specialists warm (or starting) at once;
	// OverCapacity the share of the trace's time with more warm than the
	// lab's capacity. Capacity-bounded policies keep these at or under it;
	// the prototype's policy caps pre-warming only, so its demand starts
	// can go over.
	PeakWarm     int     `json:"peak_warm"`
	OverCapacity float64 `json:"over_capacity"`
	// Elapsed is the wall time the replay took.
	Elapsed time.Duration `json:"-"`
}

// Config of a lab run.
type Config struct {
	// Capacity is the warm share for capacity-bounded policies (0.2).
	Capacity float64
	// Progress, if set, receives progress lines for long replays.
	Progress io.Writer
	// Workflows the prototype's policy knows (its hard-coded catalogue
	// workflows; by specialist ID).
	Workflows [][]string
}

// keyInfo is one specialist of a trace.
type keyInfo struct {
	id        string
	group     string
	memory    int64
	coldStart time.Duration
	priority  pool.Priority
}

// prepared is a trace indexed for replay.
type prepared struct {
	tr    *trace.Trace
	keys  []keyInfo
	index map[string]int
	ks    []int32 // key index of each request
	span  time.Duration
	cap   int

	workflows [][]string
}

func prepare(tr *trace.Trace, capacity float64) (*prepared, error) {
	if len(tr.Requests) == 0 {
		return nil, fmt.Errorf("lab: trace %q has no requests", tr.Name)
	}
	if capacity <= 0 || capacity > 1 {
		return nil, fmt.Errorf("lab: capacity %v: allowed (0, 1]", capacity)
	}
	p := &prepared{tr: tr, index: make(map[string]int), ks: make([]int32, len(tr.Requests))}
	for i, r := range tr.Requests {
		k, ok := p.index[r.Key]
		if !ok {
			k = len(p.keys)
			p.index[r.Key] = k
			cs := r.ColdStart
			if cs <= 0 {
				cs = time.Second
			}
			p.keys = append(p.keys, keyInfo{id: r.Key, group: r.Group, memory: max(r.Memory, 1), coldStart: cs, priority: r.Priority})
		}
		p.ks[i] = int32(k)
	}
	last := tr.Requests[len(tr.Requests)-1]
	p.span = last.At + last.Duration + time.Second
	p.cap = max(1, int(capacity*float64(len(p.keys))+0.5))
	return p, nil
}

// Policies lists the policies in the order results are reported.
func Policies() []string {
	return []string{"pool", "always-warm", "lru", "wtinylfu", "prototype", "keepalive-10m", "keepalive-20m", "hybrid-histogram", "belady"}
}

// Run replays tr through every policy named (all when names is empty) and
// returns their results, normalised: cold starts against Belady's and wasted
// memory-time against keepalive-10m (each is run for that, if not asked).
func Run(tr *trace.Trace, cfg Config, names ...string) ([]Result, error) {
	if cfg.Capacity == 0 {
		cfg.Capacity = 0.2
	}
	p, err := prepare(tr, cfg.Capacity)
	if err != nil {
		return nil, err
	}
	p.workflows = cfg.Workflows
	if len(names) == 0 {
		names = Policies()
	}
	want := slices.Clone(names)
	for _, ref := range []string{"belady", "keepalive-10m"} {
		if !slices.Contains(want, ref) {
			want = append(want, ref)
		}
	}
	results := make(map[string]Result, len(want))
	for _, name := range want {
		run, ok := runnerFor(name)
		if !ok {
			return nil, fmt.Errorf("lab: unknown policy %q (known: %v)", name, Policies())
		}
		if cfg.Progress != nil && len(tr.Requests) >= progressMin {
			fmt.Fprintf(cfg.Progress, "lab: %s: replaying %d requests over %d specialists (capacity %d)…\n", name, len(tr.Requests), len(p.keys), p.cap)
		}
		start := time.Now()
		r, err := run(p, cfg)
		if err != nil {
			return nil, fmt.Errorf("lab: %s: %w", name, err)
		}
		r.Elapsed = time.Since(start)
		results[name] = r
	}
	opt, ka := results["belady"], results["keepalive-10m"]
	out := make([]Result, 0, len(names))
	for _, name := range names {
		r := results[name]
		if opt.ColdStarts > 0 {
			r.ColdStartsVsOpt = float64(r.ColdStarts) / float64(opt.ColdStarts)
		} else if r.ColdStarts == 0 {
			r.ColdStartsVsOpt = 1
		}
		if ka.WastedMemoryTime > 0 {
			r.WastedMemoryTimeNorm = 100 * r.WastedMemoryTime / ka.WastedMemoryTime
		}
		out = append(out, r)
	}
	return out, nil
}

type runner func(p *prepared, cfg Config) (Result, error)

// progressMin is the trace size from which progress is reported.
const progressMin = 100_000
