package lab

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/bumba/pooling/internal/vclock"
	"github.com/bumba/pooling/pool"
)

// origin is the virtual time of a trace's start.
func originTime() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// noop is the instance every replayed specialist gets: execution takes no
// replay time.
type noop struct{}

func (noop) Execute(context.Context, pool.Task) (pool.Result, error) { return pool.Result{}, nil }
func (noop) Close() error                                            { return nil }

// inOrder is the replay's Warmer: starts are instantaneous in a replay, so
// it runs a batch's starts one after another, in the order given. A
// pre-warm (begun on the pool's own goroutine, not under a request's
// context) first waits for the request that caused it to be over — held
// holds execution — so that it never races the request's release: replays
// are reproducible (the default Warmer runs starts concurrently).
type inOrder struct{ held *sync.Mutex }

type demandKey struct{}

func (w inOrder) Warm(ctx context.Context, batch []pool.WarmRequest) []error {
	if ctx.Value(demandKey{}) == nil {
		w.held.Lock()
		defer w.held.Unlock()
	}
	errs := make([]error, len(batch))
	for i, r := range batch {
		errs[i] = r.Start()
	}
	return errs
}

// poolSetup configures a pool-driven policy.
type poolSetup struct {
	opts []pool.Option
	// warmAll starts every specialist before the first request.
	warmAll bool
	// seq, if set, is told the index of each request before it runs
	// (Belady's future knowledge).
	seq func(i int)
	// closeFn releases what the setup holds.
	closeFn func()
}

// maintenanceStep is how often the replay lets the pool's maintenance run on
// the virtual clock between requests.
const maintenanceStep = time.Second

// runPool replays p through a real pool configured by setup.
func runPool(p *prepared, cfg Config, name string, setup poolSetup) (Result, error) {
	l := newLedger(p.keys, p.span, p.cap)
	var executing sync.Mutex // held while a request executes
	origin := originTime()
	clk := vclock.New(origin)
	var mu sync.Mutex // the observer runs on pre-warm goroutines too
	observe := func(e pool.Event) {
		k, ok := p.index[e.Specialist]
		if !ok {
			return
		}
		at := e.At.Sub(origin)
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case pool.EventStarted:
			if setup.warmAll {
				l.startReady(k, at)
			} else {
				l.start(k, at, e.Prewarm)
			}
		case pool.EventCooled:
			l.stop(k, at)
		}
	}
	specs := make([]pool.Spec, len(p.keys))
	for i, k := range p.keys {
		specs[i] = pool.Spec{
			ID: k.id, Department: k.group, Memory: k.memory, ColdStart: k.coldStart, Priority: k.priority,
			Start: func(context.Context) (pool.Instance, error) { return noop{}, nil },
		}
	}
	opts := append([]pool.Option{
		pool.WithClock(clk),
		pool.WithObserver(observe),
		pool.WithMaintenanceInterval(maintenanceStep),
		pool.WithMaxQueue(1 << 20),
		pool.WithWarmer(inOrder{held: &executing}),
	}, setup.opts...)
	pl, err := pool.New(specs, opts...)
	if err != nil {
		return Result{}, err
	}
	defer func() {
		if setup.closeFn != nil {
			setup.closeFn()
		}
	}()
	ctx := context.WithValue(context.Background(), demandKey{}, true)
	if setup.warmAll {
		ids := make([]string, len(p.keys))
		for i, k := range p.keys {
			ids[i] = k.id
		}
		if err := pl.Warm(ctx, ids...); err != nil {
			return Result{}, err
		}
	}
	next := maintenanceStep
	progressEvery := max(1, len(p.tr.Requests)/10)
	for i, r := range p.tr.Requests {
		for ; next <= r.At; next += maintenanceStep {
			clk.Set(origin.Add(next))
			pl.Maintain()
		}
		clk.Set(origin.Add(r.At))
		if setup.seq != nil {
			setup.seq(i)
		}
		executing.Lock()
		_, err := pl.Execute(ctx, pool.Task{Specialist: r.Key, Priority: r.Priority})
		executing.Unlock()
		if err != nil {
			return Result{}, fmt.Errorf("request %d (%s at %v): %w", i, r.Key, r.At, err)
		}
		pl.Wait()
		mu.Lock()
		l.request(int(p.ks[i]), r.At, r.Duration)
		mu.Unlock()
		if cfg.Progress != nil && len(p.tr.Requests) >= progressMin && (i+1)%progressEvery == 0 {
			fmt.Fprintf(cfg.Progress, "lab: %s: %d%%\n", name, 100*(i+1)/len(p.tr.Requests))
		}
	}
	st := pl.Stats()
	clk.Set(origin.Add(p.span))
	if err := pl.Close(ctx); err != nil {
		return Result{}, err
	}
	mu.Lock()
	l.finish()
	res := l.result(name)
	mu.Unlock()
	if st.Prewarms > 0 {
		acc := st.PredictionAccuracy
		if math.IsNaN(acc) {
			acc = 0
		}
		res.PredictionAccuracy = &acc
	}
	return res, nil
}
