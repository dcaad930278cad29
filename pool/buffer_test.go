package pool

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
)

func TestTaskBufferKeepsOrderAndRefusesWhenFull(t *testing.T) {
	b := newTaskBuffer(8)
	for i := range 10 {
		ok := b.push(observation{idx: int32(i)})
		if want := i < 8; ok != want {
			t.Fatalf("push %d: %v, want %v (capacity 8)", i, ok, want)
		}
	}
	if d := b.dropped.Load(); d != 0 {
		t.Errorf("dropped %d, want 0: push does not count, its caller does", d)
	}
	var got []int32
	b.drain(100, func(o observation) { got = append(got, o.idx) })
	for i, v := range got {
		if v != int32(i) {
			t.Fatalf("drained %v, want 0…7 in order", got)
		}
	}
	if len(got) != 8 || b.pending() {
		t.Fatalf("drained %d, pending %v", len(got), b.pending())
	}
	// The ring is reusable after a lap.
	for i := range 8 {
		if !b.push(observation{idx: int32(100 + i)}) {
			t.Fatalf("second lap push %d refused", i)
		}
	}
	if n := b.drain(3, func(observation) {}); n != 3 {
		t.Errorf("drain(3) passed %d", n)
	}
}

// TestTaskBufferConcurrentWritersStayInOrder checks, under -race, that each
// writer's observations come out in its own order and none is lost while
// the reader keeps up.
func TestTaskBufferConcurrentWritersStayInOrder(t *testing.T) {
	const writers, each = 4, 20000
	b := newTaskBuffer(1 << 10)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; {
				if b.push(observation{idx: int32(w), at: int64(i)}) {
					i++
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	last := make([]int64, writers)
	for i := range last {
		last[i] = -1
	}
	total := 0
	check := func(o observation) {
		if o.at != last[o.idx]+1 {
			t.Errorf("writer %d: %d after %d", o.idx, o.at, last[o.idx])
		}
		last[o.idx] = o.at
		total++
	}
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		b.drain(1<<10, check)
	}
	b.drain(1<<20, check)
	if total != writers*each {
		t.Errorf("read %d, want %d (drops %d)", total, writers*each, b.dropped.Load())
	}
}

// Close takes in every task still in the buffer: the Predictor has seen
// them all when Close returns.
func TestCloseDrainsTheBuffer(t *testing.T) {
	clk := clock.NewMock()
	specs := []Spec{{ID: "a", Start: func(context.Context) (Instance, error) { return nopInstance{}, nil }}}
	var seen atomic.Int32
	p, err := New(specs, WithClock(clk), WithPredictor(predictorFunc(func() { seen.Add(1) })))
	if err != nil {
		t.Fatal(err)
	}
	// Once the pool's goroutine sleeps, put tasks in the buffer without
	// waking it: only Close can take them in.
	for !p.parked.Load() {
		runtime.Gosched()
	}
	for range 10 {
		p.buf.push(observation{idx: 0, at: clk.Now().UnixNano()})
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := seen.Load(); n != 10 {
		t.Errorf("the Predictor saw %d of 10 buffered tasks by the end of Close", n)
	}
}

type nopInstance struct{}

func (nopInstance) Execute(context.Context, Task) (Result, error) { return Result{}, nil }
func (nopInstance) Close() error                                  { return nil }

type predictorFunc func()

func (f predictorFunc) Observe(_ time.Time, _, _ string, dst []Prediction) []Prediction {
	f()
	return dst
}
