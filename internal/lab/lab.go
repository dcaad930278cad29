// Package lab replays workload traces through warm-set policies and measures
// them alike: the library's pool (driven for real on a virtual clock, with
// the fixed keep-alives behind its options), the classic demand policies
// (LRU, 2Q, ARC, W-TinyLFU, S3-FIFO, SIEVE, Belady's offline optimum)
// through one adapter that holds the warm set at the capacity and lets the
// policy choose every victim (demand.go), and the policies that need
// timing or knowledge the pool's seams do not have (always-warm, the Azure
// hybrid histogram, the BUMBA prototype's policy as it was and held to the
// capacity), simulated as published.
//
// Measuring: a request is a warm hit when its specialist was ready when it
// arrived; otherwise it is a cold start and waits until the start it
// triggered or joined is done (starts are instantaneous for the policy's
// bookkeeping; their cost is charged to the requests that wait for them).
// A cold start is a pure miss when its request found the specialist
// neither warm nor starting; the others joined a start under way. Memory
// is held from a start to its release; wasted memory-time is the held
// byte·seconds minus those spent executing. Executions take no replay
// time: a trace's durations count only toward busy memory-time.
//
// Cost: the lab's own work is a few nanoseconds a request for the ledger
// and tens for a demand policy (BenchmarkLabLedger, BenchmarkLabDemand*);
// the rows that drive the pool cost what the pool costs.
package lab

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bumba/pooling/internal/trace"
	"github.com/bumba/pooling/pool"
)

// Result is one policy's measurement on one trace. JSON keys are
// camelCase; shares are fractions (0–1); durations are milliseconds in
// keys ending in Ms.
type Result struct {
	Policy string `json:"policy"`
	// Capacity is the lab's warm capacity (specialists) and WarmShare the
	// share of the trace's specialists it is.
	Capacity  int     `json:"capacity"`
	WarmShare float64 `json:"warmShare"`
	Requests  int     `json:"requests"`
	Hits      int     `json:"hits"`
	// HitRate is Hits / Requests.
	HitRate float64 `json:"hitRate"`
	// ColdStarts counts requests that waited for a start: PureMisses
	// found their specialist neither warm nor starting (and started it);
	// the rest joined a start under way (of an earlier request, or a
	// late pre-warm).
	ColdStarts int `json:"coldStarts"`
	PureMisses int `json:"pureMisses"`
	// ColdStartsVsOpt and PureMissesVsOpt are the ratios to Belady's at
	// the same capacity.
	ColdStartsVsOpt float64 `json:"coldStartsVsOpt"`
	PureMissesVsOpt float64 `json:"pureMissesVsOpt"`
	// P75ColdStartShare is the 75th percentile over specialists of their
	// share of cold-started requests.
	P75ColdStartShare float64 `json:"p75ColdStartShare"`
	// MemoryEfficiency is 1 − held memory-time / always-warm memory-time.
	MemoryEfficiency float64 `json:"memoryEfficiency"`
	// WastedMemoryTime is idle warm memory-time in GiB·s;
	// WastedMemoryTimeNorm scales it so that keepalive-10m = 100.
	WastedMemoryTime     float64 `json:"wastedMemoryGiBSeconds"`
	WastedMemoryTimeNorm float64 `json:"wastedMemoryTimeNorm"`
	// AddedLatencyMs is the mean wait per request versus always-warm.
	AddedLatencyMs float64 `json:"addedLatencyMs"`
	// PredictionAccuracy is the share of decided pre-warms used before
	// they cooled (absent for policies that do not pre-warm).
	PredictionAccuracy *float64 `json:"predictionAccuracy,omitempty"`
	// PrewarmsInTime is the share of used pre-warms that were ready when
	// their request arrived.
	PrewarmsInTime *float64 `json:"prewarmsInTime,omitempty"`
	// PeakWarm is the most specialists warm (or starting) at once;
	// OverCapacity the share of the trace's time with more warm than the
	// lab's capacity. Capacity-bounded policies keep these at or under it;
	// "prototype" caps pre-warming only, so its demand starts can go over
	// ("prototype-capped" is held to the cap).
	PeakWarm     int     `json:"peakWarm"`
	OverCapacity float64 `json:"overCapacity"`
	// Concurrency is the number of goroutines that fed the pool's tasks
	// (1: a serial replay); only rows that run through the pool use it.
	Concurrency int `json:"concurrency"`
	// PredictorDropShare is the share of tasks the pool's Predictor did
	// not see (rows that run through the pool only).
	PredictorDropShare *float64 `json:"predictorDropShare,omitempty"`
	// ElapsedMs is the wall time the replay took.
	ElapsedMs float64 `json:"elapsedMs"`

	occupancy []time.Duration // time at each number warm (ledger.occupancy)
	span      time.Duration
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
	// Concurrency, when above 1, feeds the rows that run through the real
	// pool from that many goroutines (see runPool); 0 or 1 is serial.
	Concurrency int
	// Tick is the virtual time a concurrent batch spans (1 s when 0):
	// the requests of one tick run together at its start.
	Tick time.Duration
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
	tr   *trace.Trace
	keys []keyInfo
	ks   []int32 // key index of each request (the trace's own column)
	at   []time.Duration
	span time.Duration
	cap  int

	workflows [][]string
}

// dur is request i's execution time.
func (p *prepared) dur(i int) time.Duration { return p.tr.DurationOf(i) }

// prio is request i's priority.
func (p *prepared) prio(i int) pool.Priority {
	if p.tr.Priorities != nil {
		return p.tr.Priorities[i]
	}
	return p.keys[p.ks[i]].priority
}

// index finds a specialist by ID (for workflows; not on a per-request path).
func (p *prepared) indexOf(id string) (int, bool) {
	for i, k := range p.keys {
		if k.id == id {
			return i, true
		}
	}
	return 0, false
}

func prepare(tr *trace.Trace, capacity float64) (*prepared, error) {
	if tr.Len() == 0 {
		return nil, fmt.Errorf("lab: trace %q has no requests", tr.Name)
	}
	if capacity <= 0 || capacity > 1 {
		return nil, fmt.Errorf("lab: capacity %v: allowed (0, 1]", capacity)
	}
	p := &prepared{tr: tr, ks: tr.Key, at: tr.At, keys: make([]keyInfo, len(tr.Specialists))}
	for i, s := range tr.Specialists {
		cs := s.ColdStart
		if cs <= 0 {
			cs = time.Second
		}
		p.keys[i] = keyInfo{id: s.ID, group: s.Group, memory: max(s.Memory, 1), coldStart: cs, priority: s.Priority}
	}
	n := tr.Len()
	p.span = tr.At[n-1] + p.dur(n-1) + time.Second
	p.cap = max(1, int(capacity*float64(len(p.keys))+0.5))
	return p, nil
}

// Policies lists the policies in the order results are reported.
func Policies() []string {
	out := make([]string, len(policies))
	for i, p := range policies {
		out[i] = p.name
	}
	return out
}

// policy is one row of the lab.
type policy struct {
	name string
	run  runner
	// capped: the policy is held to the lab's capacity (its result
	// depends on it); the others are run once in a sweep.
	capped bool
	// viaPool: the row drives the real pool (and can be fed concurrently).
	viaPool bool
}

func findPolicy(name string) (policy, bool) {
	for _, p := range policies {
		if p.name == name {
			return p, true
		}
	}
	return policy{}, false
}

// Run replays tr through every policy named (all when names is empty) and
// returns their results, normalised: cold starts and pure misses against
// Belady's and wasted memory-time against keepalive-10m (each is run for
// that, if not asked).
func Run(tr *trace.Trace, cfg Config, names ...string) ([]Result, error) {
	if cfg.Capacity == 0 {
		cfg.Capacity = 0.2
	}
	rs, err := Sweep(tr, cfg, []float64{cfg.Capacity}, names...)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// Sweep is Run at each warm share of capacities (in (0, 1]); policies
// not held to a capacity (always-warm, the keep-alives, the hybrid
// histogram) are replayed once and reported at every share. Result i
// holds capacities[i]'s rows in the order of names.
func Sweep(tr *trace.Trace, cfg Config, capacities []float64, names ...string) ([][]Result, error) {
	if len(capacities) == 0 {
		return nil, fmt.Errorf("lab: no capacities to sweep")
	}
	if len(names) == 0 {
		names = Policies()
	}
	want := slices.Clone(names)
	for _, ref := range []string{"belady", "keepalive-10m"} {
		if !slices.Contains(want, ref) {
			want = append(want, ref)
		}
	}
	for _, name := range want {
		if _, ok := findPolicy(name); !ok {
			return nil, fmt.Errorf("lab: unknown policy %q (known: %s)", name, strings.Join(Policies(), ", "))
		}
	}
	base, err := prepare(tr, capacities[0])
	if err != nil {
		return nil, err
	}
	base.workflows = cfg.Workflows
	once := map[string]Result{}
	out := make([][]Result, len(capacities))
	for ci, c := range capacities {
		p := *base
		if c <= 0 || c > 1 {
			return nil, fmt.Errorf("lab: capacity %v: allowed (0, 1]", c)
		}
		p.cap = max(1, int(c*float64(len(p.keys))+0.5))
		cc := cfg
		cc.Capacity = c
		results := make(map[string]Result, len(want))
		for _, name := range want {
			pol, _ := findPolicy(name)
			if r, ok := once[name]; ok && !pol.capped {
				results[name] = r
				continue
			}
			if cfg.Progress != nil && tr.Len() >= progressMin {
				fmt.Fprintf(cfg.Progress, "lab: %s: replaying %d requests over %d specialists (capacity %d)…\n", name, tr.Len(), len(p.keys), p.cap)
			}
			start := time.Now()
			r, err := pol.run(&p, cc)
			if err != nil {
				return nil, fmt.Errorf("lab: %s: %w", name, err)
			}
			r.ElapsedMs = float64(time.Since(start).Microseconds()) / 1000
			if r.Concurrency == 0 {
				r.Concurrency = 1
			}
			results[name] = r
			if !pol.capped {
				once[name] = r
			}
		}
		opt, ka := results["belady"], results["keepalive-10m"]
		row := make([]Result, 0, len(names))
		for _, name := range names {
			r := results[name]
			r.Capacity, r.WarmShare = p.cap, c
			r.OverCapacity = r.overCapacity(p.cap)
			r.ColdStartsVsOpt = ratio(r.ColdStarts, opt.ColdStarts)
			r.PureMissesVsOpt = ratio(r.PureMisses, opt.PureMisses)
			if ka.WastedMemoryTime > 0 {
				r.WastedMemoryTimeNorm = 100 * r.WastedMemoryTime / ka.WastedMemoryTime
			}
			row = append(row, r)
		}
		out[ci] = row
	}
	return out, nil
}

// ratio is a / b, 1 when both are 0 (and 0 when only b is).
func ratio(a, b int) float64 {
	switch {
	case b > 0:
		return float64(a) / float64(b)
	case a == 0:
		return 1
	}
	return 0
}

type runner func(p *prepared, cfg Config) (Result, error)

// progressMin is the trace size from which progress is reported.
const progressMin = 100_000
