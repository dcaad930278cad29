package lab

import (
	"cmp"
	"container/heap"
	"errors"
	"fmt"
	"math"
	"slices"

	arc "github.com/hashicorp/golang-lru/arc/v2"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/maypok86/otter/v2"
)

// The classic demand policies (LRU, W-TinyLFU, 2Q, ARC, S3-FIFO, SIEVE,
// Belady) run through one adapter, runDemand, which holds the lab's warm
// set at the capacity and asks the policy only what a cache decides:
//
//   - every request is shown to the policy first (access), hit or miss,
//     as a cache would see it;
//   - when the requested specialist is not warm, it is started on demand;
//     if the warm set is full, the policy names the specialist to release
//     (victim): the one it evicted to admit the new key, or, for a policy
//     that declined to admit it (W-TinyLFU), one it no longer holds;
//   - nothing cools by time and nothing is pre-warmed.
//
// This is what the same policies did as the pool's Balancer (the pool
// with cooling off, no prediction and the policy choosing every victim),
// without the pool's cost per eviction — the Balancer is handed every
// idle warm specialist — which made a keys-trace run take minutes.
// TestDemandAdapterMatchesPool checks the two agree.

// demandCache is a key-level policy behind runDemand. Keys are the
// trace's specialist indexes.
type demandCache interface {
	// access shows the policy request i, for key k.
	access(i int, k int32)
	// victim names a warm key, other than k, to release so that k can
	// start.
	victim(k int32) (int32, error)
	// close releases what the policy holds.
	close()
}

// errOutOfStep reports a policy whose view of the warm set has diverged
// from the lab's (a bug, never expected).
var errOutOfStep = errors.New("policy out of step with the warm set")

// runDemand replays p through c; resident is the warm set c may read
// (true: warm), filled by runDemand.
func runDemand(p *prepared, name string, newCache func(resident []bool) (demandCache, error)) (Result, error) {
	resident := make([]bool, len(p.keys))
	c, err := newCache(resident)
	if err != nil {
		return Result{}, err
	}
	defer c.close()
	l := newLedger(p.keys, p.span, p.cap)
	warm := 0
	for i, k32 := range p.ks {
		k, at := int(k32), p.at[i]
		c.access(i, k32)
		if !resident[k] {
			if warm >= p.cap {
				v, err := c.victim(k32)
				if err != nil {
					return Result{}, fmt.Errorf("request %d (%s): %w", i, p.keys[k].id, err)
				}
				if v == k32 || v < 0 || int(v) >= len(resident) || !resident[v] {
					return Result{}, fmt.Errorf("request %d (%s): victim %d: %w", i, p.keys[k].id, v, errOutOfStep)
				}
				resident[v] = false
				warm--
				l.stop(int(v), at)
			}
			resident[k] = true
			warm++
			l.start(k, at, false)
		}
		l.request(k, at, p.dur(i))
	}
	l.finish()
	return l.result(name), nil
}

// dropped keeps the keys a policy evicted, for victim.
type dropped struct {
	keys     []int32
	resident []bool
}

func (d *dropped) add(k int32) { d.keys = append(d.keys, k) }

// take returns the most recent evicted key still warm other than k; ok
// false when there is none.
func (d *dropped) take(k int32) (int32, bool) {
	for len(d.keys) > 0 {
		v := d.keys[len(d.keys)-1]
		d.keys = d.keys[:len(d.keys)-1]
		if v != k && d.resident[v] {
			return v, true
		}
	}
	return -1, false
}

// lruCache is hashicorp/golang-lru's simplelru: it holds exactly the warm
// set, and admitting a key past the capacity evicts the least recently
// used one.
type lruCache struct {
	c *simplelru.LRU[int32, struct{}]
	d dropped
}

func newLRU(capacity int) func([]bool) (demandCache, error) {
	return func(resident []bool) (demandCache, error) {
		lc := &lruCache{d: dropped{resident: resident}}
		c, err := simplelru.NewLRU[int32, struct{}](capacity, func(k int32, _ struct{}) { lc.d.add(k) })
		lc.c = c
		return lc, err
	}
}

func (c *lruCache) access(_ int, k int32) { c.c.Add(k, struct{}{}) }
func (c *lruCache) victim(k int32) (int32, error) {
	if v, ok := c.d.take(k); ok {
		return v, nil
	}
	return -1, errOutOfStep
}
func (c *lruCache) close() {}

// scanned adapts a cache that reports no evictions (hashicorp's 2Q and
// ARC): after it admits a key past the capacity, exactly one warm key is
// no longer held, and it is the oldest of one of the cache's recency
// lists, so a walk over the warm keys from the least recently used finds
// it after passing only keys of the other list.
//
// hashicorp's ARC can hold one key more than its size: a hit in its ghost
// list B1 while T1 fills the cache and its target p reaches the size makes
// replace evict from T2, which is empty, and the key is added anyway.
// When no warm key has left the cache, the least recently used warm key
// other than k is released and removed from the cache, keeping the two in
// step at the capacity.
type scanned struct {
	get      func(k int32) bool // a lookup that counts as a use
	add      func(k int32)
	contains func(k int32) bool
	remove   func(k int32)
	rec      recency
}

func (c *scanned) access(_ int, k int32) {
	if !c.get(k) {
		c.add(k)
	}
	c.rec.touch(k)
}

func (c *scanned) victim(k int32) (int32, error) {
	for v := c.rec.oldest(); v >= 0; v = c.rec.newer[v] {
		if v != k && !c.contains(v) {
			c.rec.remove(v)
			return v, nil
		}
	}
	for v := c.rec.oldest(); v >= 0; v = c.rec.newer[v] {
		if v != k {
			c.remove(v)
			c.rec.remove(v)
			return v, nil
		}
	}
	return -1, errOutOfStep
}

func (c *scanned) close() {}

func new2Q(capacity int) func([]bool) (demandCache, error) {
	return func(resident []bool) (demandCache, error) {
		q, err := lru.New2Q[int32, struct{}](capacity)
		if err != nil {
			return nil, err
		}
		return &scanned{
			get:      func(k int32) bool { _, ok := q.Get(k); return ok },
			add:      func(k int32) { q.Add(k, struct{}{}) },
			contains: q.Contains,
			remove:   func(k int32) { q.Remove(k) },
			rec:      newRecency(len(resident)),
		}, nil
	}
}

func newARC(capacity int) func([]bool) (demandCache, error) {
	return func(resident []bool) (demandCache, error) {
		a, err := arc.NewARC[int32, struct{}](capacity)
		if err != nil {
			return nil, err
		}
		return &scanned{
			get:      func(k int32) bool { _, ok := a.Get(k); return ok },
			add:      func(k int32) { a.Add(k, struct{}{}) },
			contains: a.Contains,
			remove:   func(k int32) { a.Remove(k) },
			rec:      newRecency(len(resident)),
		}, nil
	}
}

// recency is an intrusive doubly linked list of keys, least recently
// touched first.
type recency struct {
	newer, older []int32
	in           []bool
	head, tail   int32 // oldest, newest
}

func newRecency(n int) recency {
	r := recency{newer: make([]int32, n), older: make([]int32, n), in: make([]bool, n), head: -1, tail: -1}
	return r
}

func (r *recency) oldest() int32 { return r.head }

func (r *recency) remove(k int32) {
	if !r.in[k] {
		return
	}
	o, n := r.older[k], r.newer[k]
	if o >= 0 {
		r.newer[o] = n
	} else {
		r.head = n
	}
	if n >= 0 {
		r.older[n] = o
	} else {
		r.tail = o
	}
	r.in[k] = false
}

func (r *recency) touch(k int32) {
	r.remove(k)
	r.older[k], r.newer[k] = r.tail, -1
	if r.tail >= 0 {
		r.newer[r.tail] = k
	} else {
		r.head = k
	}
	r.tail = k
	r.in[k] = true
}

// otterCache is maypok86/otter's W-TinyLFU cache of the same size: it
// may decline to admit a key (which is then warm but not held, and the
// first to go), and its evictions come back through OnDeletion (run
// synchronously: its executor runs maintenance inline).
type otterCache struct {
	c *otter.Cache[int32, struct{}]
	d dropped
}

func newWTinyLFU(capacity int) func([]bool) (demandCache, error) {
	return func(resident []bool) (demandCache, error) {
		oc := &otterCache{d: dropped{resident: resident}}
		c, err := otter.New(&otter.Options[int32, struct{}]{
			MaximumSize: capacity,
			Executor:    func(fn func()) { fn() },
			OnDeletion: func(e otter.DeletionEvent[int32, struct{}]) {
				if e.WasEvicted() {
					oc.d.add(e.Key)
				}
			},
		})
		oc.c = c
		return oc, err
	}
}

func (c *otterCache) access(_ int, k int32) {
	if _, ok := c.c.GetIfPresent(k); !ok {
		c.c.Set(k, struct{}{})
		c.c.CleanUp()
		if _, held := c.c.GetEntryQuietly(k); !held {
			c.d.add(k) // declined: warm now, the next to go
		}
		return
	}
	c.c.CleanUp()
}

func (c *otterCache) victim(k int32) (int32, error) {
	for {
		v, ok := c.d.take(k)
		if !ok {
			break
		}
		if _, held := c.c.GetEntryQuietly(v); !held {
			return v, nil
		}
	}
	// Nothing warm outside the cache: its coldest warm entry leaves it.
	for e := range c.c.Coldest() {
		if e.Key != k && c.d.resident[e.Key] {
			c.c.Invalidate(e.Key)
			return e.Key, nil
		}
	}
	return -1, errOutOfStep
}

func (c *otterCache) close() { c.c.StopAllGoroutines() }

// beladyCache releases the warm key whose next request is farthest in the
// future (never again counts as farthest): the offline optimum for demand
// starts at this capacity. An indexed max-heap of the warm keys on their
// next use, updated in place: O(log capacity) a request, no allocation.
type beladyCache struct {
	next   []int // next request index after request i, of its key
	nextOf []int // next request of each key after the current one
	h      farHeap
}

func newBelady(p *prepared) func([]bool) (demandCache, error) {
	return func(resident []bool) (demandCache, error) {
		n := len(p.ks)
		b := &beladyCache{next: make([]int, n), nextOf: make([]int, len(p.keys))}
		b.h = farHeap{nextOf: b.nextOf, pos: make([]int32, len(p.keys)), keys: make([]int32, 0, p.cap+1)}
		for k := range b.nextOf {
			b.nextOf[k] = math.MaxInt
			b.h.pos[k] = -1
		}
		for i := n - 1; i >= 0; i-- {
			k := p.ks[i]
			b.next[i] = b.nextOf[k]
			b.nextOf[k] = i
		}
		return b, nil
	}
}

// access updates k's next use; a key not in the heap is about to start
// (every miss is a demand start) and joins it.
func (b *beladyCache) access(i int, k int32) {
	b.nextOf[k] = b.next[i]
	if p := b.h.pos[k]; p >= 0 {
		heap.Fix(&b.h, int(p))
	} else {
		heap.Push(&b.h, k)
	}
}

func (b *beladyCache) victim(k int32) (int32, error) {
	if b.h.Len() < 2 {
		return -1, errOutOfStep
	}
	v := heap.Pop(&b.h).(int32)
	if v == k { // k is about to start: never the victim
		v = heap.Pop(&b.h).(int32)
		heap.Push(&b.h, k)
	}
	return v, nil
}

func (b *beladyCache) close() {}

// farHeap orders keys by next use, farthest first (ties: the higher key),
// keeping each key's position.
type farHeap struct {
	keys   []int32
	pos    []int32
	nextOf []int
}

func (h *farHeap) Len() int { return len(h.keys) }
func (h *farHeap) Less(i, j int) bool {
	a, b := h.keys[i], h.keys[j]
	return cmp.Or(cmp.Compare(h.nextOf[b], h.nextOf[a]), cmp.Compare(b, a)) < 0
}
func (h *farHeap) Swap(i, j int) {
	h.keys[i], h.keys[j] = h.keys[j], h.keys[i]
	h.pos[h.keys[i]], h.pos[h.keys[j]] = int32(i), int32(j)
}
func (h *farHeap) Push(x any) {
	k := x.(int32)
	h.pos[k] = int32(len(h.keys))
	h.keys = append(h.keys, k)
}
func (h *farHeap) Pop() any {
	k := h.keys[len(h.keys)-1]
	h.keys = h.keys[:len(h.keys)-1]
	h.pos[k] = -1
	return k
}

// wtinylfuRuns is how many times the randomised W-TinyLFU is replayed; the
// run with the median cold starts is reported.
const wtinylfuRuns = 5

// runWTinyLFU replays W-TinyLFU wtinylfuRuns times and reports the run
// with the median cold starts: otter seeds its hashes and admission jitter
// at random, so one run is one draw.
func runWTinyLFU(p *prepared, _ Config) (Result, error) {
	runs := make([]Result, 0, wtinylfuRuns)
	for range wtinylfuRuns {
		r, err := runDemand(p, "wtinylfu", newWTinyLFU(p.cap))
		if err != nil {
			return Result{}, err
		}
		runs = append(runs, r)
	}
	slices.SortFunc(runs, func(a, b Result) int { return cmp.Compare(a.ColdStarts, b.ColdStarts) })
	return runs[len(runs)/2], nil
}
