package migrate

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/bridge"
)

// failingStore is a MemoryStore whose saves fail while fail is set.
type failingStore struct {
	*MemoryStore
	mu    sync.Mutex
	fail  bool
	saves int
}

func (s *failingStore) setFail(v bool) {
	s.mu.Lock()
	s.fail = v
	s.mu.Unlock()
}

func (s *failingStore) Save(ctx context.Context, section string, data []byte) error {
	s.mu.Lock()
	fail := s.fail
	s.saves++
	s.mu.Unlock()
	if fail {
		return errBoom
	}
	return s.MemoryStore.Save(ctx, section, data)
}

// A save that fails while the controller advances leaves everything as it
// was: the step, the routing, the history, the listeners not told, and
// the saved state; the next Step after the store recovers advances.
func TestFailedSaveOnAdvanceChangesNothing(t *testing.T) {
	var mu sync.Mutex
	var told []Action
	listen := WithListener(func(d Decision) { mu.Lock(); told = append(told, d.Action); mu.Unlock() })
	store := &failingStore{MemoryStore: NewMemoryStore()}
	clk := clock.NewMock()
	r, m := newRouter(), newMetrics(clk)
	c, err := New(r, m, WithClock(clk), WithStore(store), listen)
	require.NoError(t, err)
	driveTo(t, clk, c, m, "hybrid-25")
	soakFor(t, clk, c, m, 30*time.Minute-30*time.Second) // the next healthy step advances

	before, hist, changes := c.Status(), c.History(), len(r.changes)
	saved, err := store.Load(context.Background(), SectionRollout)
	require.NoError(t, err)
	mu.Lock()
	toldBefore := len(told)
	mu.Unlock()

	store.setFail(true)
	m.healthy(10)
	clk.Add(30 * time.Second)
	d, err := c.Step(context.Background())
	require.ErrorIs(t, err, errBoom)
	require.Contains(t, err.Error(), "the routing was put back to hybrid 25")
	require.Equal(t, "hybrid-25", d.Step)
	require.Equal(t, ActionHold, d.Action)
	require.Contains(t, d.Reason, "nothing changed")

	after := c.Status()
	require.Equal(t, before.Step, after.Step)
	require.Equal(t, before.Soaked, after.Soaked, "the failed evaluation's soak is not counted either")
	require.Equal(t, Routing{bridge.ModeHybrid, 25}, r.routing())
	require.Equal(t, Routing{bridge.ModeHybrid, 25}, after.Routing)
	require.Equal(t, hist, c.History())
	require.Greater(t, len(r.changes), changes, "the advance was applied, then put back")
	now, err := store.Load(context.Background(), SectionRollout)
	require.NoError(t, err)
	require.Equal(t, saved, now)
	mu.Lock()
	require.Len(t, told, toldBefore, "no listener heard of an advance that did not happen")
	mu.Unlock()

	store.setFail(false)
	m.healthy(10)
	clk.Add(30 * time.Second)
	d, err = c.Step(context.Background())
	require.NoError(t, err)
	require.Equal(t, ActionAdvance, d.Action)
	require.Equal(t, "hybrid-50", c.Status().Step.Name)
	require.Equal(t, Routing{bridge.ModeHybrid, 50}, r.routing())

	// A restart finds what the running process has.
	c2, err := New(newRouter(), newMetrics(clk), WithClock(clk), WithStore(store))
	require.NoError(t, err)
	require.Equal(t, "hybrid-50", c2.Status().Step.Name)
}

func TestFailedSaveOnManualActionsChangesNothing(t *testing.T) {
	store := &failingStore{MemoryStore: NewMemoryStore()}
	clk := clock.NewMock()
	r, m := newRouter(), newMetrics(clk)
	c, err := New(r, m, WithClock(clk), WithStore(store))
	require.NoError(t, err)
	ctx := context.Background()
	start, hist := c.Status(), c.History()
	store.setFail(true)

	_, err = c.Advance(ctx, "operator")
	require.ErrorIs(t, err, errBoom)
	_, err = c.SetStep(ctx, "hybrid-50", "operator")
	require.ErrorIs(t, err, errBoom)
	_, err = c.Hold(ctx, "operator")
	require.ErrorIs(t, err, errBoom)
	require.Equal(t, start.Step, c.Status().Step)
	require.Equal(t, StateRunning, c.Status().State)
	require.Equal(t, start.Routing, r.routing())
	require.Equal(t, hist, c.History())

	store.setFail(false)
	_, err = c.SetStep(ctx, "hybrid-50", "operator")
	require.NoError(t, err)
	require.Equal(t, Routing{bridge.ModeHybrid, 50}, r.routing())
}

// New with a store that cannot save returns the error and leaves the
// router where it found it.
func TestNewWithAFailingStoreLeavesTheRouter(t *testing.T) {
	store := &failingStore{MemoryStore: NewMemoryStore(), fail: true}
	clk := clock.NewMock()
	r := newRouter()
	require.NoError(t, r.SetMode(bridge.ModeFallback))
	_, err := New(r, newMetrics(clk), WithClock(clk), WithStore(store))
	require.ErrorIs(t, err, errBoom)
	require.Equal(t, Routing{bridge.ModeFallback, 0}, r.routing())
}

// A tuning change made in an evaluation whose save fails is undone too.
func TestFailedSaveUndoesTheTuning(t *testing.T) {
	tn := &fakeTuner{threshold: 0.3, maxWarm: 17}
	store := &failingStore{MemoryStore: NewMemoryStore()}
	f := &fixture{t: t, clk: clock.NewMock(), router: newRouter(), store: store}
	f.metrics = newMetrics(f.clk)
	f.ctrl = f.open(WithPlan(tunePlan()), WithTuner(tn))
	f.metrics.memory(0.72)
	stepMinutes(f, 9, 10, 9)
	store.setFail(true)
	f.metrics.tasks(10, 9)
	f.clk.Add(time.Minute)
	_, err := f.ctrl.Step(context.Background())
	require.ErrorIs(t, err, errBoom)
	require.Equal(t, 0.3, tn.WarmThreshold(), "the change was undone")
	require.Equal(t, 17, tn.MaxWarm())
	require.Empty(t, f.ctrl.Tunings())

	store.setFail(false)
	f.metrics.tasks(10, 9)
	f.clk.Add(time.Minute)
	_, err = f.ctrl.Step(context.Background())
	require.NoError(t, err)
	require.Equal(t, 0.35, tn.WarmThreshold())
	require.Equal(t, []setting{{SettingWarmThreshold, 0.3, 0.35}, {SettingMaxWarm, 17, 16}}, changes(f.ctrl))
}
