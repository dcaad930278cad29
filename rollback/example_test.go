package rollback_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/rollback"
)

// A trigger fires, the manager rolls back to legacy on its own, verifies
// the result two minutes later, and explains it.
func Example() {
	ctx := context.Background()
	clk := clock.NewMock()
	var calls int
	legacy := bridge.ExecutorFunc(func(_ context.Context, c bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: c.Name}, nil
	})
	pool := bridge.ExecutorFunc(func(_ context.Context, c bridge.Command) (bridge.Response, error) {
		calls++
		if calls%6 == 0 { // one call in six fails: 16.7 %
			return bridge.Response{}, fmt.Errorf("specialist failed to start")
		}
		return bridge.Response{Output: c.Name}, nil
	})
	b, err := bridge.New(legacy, pool, bridge.WithClock(clk), bridge.WithMode(bridge.ModeFull), bridge.WithPercentage(100))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close(ctx)
	metrics, err := migrate.NewStatsMetrics(b, nil, clk)
	if err != nil {
		fmt.Println(err)
		return
	}
	mgr, err := rollback.New(b, metrics, rollback.WithClock(clk),
		rollback.WithListener(func(e rollback.Event) { fmt.Println("event:", e.Type, e.Record.ID) }))
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := 0; i < 20; i++ { // 10 s ticks
		for j := 0; j < 12; j++ {
			_, _ = b.Execute(ctx, bridge.Command{Name: "implement"})
		}
		clk.Add(10 * time.Second)
		if _, err := mgr.Check(ctx); err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println("bridge:", b.Mode())
	rec := mgr.History()[0]
	a, _ := mgr.Analyze(rec.ID)
	for _, line := range strings.Split(a.Text(), "\n")[:6] {
		fmt.Println(line)
	}
	// Output:
	// event: started rb-19700101-000120-1
	// event: completed rb-19700101-000120-1
	// bridge: fallback
	// ROLLBACK ANALYSIS rb-19700101-000120-1
	//   kind       emergency (automatic)
	//   trigger    error_rate
	//   reason     error rate > 10.00% for 1m0s held for 1m0s: error rate 16.67% (12 of 72 intelligent calls in 1m0s)
	//   status     completed, verification passed
	//   started    1970-01-01T00:01:20Z
}

// A planned rollback steps the pool's share down with a verification
// between steps (here every minute), then sends everything to legacy.
func ExampleManager_Planned() {
	ctx := context.Background()
	clk := clock.NewMock()
	exec := bridge.ExecutorFunc(func(_ context.Context, c bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: c.Name}, nil
	})
	b, err := bridge.New(exec, exec, bridge.WithClock(clk), bridge.WithMode(bridge.ModeFull), bridge.WithPercentage(100))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close(ctx)
	metrics, _ := migrate.NewStatsMetrics(b, nil, clk)
	mgr, err := rollback.New(b, metrics, rollback.WithClock(clk), rollback.WithVerifyAfter(time.Minute),
		rollback.WithConfirm(func(_ context.Context, r rollback.Request) (bool, error) {
			fmt.Printf("confirm %s rollback from %s: %q? yes\n", r.Kind, r.Current, r.Reason)
			return true, nil
		}),
		rollback.WithListener(func(e rollback.Event) {
			fmt.Printf("%-9s now %s\n", e.Type, e.Record.After)
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := mgr.Planned(ctx, "Maintenance"); err != nil {
		fmt.Println(err)
		return
	}
	for mgr.Latest().InProgress {
		for j := 0; j < 20; j++ {
			_, _ = b.Execute(ctx, bridge.Command{Name: "analyze", RoutingKey: fmt.Sprint("user-", j)})
		}
		clk.Add(time.Minute)
		_, _ = mgr.Check(ctx)
	}
	rec := mgr.History()[0]
	fmt.Println(len(rec.Stages), "stages, verification passed:", rec.Verification.Passed)
	// Output:
	// confirm planned rollback from full: "Maintenance"? yes
	// started   now hybrid 75%
	// stage     now hybrid 50%
	// stage     now hybrid 25%
	// stage     now fallback
	// completed now fallback
	// 4 stages, verification passed: true
}
