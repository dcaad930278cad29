package monitor

import (
	"math"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
)

// simulate takes n samples, interval apart, after the last one, each with
// 10 tasks (8 warm hits), 10 intelligent calls (1 failed, 200 ms) and a
// queue depth cycling 0…9. It drives collectAt directly so that a month
// of samples costs no clock sleeps; the clock is set to the last sample.
func simulate(e *env, n int, interval time.Duration) {
	last := e.clk.Now()
	if s, ok := e.m.Latest(); ok {
		last = s.Time
	}
	for i := range n {
		last = last.Add(interval)
		e.pool.set(func(s *pool.Stats) {
			s.Tasks += 10
			s.WarmHits += 8
			s.QueueDepth = i % 10
		})
		e.bridge.add(1, 10, 1, 200*time.Millisecond)
		e.m.collectAt(last)
	}
	e.clk.Set(last)
}

func TestStoreLayout(t *testing.T) {
	s := newStore(DefaultInterval, DefaultRetention)
	assert.Equal(t, 720, s.raw.max, "6 h at 30 s")
	require.Len(t, s.tiers, 2)
	assert.Equal(t, 289, s.tiers[0].buckets.max, "24 h of 5-minute buckets")
	assert.Equal(t, 721, s.tiers[1].buckets.max, "30 days of 1-hour buckets")
	assert.Equal(t, int64(720*unsafe.Sizeof(Sample{})+(289+721)*unsafe.Sizeof(bucket{})), s.boundBytes())
	assert.Equal(t, int64(1_422_720), s.boundBytes(), "the figure the package documentation states")
	assert.Zero(t, s.heldBytes(), "nothing allocated before the first sample")

	s = newStore(time.Second, time.Hour)
	assert.Equal(t, 720, s.raw.max, "12 minutes at 1 s")
	require.Len(t, s.tiers, 2)
	assert.Equal(t, 13, s.tiers[0].buckets.max)
	assert.Equal(t, 2, s.tiers[1].buckets.max)

	s = newStore(10*time.Minute, 7*24*time.Hour)
	require.Len(t, s.tiers, 1, "no 5-minute tier under a 10-minute interval")
	assert.Equal(t, 169, s.tiers[0].buckets.max)
	assert.Equal(t, 37, s.raw.max)

	s = newStore(time.Hour, 400*24*time.Hour)
	assert.Empty(t, s.tiers)
	assert.Equal(t, 9601, s.raw.max, "the raw ring is the coarsest level: it covers the retention")
}

// The retention bound: after 30 simulated days every ring is full, and
// two more days allocate nothing more.
func TestRetentionBound(t *testing.T) {
	if testing.Short() {
		t.Skip("a month of samples")
	}
	e := newEnv(t)
	bound := e.m.store.boundBytes()
	simulate(e, 30*24*120, DefaultInterval)
	assert.Equal(t, bound, e.m.store.heldBytes(), "30 days fill the store to its bound")
	simulate(e, 2*24*120, DefaultInterval)
	assert.Equal(t, bound, e.m.store.heldBytes(), "and it stays there")
	assert.Equal(t, 720, e.m.store.raw.n)

	// The whole retention is still answered, at 1-hour resolution.
	now := e.clk.Now()
	sum, err := e.m.Query(MetricTasks, now.Add(-DefaultRetention), now)
	require.NoError(t, err)
	assert.Equal(t, time.Hour, sum.Resolution)
	assert.InDelta(t, 30*24*120, float64(sum.Count), 120, "one bucket's worth at the edge")
	assert.InDelta(t, 10*float64(sum.Count), sum.Sum, 1e-6)
	assert.InDelta(t, 10.0/30, sum.Rate, 1e-9, "10 tasks per 30 s")
	old, err := e.m.Query(MetricTasks, now.Add(-60*24*time.Hour), now.Add(-31*24*time.Hour))
	require.NoError(t, err)
	assert.Zero(t, old.Count, "nothing older than the retention")
}

func TestQueryResolutions(t *testing.T) {
	e := newEnv(t)
	simulate(e, 3*24*120, DefaultInterval) // three days
	now := e.clk.Now()

	q, err := e.m.Query(MetricQueueDepth, now.Add(-time.Hour), now)
	require.NoError(t, err)
	assert.Equal(t, DefaultInterval, q.Resolution)
	assert.Equal(t, uint64(120), q.Count)
	assert.Equal(t, 4.5, q.Avg)
	assert.Equal(t, 0.0, q.Min)
	assert.Equal(t, 9.0, q.Max)
	assert.Equal(t, 9.0, q.P95, "nearest rank 114 of 120, twelve of each value")
	assert.Equal(t, now.Add(-time.Hour), q.From)

	tasks, err := e.m.Query(MetricTasks, now.Add(-time.Hour), now)
	require.NoError(t, err)
	assert.Equal(t, 1200.0, tasks.Sum)
	assert.InDelta(t, 1.0/3, tasks.Rate, 1e-12)

	for _, c := range []struct {
		metric Metric
		want   float64
	}{{MetricWarmHitRate, 0.8}, {MetricErrorRate, 0.1}, {MetricResponseTime, 200}} {
		s, err := e.m.Query(c.metric, now.Add(-time.Hour), now)
		require.NoError(t, err)
		assert.InDelta(t, c.want, s.Avg, 1e-9, c.metric)
		assert.InDelta(t, c.want, s.P95, 1e-9, c.metric)
		assert.InDelta(t, 0, s.Rate, 1e-12, c.metric)
	}

	q, err = e.m.Query(MetricQueueDepth, now.Add(-12*time.Hour), now)
	require.NoError(t, err)
	assert.Equal(t, 5*time.Minute, q.Resolution, "past the raw ring's 6 h")
	assert.InDelta(t, 12*120, float64(q.Count), 10)
	assert.InDelta(t, 4.5, q.Avg, 0.05)
	assert.Equal(t, 9.0, q.Max)
	assert.InDelta(t, 4.5, q.P95, 0.5, "over buckets: the p95 of their means")

	q, err = e.m.Query(MetricErrorRate, now.Add(-48*time.Hour), now)
	require.NoError(t, err)
	assert.Equal(t, time.Hour, q.Resolution, "past the 5-minute tier's 24 h")
	assert.InDelta(t, 0.1, q.Avg, 1e-9, "a rate is the ratio of the summed counts at any resolution")

	_, err = e.m.Query(MetricQueueDepth, now, now.Add(-time.Hour))
	require.ErrorIs(t, err, ErrInvalidConfig)
	empty, err := e.m.Query(MetricLegacyResponseTime, now.Add(-time.Hour), now)
	require.NoError(t, err)
	assert.Zero(t, empty.Count, "no legacy calls: no data")
}

func TestHealthWindowForgets(t *testing.T) {
	e := newEnv(t)
	e.bridge.add(1, 100, 50, 6*time.Second)
	e.step(30 * time.Second)
	require.Less(t, e.m.HealthScore(), CriticalScore)
	simulate(e, 9, DefaultInterval) // 4.5 more minutes at 10 % errors: still in the window
	c := e.m.Health().Components[0]
	assert.InDelta(t, 59.0/190, c.Value, 1e-9, "50+9 failures in 100+90 calls")
	simulate(e, 1, DefaultInterval)
	c = e.m.Health().Components[0]
	assert.InDelta(t, 0.1, c.Value, 1e-9, "the bad sample is older than 5 minutes")
	assert.Equal(t, 70.0, e.m.HealthScore(), "10 %% errors score 0; the rest (hit rate 80 %%, 200 ms …) is on target")
}

func TestRingOverwritesOldest(t *testing.T) {
	r := newRing[int](40)
	for i := range 100 {
		*r.push() = i
	}
	assert.Equal(t, 40, r.n)
	assert.Equal(t, 40, cap(r.buf), "grown to the bound, never past it")
	assert.Equal(t, 60, *r.at(0))
	assert.Equal(t, 99, *r.last())
	assert.True(t, r.wrapped)
}

func TestCounterReset(t *testing.T) {
	e := newEnv(t)
	e.pool.set(func(s *pool.Stats) { s.Tasks, s.WarmHits = 1000, 900 })
	e.step(30 * time.Second)
	e.pool.set(func(s *pool.Stats) { s.Tasks, s.WarmHits = 10, 5 }) // a new pool behind the source
	s := e.step(30 * time.Second)
	v, _ := s.Value(MetricTasks)
	assert.Equal(t, 10.0, v)
	v, _ = s.Value(MetricWarmHitRate)
	assert.Equal(t, 0.5, v)
	assert.False(t, math.IsNaN(v))
}
