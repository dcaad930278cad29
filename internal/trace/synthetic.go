package trace

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// SyntheticOptions size the synthetic Azure-style trace.
type SyntheticOptions struct {
	// Functions is the number of functions (1 000 when 0).
	Functions int
	// Invocations is the approximate total (12 000 000 when 0).
	Invocations int
	// Minutes is the trace's length (1 440, a day, when 0).
	Minutes int
}

// Synthetic generates an Azure-Functions-style day of per-minute counts
// and places the invocations inside their minutes exactly as
// ReadAzure2019 does (seeded by opt.Seed). It exists to measure the lab
// at the scale of a full public day, not to stand for real data:
//
//   - popularity is Zipf-like: function i (from 0) gets a share of
//     Invocations proportional to 1/(i+1)^1.1, at least one;
//   - 40 % of the functions are timers: every P minutes (P from 1, 2, 5,
//     10, 15, 30, 60, the least that gives at least one invocation a
//     beat), from a random phase, the same count each beat;
//   - the others draw each invocation's minute from a diurnal profile
//     (1 + 0.6·sin over the day); one in five of them is active only in
//     a random window of 2–12 hours (functions that come and go);
//   - functions are owned two or three to an owner (HashOwner, the
//     group), one app per function; memory 128, 256, 512 or 1 024 MiB;
//     durations 10 ms to 10 s, log-uniform; cold start opt.ColdStart.
//
// The same options give the same trace. MaxRequests and MaxPerMinute
// apply as to a file.
func Synthetic(so SyntheticOptions, opt Options) (*Trace, error) {
	o, err := opt.resolve()
	if err != nil {
		return nil, err
	}
	if so.Functions == 0 {
		so.Functions = 1000
	}
	if so.Invocations == 0 {
		so.Invocations = 12_000_000
	}
	if so.Minutes == 0 {
		so.Minutes = 1440
	}
	switch {
	case so.Functions < 0 || so.Functions > rankMask:
		return nil, fmt.Errorf("trace: synthetic: %d functions: want 1 to %d", so.Functions, rankMask)
	case so.Invocations < 0 || so.Invocations > o.MaxRequests:
		return nil, fmt.Errorf("trace: synthetic: %d invocations: want 0 to %d (MaxRequests)", so.Invocations, o.MaxRequests)
	case so.Minutes < 0 || so.Minutes > 100*1440:
		return nil, fmt.Errorf("trace: synthetic: %d minutes: want 1 to %d", so.Minutes, 100*1440)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed5eed))
	var wsum float64
	for i := range so.Functions {
		wsum += math.Pow(float64(i+1), -1.1)
	}
	// Diurnal profile as a cumulative distribution over minutes.
	cdf := make([]float64, so.Minutes)
	acc := 0.0
	for m := range cdf {
		acc += 1 + 0.6*math.Sin(2*math.Pi*float64(m)/1440)
		cdf[m] = acc
	}
	inv := &invocationCounts{minutes: make([]int, so.Minutes), perMinute: make([]int, so.Minutes)}
	for m := range inv.minutes {
		inv.minutes[m] = m
	}
	counts := make([]uint32, so.Minutes)
	memories := make([]int64, so.Functions)
	durations := make([]time.Duration, so.Functions)
	owner := 0
	for i := range so.Functions {
		if i > 0 && rng.IntN(5) < 2 { // 2–3 functions an owner on average
			owner++
		}
		f := function{owner: fmt.Sprintf("owner%04d", owner), app: fmt.Sprintf("app%05d", i), fn: fmt.Sprintf("fn%05d", i)}
		memories[i] = int64(128<<rng.IntN(4)) << 20
		durations[i] = time.Duration(math.Exp(math.Log(10)+rng.Float64()*math.Log(1000))) * time.Millisecond
		n := max(1, int(math.Round(float64(so.Invocations)*math.Pow(float64(i+1), -1.1)/wsum)))
		clear(counts)
		if rng.IntN(10) < 4 {
			period := 60
			for _, p := range []int{1, 2, 5, 10, 15, 30, 60} {
				if n >= so.Minutes/p {
					period = p
					break
				}
			}
			beats := max(1, so.Minutes/period)
			per := max(1, n/beats)
			for m := rng.IntN(period); m < so.Minutes; m += period {
				counts[m] = uint32(per)
			}
		} else {
			lo, hi := 0.0, cdf[len(cdf)-1]
			if rng.IntN(5) == 0 {
				span := (2 + rng.Float64()*10) * 60
				start := rng.Float64() * max(0, float64(so.Minutes)-span)
				a, b := int(start), min(so.Minutes-1, int(start+span))
				if a > 0 {
					lo = cdf[a-1]
				}
				hi = cdf[b]
			}
			for range n {
				x := lo + rng.Float64()*(hi-lo)
				m, _ := slices.BinarySearch(cdf, x)
				counts[min(m, so.Minutes-1)]++
			}
		}
		fi := uint32(len(inv.funcs))
		for m, c := range counts {
			if c == 0 {
				continue
			}
			if int(c) > o.MaxPerMinute {
				return nil, fmt.Errorf("trace: synthetic: function %d has %d invocations in minute %d: more than MaxPerMinute %d", i, c, m, o.MaxPerMinute)
			}
			if inv.total+int(c) > o.MaxRequests {
				return nil, fmt.Errorf("trace: synthetic: more than %d invocations (MaxRequests)", o.MaxRequests)
			}
			inv.total += int(c)
			inv.perMinute[m] += int(c)
			f.total += int(c)
			inv.cells = append(inv.cells, cell{fn: fi, minute: uint32(m), count: c})
		}
		inv.funcs = append(inv.funcs, f)
	}
	t := inv.trace(nil, nil, o)
	// Costs by function: finish renumbered the specialists, so match by ID.
	byID := make(map[string]int, len(inv.funcs))
	for i, f := range inv.funcs {
		byID[f.fn] = i
	}
	for k := range t.Specialists {
		i := byID[t.Specialists[k].ID]
		t.Specialists[k].Memory = memories[i]
		t.Specialists[k].Duration = durations[i]
	}
	t.Name = "synthetic"
	t.Source = fmt.Sprintf("synthetic Azure-style trace (trace.Synthetic): %d functions, %d minutes, %d invocations, seed %d; generated, no external data",
		so.Functions, so.Minutes, t.Len(), o.Seed)
	return t, nil
}
