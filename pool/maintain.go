package pool

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// background runs maintenance on the pool's clock so that idle specialists
// cool even when no task arrives. Execute and Stats also run it when it is
// due, so what they report never lags the clock.
func (p *Pool) background() {
	defer close(p.bgDone)
	t := p.clk.Ticker(p.cfg.maintenance)
	defer t.Stop()
	for {
		select {
		case <-p.stopBg:
			return
		case <-t.C:
			p.maintain(p.clk.Now())
		}
	}
}

// charEvery is how often the characteristic time is refreshed.
const charEvery = 10 * time.Second

// refreshCharTime measures the cache's characteristic time as of the latest
// task: how long before it the maxWarm-th most recently used specialist was
// last used (Che's approximation of an LRU cache's residence time). A
// specialist likely back within it would still be warm in an LRU cache of
// the pool's size. It is taken at the latest task, not now, so that an idle
// pool's horizon does not grow with its idleness; until the cap's worth of
// specialists have had a task it is unknown and the floor (the longer of
// the cooldown and 10 minutes) stands in.
func (p *Pool) refreshCharTime(now time.Time) {
	p.lastChar = now
	nowN := now.UnixNano()
	// One pass under each specialist's lock; the rest works on copies.
	r, firsts := p.recency[:0], p.firsts[:0]
	for _, s := range p.list {
		s.mu.Lock()
		if s.arrivals > 0 {
			r = append(r, s.lastArrival)
			firsts = append(firsts, firstTask{at: s.firstArrival, gap: s.firstGap})
		}
		s.mu.Unlock()
	}
	p.recency, p.firsts = r, firsts
	k := p.MaxWarm()
	t := p.horizon
	if len(r) >= k {
		slices.SortFunc(r, func(a, b int64) int { return cmp.Compare(b, a) })
		t = min(max(float64(r[0]-r[k-1])/1e9, p.horizon), 86400)
	}
	p.charTime.Store(math.Float64bits(t))

	// How often does a specialist seen once come back within t? Only those
	// first seen at least t ago can tell.
	var seen, back int
	tN := int64(t * 1e9)
	for _, f := range firsts {
		if nowN-f.at >= tN {
			seen++
			if f.gap > 0 && f.gap <= tN {
				back++
			}
		}
	}
	rate := 0.0
	if seen > 0 {
		rate = float64(back) / float64(seen)
	}
	p.returnRate.Store(math.Float64bits(rate))
}

// firstTask is a specialist's first task and the gap to its second (0
// before one), as refreshCharTime copies them.
type firstTask struct{ at, gap int64 }

// adaptEvery is how often adaptive scaling looks at the last period.
const adaptEvery = time.Minute

// maintain cools idle specialists past their cooldown and adapts the warm
// threshold. Concurrent callers skip: one pass at a time is enough.
func (p *Pool) maintain(now time.Time) {
	if !p.maintMu.TryLock() {
		return
	}
	defer p.maintMu.Unlock()
	nowN := now.UnixNano()
	p.nextMaint.Store(now.Add(p.cfg.maintenance).UnixNano())

	// A specialist stays warm while busy, while idle for less than the
	// cooldown, while its usage score — or its chance of a task within the
	// horizon (for one seen once, the measured return rate of such
	// specialists) — is at or above the threshold, or while the Predictor
	// expects it. Scores and chances are below 1 (1
	// only by rounding): a threshold of 1 keeps nothing past its cooldown.
	threshold := p.WarmThreshold()
	cooldown := int64(p.cfg.cooldown)
	if now.Sub(p.lastChar) >= charEvery {
		p.refreshCharTime(now)
	}
	horizon := math.Float64frombits(p.charTime.Load())
	ret := math.Float64frombits(p.returnRate.Load())
	var out []cooling
	p.mu.Lock()
	for i := 0; i < len(p.warm); {
		s := p.warm[i]
		s.mu.Lock()
		expire := s.state == StateWarm && s.inflight == 0 && s.waiting == 0 &&
			nowN-s.lastUsed >= cooldown && (threshold >= 1 || max(s.scoreLocked(nowN), s.rhythmLocked(nowN, horizon, ret)) < threshold) &&
			s.expectTo.Load() <= nowN
		s.mu.Unlock()
		if !expire {
			i++
			continue
		}
		inst, ok := p.evictLocked(s) // swaps p.warm[i] when ok
		if !ok {
			i++
			continue
		}
		out = append(out, cooling{s, inst})
	}
	p.mu.Unlock()
	for _, c := range out {
		p.closeInstance(c.s, c.inst, "cooldown")
	}
	if len(out) > 0 {
		p.signalCapacity()
	}
	if p.cfg.adaptiveScaling && now.Sub(p.lastAdapt) >= adaptEvery {
		p.adapt(now)
	}
}

// adapt moves the warm threshold by 0.05 inside [0.2, 0.6], once per
// minute of clock time:
//   - a warm hit rate under 80 % over the last minute (at least 10 tasks):
//     down, so more stay warm past their cooldown;
//   - otherwise, memory pressure (warm slots or budget ≥ 90 % used): up, so
//     idle specialists cool sooner. (Hits come first: a pool full to its cap
//     is working as designed, and cooling sooner would only cost hits.)
func (p *Pool) adapt(now time.Time) {
	p.lastAdapt = now
	var tasks, hits uint64
	for _, s := range p.list {
		s.mu.Lock()
		tasks += s.tasks
		hits += s.hits
		s.mu.Unlock()
	}
	dTasks, dHits := tasks-p.adaptTasks, hits-p.adaptHits
	p.adaptTasks, p.adaptHits = tasks, hits
	p.mu.Lock()
	pressure := float64(len(p.warm)) / float64(p.maxWarm)
	if p.cfg.memoryBudget > 0 {
		pressure = max(pressure, float64(p.memUsed)/float64(p.cfg.memoryBudget))
	}
	p.mu.Unlock()
	old := p.WarmThreshold()
	next, reason := old, ""
	lowHits := dTasks >= 10 && float64(dHits)/float64(dTasks) < 0.8
	switch {
	case lowHits:
		next, reason = old-0.05, fmt.Sprintf("warm hit rate %.0f%%", 100*float64(dHits)/float64(dTasks))
	case pressure >= 0.9:
		next, reason = old+0.05, fmt.Sprintf("memory pressure %.0f%%", 100*pressure)
	}
	next = math.Round(min(max(next, MinAdaptiveThreshold), MaxAdaptiveThreshold)*100) / 100
	if next == old {
		return
	}
	p.threshold.Store(math.Float64bits(next))
	p.adjustments.Add(1)
	p.log.Info("Adaptive adjustment: warm threshold", "from", old, "to", next, "reason", reason)
	p.emit(Event{Kind: EventThresholdAdjusted, At: now, Threshold: next, Reason: reason})
}

// Close stops accepting tasks (Execute returns ErrClosed), waits for the
// accepted ones and for starts they wait on, then closes every instance. If
// ctx ends first Close returns ctx.Err() and the pool keeps draining; call
// Close again to wait for the rest. Safe to call more than once.
func (p *Pool) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		if p.life.Add(lifeClosed) == lifeClosed {
			p.drainOnce.Do(func() { close(p.drained) })
		}
		close(p.stopBg)
	})
	select {
	case <-p.drained:
	case <-ctx.Done():
		return fmt.Errorf("pool: close: %w", ctx.Err())
	}
	p.finishOnce.Do(p.finishClose)
	return p.closeErr
}

// finishClose runs once everything accepted has finished.
func (p *Pool) finishClose() {
	<-p.bgDone
	p.cancel()
	var errs []error
	p.mu.Lock()
	warm := append([]*specialist(nil), p.warm...)
	insts := make([]Instance, len(warm))
	for i, s := range warm {
		s.mu.Lock() // nothing runs any more: take even a warming one's slot
		insts[i] = s.takeLocked(p)
		s.mu.Unlock()
		p.removeWarmLocked(s)
	}
	p.mu.Unlock()
	for i, s := range warm {
		if insts[i] == nil {
			continue
		}
		if err := safeClose(insts[i]); err != nil {
			errs = append(errs, fmt.Errorf("pool: close %q: %w", s.spec.ID, err))
		}
		s.mu.Lock()
		s.setState(StateCold)
		s.mu.Unlock()
		p.cooled.Add(1)
		p.emit(Event{Kind: EventCooled, Specialist: s.spec.ID, Department: s.spec.Department, Reason: "closed"})
	}
	p.closeErr = errors.Join(errs...)
}
