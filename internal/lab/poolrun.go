package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
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
	// seq, if set, is told the index of each request before it runs
	// (Belady's future knowledge).
	seq func(i int)
	// closeFn releases what the setup holds.
	closeFn func()
	// restartAt, when above 0, restarts the pool before that request
	// (serial replays only): Snapshot, Close, and a new pool with
	// WithRestore (cold when coldRestart), as a deploy does.
	restartAt   int
	coldRestart bool
}

// maintenanceStep is how often the replay lets the pool's maintenance run on
// the virtual clock between requests.
const maintenanceStep = time.Second

// droppedObservations is the pool's count of tasks its Predictor did not
// see; the one place the lab reads it, so that a renamed field is one edit.
func droppedObservations(st pool.Stats) uint64 { return st.ObservationsDropped }

// runPool replays p through a real pool configured by setup.
//
// Serially (cfg.Concurrency ≤ 1) each request runs alone at its own time,
// the pool's pre-warms finish before the next (reproducible). With
// cfg.Concurrency = N > 1, the requests are cut into ticks of cfg.Tick
// virtual time (1 s by default); the clock is set to a tick's start, its
// requests are dealt round-robin to N goroutines (each runs its share in
// trace order) and all are joined, pre-warms included, before the clock
// advances. The ledger then books them at the tick's start, taking hits
// from the pool's own answer (Result.Warm). Which task of a tick runs
// first is left to the scheduler, so concurrent replays are not
// reproducible.
func runPool(p *prepared, cfg Config, name string, setup poolSetup) (Result, error) {
	l := newLedger(p.keys, p.span, p.cap)
	var executing sync.Mutex // held while a request executes (serial replays)
	origin := originTime()
	clk := vclock.New(origin)
	index := make(map[string]int, len(p.keys))
	for i, k := range p.keys {
		index[k.id] = i
	}
	var mu sync.Mutex // the observer runs on pre-warm goroutines too
	observe := func(e pool.Event) {
		k, ok := index[e.Specialist]
		if !ok {
			return
		}
		at := e.At.Sub(origin)
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case pool.EventStarted:
			l.start(k, at, e.Prewarm)
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
	workers := max(1, cfg.Concurrency)
	opts := []pool.Option{
		pool.WithClock(clk),
		pool.WithObserver(observe),
		pool.WithMaintenanceInterval(maintenanceStep),
		pool.WithMaxQueue(1 << 20),
	}
	if workers == 1 {
		opts = append(opts, pool.WithWarmer(inOrder{held: &executing}))
	}
	opts = append(opts, setup.opts...)
	pl, err := pool.New(specs, opts...)
	if err != nil {
		return Result{}, err
	}
	defer func() { pl.Close(context.Background()) }() // a no-op once closed
	defer func() {
		if setup.closeFn != nil {
			setup.closeFn()
		}
	}()
	ctx := context.WithValue(context.Background(), demandKey{}, true)
	next := maintenanceStep
	advance := func(to time.Duration) {
		for ; next <= to; next += maintenanceStep {
			clk.Set(origin.Add(next))
			pl.Maintain()
		}
		clk.Set(origin.Add(to))
	}
	n := len(p.ks)
	progressEvery := max(1, n/10)
	nextProgress := progressEvery
	progress := func(done int) {
		for cfg.Progress != nil && n >= progressMin && done >= nextProgress {
			fmt.Fprintf(cfg.Progress, "lab: %s: %d%%\n", name, 100*nextProgress/n)
			nextProgress += progressEvery
		}
	}
	task := func(i int) pool.Task {
		return pool.Task{Specialist: p.keys[p.ks[i]].id, Priority: p.prio(i)}
	}
	if workers == 1 {
		for i := range n {
			at := p.at[i]
			advance(at)
			if i > 0 && i == setup.restartAt {
				if pl, err = restart(pl, specs, opts, setup.coldRestart); err != nil {
					return Result{}, fmt.Errorf("restart before request %d: %w", i, err)
				}
			}
			if setup.seq != nil {
				setup.seq(i)
			}
			executing.Lock()
			_, err := pl.Execute(ctx, task(i))
			executing.Unlock()
			if err != nil {
				return Result{}, fmt.Errorf("request %d (%s at %v): %w", i, p.keys[p.ks[i]].id, at, err)
			}
			pl.Wait()
			mu.Lock()
			l.request(int(p.ks[i]), at, p.dur(i))
			mu.Unlock()
			progress(i + 1)
		}
	} else {
		tick := cfg.Tick
		if tick <= 0 {
			tick = time.Second
		}
		warm := make([]bool, 0, 1024)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for i := 0; i < n; {
			start := p.at[i]
			start -= start % tick
			j := i
			for j < n && p.at[j] < start+tick {
				j++
			}
			advance(start)
			if setup.seq != nil {
				for q := i; q < j; q++ {
					setup.seq(q)
				}
			}
			warm = slices.Grow(warm[:0], j-i)[:j-i]
			lanes := min(workers, j-i)
			for g := range lanes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for q := i + g; q < j; q += lanes {
						res, err := pl.Execute(ctx, task(q))
						if err != nil {
							errs[g] = fmt.Errorf("request %d (%s at %v): %w", q, p.keys[p.ks[q]].id, p.at[q], err)
							return
						}
						warm[q-i] = res.Warm
					}
				}()
			}
			wg.Wait()
			pl.Wait()
			if err := errors.Join(errs...); err != nil {
				return Result{}, err
			}
			mu.Lock()
			for q := i; q < j; q++ {
				l.requestServed(int(p.ks[q]), start, p.dur(q), warm[q-i])
			}
			mu.Unlock()
			i = j
			progress(i)
		}
	}
	clk.Set(origin.Add(p.span))
	if err := pl.Close(ctx); err != nil {
		return Result{}, err
	}
	// Read after Close: every pre-warm is then decided (used, or wasted
	// when it cooled), whatever maintenance was still under way before.
	st := pl.Stats()
	mu.Lock()
	l.finish()
	res := l.result(name)
	mu.Unlock()
	res.Concurrency = workers
	if st.Tasks > 0 {
		share := float64(droppedObservations(st)) / float64(st.Tasks)
		res.PredictorDropShare = &share
	}
	if st.Prewarms > 0 {
		acc := st.PredictionAccuracy
		if math.IsNaN(acc) {
			acc = 0
		}
		res.PredictionAccuracy = &acc
	}
	return res, nil
}

// restart snapshots pl, closes it and returns a new pool restored from the
// snapshot (or a cold one), its re-warms finished.
func restart(pl *pool.Pool, specs []pool.Spec, opts []pool.Option, cold bool) (*pool.Pool, error) {
	pl.Wait()
	var snap bytes.Buffer
	if err := pl.Snapshot(&snap); err != nil {
		return nil, err
	}
	if err := pl.Close(context.Background()); err != nil {
		return nil, err
	}
	if !cold {
		opts = append(slices.Clip(opts), pool.WithRestore(&snap))
	}
	next, err := pool.New(specs, opts...)
	if err != nil {
		return nil, err
	}
	next.Wait()
	return next, nil
}
