package pool

import (
	"sync"
	"testing"
)

func TestTaskBufferKeepsOrderAndCountsDrops(t *testing.T) {
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
