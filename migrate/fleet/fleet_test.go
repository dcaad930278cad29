package fleet

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
)

var (
	shadow = migrate.Routing{Mode: bridge.ModeShadow}
	half   = migrate.Routing{Mode: bridge.ModeHybrid, Percentage: 50}
	full   = migrate.Routing{Mode: bridge.ModeFull, Percentage: 100}
)

// Three replicas follow every step; the gate counts the fleet's sum: one
// replica's calls alone lack the volume, the three together pass.
func TestConvergeOnEveryStepWithFleetWideGate(t *testing.T) {
	f := newFleet(t)
	a, b, c := f.add("a", false), f.add("b", false), f.add("c", false)
	lead := f.leader()
	f.converged(shadow, 2*time.Second)
	for _, r := range []*replica{a, b, c} {
		require.Equal(t, lead.name, waitLeaderName(t, r))
		require.False(t, r.m.Partitioned())
	}

	f.publishAll()
	f.clk.Add(61 * time.Second)
	d, err := lead.m.Step(context.Background())
	require.NoError(t, err)
	require.Equal(t, migrate.ActionAdvance, d.Action, d.String())
	f.converged(half, time.Second)

	// one replica's traffic: 80 commands, about 40 to the pool — under the
	// gate's 100 calls.
	a.drive(t, 80)
	f.publishAll()
	f.clk.Add(61 * time.Second)
	f.publishAll()
	d, err = lead.m.Step(context.Background())
	require.NoError(t, err)
	require.Equal(t, migrate.ActionHold, d.Action, d.String())
	require.Contains(t, d.Reason, "lacks data")

	b.drive(t, 80)
	c.drive(t, 80)
	f.publishAll()
	d, err = lead.m.Step(context.Background())
	require.NoError(t, err)
	require.Equal(t, migrate.ActionAdvance, d.Action, d.String())
	require.Equal(t, "full", d.Step)
	require.GreaterOrEqual(t, d.Gate.Checks[0].Value, 0.0)
	f.converged(full, time.Second)

	v := f.rollout(a.m.Client())
	require.Equal(t, "full", v.Step)
	require.Equal(t, 2, v.count(migrate.ActionAdvance))
}

func waitLeaderName(t *testing.T, r *replica) string {
	t.Helper()
	require.Eventually(t, func() bool {
		_ = r.m.Publish(context.Background())
		return r.m.Leader() != ""
	}, 5*time.Second, 5*time.Millisecond)
	return r.m.Leader()
}
