package stats

import (
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewWindowValidates(t *testing.T) {
	_, err := NewWindow(time.Minute, 0)
	require.Error(t, err)
	_, err = NewWindow(0, 10)
	require.Error(t, err)
	_, err = NewWindow(5, 10)
	require.Error(t, err)
	w, err := NewWindow(5*time.Minute, 60)
	require.NoError(t, err)
	assert.Equal(t, 5*time.Minute, w.Span())
}

func TestWindowCountsAndExpiry(t *testing.T) {
	clk := clock.NewMock()
	w, err := NewWindow(time.Minute, 6) // 10 s buckets
	require.NoError(t, err)

	assert.Equal(t, Counts{}, w.Counts(clk.Now()))
	assert.Equal(t, 1.0, w.Counts(clk.Now()).SuccessRate())

	w.Record(clk.Now(), false) // t=0, bucket 0
	clk.Add(25 * time.Second)
	w.Record(clk.Now(), true) // t=25s, bucket 2
	c := w.Record(clk.Now(), true)
	assert.Equal(t, Counts{Successes: 2, Failures: 1}, c)
	assert.InDelta(t, 2.0/3, c.SuccessRate(), 1e-12)
	assert.Equal(t, uint64(3), c.Total())

	// The failure (bucket [0,10s)) counts until the window has moved one
	// span past its bucket start: at 59.999s it is in, at 60s it is out.
	clk.Add(35*time.Second - time.Millisecond)
	assert.Equal(t, Counts{Successes: 2, Failures: 1}, w.Counts(clk.Now()))
	clk.Add(time.Millisecond)
	assert.Equal(t, Counts{Successes: 2}, w.Counts(clk.Now()))

	// Far in the future everything has expired, and the ring is reusable.
	clk.Add(time.Hour)
	assert.Equal(t, Counts{}, w.Counts(clk.Now()))
	assert.Equal(t, Counts{Failures: 1}, w.Record(clk.Now(), false))
}

func TestWindowTimeGoingBackwardsCountsInNewestBucket(t *testing.T) {
	w, err := NewWindow(time.Minute, 6)
	require.NoError(t, err)
	t0 := time.Unix(1000, 0)
	w.Record(t0, true)
	c := w.Record(t0.Add(-time.Hour), false)
	assert.Equal(t, Counts{Successes: 1, Failures: 1}, c)
	// Both expire together, a span after t0's bucket.
	assert.Equal(t, Counts{}, w.Counts(t0.Add(time.Minute)))
}

func TestWindowBeforeEpoch(t *testing.T) {
	w, err := NewWindow(time.Minute, 6)
	require.NoError(t, err)
	t0 := time.Unix(-1005, 0)
	w.Record(t0, false)
	w.Record(t0.Add(30*time.Second), true)
	assert.Equal(t, Counts{Successes: 1, Failures: 1}, w.Counts(t0.Add(50*time.Second)))
	assert.Equal(t, Counts{Successes: 1}, w.Counts(t0.Add(65*time.Second)))
}

func TestWindowReset(t *testing.T) {
	w, err := NewWindow(time.Minute, 6)
	require.NoError(t, err)
	now := time.Unix(0, 0)
	w.Record(now, false)
	w.Reset()
	assert.Equal(t, Counts{}, w.Counts(now))
	assert.Equal(t, Counts{Successes: 1}, w.Record(now, true))
}

func BenchmarkWindowRecord(b *testing.B) {
	w, err := NewWindow(5*time.Minute, 60)
	require.NoError(b, err)
	now := time.Unix(0, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		w.Record(now.Add(time.Duration(i)*time.Millisecond), i%5 != 0)
	}
}
