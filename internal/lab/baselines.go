package lab

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/maypok86/otter/v2"

	"github.com/bumba/pooling/pool"
)

// forever stands for "no time-based cooling".
const forever = time.Duration(math.MaxInt64 / 4)

func runnerFor(name string) (runner, bool) {
	switch name {
	case "pool":
		return runDefault, true
	case "always-warm":
		return runAlwaysWarm, true
	case "lru":
		return runLRU, true
	case "wtinylfu":
		return runWTinyLFU, true
	case "keepalive-10m":
		return func(p *prepared, cfg Config) (Result, error) {
			return runKeepAlive(p, cfg, "keepalive-10m", 10*time.Minute)
		}, true
	case "keepalive-20m":
		return func(p *prepared, cfg Config) (Result, error) {
			return runKeepAlive(p, cfg, "keepalive-20m", 20*time.Minute)
		}, true
	case "belady":
		return runBelady, true
	case "prototype":
		return runPrototype, true
	case "hybrid-histogram":
		return runHybridHistogram, true
	}
	return nil, false
}

// runDefault is the library's pool with its defaults at the lab's capacity,
// knowing the workflows the host declares (the same ones the prototype's
// policy has built in).
func runDefault(p *prepared, cfg Config) (Result, error) {
	opts := []pool.Option{pool.WithMaxWarm(p.cap)}
	for i, steps := range p.workflows {
		opts = append(opts, pool.WithWorkflows(pool.Workflow{Name: fmt.Sprintf("declared-%d", i+1), Steps: steps}))
	}
	return runPool(p, cfg, "pool", poolSetup{opts: opts})
}

// silent predicts nothing: the baselines decide by their own rule only.
type silent struct{}

func (silent) Observe(_ time.Time, _, _ string, dst []pool.Prediction) []pool.Prediction { return dst }

// demandOnly are the options that leave every decision to the Balancer:
// nothing cools by time or score, nothing is pre-warmed.
func demandOnly(capacity int) []pool.Option {
	return []pool.Option{
		pool.WithMaxWarm(capacity), pool.WithCooldown(forever), pool.WithPredictor(silent{}),
		pool.WithAdaptiveScaling(false), pool.WithWarmThreshold(0), pool.WithDepartmentBalance(false),
	}
}

// runAlwaysWarm is the legacy system: every specialist warm from the start.
func runAlwaysWarm(p *prepared, cfg Config) (Result, error) {
	return runPool(p, cfg, "always-warm", poolSetup{opts: demandOnly(len(p.keys)), warmAll: true})
}

// runKeepAlive keeps each specialist warm for a fixed time after its last
// use, with no cap (the serverless platforms' default policy).
func runKeepAlive(p *prepared, cfg Config, name string, keep time.Duration) (Result, error) {
	return runPool(p, cfg, name, poolSetup{opts: []pool.Option{
		pool.WithMaxWarm(len(p.keys)), pool.WithCooldown(keep), pool.WithPredictor(silent{}),
		pool.WithAdaptiveScaling(false), pool.WithWarmThreshold(1),
	}})
}

// victimByKey is a Balancer whose victim choice is made by a key-level
// policy; Pick keeps the default.
type victimByKey struct {
	pool.DepartmentBalancer
	choose func(cands []pool.Candidate) int
}

func (v victimByKey) Victim(cands []pool.Candidate) int { return v.choose(cands) }

// runLRU evicts the least recently used specialist, as hashicorp/golang-lru
// orders them: the LRU list sees every request first, and the pool evicts
// the key the list evicted.
func runLRU(p *prepared, cfg Config) (Result, error) {
	evicted := ""
	lru, err := simplelru.NewLRU[string, struct{}](p.cap, func(k string, _ struct{}) { evicted = k })
	if err != nil {
		return Result{}, err
	}
	bal := victimByKey{choose: func(cands []pool.Candidate) int {
		if i := indexOf(cands, evicted); i >= 0 {
			return i
		}
		// Out of step (the list never evicted a warm one): oldest warm.
		old := 0
		for i, c := range cands {
			if c.LastUsed.Before(cands[old].LastUsed) {
				old = i
			}
		}
		return old
	}}
	return runPool(p, cfg, "lru", poolSetup{
		opts: append(demandOnly(p.cap), pool.WithBalancer(bal)),
		seq: func(i int) {
			evicted = ""
			lru.Add(p.tr.Requests[i].Key, struct{}{})
		},
	})
}

func indexOf(cands []pool.Candidate, id string) int {
	if id == "" {
		return -1
	}
	for i, c := range cands {
		if c.ID == id {
			return i
		}
	}
	return -1
}

// wtinylfuRuns is how many times the randomised W-TinyLFU is replayed; the
// run with the median cold starts is reported.
const wtinylfuRuns = 5

// runWTinyLFU replays W-TinyLFU wtinylfuRuns times and reports the run with
// the median cold starts: otter seeds its hashes and admission jitter at
// random, so one run is one draw.
func runWTinyLFU(p *prepared, cfg Config) (Result, error) {
	runs := make([]Result, 0, wtinylfuRuns)
	for range wtinylfuRuns {
		r, err := runWTinyLFUOnce(p, cfg)
		if err != nil {
			return Result{}, err
		}
		runs = append(runs, r)
	}
	slices.SortFunc(runs, func(a, b Result) int { return cmp.Compare(a.ColdStarts, b.ColdStarts) })
	return runs[len(runs)/2], nil
}

// runWTinyLFUOnce evicts as maypok86/otter's W-TinyLFU cache of the same
// size decides: otter sees every request first; the pool evicts a
// specialist otter no longer holds, or, when otter declined to admit the new
// one, the coldest in otter's order (which then leaves otter too).
func runWTinyLFUOnce(p *prepared, cfg Config) (Result, error) {
	c, err := otter.New(&otter.Options[string, struct{}]{
		MaximumSize: p.cap,
		Executor:    func(fn func()) { fn() },
	})
	if err != nil {
		return Result{}, err
	}
	bal := victimByKey{choose: func(cands []pool.Candidate) int {
		for i, cand := range cands {
			if _, ok := c.GetEntryQuietly(cand.ID); !ok {
				return i
			}
		}
		for e := range c.Coldest() {
			if i := indexOf(cands, e.Key); i >= 0 {
				c.Invalidate(e.Key)
				return i
			}
		}
		return 0
	}}
	return runPool(p, cfg, "wtinylfu", poolSetup{
		opts: append(demandOnly(p.cap), pool.WithBalancer(bal)),
		seq: func(i int) {
			k := p.tr.Requests[i].Key
			if _, ok := c.GetIfPresent(k); !ok {
				c.Set(k, struct{}{})
			}
			c.CleanUp()
		},
		closeFn: func() { c.StopAllGoroutines() },
	})
}

// runBelady evicts the specialist whose next request is farthest in the
// future: the offline optimum for demand starts at this capacity.
func runBelady(p *prepared, cfg Config) (Result, error) {
	n := len(p.ks)
	next := make([]int, n)
	last := make([]int, len(p.keys))
	for k := range last {
		last[k] = math.MaxInt
	}
	for i := n - 1; i >= 0; i-- {
		k := p.ks[i]
		next[i] = last[k]
		last[k] = i
	}
	nextOf := make([]int, len(p.keys)) // next request of each key after now
	copy(nextOf, last)
	bal := victimByKey{choose: func(cands []pool.Candidate) int {
		best, far := 0, -1
		for i, c := range cands {
			if nu := nextOf[p.index[c.ID]]; nu > far {
				best, far = i, nu
			}
		}
		return best
	}}
	return runPool(p, cfg, "belady", poolSetup{
		opts: append(demandOnly(p.cap), pool.WithBalancer(bal)),
		seq:  func(i int) { nextOf[p.ks[i]] = next[i] },
	})
}
