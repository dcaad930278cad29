package fleet_test

import (
	"context"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/migrate/fleet"
	"github.com/bumba/pooling/migrate/fleet/fleettest"
)

// Two replicas share one rollout: the leader begins the plan, both
// bridges follow its routing, and a rollback raised on either reaches
// both.
func Example() {
	srv, err := fleettest.Start() // or fleet.EndpointsFromEnv()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	ctx := context.Background()
	clk := clock.NewMock()
	ok := bridge.ExecutorFunc(func(context.Context, bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: "ok"}, nil
	})
	var members []*fleet.Member
	var bridges []*bridge.Bridge
	for _, name := range []string{"replica-a", "replica-b"} {
		b, _ := bridge.New(ok, ok, bridge.WithClock(clk))
		metrics, _ := migrate.NewStatsMetrics(b, nil, clk)
		m, err := fleet.New(fleet.Config{Endpoints: srv.Endpoints(), Prefix: "/example/", Replica: name, LeaseTTL: time.Second},
			b, metrics, fleet.WithClock(clk))
		if err != nil {
			panic(err)
		}
		if err := m.Start(ctx); err != nil {
			panic(err)
		}
		defer m.Close()
		members, bridges = append(members, m), append(bridges, b)
	}
	await := func(mode bridge.Mode) {
		for bridges[0].Mode() != mode || bridges[1].Mode() != mode {
			time.Sleep(time.Millisecond) // real time: etcd's watch
		}
	}
	await(bridge.ModeFallback) // the default plan begins with preparation: fallback
	fmt.Println("both replicas follow the plan's first step")

	// the leader advances by hand (an operator); both follow
	for members[0].Controller() == nil && members[1].Controller() == nil {
		time.Sleep(time.Millisecond)
	}
	lead := members[0]
	if !lead.IsLeader() {
		lead = members[1]
	}
	if _, err := lead.Controller().Advance(ctx, "example"); err != nil {
		panic(err)
	}
	await(bridge.ModeShadow)
	fmt.Println("both replicas shadow")

	// a rollback through the follower reaches both
	follower := members[0]
	if follower == lead {
		follower = members[1]
	}
	if _, err := follower.Rollback(ctx, "operator: errors in the pool"); err != nil {
		panic(err)
	}
	await(bridge.ModeFallback)
	recs, _ := lead.Rollbacks(ctx)
	fmt.Println("both replicas in fallback;", len(recs), "rollback record, trigger", recs[0].Trigger)
	// Output:
	// both replicas follow the plan's first step
	// both replicas shadow
	// both replicas in fallback; 1 rollback record, trigger manual
}
