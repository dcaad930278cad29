package bridge

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeyHashIsStable(t *testing.T) {
	// Golden values, computed independently: routing must never move a key
	// between releases or processes.
	assert.Equal(t, uint64(0xefd01f60ba992926), KeyHash(""))
	assert.Equal(t, uint64(0x3e6cfda42145251e), KeyHash("session-42"))
	assert.Equal(t, uint64(0x41a2fca5c68401c5), KeyHash("user-1"))
}

// routeAll executes one keyed command per key and returns which keys the
// intelligent executor served.
func routeAll(t *testing.T, b *Bridge, keys []string) map[string]bool {
	t.Helper()
	pooled := make(map[string]bool, len(keys))
	for _, k := range keys {
		resp, err := b.Execute(context.Background(), keyed("implement", k))
		require.NoError(t, err)
		pooled[k] = resp.Output == "pool:implement"
	}
	return pooled
}

func count(m map[string]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

// tolerance is 4 standard deviations of a binomial(n, p) count.
func tolerance(n int, p float64) float64 { return 4 * math.Sqrt(float64(n)*p*(1-p)) }

func TestHybridSplitIsStickyStableAndMonotone(t *testing.T) {
	const n = 10000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("session-%d", i)
	}
	b, _ := newBridge(t, echo("legacy"), echo("pool"), WithMode(ModeHybrid), WithPercentage(30))

	first := routeAll(t, b, keys)
	assert.InDelta(t, 0.30*n, count(first), tolerance(n, 0.30), "30 %% of keys to the pool")

	again := routeAll(t, b, keys)
	assert.Equal(t, first, again, "every key takes the same path every time")

	// Raising the percentage only moves keys from legacy to the pool.
	require.NoError(t, b.SetPercentage(60))
	raised := routeAll(t, b, keys)
	assert.InDelta(t, 0.60*n, count(raised), tolerance(n, 0.60))
	for k, pooled := range first {
		if pooled {
			require.True(t, raised[k], "key %s moved back to legacy when the percentage rose", k)
		}
	}

	// Lowering it moves them back, exactly to where they were.
	require.NoError(t, b.SetPercentage(30))
	assert.Equal(t, first, routeAll(t, b, keys))

	// A second bridge (another process) routes every key the same way.
	b2, _ := newBridge(t, echo("legacy"), echo("pool"), WithMode(ModeHybrid), WithPercentage(30))
	assert.Equal(t, first, routeAll(t, b2, keys))

	// The routing is the documented rule.
	for k, pooled := range first {
		require.Equal(t, KeyHash(k)%10000 < 3000, pooled, k)
	}

	st := b.Stats().Modes[ModeHybrid]
	assert.Equal(t, uint64(4*n), st.Requests)
	assert.Equal(t, st.Requests, st.Paths[PathLegacy].Calls+st.Paths[PathIntelligent].Calls)
}

func TestHybridWithoutKeyUsesTheInjectedRandomSource(t *testing.T) {
	const n = 10000
	run := func(seed uint64) []bool {
		b, _ := newBridge(t, echo("legacy"), echo("pool"), WithMode(ModeHybrid), WithPercentage(25),
			WithRand(rand.NewPCG(seed, 7)))
		paths := make([]bool, n)
		for i := range paths {
			resp, err := b.Execute(context.Background(), cmd("analyze"))
			require.NoError(t, err)
			paths[i] = resp.Output == "pool:analyze"
		}
		return paths
	}
	a, again, other := run(1), run(1), run(2)
	pooled := 0
	for _, p := range a {
		if p {
			pooled++
		}
	}
	assert.InDelta(t, 0.25*n, pooled, tolerance(n, 0.25))
	assert.Equal(t, a, again, "same seed, same routing: deterministic")
	assert.NotEqual(t, a, other, "the source is really used")
}

func TestHybridPercentageChangesAtRunTime(t *testing.T) {
	legacy, intel := echo("legacy"), echo("pool")
	rec := &recorder{}
	b, _ := newBridge(t, legacy, intel, WithMode(ModeHybrid), WithObserver(rec))

	exec := func(n int) {
		for i := 0; i < n; i++ {
			_, err := b.Execute(context.Background(), keyed("test", fmt.Sprint(i)))
			require.NoError(t, err)
		}
	}
	exec(100) // default 0 %
	assert.Equal(t, int64(100), legacy.calls.Load())
	assert.Zero(t, intel.calls.Load())

	require.NoError(t, b.SetPercentage(100))
	exec(100)
	assert.Equal(t, int64(100), intel.calls.Load())

	require.NoError(t, b.SetPercentage(12.5))
	assert.Equal(t, 12.5, b.Percentage())
	require.NoError(t, b.SetPercentage(12.5)) // no-op: no transition

	tr := rec.Transitions()
	require.Len(t, tr, 2)
	assert.Equal(t, ReasonManual, tr[0].Reason)
	assert.Equal(t, 0.0, tr[0].FromPercentage)
	assert.Equal(t, 100.0, tr[0].ToPercentage)
	assert.Equal(t, ModeHybrid, tr[0].From)
	assert.Equal(t, ModeHybrid, tr[0].To)
	assert.Equal(t, 100.0, tr[1].FromPercentage)
	assert.Equal(t, 12.5, tr[1].ToPercentage)
	assert.Equal(t, tr[0].Seq+1, tr[1].Seq)
}

func TestHybridPoolFailureFallsBackPerRequest(t *testing.T) {
	intel := script(func(context.Context, Command) (Response, error) { return Response{}, errBoom })
	b, _ := newBridge(t, echo("legacy"), intel, WithMode(ModeHybrid), WithPercentage(100), WithAutoFallback(false))
	resp, err := b.Execute(context.Background(), cmd("design"))
	require.NoError(t, err)
	assert.Equal(t, "legacy:design", resp.Output)
	assert.Equal(t, uint64(1), b.Stats().Modes[ModeHybrid].Fallbacks)
}
