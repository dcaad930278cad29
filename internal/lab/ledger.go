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
	waited         time.Duration

	prewarmsUsed, prewarmsInTime int

	// capacity is the lab's warm capacity; warm, peak and overCap follow
	// how many instances are held and for how long more than it are.
	capacity, warm, peak int
	overCap              time.Duration
	lastChange           time.Duration
}

// held is called before the number of warm instances changes at t.
func (l *ledger) held(t time.Duration) {
	if l.warm > l.capacity {
		l.overCap += t - l.lastChange
	}
	l.lastChange = t
}

type keyLedger struct {
	mem       int64
	coldStart time.Duration
	warm      bool
	warmSince time.Duration
	readyAt   time.Duration // when the current instance is (was) ready
	prewarmed bool          // started ahead of demand, not used yet
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
}

// startReady records an instance that is ready at once (always-warm at t=0).
func (l *ledger) startReady(k int, t time.Duration) {
	l.start(k, t, false)
	l.keys[k].readyAt = t
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
}

// request records a request for key k at t that ran for d. If the
// specialist is not ready (cold, or its start still under way) the request
// waits: for a cold one, the policy must have started it at t (demand).
func (l *ledger) request(k int, t, d time.Duration) (hit bool) {
	kl := &l.keys[k]
	l.requests++
	kl.requests++
	wait := kl.readyAt - t
	if !kl.warm {
		wait = kl.coldStart // policy bug guard: a cold request waits a full start
	}
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
	r := Result{Policy: name, Requests: l.requests, Hits: l.hits, ColdStarts: l.requests - l.hits, PeakWarm: l.peak}
	if l.span > 0 {
		r.OverCapacity = l.overCap.Seconds() / l.span.Seconds()
	}
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
	r.P75ColdStartPct = percentile(pct, 0.75)
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
