package rollback

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/pool"
)

type poolStats struct{}

func (poolStats) Stats() pool.Stats { return pool.Stats{Specialists: 83, MemoryEfficiency: 0.8} }

// The manager is the controller's Guard: a trigger firing during Step rolls
// back, the rollout stops, and after the rollback completes the operator
// redeploys from shadow. Both keep their state in one file.
func TestManagerAsTheControllersGuard(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	var failing atomic.Bool
	var calls atomic.Int64
	legacy := bridge.ExecutorFunc(func(_ context.Context, c bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: c.Name}, nil
	})
	intelligent := bridge.ExecutorFunc(func(_ context.Context, c bridge.Command) (bridge.Response, error) {
		if failing.Load() && calls.Add(1)%5 == 0 { // 20 % errors: above the 10 % trigger, not enough for the bridge's own fallback
			return bridge.Response{}, errBoom
		}
		return bridge.Response{Output: c.Name}, nil
	})
	shadows := make(chan struct{}, 1)
	b, err := bridge.New(legacy, intelligent, bridge.WithClock(clk), bridge.WithObserver(bridge.ObserverFuncs{
		Outcome: func(o bridge.Outcome) {
			if o.Kind == bridge.KindShadow {
				shadows <- struct{}{}
			}
		},
	}))
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close(ctx)) }()

	path := filepath.Join(t.TempDir(), "state.json")
	store, err := migrate.OpenFileStore(path)
	require.NoError(t, err)
	metrics, err := migrate.NewStatsMetrics(b, poolStats{}, clk)
	require.NoError(t, err)
	ev := &events{}
	mgr, err := New(b, metrics, WithClock(clk), WithStore(store), WithListener(ev.add))
	require.NoError(t, err)
	_, err = b.AddObserver(mgr.Observer())
	require.NoError(t, err)
	ctrl, err := migrate.New(b, metrics, migrate.WithClock(clk), migrate.WithStore(store), migrate.WithGuard(mgr),
		migrate.WithStartStep("hybrid-50"))
	require.NoError(t, err)
	require.Equal(t, bridge.ModeHybrid, b.Mode())

	tick := func(i int) migrate.Decision {
		for j := 0; j < 40; j++ {
			shadow := b.Mode() == bridge.ModeShadow
			_, err := b.Execute(ctx, bridge.Command{Name: "implement", RoutingKey: fmt.Sprintf("k-%d-%d", i, j)})
			require.NoError(t, err)
			if shadow {
				<-shadows
			}
		}
		clk.Add(30 * time.Second)
		d, err := ctrl.Step(ctx)
		require.NoError(t, err)
		return d
	}
	for i := 0; i < 10; i++ {
		require.Equal(t, migrate.ActionSoak, tick(i).Action)
	}
	failing.Store(true)
	var rolled migrate.Decision
	for i := 10; i < 20 && rolled.Action != migrate.ActionRollback; i++ {
		rolled = tick(i)
	}
	require.Equal(t, migrate.ActionRollback, rolled.Action, rolled.Reason)
	require.Equal(t, bridge.ModeFallback, b.Mode())
	require.Equal(t, migrate.StateRolledBack, ctrl.Status().State)
	rec, err := mgr.Get(rolled.Rollback)
	require.NoError(t, err)
	require.Equal(t, "error_rate", rec.Trigger)
	require.Equal(t, migrate.Routing{Mode: bridge.ModeHybrid, Percentage: 50}, rec.Before)

	_, err = ctrl.SetStep(ctx, "shadow", "redeploy too early")
	require.ErrorIs(t, err, migrate.ErrRollbackInProgress)
	failing.Store(false)
	for i := 20; i < 25; i++ {
		require.Equal(t, migrate.ActionHold, tick(i).Action)
	}
	rec, _ = mgr.Get(rolled.Rollback)
	require.Equal(t, StatusCompleted, rec.Status)
	require.True(t, rec.Verification.Passed, rec.Verification.String())

	d, err := ctrl.SetStep(ctx, "shadow", "fixed the failing specialist; redeploy from shadow")
	require.NoError(t, err)
	require.Equal(t, migrate.StateRunning, d.State)
	require.Equal(t, bridge.ModeShadow, b.Mode())
	require.Equal(t, migrate.ActionSoak, tick(25).Action)

	// One file holds both sections.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, strings.Contains(string(data), `"rollout"`) && strings.Contains(string(data), `"rollbacks"`))

	// A restart resumes both from the file.
	store2, err := migrate.OpenFileStore(path)
	require.NoError(t, err)
	r2 := newRouter(migrate.Routing{Mode: bridge.ModeShadow})
	m2 := newMetrics(clk)
	mgr2, err := New(r2, m2, WithClock(clk), WithStore(store2))
	require.NoError(t, err)
	ctrl2, err := migrate.New(r2, m2, migrate.WithClock(clk), migrate.WithStore(store2), migrate.WithGuard(mgr2))
	require.NoError(t, err)
	require.Equal(t, "shadow", ctrl2.Status().Step.Name)
	require.Equal(t, rolled.Rollback, ctrl2.Status().LastRollback)
	require.Len(t, mgr2.History(), 1)
	require.Equal(t, []EventType{EventStarted, EventCompleted}, ev.types())
}
