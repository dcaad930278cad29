package policy

import "math"

// usage is every specialist's decayed, priority-weighted use count: u ←
// u·e^(−rate·Δt) + w at each use. The decay factor is read from a table of
// 2^(−i/256) and a binary exponent (time quantised to 1/256 of the
// half-life, within 0.3 % of e^(−rate·Δt)), so a task costs no math.Exp.
type usage struct {
	u    []float64
	at   []int64
	tick int64 // ns per 1/256 half-life; 0: no decay
	frac [256]float64
	rate float64
}

func newUsage(n int, rate float64) usage {
	us := usage{u: make([]float64, n), at: make([]int64, n), rate: rate}
	if rate > 0 {
		us.tick = max(int64(math.Ln2/rate*1e9/256), 1)
		for i := range us.frac {
			us.frac[i] = math.Exp2(-float64(i) / 256)
		}
	}
	return us
}

// factor is the decay over dt ns.
func (us *usage) factor(dt int64) float64 {
	if us.tick == 0 || dt <= 0 {
		return 1
	}
	t := dt / us.tick
	if t>>8 > 1100 {
		return 0
	}
	return math.Ldexp(us.frac[t&255], -int(t>>8))
}

func (us *usage) add(k int32, now int64, w float64) {
	if us.u[k] != 0 {
		us.u[k] *= us.factor(now - us.at[k])
	}
	us.u[k] += w
	us.at[k] = now
}

// count is k's decayed use count at now.
func (us *usage) count(k int32, now int64) float64 {
	return us.u[k] * us.factor(now-us.at[k])
}

// Score is k's usage score at now, in [0, 1): 1 − e^(−u), u its decayed
// weighted use count. One high-priority use scores 0.63, three 0.95.
func (m *Model) Score(k int32, now int64) float64 {
	return 1 - math.Exp(-m.usage.count(k, now))
}

// Horizon is how far ahead the keep rule looks (ns): the cache's
// characteristic time, at least the cooldown.
func (m *Model) Horizon() int64 { return max(m.CharTime(), m.cooldown) }

// Reuse is the chance that k has a task within h ns, were its tasks a
// Poisson stream with its expected gap (arrivals.expectedGap). One seen
// once is as likely as the measured share of specialists that came back,
// until h has passed since its task, then 0.
func (m *Model) Reuse(k int32, now, h int64) float64 {
	a := &m.st
	switch {
	case a.n[k] == 0:
		return 0
	case a.n[k] == 1:
		if now-a.last[k] >= h {
			return 0
		}
		return float64(a.returned+1) / float64(a.seen+2)
	}
	g := a.expectedGap(k, now)
	if g <= 0 {
		return 1
	}
	return 1 - math.Exp(-float64(h)/1e9/g)
}

// Keep reports whether k, idle past its cooldown at now, stays warm under
// threshold: while its usage score, or its chance of a task within the
// horizon, is at or above it — so the pool cools what an LRU cache of its
// size would already have dropped and keeps what it would still hold. A
// threshold of 1 keeps nothing (a fixed keep-alive). When it keeps k, next
// is when the answer would turn, were no task to come (the caller bounds
// how far ahead it looks again: the horizon moves).
func (m *Model) Keep(k int32, now int64, threshold float64) (keep bool, next int64) {
	if threshold >= 1 {
		return false, 0
	}
	h := m.Horizon()
	score, reuse := m.Score(k, now), m.Reuse(k, now, h)
	if score < threshold && reuse < threshold {
		return false, 0
	}
	c := -math.Log1p(-threshold) // score or reuse ≥ threshold ⇔ exponent ≥ c
	next = now
	if score >= threshold && m.usage.rate > 0 && c > 0 {
		// u·e^(−rate·t) ≥ c until t = ln(u/c)/rate.
		t := math.Log(m.usage.count(k, now)/c) / m.usage.rate
		next = max(next, now+int64(min(t, 1e6)*1e9))
	}
	if reuse >= threshold {
		a := &m.st
		switch {
		case a.n[k] == 1:
			next = max(next, a.last[k]+h)
		case c > 0:
			// The expected gap grows with the time since the last task
			// as since/2: reuse falls below threshold at since = 2h/c.
			next = max(next, a.last[k]+int64(2*float64(h)/c))
		}
	}
	return true, max(next, now+1)
}
