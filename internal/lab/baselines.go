package lab

import (
	"fmt"
	"time"

	"github.com/bumba/pooling/pool"
)

// policies are the lab's rows, in the order they are reported.
var policies = []policy{
	{name: "pool", run: runDefault, capped: true, viaPool: true},
	{name: "always-warm", run: runAlwaysWarm},
	{name: "lru", run: demand("lru", newLRU), capped: true},
	{name: "wtinylfu", run: runWTinyLFU, capped: true},
	{name: "2q", run: demand("2q", new2Q), capped: true},
	{name: "arc", run: demand("arc", newARC), capped: true},
	{name: "s3fifo", run: demand("s3fifo", newS3FIFO), capped: true},
	{name: "sieve", run: demand("sieve", newSIEVE), capped: true},
	{name: "prototype", run: runPrototype, capped: true},
	{name: "prototype-capped", run: runPrototypeCapped, capped: true},
	{name: "keepalive-10m", run: func(p *prepared, cfg Config) (Result, error) {
		return runKeepAlive(p, cfg, "keepalive-10m", 10*time.Minute)
	}, viaPool: true},
	{name: "keepalive-20m", run: func(p *prepared, cfg Config) (Result, error) {
		return runKeepAlive(p, cfg, "keepalive-20m", 20*time.Minute)
	}, viaPool: true},
	{name: "hybrid-histogram", run: runHybridHistogram},
	{name: "belady", run: func(p *prepared, _ Config) (Result, error) {
		return runDemand(p, "belady", newBelady(p))
	}, capped: true},
}

// demand runs a key-level cache of the lab's capacity through runDemand.
func demand(name string, newCache func(capacity int) func([]bool) (demandCache, error)) runner {
	return func(p *prepared, _ Config) (Result, error) { return runDemand(p, name, newCache(p.cap)) }
}

// runDefault is the library's pool with its defaults at the lab's capacity,
// knowing the workflows the host declares (the same ones the prototype's
// policy has built in).
func runDefault(p *prepared, cfg Config) (Result, error) {
	return runPool(p, cfg, "pool", defaultSetup(p))
}

// defaultSetup is the pool's defaults at the lab's capacity with the
// declared workflows.
func defaultSetup(p *prepared) poolSetup {
	opts := []pool.Option{pool.WithMaxWarm(p.cap)}
	for i, steps := range p.workflows {
		opts = append(opts, pool.WithWorkflows(pool.Workflow{Name: fmt.Sprintf("declared-%d", i+1), Steps: steps}))
	}
	return poolSetup{opts: opts}
}

// silent predicts nothing: the baselines decide by their own rule only.
type silent struct{}

func (silent) Observe(_ time.Time, _, _ string, dst []pool.Prediction) []pool.Prediction { return dst }

// runAlwaysWarm is the legacy system: every specialist warm from the
// start, so every request is a hit. It is booked directly (the pool has
// nothing to decide, and at 20 000 specialists its maintenance passes
// made this row cost more than the policies).
func runAlwaysWarm(p *prepared, _ Config) (Result, error) {
	l := newLedger(p.keys, p.span, p.cap)
	for k := range p.keys {
		l.startReady(k, 0)
	}
	for i, k := range p.ks {
		l.request(int(k), p.at[i], p.dur(i))
	}
	l.finish()
	return l.result("always-warm"), nil
}

// runKeepAlive keeps each specialist warm for a fixed time after its last
// use, with no cap (the serverless platforms' default policy).
func runKeepAlive(p *prepared, cfg Config, name string, keep time.Duration) (Result, error) {
	return runPool(p, cfg, name, poolSetup{opts: []pool.Option{
		pool.WithMaxWarm(len(p.keys)), pool.WithCooldown(keep), pool.WithPredictor(silent{}),
		pool.WithAdaptiveScaling(false), pool.WithWarmThreshold(1),
	}})
}
