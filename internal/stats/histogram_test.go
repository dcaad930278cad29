package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBucketIndexAndBoundsAgree(t *testing.T) {
	// Every bucket's bounds map back to it, buckets tile the range without
	// gaps, and a bucket is at most RelativeError of its lower bound wide.
	var prevHi uint64
	for i := 0; i < NumBuckets; i++ {
		lo, hi := bucketBounds(i)
		require.LessOrEqual(t, lo, hi, "bucket %d", i)
		require.Equal(t, i, bucketIndex(lo), "lo of bucket %d", i)
		require.Equal(t, i, bucketIndex(hi), "hi of bucket %d", i)
		if i > 0 {
			require.Equal(t, prevHi+1, lo, "gap before bucket %d", i)
		}
		if lo > 0 {
			require.LessOrEqual(t, float64(hi-lo), RelativeError*float64(lo), "bucket %d too wide", i)
		}
		prevHi = hi
	}
	assert.Equal(t, uint64(math.MaxUint64), prevHi, "last bucket ends at the top of the range")
	assert.Equal(t, NumBuckets-1, bucketIndex(math.MaxUint64))
}

func TestSmallValuesAreExact(t *testing.T) {
	var h Histogram
	for v := int64(0); v < 64; v++ {
		h.Record(v)
	}
	s := h.Snapshot()
	require.Equal(t, uint64(64), s.Count)
	assert.Equal(t, int64(0), s.Quantile(0))
	assert.Equal(t, int64(31), s.Quantile(0.5))
	assert.Equal(t, int64(63), s.Quantile(1))
	assert.Equal(t, int64(63), s.Max)
	assert.InDelta(t, 31.5, s.Mean(), 1e-9)
}

func TestQuantilesWithinRelativeError(t *testing.T) {
	var h Histogram
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]int64, 20000)
	for i := range vals {
		// Log-uniform from 1µs to 10s, like latencies.
		vals[i] = int64(math.Exp(math.Log(1e3) + r.Float64()*(math.Log(1e10)-math.Log(1e3))))
		h.Record(vals[i])
	}
	slices.Sort(vals)
	s := h.Snapshot()
	for _, q := range []float64{0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
		rank := int(math.Ceil(q*float64(len(vals)))) - 1
		want := vals[rank]
		got := s.Quantile(q)
		assert.GreaterOrEqual(t, got, want, "q=%v is an upper bound", q)
		assert.LessOrEqual(t, float64(got-want), RelativeError*float64(want), "q=%v: got %d want %d", q, got, want)
	}
	assert.Equal(t, vals[len(vals)-1], s.Quantile(1), "p100 is the exact max")
}

func TestQuantileEdgeCases(t *testing.T) {
	var empty Snapshot
	assert.Equal(t, int64(0), empty.Quantile(0.5))
	assert.Equal(t, 0.0, empty.Mean())

	var h Histogram
	h.Record(-5) // clamps to 0
	h.Record(1000)
	s := h.Snapshot()
	assert.Equal(t, int64(0), s.Quantile(math.NaN()))
	assert.Equal(t, int64(0), s.Quantile(-1))
	assert.Equal(t, int64(1000), s.Quantile(2))
	assert.Equal(t, int64(0), s.Quantile(0.5))
	assert.Equal(t, uint64(2), h.Count())
}

func TestMerge(t *testing.T) {
	var a, b Histogram
	for i := int64(1); i <= 100; i++ {
		a.Record(i)
		b.Record(i + 100)
	}
	var m Snapshot
	m.Merge(a.Snapshot())
	m.Merge(b.Snapshot())
	m.Merge(Snapshot{})
	require.Equal(t, uint64(200), m.Count)
	assert.Equal(t, int64(200), m.Max)
	assert.InDelta(t, 100.5, m.Mean(), 1e-9)
	p50 := m.Quantile(0.5)
	assert.InDelta(t, 100, p50, 100*RelativeError)
}

func TestConcurrentRecord(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int64(0); i < 1000; i++ {
				h.Record(i * int64(g+1))
			}
		}()
	}
	wg.Wait()
	s := h.Snapshot()
	assert.Equal(t, uint64(8000), s.Count)
	assert.Equal(t, int64(999*8), s.Max)
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Record(int64(i) * 977)
	}
}
