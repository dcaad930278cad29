package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/migrate"
)

// shortPlan is the default plan with every soak a tenth as long.
func shortPlan() migrate.Plan {
	p := migrate.DefaultPlan()
	for i := range p.Steps {
		p.Steps[i].Soak /= 10
	}
	return p
}

func TestFaultOnOneReplicaRollsBackTheFleet(t *testing.T) {
	cfg := defaultConfig()
	cfg.Plan = shortPlan()
	cfg.FaultStep = "hybrid-50"
	var out bytes.Buffer
	rep, err := simulate(context.Background(), cfg, &out)
	require.NoError(t, err, out.String())
	t.Log("\n" + out.String())
	require.True(t, rep.RolledBack, out.String())
	require.Contains(t, out.String(), "ROLLBACK raised by")
	require.GreaterOrEqual(t, rep.Changes, 3, "shadow, hybrid-25, hybrid-50 at least")
	for _, d := range rep.Follow {
		require.GreaterOrEqual(t, d, time.Duration(0), "every replica followed every change")
		require.Less(t, d, 5*time.Second) // the targets are held by migrate/fleet's TestFollowTimes
	}
	require.Len(t, rep.Rollback, 3)
	for _, d := range rep.Rollback {
		require.Less(t, d, 5*time.Second)
	}
}

func TestWithoutFaultThePlanCompletes(t *testing.T) {
	cfg := defaultConfig()
	cfg.Plan = shortPlan()
	cfg.FaultReplica = -1
	var out bytes.Buffer
	rep, err := simulate(context.Background(), cfg, &out)
	require.NoError(t, err, out.String())
	require.True(t, rep.Completed, out.String())
	require.Contains(t, out.String(), " full ")
	require.False(t, strings.Contains(out.String(), "ROLLBACK"), out.String())
}

func TestBadFlags(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, 2, run(context.Background(), []string{"-replicas", "1"}, &out, &errb))
	require.Equal(t, 2, run(context.Background(), []string{"-fault-step", "nope"}, &out, &errb))
	require.Contains(t, errb.String(), "hybrid-50")
}
