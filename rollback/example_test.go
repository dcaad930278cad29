package rollback_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/monitor"
	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/pool/pooltest"
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

// rolloutHost is the README's migration and rollback wiring, as it is
// there: no glue between the packages.
func rolloutHost(ctx context.Context, p *pool.Pool, b *bridge.Bridge, m *monitor.Monitor, clk clock.Clock,
	logger *slog.Logger, statePath string) error {
	// readme:begin migrate rollback
	store, err := migrate.OpenFileStore(statePath) // durable, atomic, checksummed; shared by both
	if err != nil {
		return err
	}
	metrics, err := migrate.NewStatsMetrics(b, p, clk) // reads b.Stats() and p.Stats()
	if err != nil {
		return err
	}
	rb, err := rollback.New(b, metrics, rollback.WithStore(store), rollback.WithClock(clk), rollback.WithLogger(logger),
		rollback.WithHealth(m), rollback.WithAlerts(m)) // the monitor's health score and critical alerts
	if err != nil {
		return err
	}
	b.AddObserver(rb.Observer()) // the bridge's own fallbacks become rollback records too
	m.WatchRollbacks(rb)         // each rollback fires rollback_triggered, and counts once
	ctrl, err := migrate.New(b, metrics, migrate.WithStore(store), migrate.WithGuard(rb), migrate.WithTuner(p),
		migrate.WithClock(clk), migrate.WithLogger(logger))
	if err != nil {
		return err
	}
	go rb.Run(ctx)   // checks the triggers every 10 s, for as long as the host runs
	go ctrl.Run(ctx) // evaluates the rollout every 30 s; or call ctrl.Step(ctx) from your own loop
	// readme:end
	st := ctrl.Status()
	fmt.Println(st.Step.Name, st.Routing, len(st.Warnings), "warnings")
	return nil
}

// The README's migration and rollback wiring, compiled and run: the rollout
// starts in its preparation step, everything on legacy.
func Example_readmeWiring() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := clock.NewMock()
	fleet := pooltest.New(clk, pooltest.WithMemory(5<<20))
	p, err := pool.New([]pool.Spec{fleet.Spec("api-architect", "BACKEND"), fleet.Spec("react-lead", "FRONTEND")}, pool.WithClock(clk))
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())
	exec, err := bridge.NewPoolExecutor(p)
	if err != nil {
		panic(err)
	}
	legacy := bridge.ExecutorFunc(func(context.Context, bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: "ok"}, nil
	})
	b, err := bridge.New(legacy, exec, bridge.WithClock(clk))
	if err != nil {
		panic(err)
	}
	defer b.Close(context.Background())
	m, err := monitor.New(monitor.WithPool(p), monitor.WithBridge(b), monitor.WithClock(clk))
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "rollout")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := rolloutHost(ctx, p, b, m, clk, slog.New(slog.DiscardHandler), filepath.Join(dir, "rollout.json")); err != nil {
		panic(err)
	}
	// Output:
	// preparation fallback 0 warnings
}
