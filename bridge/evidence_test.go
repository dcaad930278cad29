package bridge

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWilsonUpper(t *testing.T) {
	assert.Equal(t, 1.0, wilsonUpper(0, 0, 3))
	assert.Equal(t, 0.7, wilsonUpper(7, 10, 0), "z 0 is the plain rate")
	assert.InDelta(t, 3.0902, zScore(0.999), 1e-3)
	assert.InDelta(t, 1.6449, zScore(0.95), 1e-3)
	assert.Zero(t, zScore(0))
	// the bound narrows with volume around the same rate
	assert.Greater(t, wilsonUpper(70, 100, 3.09), wilsonUpper(700, 1000, 3.09))
	assert.Greater(t, wilsonUpper(70, 100, 3.09), 0.8)
	assert.Less(t, wilsonUpper(700, 1000, 3.09), 0.8)
	_, err := New(echo("l"), echo("i"), WithFallbackConfidence(1))
	require.ErrorIs(t, err, ErrInvalidConfig)
	_, err = New(echo("l"), echo("i"), WithFallbackConfidence(-0.1))
	require.ErrorIs(t, err, ErrInvalidConfig)
}

// streamTrips serves calls commands, 30 every 30 s, through a bridge in Full
// mode whose intelligent path succeeds with probability p (seeded); it
// returns the call at which the bridge fell back, 0 if it never did.
func streamTrips(t *testing.T, seed uint64, p float64, calls int, opts ...Option) int {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	var fail atomic.Bool
	intel := &fakeExec{name: "i", fn: func(ctx context.Context, cmd Command) (Response, error) {
		if fail.Load() {
			return Response{}, errors.New("failed")
		}
		return Response{Output: "ok"}, nil
	}}
	b, clk := newBridge(t, echo("legacy"), intel, append([]Option{WithMode(ModeFull)}, opts...)...)
	for i := 1; i <= calls; i++ {
		fail.Store(r.Float64() >= p)
		_, err := b.Execute(context.Background(), cmd("implement"))
		require.NoError(t, err)
		if b.Mode() == ModeFallback {
			return i
		}
		if i%30 == 0 {
			clk.Add(30 * time.Second) // the mock's Add yields for 1 ms: not per call
		}
	}
	return 0
}

// 200 random streams of 300 calls at 85 % success (healthy against the
// 80 % threshold): the plain rate trips on about half of them on an early
// dip; the default bound (99.9 %) on none. Real failures still trip: a
// path that always fails at the 10th call, one at 50 % within 60 calls (a
// minute at one call a second: the seed's error-rate trigger holds 1 min).
func TestFallbackEvidence(t *testing.T) {
	plain, bound := 0, 0
	for s := range uint64(200) {
		if streamTrips(t, s, 0.85, 300, WithFallbackConfidence(0)) > 0 {
			plain++
		}
		if streamTrips(t, s, 0.85, 300) > 0 {
			bound++
		}
	}
	t.Logf("healthy streams tripped: plain rate %d/200, Wilson bound at 99.9 %% %d/200", plain, bound)
	assert.Greater(t, plain, 80, "the plain rate trips on early dips")
	assert.LessOrEqual(t, bound, 2, "the bound does not")

	var worst50, sum50 int
	for s := range uint64(50) {
		assert.Equal(t, 10, streamTrips(t, s, 0, 300), "an outage trips at the minimum volume")
		n := streamTrips(t, s, 0.5, 300)
		require.Positive(t, n, "a 50 %% path trips")
		worst50 = max(worst50, n)
		sum50 += n
	}
	t.Logf("50 %% success: trips after %.1f calls on average, %d at worst", float64(sum50)/50, worst50)
	assert.LessOrEqual(t, worst50, 60)
}
