package lab

import (
	"slices"
	"time"

	"github.com/bumba/pooling/pool"
)

// The BUMBA prototype's policy (production-specialist-pool.js), as it was:
//   - each use adds 0.1 to a usage score (0.2 when the task took over 1 s,
//     0.3 over 2 s — a cold start makes it so), capped at 1; every minute
//     every score loses 0.02 (linear decay);
//   - each specialist cools 45 s after its last use (its own keep-alive);
//   - after every task, while fewer than maxWarm are warm (or warming), up to
//     3 cold specialists whose 0.6·usage + 0.4·priority ≥ 0.3 are pre-warmed,
//     best first: the cap limits pre-warming only; demand starts always go
//     ahead;
//   - the step of a known workflow pre-warms the next step (BUMBA catalogue
//     workflows; none for other traces).
const (
	protoCooldown  = 45 * time.Second
	protoThreshold = 0.3
	protoDecay     = 0.02
	protoBatch     = 3
)

type protoKey struct {
	usage    float64
	usageMin int64 // minute index usage was last brought up to date
	lastUse  time.Duration
	warm     bool
	version  uint64
	prio     float64
}

func runPrototype(p *prepared, _ Config) (Result, error) {
	return prototype(p, "prototype", false)
}

// runPrototypeCapped is the prototype's policy held to the lab's
// capacity: a demand start into a full warm set first releases the warm
// specialist the prototype values least — lowest 0.6·usage + 0.4·priority,
// ties to the one used longest ago — and a workflow's next step is
// pre-warmed only while there is room, like its other pre-warms.
func runPrototypeCapped(p *prepared, _ Config) (Result, error) {
	return prototype(p, "prototype-capped", true)
}

func prototype(p *prepared, name string, capped bool) (Result, error) {
	l := newLedger(p.keys, p.span, p.cap)
	ks := make([]protoKey, len(p.keys))
	var always []int // high priority: candidates whatever their usage
	for i, k := range p.keys {
		pr := k.priority
		if pr == pool.PriorityUnset {
			pr = pool.PriorityMedium
		}
		ks[i].prio = map[pool.Priority]float64{pool.PriorityHigh: 1.0, pool.PriorityMedium: 0.6, pool.PriorityLow: 0.3}[pr]
		if 0.4*ks[i].prio >= protoThreshold {
			always = append(always, i)
		}
	}
	nextStep := workflowSuccessors(p)
	var tl timeline
	warm := 0
	used := []int{} // keys with usage > 0
	decided, usedPre := 0, 0
	stop := func(k int, at time.Duration) {
		if ks[k].warm {
			ks[k].warm = false
			warm--
			if l.keys[k].prewarmed {
				decided++
			}
			l.stop(k, at)
		}
	}
	start := func(k int, at time.Duration, prewarm bool) {
		if !ks[k].warm {
			ks[k].warm = true
			warm++
			l.start(k, at, prewarm)
			if prewarm {
				// decided when used or cooled
			}
		}
		ks[k].version++
		tl.add(scheduled{at: at + protoCooldown, key: k, kind: actStop, version: ks[k].version})
	}
	score := func(k int, minute int64) float64 {
		pk := &ks[k]
		if pk.usage > 0 && minute > pk.usageMin {
			pk.usage = max(0, pk.usage-protoDecay*float64(minute-pk.usageMin))
		}
		pk.usageMin = minute
		return 0.6*pk.usage + 0.4*pk.prio
	}
	var warmKeys []int // capped: the warm set, for choosing a victim
	for i, k32 := range p.ks {
		at, dur := p.at[i], p.dur(i)
		for {
			s, ok := tl.due(at)
			if !ok {
				break
			}
			if s.version == ks[s.key].version {
				stop(s.key, s.at)
			}
		}
		k := int(k32)
		minute := int64(at / time.Minute)
		if !ks[k].warm {
			if capped && warm >= p.cap {
				warmKeys = warmKeys[:0]
				for j := range ks {
					if ks[j].warm {
						warmKeys = append(warmKeys, j)
					}
				}
				v, vs := -1, 0.0
				for _, j := range warmKeys {
					sj := score(j, minute)
					if v < 0 || sj < vs || sj == vs && ks[j].lastUse < ks[v].lastUse {
						v, vs = j, sj
					}
				}
				ks[v].version++ // its pending cooldown no longer applies
				stop(v, at)
			}
			start(k, at, false)
		}
		wasPre := l.keys[k].prewarmed
		hit := l.request(k, at, dur)
		ks[k].lastUse = at
		if wasPre {
			usedPre++
			decided++
		}
		// Usage: the task's response time includes its wait.
		resp := dur
		if !hit {
			resp += l.keys[k].coldStart
		}
		inc := 0.1
		switch {
		case resp > 2*time.Second:
			inc += 0.2
		case resp > time.Second:
			inc += 0.1
		}
		score(k, minute)
		if ks[k].usage == 0 {
			used = append(used, k)
		}
		ks[k].usage = min(1, ks[k].usage+inc)
		start(k, at, false) // refreshes its keep-alive
		// Workflow step: pre-warm the next one (not bounded by the cap,
		// except when capped).
		if n, ok := nextStep[k]; ok && !ks[n].warm && (!capped || warm < p.cap) {
			start(n, at, true)
		}
		// Intelligent warming while under the cap.
		if warm < p.cap {
			type cand struct {
				k     int
				score float64
			}
			var cands []cand
			live := used[:0]
			for _, c := range used {
				if s := score(c, minute); ks[c].usage > 0 {
					live = append(live, c)
					if !ks[c].warm && s >= protoThreshold {
						cands = append(cands, cand{c, s})
					}
				}
			}
			used = live
			for _, c := range always {
				if ks[c].usage == 0 && !ks[c].warm {
					cands = append(cands, cand{c, score(c, minute)})
				}
			}
			slices.SortStableFunc(cands, func(a, b cand) int {
				switch {
				case a.score > b.score:
					return -1
				case a.score < b.score:
					return 1
				}
				return a.k - b.k
			})
			for _, c := range cands[:min(len(cands), protoBatch, p.cap-warm)] {
				start(c.k, at, true)
			}
		}
	}
	for {
		s, ok := tl.due(p.span)
		if !ok {
			break
		}
		if s.version == ks[s.key].version {
			stop(s.key, s.at)
		}
	}
	l.finish()
	res := l.result(name)
	if decided > 0 {
		acc := float64(usedPre) / float64(decided)
		res.PredictionAccuracy = &acc
	}
	return res, nil
}

// workflowSuccessors maps a step of a BUMBA catalogue workflow to the next
// step (the first workflow naming it, as the prototype did) when the trace's
// keys are catalogue specialists.
func workflowSuccessors(p *prepared) map[int]int {
	out := map[int]int{}
	for _, wf := range p.workflows {
		for j := 0; j+1 < len(wf); j++ {
			a, okA := p.indexOf(wf[j])
			b, okB := p.indexOf(wf[j+1])
			if _, seen := out[a]; okA && okB && !seen {
				out[a] = b
			}
		}
	}
	return out
}
