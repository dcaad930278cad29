package migrate_test

import (
	"context"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/pool"
)

// poolStub stands in for a *pool.Pool: 80 % memory efficiency.
type poolStub struct{}

func (poolStub) Stats() pool.Stats { return pool.Stats{Specialists: 83, MemoryEfficiency: 0.8} }

// A controller drives a bridge through a short plan on a simulated clock:
// each step advances once its gate has held over its soak time.
func Example() {
	ctx := context.Background()
	clk := clock.NewMock()
	exec := bridge.ExecutorFunc(func(_ context.Context, c bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: c.Name + " done"}, nil
	})
	b, err := bridge.New(exec, exec, bridge.WithClock(clk))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close(ctx)
	metrics, err := migrate.NewStatsMetrics(b, poolStub{}, clk)
	if err != nil {
		fmt.Println(err)
		return
	}

	gate := migrate.DefaultGate()
	gate.MinCalls = 20
	plan := migrate.Plan{Name: "quick", Steps: []migrate.Step{
		{Name: "legacy", Routing: migrate.Legacy, Soak: time.Minute},
		{Name: "half", Routing: migrate.Routing{Mode: bridge.ModeHybrid, Percentage: 50}, Soak: 5 * time.Minute, Gate: gate},
		{Name: "all", Routing: migrate.Routing{Mode: bridge.ModeFull, Percentage: 100}, Soak: 5 * time.Minute, Gate: gate},
	}}
	start := clk.Now()
	ctrl, err := migrate.New(b, metrics,
		migrate.WithClock(clk), migrate.WithPlan(plan), migrate.WithStore(migrate.NewMemoryStore()),
		migrate.WithListener(func(d migrate.Decision) {
			fmt.Printf("%-6v %-8s %-6s %s\n", d.At.Sub(start), d.Action, d.Step, d.Routing)
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := 0; ctrl.Status().State != migrate.StateCompleted; i++ {
		for j := 0; j < 10; j++ { // the host's traffic
			_, _ = b.Execute(ctx, bridge.Command{Name: "implement", RoutingKey: fmt.Sprint("session-", i, "-", j)})
		}
		clk.Add(30 * time.Second)
		if _, err := ctrl.Step(ctx); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println(ctrl.Status().State, b.Mode())
	// Output:
	// 0s     start    legacy fallback
	// 1m0s   advance  half   hybrid 50%
	// 6m0s   advance  all    full
	// 11m0s  complete all    full
	// completed full
}

// The default plan, step by step.
func ExampleDefaultPlan() {
	p := migrate.DefaultPlan()
	for _, s := range p.Steps {
		fmt.Printf("%-13s %-12s %-6v %d criteria\n", s.Name, s.Routing, s.Soak, len(s.Gate.Criteria))
	}
	fmt.Println("at least", p.Duration())
	// Output:
	// preparation   fallback     10m0s  0 criteria
	// shadow        shadow       30m0s  4 criteria
	// hybrid-25     hybrid 25%   30m0s  3 criteria
	// hybrid-50     hybrid 50%   30m0s  3 criteria
	// hybrid-75     hybrid 75%   30m0s  3 criteria
	// full          full         30m0s  3 criteria
	// optimisation  full         1h0m0s 3 criteria
	// verification  full         30m0s  3 criteria
	// at least 4h10m0s
}

// A gate evaluated on a window of evidence: no data means not passed.
func ExampleGate_Evaluate() {
	g := migrate.DefaultGate()
	var w migrate.Window
	w.Add(migrate.Delta(migrate.Reading{}, migrate.Reading{
		Intelligent: migrate.PathCounts{Calls: 40, Latency: 40 * 120 * time.Millisecond},
		Pool:        &migrate.PoolReading{MemoryEfficiency: 0.78},
	}))
	base := migrate.Baseline{Calls: 100, Latency: 100 * 100 * time.Millisecond}
	r := g.Evaluate(w, base)
	fmt.Println(r.Passed, r.NoData)

	w.Add(migrate.Window{Intelligent: migrate.PathCounts{Calls: 60, Errors: 1, Latency: 60 * 120 * time.Millisecond}})
	r = g.Evaluate(w, base)
	fmt.Println(r.Passed)
	fmt.Println(r)
	// Output:
	// false true
	// true
	// memory_efficiency > 70.00% [ok: lowest 78.00% of 1 samples]; error_rate < 2.00% [ok: 1 errors in 100 calls]; latency_ratio < 2.50x [ok: mean 120ms vs legacy 100ms]
}
