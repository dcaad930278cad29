package lab

import (
	"math"
	"slices"
	"time"
)

// ledger measures one policy's replay: which requests found their
// specialist ready, how long the others waited, and how much memory was held
// for how long. Every policy, whether it runs through the pool or is a
// stand-alone simulator, reports to a ledger, so all are measured alike.
type ledger struct {
	keys []keyLedger
	span time.Duration

	requests, hits int
	// pureMisses are requests that found their specialist neither warm
	// nor starting, and started it; the other cold starts joined a start
	// under way (a demand start of an earlier request, or a pre-warm that
	// was late).
	pureMisses int
	waited     time.Duration

	prewarmsUsed, prewarmsInTime int

	// capacity is the lab's warm capacity; warm, peak and overCap follow
	// how many instances are held and for how long more than it are.
	capacity, warm, peak int
	// occupancy[n] is the time with n instances warm, so that the time
	// over any capacity can be told afterwards.
	occupancy  []time.Duration
	lastChange time.Duration
}

// held is called before the number of warm instances changes at t.
func (l *ledger) held(t time.Duration) {
	for len(l.occupancy) <= l.warm {
		l.occupancy = append(l.occupancy, 0)
	}
	l.occupancy[l.warm] += t - l.lastChange
	l.lastChange = t
}

type keyLedger struct {
	mem       int64
	coldStart time.Duration
	warm      bool
	warmSince time.Duration
	readyAt   time.Duration // when the current instance is (was) ready
	prewarmed bool          // started ahead of demand, not used yet
	demand    bool          // started on demand, no request has claimed it yet
	memTime   float64       // byte·seconds held
	busy      float64       // byte·seconds executing
	requests  int
	colds     int
}

func newLedger(keys []keyInfo, span time.Duration, capacity int) *ledger {
	l := &ledger{keys: make([]keyLedger, len(keys)), span: span, capacity: capacity}
	for i, k := range keys {
		l.keys[i] = keyLedger{mem: k.memory, coldStart: k.coldStart}
	}
	return l
}

// start records that key k began starting at t (ready at t + its cold start).
func (l *ledger) start(k int, t time.Duration, prewarm bool) {
	kl := &l.keys[k]
	if !kl.warm {
		l.held(t)
		l.warm++
		l.peak = max(l.peak, l.warm)
		kl.warm = true
		kl.warmSince = t
	}
	kl.readyAt = t + kl.coldStart
	kl.prewarmed = prewarm
	kl.demand = !prewarm
}

// startReady records an instance that is ready at once (always-warm at t=0).
func (l *ledger) startReady(k int, t time.Duration) {
	l.start(k, t, false)
	l.keys[k].readyAt = t
	l.keys[k].demand = false
}

// stop records that key k's instance was released at t.
func (l *ledger) stop(k int, t time.Duration) {
	kl := &l.keys[k]
	if !kl.warm {
		return
	}
	l.held(t)
	l.warm--
	kl.memTime += float64(kl.mem) * (t - kl.warmSince).Seconds()
	kl.warm = false
	kl.prewarmed = false
	kl.demand = false
}

// request records a request for key k at t that ran for d. If the
// specialist is not ready (cold, or its start still under way) the request
// waits: for a cold one, the policy must have started it at t (demand).
func (l *ledger) request(k int, t, d time.Duration) (hit bool) {
	kl := &l.keys[k]
	l.requests++
	kl.requests++
	wait := kl.readyAt - t
	pure := kl.demand
	kl.demand = false
	if !kl.warm {
		wait = kl.coldStart // policy bug guard: a cold request waits a full start
		pure = true
	}
	return l.settle(kl, wait, pure, d)
}

// requestServed records a request that ran concurrently with others at t:
// served warm is the pool's own answer (Result.Warm). A request served
// warm by an instance whose start had not finished in virtual time, or
// served after waiting, is a cold start as in request.
func (l *ledger) requestServed(k int, t, d time.Duration, servedWarm bool) bool {
	kl := &l.keys[k]
	l.requests++
	kl.requests++
	wait := kl.readyAt - t
	pure := false
	if !servedWarm {
		pure = kl.demand
		kl.demand = false
		if wait <= 0 {
			wait = kl.coldStart
		}
	}
	return l.settle(kl, wait, pure, d)
}

// settle books one request of kl that waited wait (a hit when ≤ 0).
func (l *ledger) settle(kl *keyLedger, wait time.Duration, pure bool, d time.Duration) bool {
	if kl.prewarmed {
		kl.prewarmed = false
		l.prewarmsUsed++
		if wait <= 0 {
			l.prewarmsInTime++
		}
	}
	if wait <= 0 {
		l.hits++
	} else {
		kl.colds++
		l.waited += wait
		if pure {
			l.pureMisses++
		}
	}
	kl.busy += float64(kl.mem) * d.Seconds()
	return wait <= 0
}

// finish closes the books at the end of the trace.
func (l *ledger) finish() {
	for k := range l.keys {
		l.stop(k, l.span)
	}
}

// result turns the books into a Result (normalisations are applied later).
func (l *ledger) result(name string) Result {
	r := Result{Policy: name, Requests: l.requests, Hits: l.hits, ColdStarts: l.requests - l.hits, PureMisses: l.pureMisses,
		Capacity: l.capacity, PeakWarm: l.peak}
	r.occupancy, r.span = l.occupancy, l.span
	r.OverCapacity = r.overCapacity(l.capacity)
	if l.requests > 0 {
		r.HitRate = float64(l.hits) / float64(l.requests)
		r.AddedLatencyMs = float64(l.waited.Milliseconds()) / float64(l.requests)
	}
	var held, all, wasted float64
	pct := make([]float64, 0, len(l.keys))
	for _, kl := range l.keys {
		held += kl.memTime
		all += float64(kl.mem) * l.span.Seconds()
		wasted += math.Max(0, kl.memTime-kl.busy)
		if kl.requests > 0 {
			pct = append(pct, 100*float64(kl.colds)/float64(kl.requests))
		}
	}
	if all > 0 {
		r.MemoryEfficiency = 1 - held/all
	}
	r.WastedMemoryTime = wasted / (1 << 30) // GiB·s
	r.P75ColdStartShare = percentile(pct, 0.75) / 100
	if l.prewarmsUsed > 0 {
		v := float64(l.prewarmsInTime) / float64(l.prewarmsUsed)
		r.PrewarmsInTime = &v
	}
	return r
}

// percentile is the nearest-rank percentile of xs (0 for none).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// overCapacity is the share of the trace's time with more than capacity
// instances warm.
func (r *Result) overCapacity(capacity int) float64 {
	if r.span <= 0 {
		return 0
	}
	var over time.Duration
	for n := capacity + 1; n < len(r.occupancy); n++ {
		over += r.occupancy[n]
	}
	return over.Seconds() / r.span.Seconds()
}
