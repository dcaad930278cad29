package pool

import (
	"sync/atomic"
)

// observation is what a task tells the pool's own goroutine: which
// specialist served it, when, and the weight of the use.
type observation struct {
	idx    int32
	weight float32
	at     int64 // Unix ns
	hit    bool  // the specialist was warm
}

// taskBuffer carries observations from tasks to the pool's goroutine: a
// bounded ring that many tasks write and one goroutine reads (Vyukov's
// bounded queue). A task never waits on it: when the ring is full the
// observation is dropped and counted. Observations are read in the order
// their writers claimed slots, so the tasks of one goroutine stay in order.
// Its memory is fixed at creation: capacity × 32 bytes.
type taskBuffer struct {
	_       [64]byte // keep head off the line before it
	head    atomic.Uint64
	_       [56]byte
	tail    uint64 // the reader's; one reader at a time (under the pool's policy lock)
	mask    uint64
	slots   []bufferSlot
	dropped atomic.Uint64 // counted by the writer that gives up
}

type bufferSlot struct {
	seq atomic.Uint64
	obs observation
}

func newTaskBuffer(capacity int) *taskBuffer {
	n := 1
	for n < capacity {
		n <<= 1
	}
	b := &taskBuffer{mask: uint64(n - 1), slots: make([]bufferSlot, n)}
	for i := range b.slots {
		b.slots[i].seq.Store(uint64(i))
	}
	return b
}

// push adds o, or drops it (false) when the ring is full.
func (b *taskBuffer) push(o observation) bool {
	for {
		h := b.head.Load()
		s := &b.slots[h&b.mask]
		switch seq := s.seq.Load(); {
		case seq == h:
			if b.head.CompareAndSwap(h, h+1) {
				s.obs = o
				s.seq.Store(h + 1) // publish
				return true
			}
		case seq < h: // the reader has not freed this slot: full
			return false
		}
		// Another writer took the slot first; try the next.
	}
}

// drain passes up to max published observations to fn, in order, and
// returns how many it passed. Only one goroutine may drain at a time.
func (b *taskBuffer) drain(max int, fn func(observation)) int {
	n := 0
	for n < max {
		s := &b.slots[b.tail&b.mask]
		if s.seq.Load() != b.tail+1 {
			break // empty, or the next writer has not published yet
		}
		o := s.obs
		s.seq.Store(b.tail + b.mask + 1) // free for the next lap
		b.tail++
		fn(o)
		n++
	}
	return n
}

// pending reports whether a published observation waits.
func (b *taskBuffer) pending() bool {
	return b.slots[b.tail&b.mask].seq.Load() == b.tail+1
}
