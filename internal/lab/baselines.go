package lab

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/bumba/pooling/pool"
)

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

// runAlwaysWarm is the legacy system: every specialist warm from the start.
func runAlwaysWarm(p *prepared, _ Config) (Result, error) { return runAlwaysWarmDemand(p), nil }

// runKeepAlive keeps each specialist warm for a fixed time after its last
// use, with no cap (the serverless platforms' default policy).
func runKeepAlive(p *prepared, _ Config, name string, keep time.Duration) (Result, error) {
	return runKeepAliveDemand(p, name, keep), nil
}

// runLRU evicts the least recently used specialist.
func runLRU(p *prepared, _ Config) (Result, error) {
	return runDemand(p, "lru", newLRUPolicy(len(p.keys), p.cap)), nil
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

// otterPolicy is maypok86/otter's W-TinyLFU cache of the lab's size.
type otterPolicy struct {
	c       *otter.Cache[int, struct{}]
	evicted func(int)
}

func (o *otterPolicy) access(k int, evicted func(int)) {
	o.evicted = evicted
	if _, ok := o.c.GetIfPresent(k); !ok {
		o.c.Set(k, struct{}{})
	}
	o.c.CleanUp()
}

func (o *otterPolicy) coldest(warm func(int) bool, except int) int {
	for e := range o.c.Coldest() {
		if warm(e.Key) && e.Key != except {
			o.c.Invalidate(e.Key)
			return e.Key
		}
	}
	return -1
}

// runWTinyLFUOnce evicts as otter's W-TinyLFU decides: what otter drops
// leaves the warm set; a specialist otter declined to admit is the next to
// go.
func runWTinyLFUOnce(p *prepared, _ Config) (Result, error) {
	pol := &otterPolicy{}
	c, err := otter.New(&otter.Options[int, struct{}]{
		MaximumSize: p.cap,
		Executor:    func(fn func()) { fn() },
		OnDeletion: func(e otter.DeletionEvent[int, struct{}]) {
			if e.WasEvicted() && pol.evicted != nil {
				pol.evicted(e.Key)
			}
		},
	})
	if err != nil {
		return Result{}, err
	}
	pol.c = c
	defer c.StopAllGoroutines()
	return runDemand(p, "wtinylfu", pol), nil
}

// runBelady evicts the specialist whose next request is farthest in the
// future: the offline optimum for demand starts at this capacity.
func runBelady(p *prepared, _ Config) (Result, error) {
	return runDemand(p, "belady", newBelady(p)), nil
}
