package fleet

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
)

// The leader dies mid-soak (its lease is not revoked, as in a crash): a new
// leader is elected within the lease TTL (plus the time to notice),
// resumes the same step with the soak so far, and advances once.
func TestLeaderKilledMidSoak(t *testing.T) {
	f := newFleet(t)
	f.add("a", false)
	f.add("b", false)
	f.add("c", false)
	lead := startAtHalf(t, f)
	ctx := context.Background()
	for _, r := range f.replicas {
		r.drive(t, 80) // about 120 intelligent calls in all
	}
	f.publishAll()
	f.clk.Add(40 * time.Second)
	d, err := lead.m.Step(ctx)
	require.NoError(t, err)
	require.Equal(t, migrate.ActionSoak, d.Action, d.String())
	require.Equal(t, 40*time.Second, d.Soaked)

	killed := time.Now()
	lead.m.Kill()
	next := f.leader()
	took := time.Since(killed)
	t.Logf("new leader %s after %v (lease TTL 1s)", next.name, took)
	require.NotEqual(t, lead.name, next.name)
	require.Less(t, took, 2*time.Second, "within the lease TTL and the time to notice")

	require.Eventually(t, func() bool { return next.m.Controller() != nil }, 2*time.Second, time.Millisecond)
	st := next.m.Controller().Status()
	require.Equal(t, "hybrid-50", st.Step.Name, "same step")
	require.Equal(t, 40*time.Second, st.Soaked, "the soak resumes where it was")

	f.clk.Add(21 * time.Second)
	d, err = next.m.Step(ctx)
	require.NoError(t, err)
	require.Equal(t, migrate.ActionAdvance, d.Action, d.String())
	require.Equal(t, "full", d.Step)
	f.converged(full, time.Second, lead)

	v := f.rollout(next.m.Client())
	require.Equal(t, 2, v.count(migrate.ActionAdvance), "shadow→hybrid-50 and hybrid-50→full, none twice")
	require.Equal(t, 1, v.count(migrate.ActionRestore))
}

// A follower cut off from etcd keeps its routing and serves, never
// advances, falls back on its own evidence, says it is partitioned, and
// publishes its rollback when it reconnects: the fleet follows.
func TestPartitionedReplica(t *testing.T) {
	f := newFleet(t)
	f.add("a", false)
	f.add("b", false)
	c := f.add("c", true)
	lead := f.leader()
	if lead == c { // keep the proxied replica a follower
		lead.m.Kill()
		lead = f.leader()
	}
	f.converged(shadow, 2*time.Second, f.replicas[2])
	f.clk.Add(61 * time.Second)
	_, err := lead.m.Step(context.Background())
	require.NoError(t, err)
	f.converged(half, 2*time.Second)

	c.proxy.Cut()
	require.Eventually(t, func() bool {
		_ = c.m.Publish(context.Background())
		return c.m.Partitioned()
	}, 5*time.Second, 10*time.Millisecond)
	require.True(t, c.m.Status().Partitioned)

	// the others advance; c keeps its routing and serves
	for _, r := range f.replicas[:2] {
		r.drive(t, 120)
	}
	f.publishAll()
	f.clk.Add(61 * time.Second)
	f.publishAll()
	d, err := lead.m.Step(context.Background())
	require.NoError(t, err)
	require.Equal(t, "full", d.Step, d.String())
	f.converged(full, time.Second, c)
	require.True(t, migrate.CurrentRouting(c.b).Equal(half), "never advances cut off")
	c.drive(t, 10)

	// c falls back on its own evidence
	c.fail.Store(true)
	c.drive(t, 60)
	require.Equal(t, bridge.ModeFallback, c.b.Mode())
	require.Eventually(t, func() bool { return c.m.Status().PendingRollback != nil }, time.Second, time.Millisecond)
	require.Equal(t, bridge.ModeFull, f.replicas[0].b.Mode(), "the fleet does not know yet")

	c.proxy.Restore()
	require.Eventually(t, func() bool {
		_ = c.m.Publish(context.Background())
		return !c.m.Partitioned() && c.m.Status().PendingRollback == nil
	}, 10*time.Second, 20*time.Millisecond)
	f.converged(migrate.Routing{Mode: bridge.ModeFallback, Percentage: 50}, 2*time.Second)
	recs, err := lead.m.Rollbacks(context.Background())
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.True(t, recs[0].Partitioned)
	require.Equal(t, "c", recs[0].Replica)
	d, err = lead.m.Step(context.Background())
	require.NoError(t, err)
	require.Equal(t, migrate.StateRolledBack, d.State, d.String())
}

// Two controllers on the same shared state, both at the same revision,
// advance at once: exactly one advance is recorded, the other gets
// ErrConflict and writes nothing.
func TestTwoControllersRacing(t *testing.T) {
	f := newFleet(t)
	cli, err := clientv3.New(Config{Endpoints: srv.Endpoints()}.ClientConfig())
	require.NoError(t, err)
	defer cli.Close()
	ctx := context.Background()
	for round := range 5 {
		f.prefix = f.prefix[:len(f.prefix)-1] + string(rune('a'+round)) + "/"
		sx, err := NewStore(ctx, cli, f.prefix, "x", f.clk)
		require.NoError(t, err)
		metrics := migrate.MetricsFunc(func() (migrate.Reading, error) { return migrate.Reading{At: f.clk.Now()}, nil })
		x, err := migrate.New(sx, metrics, migrate.WithStore(sx), migrate.WithPlan(f.plan), migrate.WithClock(f.clk))
		require.NoError(t, err)
		sy, err := NewStore(ctx, cli, f.prefix, "y", f.clk) // a second replica, after the first began
		require.NoError(t, err)
		y, err := migrate.New(sy, metrics, migrate.WithStore(sy), migrate.WithPlan(f.plan), migrate.WithClock(f.clk))
		require.NoError(t, err)
		_, err = sx.Load(ctx, migrate.SectionRollout) // both now at the same revision
		require.NoError(t, err)

		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i, c := range []*migrate.Controller{x, y} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = c.Advance(ctx, "race")
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				require.ErrorIs(t, err, ErrConflict)
			}
		}
		require.Equal(t, 1, ok, "exactly one advance succeeds: %v", errs)
		v := f.rollout(cli)
		require.Equal(t, 1, v.count(migrate.ActionAdvance))
		require.Equal(t, "hybrid-50", v.Step)
		routing, _ := sx.Routing()
		_ = sy.RefreshRouting(ctx)
		got, _ := sy.Routing()
		require.True(t, got.Equal(half), "the winner's routing is the fleet's: %v / %v", got, routing)
	}
}

// A store fenced by a leader key that is gone refuses to write.
func TestFencedStoreRefusesAfterLeadershipLost(t *testing.T) {
	f := newFleet(t)
	a := f.add("a", false)
	lead := f.leader()
	require.Equal(t, a, lead)
	ctx := context.Background()
	st := a.m.Store()
	st.fence(a.m.cfg.Prefix+keyElection+"/gone", 12345)
	err := st.Save(ctx, "probe", []byte(`{"version":1}`))
	require.True(t, errors.Is(err, ErrNotLeader), "%v", err)
}

// The leader is cut off mid-soak: another replica takes over; the cut-off
// one never advances (its steps fail, nothing it held is written), keeps
// its routing, and on reconnect follows the new leader.
func TestPartitionedLeaderNeverAdvances(t *testing.T) {
	f := newFleet(t)
	a := f.add("a", true)
	f.leader()
	b := f.add("b", false)
	f.add("c", false)
	lead := f.leader()
	require.Equal(t, a, lead, "the first replica leads")
	f.converged(shadow, 2*time.Second)
	ctx := context.Background()

	a.proxy.Cut()
	f.clk.Add(61 * time.Second) // the shadow soak is done: a would advance
	_, err := a.m.Step(ctx)
	require.Error(t, err, "cut off: no step lands")
	require.True(t, migrate.CurrentRouting(a.b).Equal(shadow))

	var next *replica
	require.Eventually(t, func() bool {
		for _, r := range []*replica{b, f.replicas[2]} {
			if r.m.IsLeader() {
				next = r
				return true
			}
		}
		return false
	}, 5*time.Second, 5*time.Millisecond, "a new leader while a is cut off")
	require.Eventually(t, func() bool { return next.m.Controller() != nil }, 2*time.Second, time.Millisecond)
	// the soak a could not save does not count: the new leader soaks again
	f.clk.Add(61 * time.Second)
	d, err := next.m.Step(ctx)
	require.NoError(t, err)
	require.Equal(t, migrate.ActionAdvance, d.Action, d.String())
	require.Equal(t, "hybrid-50", d.Step)

	a.proxy.Restore()
	f.converged(half, 5*time.Second)
	require.Eventually(t, func() bool { return !a.m.IsLeader() && a.m.Publish(ctx) == nil }, 5*time.Second, 10*time.Millisecond)
	_, err = a.m.Step(ctx)
	require.ErrorIs(t, err, ErrNotLeader)
	v := f.rollout(b.m.Client())
	require.Equal(t, 1, v.count(migrate.ActionAdvance), "advanced once, by the new leader")
}
