package monitor

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
)

// history drives e through two days of samples with a queue-depth alert
// that fires and resolves twice.
func history(e *env) {
	for round := 0; round < 2; round++ {
		simulate(e, 2000, DefaultInterval)
		e.pool.set(func(s *pool.Stats) { s.QueueDepth = 30 })
		for range 20 {
			e.step(DefaultInterval)
		}
		e.pool.set(func(s *pool.Stats) { s.QueueDepth = 0 })
		e.step(DefaultInterval)
	}
	simulate(e, 1800, DefaultInterval)
}

func snapshotOf(t *testing.T, m *Monitor) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, m.Snapshot(&buf))
	return buf.Bytes()
}

// envelope wraps payload as Snapshot does.
func envelope(version uint32, payload []byte) []byte {
	var head [snapshotHeader]byte
	copy(head[:], "BUMBAMON")
	binary.BigEndian.PutUint32(head[8:12], version)
	binary.BigEndian.PutUint64(head[12:20], uint64(len(payload)))
	sum := sha256.Sum256(payload)
	return append(append(head[:], payload...), sum[:]...)
}

// restoreAt opens a monitor at now restoring snap.
func restoreAt(t *testing.T, now time.Time, snap []byte, opts ...Option) (*env, error) {
	t.Helper()
	e := &env{t: t, clk: newClockAt(now), pool: newFakePool(), bridge: newFakeBridge(), logs: &syncBuffer{}, got: &alertLog{}}
	m, err := New(append([]Option{WithClock(e.clk), WithPool(e.pool), WithBridge(e.bridge), WithRestore(bytes.NewReader(snap))}, opts...)...)
	e.m = m
	return e, err
}

func TestSnapshotRoundTripKeepsHistoryAndAlerts(t *testing.T) {
	e := newEnv(t)
	history(e)
	snap := snapshotOf(t, e.m)
	require.Equal(t, "BUMBAMON", string(snap[:8]))
	resolved := e.m.AlertHistory()
	require.NotEmpty(t, resolved)

	e2, err := restoreAt(t, e.clk.Now(), snap)
	require.NoError(t, err)
	now := e.clk.Now()
	for _, metric := range []Metric{MetricQueueDepth, MetricTasks, MetricErrorRate, MetricMemoryEfficiency} {
		for _, back := range []time.Duration{time.Hour, 12 * time.Hour, 47 * time.Hour} {
			want, err := e.m.Query(metric, now.Add(-back), now)
			require.NoError(t, err)
			got, err := e2.m.Query(metric, now.Add(-back), now)
			require.NoError(t, err)
			require.Equal(t, want, got, "%s over %v", metric, back)
			require.NotZero(t, got.Count)
		}
	}
	var wantResolved []Alert
	for _, a := range resolved {
		if a.State == StateResolved {
			wantResolved = append(wantResolved, a)
		}
	}
	require.Len(t, wantResolved, 2)
	got := e2.m.AlertHistory()
	require.Len(t, got, 2)
	for i := range got {
		require.Equal(t, wantResolved[i].Rule, got[i].Rule)
		require.True(t, wantResolved[i].FiredAt.Equal(got[i].FiredAt))
		require.True(t, wantResolved[i].ResolvedAt.Equal(got[i].ResolvedAt))
	}
	require.Equal(t, snap, snapshotOf(t, e2.m), "a restored monitor's snapshot at the same time is the same bytes")

	// It goes on collecting after the restored history.
	e2.pool.set(func(s *pool.Stats) { s.Tasks = 5 })
	e2.step(DefaultInterval)
	q, err := e2.m.Query(MetricQueueDepth, now.Add(-time.Hour), e2.clk.Now())
	require.NoError(t, err)
	require.Equal(t, uint64(121), q.Count)
}

func TestSnapshotIntoAMonitorWithAnotherInterval(t *testing.T) {
	e := newEnv(t)
	simulate(e, 600, DefaultInterval)
	snap := snapshotOf(t, e.m)
	e2, err := restoreAt(t, e.clk.Now(), snap, WithInterval(time.Minute))
	require.NoError(t, err)
	// The 1-minute monitor keeps the newest 361 of the 600 raw samples
	// (3 h at 30 s) and the 5-minute and hourly buckets of all of them.
	now := e.clk.Now()
	q, err := e2.m.Query(MetricTasks, now.Add(-2*time.Hour), now)
	require.NoError(t, err)
	require.Equal(t, float64(2400), q.Sum, "ten tasks in each of the last two hours' samples")
	require.Equal(t, 361, e2.m.store.raw.n)
	require.Equal(t, e.m.store.tiers[0].buckets.n, e2.m.store.tiers[0].buckets.n)
}

// Every truncation and every bit flip is refused with ErrSnapshot; none
// is applied.
func TestSnapshotTruncationsAndBitFlipsAreRefused(t *testing.T) {
	e := newEnv(t)
	simulate(e, 20, DefaultInterval)
	snap := snapshotOf(t, e.m)
	now := e.clk.Now()
	tried := 0
	refused := func(data []byte, what string) {
		t.Helper()
		tried++
		e2, err := restoreAt(t, now, data)
		require.ErrorIs(t, err, ErrSnapshot, what)
		require.Nil(t, e2.m, what)
	}
	for n := 0; n < len(snap); n++ {
		if n < snapshotHeader+64 || n > len(snap)-64 || n%53 == 0 {
			refused(snap[:n], "truncated")
		}
	}
	refused(append(append([]byte{}, snap...), 0), "trailing data")
	rng := rand.New(rand.NewPCG(1, 2))
	flip := func(bit int) {
		data := append([]byte{}, snap...)
		data[bit/8] ^= 1 << (bit % 8)
		refused(data, "bit flip")
	}
	for bit := 0; bit < 8*snapshotHeader; bit++ {
		flip(bit)
	}
	for bit := 8 * (len(snap) - sha256.Size); bit < 8*len(snap); bit++ {
		flip(bit)
	}
	for range 1500 {
		flip(8*snapshotHeader + rng.IntN(8*(len(snap)-snapshotHeader-sha256.Size)))
	}
	t.Logf("snapshot of %d bytes: %d truncations and bit flips, every one refused", len(snap), tried)
}

func TestSnapshotRefusals(t *testing.T) {
	e := newEnv(t)
	simulate(e, 5, DefaultInterval)
	snap := snapshotOf(t, e.m)
	payload := snap[snapshotHeader : len(snap)-sha256.Size]
	now := e.clk.Now()

	_, err := restoreAt(t, now, envelope(2, payload))
	require.ErrorIs(t, err, ErrSnapshot)
	require.Contains(t, err.Error(), "format version 2, this monitor reads version 1")

	big := envelope(1, payload)
	binary.BigEndian.PutUint64(big[12:20], MaxSnapshotBytes+1)
	_, err = restoreAt(t, now, big)
	require.ErrorIs(t, err, ErrSnapshot)
	require.Contains(t, err.Error(), "more than MaxSnapshotBytes")

	_, err = restoreAt(t, now, []byte("BUMBAPOL\x00\x00\x00\x01"+string(make([]byte, 8))))
	require.ErrorIs(t, err, ErrSnapshot)
	require.Contains(t, err.Error(), "not a monitor snapshot")

	_, err = restoreAt(t, now.Add(-time.Hour), snap)
	require.ErrorIs(t, err, ErrSnapshot)
	require.Contains(t, err.Error(), "after this monitor's now")

	// A well-formed envelope around inconsistent content.
	edit := func(f func(d *snapDoc)) []byte {
		var d snapDoc
		require.NoError(t, json.Unmarshal(payload, &d))
		f(&d)
		p, err := json.Marshal(d)
		require.NoError(t, err)
		return envelope(1, p)
	}
	for name, f := range map[string]func(d *snapDoc){
		"samples out of order": func(d *snapDoc) {
			d.Raw.Samples[0].TUnixNs, d.Raw.Samples[1].TUnixNs = d.Raw.Samples[1].TUnixNs, d.Raw.Samples[0].TUnixNs
		},
		"short values":    func(d *snapDoc) { d.Raw.Samples[0].V = d.Raw.Samples[0].V[:3] },
		"bad interval":    func(d *snapDoc) { d.Raw.Samples[0].Interval = "-1s" },
		"metric twice":    func(d *snapDoc) { d.Metrics[1] = d.Metrics[0] },
		"firing alert":    func(d *snapDoc) { d.Alerts = []Alert{{Rule: "x", State: StateFiring}} },
		"payload version": func(d *snapDoc) { d.Version = 3 },
	} {
		_, err := restoreAt(t, now, edit(f))
		require.ErrorIs(t, err, ErrSnapshot, name)
	}
	_, err = restoreAt(t, now, envelope(1, []byte(`{"version":1,"extra":true}`)))
	require.ErrorIs(t, err, ErrSnapshot)

	_, err = New(WithRestore(nil))
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.False(t, errors.Is(err, ErrSnapshot))
}

func newClockAt(t time.Time) *clock.Mock {
	c := clock.NewMock()
	c.Set(t)
	return c
}
