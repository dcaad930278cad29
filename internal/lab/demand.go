package lab

import (
	"container/heap"
	"math"
	"time"
)

// keyPolicy is a classic cache policy over key indices, simulated beside the
// lab's own warm set: it sees every request first and names the keys it
// drops. The demand driver evicts from the warm set what the policy no
// longer holds, so the warm set follows it exactly (a key the policy did not
// admit still starts — a task needs it — and is the next to go).
type keyPolicy interface {
	// access records a request for k; evicted is called for each key the
	// policy drops.
	access(k int, evicted func(int))
	// coldest returns a key for which warm is true to evict when every warm
	// key is one the policy holds (it then drops it too), or −1; except is
	// the key being admitted, which must stay.
	coldest(warm func(int) bool, except int) int
}

// runDemand replays p through a capacity-bounded demand cache that follows
// pol: nothing cools by time, nothing is pre-warmed. It is measured by the
// same ledger as the pool.
func runDemand(p *prepared, name string, pol keyPolicy) Result {
	l := newLedger(p.keys, p.span, p.cap)
	warm := make([]bool, len(p.keys))
	n := 0
	var stale []int // warm keys the policy dropped, oldest first
	for i, r := range p.tr.Requests {
		k := int(p.ks[i])
		pol.access(k, func(v int) {
			if warm[v] {
				stale = append(stale, v)
			}
		})
		if warm[k] {
			l.request(k, r.At, r.Duration)
			continue
		}
		for n >= p.cap { // make room first: the cap holds at every instant
			v := -1
			for len(stale) > 0 && v < 0 {
				if c := stale[0]; warm[c] && c != k {
					v = c
				}
				stale = stale[1:]
			}
			if v < 0 {
				v = pol.coldest(func(c int) bool { return warm[c] }, k)
			}
			if v < 0 {
				break
			}
			l.stop(v, r.At)
			warm[v] = false
			n--
		}
		l.start(k, r.At, false)
		warm[k] = true
		n++
		l.request(k, r.At, r.Duration)
	}
	l.finish()
	return l.result(name)
}

// lruPolicy is least recently used, on an intrusive list.
type lruPolicy struct {
	prev, next []int
	in         []bool
	head, tail int // head: least recent
	n, cap     int
}

func newLRUPolicy(keys, capacity int) *lruPolicy {
	l := &lruPolicy{prev: make([]int, keys), next: make([]int, keys), in: make([]bool, keys), head: -1, tail: -1, cap: capacity}
	return l
}

func (l *lruPolicy) unlink(k int) {
	if l.prev[k] >= 0 {
		l.next[l.prev[k]] = l.next[k]
	} else {
		l.head = l.next[k]
	}
	if l.next[k] >= 0 {
		l.prev[l.next[k]] = l.prev[k]
	} else {
		l.tail = l.prev[k]
	}
}

func (l *lruPolicy) pushBack(k int) {
	l.prev[k], l.next[k] = l.tail, -1
	if l.tail >= 0 {
		l.next[l.tail] = k
	} else {
		l.head = k
	}
	l.tail = k
}

func (l *lruPolicy) access(k int, evicted func(int)) {
	if l.in[k] {
		l.unlink(k)
		l.pushBack(k)
		return
	}
	l.in[k] = true
	l.pushBack(k)
	l.n++
	for l.n > l.cap {
		v := l.head
		l.unlink(v)
		l.in[v] = false
		l.n--
		evicted(v)
	}
}

func (l *lruPolicy) coldest(warm func(int) bool, except int) int {
	for k := l.head; k >= 0; k = l.next[k] {
		if warm(k) && k != except {
			return k
		}
	}
	return -1
}

// beladyPolicy evicts the key whose next request is farthest in the
// future: the offline optimum for demand starts at this capacity.
type beladyPolicy struct {
	next   []int // next request index after each request
	nextOf []int // next request of each key after now
	i      int   // the request being processed
	h      farHeap
}

func newBelady(p *prepared) *beladyPolicy {
	n := len(p.ks)
	b := &beladyPolicy{next: make([]int, n), nextOf: make([]int, len(p.keys))}
	last := make([]int, len(p.keys))
	for k := range last {
		last[k] = math.MaxInt
	}
	for i := n - 1; i >= 0; i-- {
		k := p.ks[i]
		b.next[i] = last[k]
		last[k] = i
	}
	return b
}

func (b *beladyPolicy) access(k int, _ func(int)) {
	b.nextOf[k] = b.next[b.i]
	heap.Push(&b.h, farEntry{b.nextOf[k], k})
	b.i++
}

func (b *beladyPolicy) coldest(warm func(int) bool, except int) int {
	var keep *farEntry
	defer func() {
		if keep != nil {
			heap.Push(&b.h, *keep)
		}
	}()
	for b.h.Len() > 0 {
		e := heap.Pop(&b.h).(farEntry)
		if b.nextOf[e.k] != e.next {
			continue // stale: asked for again since
		}
		if e.k == except {
			keep = &e // being admitted: its entry must stay
			continue
		}
		if warm(e.k) {
			return e.k
		}
		// Not warm: its entry comes back when it is asked for again.
	}
	return -1
}

type farEntry struct{ next, k int }
type farHeap []farEntry

func (h farHeap) Len() int           { return len(h) }
func (h farHeap) Less(i, j int) bool { return h[i].next > h[j].next }
func (h farHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *farHeap) Push(x any)        { *h = append(*h, x.(farEntry)) }
func (h *farHeap) Pop() any          { o := *h; x := o[len(o)-1]; *h = o[:len(o)-1]; return x }

// runAlwaysWarmDemand is the legacy system: every specialist warm from the
// start, none ever released.
func runAlwaysWarmDemand(p *prepared) Result {
	l := newLedger(p.keys, p.span, len(p.keys))
	for k := range p.keys {
		l.startReady(k, 0)
	}
	for i, r := range p.tr.Requests {
		l.request(int(p.ks[i]), r.At, r.Duration)
	}
	l.finish()
	return l.result("always-warm")
}

// runKeepAliveDemand keeps each specialist warm for keep after its last
// request, with no cap (the serverless platforms' default policy).
func runKeepAliveDemand(p *prepared, name string, keep time.Duration) Result {
	l := newLedger(p.keys, p.span, len(p.keys))
	until := make([]time.Duration, len(p.keys))
	warm := make([]bool, len(p.keys))
	var tl timeline
	version := make([]uint64, len(p.keys))
	for i, r := range p.tr.Requests {
		for {
			e, ok := tl.due(r.At)
			if !ok {
				break
			}
			if e.version == version[e.key] && warm[e.key] {
				l.stop(e.key, e.at)
				warm[e.key] = false
			}
		}
		k := int(p.ks[i])
		if !warm[k] {
			l.start(k, r.At, false)
			warm[k] = true
		}
		until[k] = r.At + keep
		version[k]++
		tl.add(scheduled{at: until[k], key: k, kind: actStop, version: version[k]})
		l.request(k, r.At, r.Duration)
	}
	l.finish()
	return l.result(name)
}
