package pool_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
)

// syncBuffer is a log sink safe for the pool's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type panickyBalancer struct{ pick, victim bool }

func (b panickyBalancer) Pick(string, []pool.Candidate) int {
	if b.pick {
		panic("pick")
	}
	return 0
}

func (b panickyBalancer) Victim([]pool.Candidate) int {
	if b.victim {
		panic("victim")
	}
	return 0
}

type panickyPredictor struct{}

func (panickyPredictor) Observe(time.Time, string, string, []pool.Prediction) []pool.Prediction {
	panic("observe")
}

type panickyReporter struct{ noPrediction }

func (panickyReporter) WorkflowStats() pool.WorkflowStats { panic("workflow stats") }

type panickyWarmer struct{}

func (panickyWarmer) Warm(context.Context, []pool.WarmRequest) []error { panic("warm") }

type panickySizer struct{}

func (panickySizer) Execute(context.Context, pool.Task) (pool.Result, error) {
	return pool.Result{Output: "ok"}, nil
}
func (panickySizer) Close() error       { return nil }
func (panickySizer) MemoryBytes() int64 { panic("sizer") }

type panickyCloser struct{ panickySizer }

func (panickyCloser) MemoryBytes() int64 { return 1 }
func (panickyCloser) Close() error       { panic("close") }

// Every seam and callback the pool calls may panic: the panic is recovered,
// counted, logged, and the pool goes on serving and closes.
func TestEveryCallbackPanicIsRecovered(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []pool.Option
		specs func(f *fake) []pool.Spec
		check func(t *testing.T, st pool.Stats, closeErr error, before pool.Stats)
	}{
		{name: "observer", opts: []pool.Option{pool.WithObserver(func(pool.Event) { panic("observer") })},
			check: func(t *testing.T, st pool.Stats, _ error, before pool.Stats) { assert.NotZero(t, st.CallbackPanics) }},
		{name: "Balancer.Pick", opts: []pool.Option{pool.WithBalancer(panickyBalancer{pick: true})},
			check: func(t *testing.T, st pool.Stats, _ error, before pool.Stats) { assert.NotZero(t, st.CallbackPanics) }},
		{name: "Balancer.Victim", opts: []pool.Option{pool.WithBalancer(panickyBalancer{victim: true})},
			check: func(t *testing.T, st pool.Stats, _ error, before pool.Stats) {
				assert.NotZero(t, st.CallbackPanics)
				assert.NotZero(t, st.Evictions, "the policy's own victim went")
			}},
		{name: "Predictor.Observe", opts: []pool.Option{pool.WithPredictor(panickyPredictor{})},
			check: func(t *testing.T, st pool.Stats, _ error, before pool.Stats) { assert.NotZero(t, st.CallbackPanics) }},
		{name: "WorkflowReporter", opts: []pool.Option{pool.WithPredictor(panickyReporter{})},
			check: func(t *testing.T, st pool.Stats, _ error, before pool.Stats) {
				assert.NotZero(t, st.CallbackPanics)
				assert.Zero(t, st.Workflows)
			}},
		{name: "Warmer", opts: []pool.Option{pool.WithWarmer(panickyWarmer{})},
			check: func(t *testing.T, st pool.Stats, _ error, before pool.Stats) {
				assert.NotZero(t, st.CallbackPanics)
				assert.NotZero(t, st.ColdStarts, "started directly instead")
			}},
		{name: "Sizer", specs: func(*fake) []pool.Spec { return instSpecs(func() pool.Instance { return panickySizer{} }) },
			check: func(t *testing.T, st pool.Stats, _ error, before pool.Stats) {
				assert.NotZero(t, st.CallbackPanics)
				assert.Equal(t, int64(14), before.MemoryCurrent, "Spec.Memory stands in for both warm ones")
			}},
		{name: "Start", specs: func(f *fake) []pool.Spec {
			f.panicOn["s1"] = true
			return f.specs(4, 4)
		}, check: func(t *testing.T, st pool.Stats, _ error, before pool.Stats) {
			assert.NotZero(t, st.StartPanics)
			assert.Equal(t, st.StartPanics, st.StartFailures)
		}},
		{name: "Execute", specs: func(f *fake) []pool.Spec {
			f.exec["s2"] = func(context.Context, pool.Task) (pool.Result, error) { panic("execute") }
			return f.specs(4, 4)
		}, check: func(t *testing.T, st pool.Stats, _ error, before pool.Stats) {
			assert.NotZero(t, st.Panics)
			assert.Equal(t, st.Panics, st.TaskErrors)
		}},
		{name: "Close", specs: func(*fake) []pool.Spec { return instSpecs(func() pool.Instance { return panickyCloser{} }) },
			check: func(t *testing.T, st pool.Stats, closeErr error, _ pool.Stats) {
				assert.NotZero(t, st.ClosePanics)
				assert.ErrorIs(t, closeErr, pool.ErrPanic)
				assert.Equal(t, uint64(st.Cooled), st.ClosePanics, "every close panicked and was counted")
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			specs := f.specs(4, 4)
			if tc.specs != nil {
				specs = tc.specs(f)
			}
			logs := &syncBuffer{}
			opts := append([]pool.Option{pool.WithClock(f.clk), pool.WithMaxWarm(2),
				pool.WithLogger(slog.New(slog.NewTextHandler(logs, nil)))}, tc.opts...)
			p, err := pool.New(specs, opts...)
			require.NoError(t, err)
			for i := range 12 {
				task := pool.Task{Specialist: specs[i%4].ID}
				if i%3 == 0 {
					task = pool.Task{Department: specs[0].Department}
				}
				_, _ = p.Execute(context.Background(), task)
			}
			p.Wait()
			st := p.Stats()
			infos := p.Specialists()
			held := 0
			for _, s := range infos {
				if s.State == pool.StateWarm || s.State == pool.StateActive || s.State == pool.StateWarming || s.State == pool.StateCooling {
					held++
				}
				assert.Zero(t, s.Inflight, "nothing left active")
			}
			assert.LessOrEqual(t, held, 2)
			assert.Equal(t, st.Tasks, st.WarmHits+st.Misses)
			closeErr := p.Close(context.Background())
			before := st
			st = p.Stats()
			tc.check(t, st, closeErr, before)
			assert.Contains(t, logs.String(), "panicked", "logged")
			assert.Zero(t, st.Warm+st.Active+st.Warming+st.Cooling, "Close completed")
		})
	}
}

// instSpecs makes four specialists in one department whose instances are
// made by mk, each declaring 7 bytes.
func instSpecs(mk func() pool.Instance) []pool.Spec {
	specs := make([]pool.Spec, 4)
	for i := range specs {
		specs[i] = pool.Spec{ID: fmt.Sprintf("i%d", i), Department: "d", Memory: 7,
			Start: func(context.Context) (pool.Instance, error) { return mk(), nil }}
	}
	return specs
}
