package pool_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
)

// fake is a tiny framework for pool tests: instances that start at once (or
// when a test releases them) and record what happened.
type fake struct {
	t       *testing.T
	clk     *clock.Mock
	mu      sync.Mutex
	starts  map[string]int
	closes  map[string]int
	gates   map[string]chan struct{} // start blocks until the gate closes
	startCh chan string              // receives an ID as each start begins
	fail    map[string]error
	panicOn map[string]bool
	exec    map[string]func(context.Context, pool.Task) (pool.Result, error)
	events  chan pool.Event
}

func newFake(t *testing.T) *fake {
	return &fake{
		t: t, clk: clock.NewMock(),
		starts: map[string]int{}, closes: map[string]int{}, gates: map[string]chan struct{}{},
		startCh: make(chan string, 1<<16), fail: map[string]error{}, panicOn: map[string]bool{},
		exec:   map[string]func(context.Context, pool.Task) (pool.Result, error){},
		events: make(chan pool.Event, 4096),
	}
}

type fakeInst struct {
	f      *fake
	id     string
	mem    int64
	closed atomic.Bool
}

func (i *fakeInst) Execute(ctx context.Context, t pool.Task) (pool.Result, error) {
	i.f.mu.Lock()
	fn := i.f.exec[i.id]
	i.f.mu.Unlock()
	if i.closed.Load() {
		return pool.Result{}, errors.New("execute on a closed instance")
	}
	if fn != nil {
		return fn(ctx, t)
	}
	return pool.Result{Output: i.id}, nil
}

func (i *fakeInst) Close() error {
	if !i.closed.CompareAndSwap(false, true) {
		return errors.New("closed twice")
	}
	i.f.mu.Lock()
	i.f.closes[i.id]++
	i.f.mu.Unlock()
	return nil
}

func (i *fakeInst) MemoryBytes() int64 { return i.mem }

func (f *fake) spec(id, dept string, pri pool.Priority, mem int64) pool.Spec {
	return pool.Spec{
		ID: id, Department: dept, Priority: pri, Memory: mem, ColdStart: time.Second,
		Start: func(ctx context.Context) (pool.Instance, error) {
			f.mu.Lock()
			f.starts[id]++
			gate := f.gates[id]
			err := f.fail[id]
			pan := f.panicOn[id]
			f.mu.Unlock()
			f.startCh <- id
			if gate != nil {
				select {
				case <-gate:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			if pan {
				panic("boom in start of " + id)
			}
			if err != nil {
				return nil, err
			}
			return &fakeInst{f: f, id: id, mem: mem}, nil
		},
	}
}

// specs makes n specialists s0…s(n-1) in departments of size deptSize.
func (f *fake) specs(n, deptSize int) []pool.Spec {
	out := make([]pool.Spec, n)
	for i := range out {
		out[i] = f.spec(fmt.Sprintf("s%d", i), fmt.Sprintf("d%d", i/deptSize), pool.PriorityMedium, 1000)
	}
	return out
}

func (f *fake) gate(id string) chan struct{} {
	ch := make(chan struct{})
	f.mu.Lock()
	f.gates[id] = ch
	f.mu.Unlock()
	return ch
}

func (f *fake) startsOf(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts[id]
}

func (f *fake) closesOf(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closes[id]
}

func (f *fake) setExec(id string, fn func(context.Context, pool.Task) (pool.Result, error)) {
	f.mu.Lock()
	f.exec[id] = fn
	f.mu.Unlock()
}

// newPool builds a pool on the fake clock with prediction and adaptation out
// of the way unless opts bring them back.
func (f *fake) newPool(specs []pool.Spec, opts ...pool.Option) *pool.Pool {
	f.t.Helper()
	base := []pool.Option{
		pool.WithClock(f.clk),
		pool.WithObserver(func(e pool.Event) { f.events <- e }),
	}
	p, err := pool.New(specs, append(base, opts...)...)
	require.NoError(f.t, err)
	f.t.Cleanup(func() { require.NoError(f.t, p.Close(context.Background())) })
	return p
}

// waitEvent returns the next event of kind k (for specialist id if not "").
func (f *fake) waitEvent(k pool.EventKind, id string) pool.Event {
	f.t.Helper()
	for e := range f.events {
		if e.Kind == k && (id == "" || e.Specialist == id) {
			return e
		}
	}
	panic("unreachable")
}

func run(t *testing.T, p *pool.Pool, id string) pool.Result {
	t.Helper()
	res, err := p.Execute(context.Background(), pool.Task{Specialist: id, Command: "implement"})
	require.NoError(t, err)
	return res
}

func stateOf(p *pool.Pool, id string) pool.State {
	for _, s := range p.Specialists() {
		if s.ID == id {
			return s.State
		}
	}
	return -1
}

// noPrediction switches the predictor off for tests of other behaviour.
type noPrediction struct{}

func (noPrediction) Observe(_ time.Time, _, _ string, dst []pool.Prediction) []pool.Prediction {
	return dst
}

// waitForSchedule lets other goroutines run while a test waits for a state
// the pool reaches on its own; it never waits on time.
func waitForSchedule() { runtime.Gosched() }

// fixedPredictor predicts from a table, ignoring history.
type fixedPredictor struct {
	mu    sync.Mutex
	preds map[string][]pool.Prediction
}

func (f *fixedPredictor) set(id string, preds []pool.Prediction) {
	f.mu.Lock()
	f.preds[id] = preds
	f.mu.Unlock()
}

func (f *fixedPredictor) Observe(_ time.Time, id, _ string, dst []pool.Prediction) []pool.Prediction {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append(dst, f.preds[id]...)
}

// recordingWarmer records the batches it is given.
type recordingWarmer struct {
	inner   pool.Warmer
	mu      sync.Mutex
	batches [][]string
}

func (r *recordingWarmer) Warm(ctx context.Context, batch []pool.WarmRequest) []error {
	ids := make([]string, len(batch))
	for i, b := range batch {
		ids[i] = b.ID
	}
	r.mu.Lock()
	r.batches = append(r.batches, ids)
	r.mu.Unlock()
	return r.inner.Warm(ctx, batch)
}
