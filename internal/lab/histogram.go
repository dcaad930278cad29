package lab

import (
	"math"
	"time"
)

// The Azure hybrid-histogram policy (Shahrad et al., "Serverless in the
// Wild", USENIX ATC'20), per specialist:
//   - idle times (from the end of one request to the start of the next) go
//     into 1-minute bins covering 4 hours; longer ones are out of bounds;
//   - while the histogram is not representative — fewer than histMinSamples
//     idle times, or a coefficient of variation of the bin counts under 2 —
//     a fixed keep-alive of 10 minutes applies;
//   - otherwise, after each request the instance is released, pre-warmed
//     again at the 5th percentile of idle times minus 10 % (the pre-warm
//     window) and kept until the 99th percentile plus 10 % (the keep-alive
//     window); with a pre-warm window of 0 it simply stays warm until then;
//   - the paper's ARIMA path for mostly out-of-bounds idle times is not
//     simulated: such specialists keep the fixed keep-alive.
const (
	histBins       = 240
	histMinSamples = 10
	histFixed      = 10 * time.Minute
)

type histKey struct {
	bins    [histBins]uint32
	n, oob  uint32
	lastEnd time.Duration
	seen    bool
	warm    bool
	pending bool // a pre-warm is scheduled
	version uint64
}

// windows returns the pre-warm and keep-alive windows, ok false when the
// histogram is not representative.
func (h *histKey) windows() (prewarm, keep time.Duration, ok bool) {
	inb := h.n - h.oob
	if inb < histMinSamples || h.oob*2 > h.n {
		return 0, 0, false
	}
	var sum, sq float64
	for _, c := range h.bins {
		sum += float64(c)
		sq += float64(c) * float64(c)
	}
	mean := sum / histBins
	cv := math.Sqrt(max(0, sq/histBins-mean*mean)) / mean
	if cv < 2 {
		return 0, 0, false
	}
	pct := func(p float64) int {
		target := uint32(math.Ceil(p * float64(inb)))
		var acc uint32
		for i, c := range h.bins {
			acc += c
			if acc >= target {
				return i
			}
		}
		return histBins - 1
	}
	lo, hi := pct(0.05), pct(0.99)
	prewarm = time.Duration(float64(lo) * 0.9 * float64(time.Minute))
	keep = time.Duration(float64(hi+1)*1.1*float64(time.Minute)) - prewarm
	return prewarm, keep, true
}

func runHybridHistogram(p *prepared, cfg Config) (Result, error) {
	l := newLedger(p.keys, p.span, p.cap)
	ks := make([]histKey, len(p.keys))
	var tl timeline
	decided, usedPre := 0, 0
	stop := func(k int, at time.Duration) {
		if ks[k].warm {
			ks[k].warm = false
			if l.keys[k].prewarmed {
				decided++
			}
			l.stop(k, at)
		}
	}
	apply := func(s scheduled) {
		hk := &ks[s.key]
		if s.version != hk.version {
			return
		}
		switch s.kind {
		case actStop:
			stop(s.key, s.at)
		case actLoad:
			hk.pending = false
			if !hk.warm {
				hk.warm = true
				l.start(s.key, s.at, true)
			}
		}
	}
	for i, k32 := range p.ks {
		at, dur := p.at[i], p.dur(i)
		for {
			s, ok := tl.due(at)
			if !ok {
				break
			}
			apply(s)
		}
		k := int(k32)
		hk := &ks[k]
		if hk.seen {
			it := at - hk.lastEnd
			hk.n++
			if b := int(max(0, it) / time.Minute); b < histBins {
				hk.bins[b]++
			} else {
				hk.oob++
			}
		}
		if !hk.warm {
			hk.warm = true
			l.start(k, at, false)
		}
		wasPre := l.keys[k].prewarmed
		l.request(k, at, dur)
		if wasPre {
			usedPre++
			decided++
		}
		end := at + dur
		if end > hk.lastEnd || !hk.seen {
			hk.lastEnd = end
		}
		hk.seen = true
		hk.version++
		prewarm, keep, ok := hk.windows()
		switch {
		case !ok:
			tl.add(scheduled{at: end + histFixed, key: k, kind: actStop, version: hk.version})
		case prewarm <= 0:
			tl.add(scheduled{at: end + keep, key: k, kind: actStop, version: hk.version})
		default:
			// Release now, load again ahead of the expected next request.
			tl.add(scheduled{at: end, key: k, kind: actStop, version: hk.version})
			tl.add(scheduled{at: end + prewarm, key: k, kind: actLoad, version: hk.version})
			tl.add(scheduled{at: end + prewarm + keep, key: k, kind: actStop, version: hk.version})
			hk.pending = true
		}
	}
	for {
		s, ok := tl.due(p.span)
		if !ok {
			break
		}
		apply(s)
	}
	l.finish()
	res := l.result("hybrid-histogram")
	if decided > 0 {
		acc := float64(usedPre) / float64(decided)
		res.PredictionAccuracy = &acc
	}
	return res, nil
}
