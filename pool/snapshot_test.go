package pool_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
)

// snapshotOf runs a fixed task pattern on a fresh pool and returns its
// snapshot, the fake and the pool.
func snapshotOf(t *testing.T, opts ...pool.Option) ([]byte, *fake, *pool.Pool) {
	t.Helper()
	f := newFake(t)
	p := f.newPool(f.specs(10, 5), append([]pool.Option{pool.WithMaxWarm(3)}, opts...)...)
	for i := range 40 {
		run(t, p, fmt.Sprintf("s%d", i%3))
		f.clk.Add(time.Second)
	}
	p.Wait()
	var buf bytes.Buffer
	require.NoError(t, p.Snapshot(&buf))
	return buf.Bytes(), f, p
}

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	snap, f, _ := snapshotOf(t)

	// A second pool on the same clock restores it: it re-warms what was
	// warm without a task, and its own snapshot is the same bytes.
	g := newFake(t)
	g.clk = f.clk
	q := g.newPool(g.specs(10, 5), pool.WithMaxWarm(3), pool.WithRestore(bytes.NewReader(snap)))
	warm := map[string]bool{}
	for len(warm) < 3 {
		e := g.waitEvent(pool.EventStarted, "")
		warm[e.Specialist] = true
	}
	require.Equal(t, map[string]bool{"s0": true, "s1": true, "s2": true}, warm)
	q.Wait()
	var again bytes.Buffer
	require.NoError(t, q.Snapshot(&again))
	require.Equal(t, snap, again.Bytes(), "a restored pool's snapshot must hold the same tasks and warm set")

	// The restored tasks are hits, not starts.
	for _, id := range []string{"s0", "s1", "s2"} {
		require.True(t, run(t, q, id).Warm, id)
	}
	st := q.Stats()
	require.Equal(t, 3, int(st.WarmHits))
	require.Zero(t, st.Misses)
	require.Equal(t, 3, int(st.ColdStarts), "the restored warm set's starts")
}

// orderPredictor records what it observes.
type orderPredictor struct {
	mu  sync.Mutex
	ids []string
}

func (o *orderPredictor) Observe(_ time.Time, id, _ string, dst []pool.Prediction) []pool.Prediction {
	o.mu.Lock()
	o.ids = append(o.ids, id)
	o.mu.Unlock()
	return dst
}

func TestSnapshotReplaysIntoHostPredictor(t *testing.T) {
	snap, f, _ := snapshotOf(t, pool.WithPredictor(noPrediction{}))
	g := newFake(t)
	g.clk = f.clk
	rec := &orderPredictor{}
	g.newPool(g.specs(10, 5), pool.WithMaxWarm(3), pool.WithPredictor(rec), pool.WithRestore(bytes.NewReader(snap)))
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.ids, 40)
	for i, id := range rec.ids {
		require.Equal(t, fmt.Sprintf("s%d", i%3), id, "task %d", i)
	}
}

func TestSnapshotRefused(t *testing.T) {
	snap, _, _ := snapshotOf(t)
	restore := func(b []byte, specs func(*fake) []pool.Spec) error {
		f := newFake(t)
		sp := f.specs(10, 5)
		if specs != nil {
			sp = specs(f)
		}
		p, err := pool.New(sp, pool.WithClock(f.clk), pool.WithRestore(bytes.NewReader(b)))
		if err == nil {
			require.NoError(t, p.Close(context.Background()))
		}
		return err
	}
	require.NoError(t, restore(snap, nil))

	for _, n := range []int{0, 5, 8, 19, 20, 21, len(snap) / 2, len(snap) - 33, len(snap) - 1} {
		err := restore(snap[:n], nil)
		require.ErrorIs(t, err, pool.ErrSnapshot, "truncated to %d bytes", n)
	}
	for _, bit := range []int{0, 8*8 + 3, 8*12 + 1, 8 * 25, 8*(len(snap)/2) + 5, 8*len(snap) - 1} {
		b := bytes.Clone(snap)
		b[bit/8] ^= 1 << (bit % 8)
		err := restore(b, nil)
		require.ErrorIs(t, err, pool.ErrSnapshot, "bit %d flipped", bit)
	}

	b := bytes.Clone(snap)
	binary.BigEndian.PutUint32(b[8:12], pool.SnapshotVersion+1)
	require.ErrorContains(t, restore(b, nil), fmt.Sprintf("version %d", pool.SnapshotVersion+1))

	// A huge declared length is refused before anything is allocated.
	b = bytes.Clone(snap)
	binary.BigEndian.PutUint64(b[12:20], 1<<40)
	require.ErrorContains(t, restore(b, nil), "allowed at most")

	require.ErrorContains(t, restore(append(bytes.Clone(snap), 'x'), nil), "after the checksum")

	err := restore(snap, func(f *fake) []pool.Spec { return f.specs(11, 5) })
	require.ErrorIs(t, err, pool.ErrSnapshot)
	require.ErrorContains(t, err, `"s10" is not in the snapshot`)
	err = restore(snap, func(f *fake) []pool.Spec { return f.specs(9, 5) })
	require.ErrorContains(t, err, `"s9", which this pool does not have`)
}

func TestSnapshotOfAFreshPoolRestores(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(4, 2))
	var buf bytes.Buffer
	require.NoError(t, p.Snapshot(&buf))
	g := newFake(t)
	q := g.newPool(g.specs(4, 2), pool.WithRestore(&buf))
	require.True(t, !run(t, q, "s1").Warm)
}

// TestSnapshotKeepsTheLatestTasks checks the history's bound: after more
// tasks than it keeps, a restored pool replays exactly the latest ones.
func TestSnapshotKeepsTheLatestTasks(t *testing.T) {
	f := newFake(t)
	// All four fit, so the run has no evictions to report.
	p, err := pool.New(f.specs(4, 2), pool.WithClock(f.clk), pool.WithMaxWarm(4), pool.WithPredictor(noPrediction{}))
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close(context.Background())) }()
	n := pool.HistoryTasks + 10
	for i := range n {
		_, err := p.Execute(context.Background(), pool.Task{Specialist: fmt.Sprintf("s%d", i%4)})
		require.NoError(t, err)
	}
	var buf bytes.Buffer
	require.NoError(t, p.Snapshot(&buf))
	rec := &orderPredictor{}
	g := newFake(t)
	g.newPool(g.specs(4, 2), pool.WithPredictor(rec), pool.WithRestore(&buf))
	require.Len(t, rec.ids, pool.HistoryTasks)
	require.Equal(t, fmt.Sprintf("s%d", 10%4), rec.ids[0])
	require.Equal(t, fmt.Sprintf("s%d", (n-1)%4), rec.ids[len(rec.ids)-1])
}

// FuzzRestore feeds New arbitrary snapshots: each is restored or refused
// with ErrSnapshot, never a panic, and never more than the size bound read.
func FuzzRestore(f *testing.F) {
	fk := newFake(&testing.T{})
	src, err := pool.New(fk.specs(4, 2), pool.WithClock(fk.clk))
	if err != nil {
		f.Fatal(err)
	}
	for i := range 20 {
		if _, err := src.Execute(context.Background(), pool.Task{Specialist: fmt.Sprintf("s%d", i%3)}); err != nil {
			f.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := src.Snapshot(&buf); err != nil {
		f.Fatal(err)
	}
	if err := src.Close(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("BUMBAPOL"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		g := newFake(t)
		p, err := pool.New(g.specs(4, 2), pool.WithClock(g.clk), pool.WithRestore(bytes.NewReader(b)))
		if err != nil {
			if !errors.Is(err, pool.ErrSnapshot) {
				t.Fatalf("refused without ErrSnapshot: %v", err)
			}
			return
		}
		if err := p.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
