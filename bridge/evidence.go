package bridge

import (
	"math"

	"github.com/bumba/pooling/internal/stats"
)

// DefaultFallbackConfidence is the one-sided confidence with which the
// automatic fallback must know that the success rate is below the
// threshold before it trips (see WithFallbackConfidence).
const DefaultFallbackConfidence = 0.999

// WithFallbackConfidence sets how sure the automatic fallback must be that
// the intelligent path's success rate is below the threshold: it trips
// when the upper Wilson score bound of the window's success rate, at this
// one-sided confidence, is below the threshold (and the window holds at
// least WithMinVolume calls). 0 judges the observed rate itself, as a
// plain comparison; values in [0, 1). Default 0.999 (z ≈ 3.09).
//
// The bound is wide on few calls and narrows as they grow, so an early
// dip of a healthy stream does not trip it while a real failure still
// does: on 200 random streams of 300 calls at 85 % success, a threshold
// of 0.8 and a minimum volume of 10, the plain comparison trips on 105 of
// them and the bound at 0.999 on none; a path that always fails still
// trips at the 10th call, one at 50 % after about 19 calls on average (60
// at worst) and one at 70 % after about 140 (TestFallbackEvidence). The price is that
// a modest failure takes more calls to prove.
func WithFallbackConfidence(c float64) Option {
	return optionFunc(func(cfg *config) error {
		if !(c >= 0 && c < 1) {
			return invalid("WithFallbackConfidence", c, "[0, 1)")
		}
		cfg.confidence = c
		return nil
	})
}

// zScore is the standard normal quantile of confidence c (0 for c = 0).
func zScore(c float64) float64 {
	if c <= 0 {
		return 0
	}
	return math.Sqrt2 * math.Erfinv(2*c-1)
}

// wilsonUpper is the upper Wilson score bound of the success rate of
// successes out of total at z; 1 without calls.
func wilsonUpper(successes, total uint64, z float64) float64 {
	if total == 0 {
		return 1
	}
	n := float64(total)
	p := float64(successes) / n
	if z == 0 {
		return p
	}
	z2 := z * z
	return (p + z2/(2*n) + z*math.Sqrt(p*(1-p)/n+z2/(4*n*n))) / (1 + z2/n)
}

// upperBound is the upper bound of the window's success rate at the
// bridge's confidence.
func (b *Bridge) upperBound(c stats.Counts) float64 {
	return wilsonUpper(c.Successes, c.Total(), b.fallbackZ)
}

// tripped reports whether the window is evidence enough for the automatic
// fallback: enough calls, and a success rate below the threshold even at
// its upper bound.
func (b *Bridge) tripped(c stats.Counts) bool {
	return c.Total() >= b.minVolume && b.upperBound(c) < b.threshold
}
