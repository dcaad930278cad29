package bridge_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/pool/pooltest"
)

// A host wraps its legacy executor and the pool in a bridge, watches the
// shadow comparison, then moves to full routing.
func Example() {
	legacy := bridge.ExecutorFunc(func(_ context.Context, c bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: strings.ToUpper(c.Name) + " done"}, nil
	})
	pool := bridge.ExecutorFunc(func(_ context.Context, c bridge.Command) (bridge.Response, error) {
		if c.Name == "design" {
			return bridge.Response{Output: "DESIGN drafted"}, nil // an incompatibility
		}
		return bridge.Response{Output: strings.ToUpper(c.Name) + " done"}, nil
	})

	b, err := bridge.New(legacy, pool, bridge.WithClock(clock.NewMock()))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, name := range []string{"implement", "analyze", "design", "test"} {
		resp, _ := b.Execute(ctx, bridge.Command{Name: name})
		fmt.Println(b.Mode(), resp.Output)
	}

	_ = b.SetMode(bridge.ModeFull)
	resp, _ := b.Execute(ctx, bridge.Command{Name: "implement"})
	fmt.Println(b.Mode(), resp.Output)

	_ = b.Close(ctx) // waits for the shadow runs
	st := b.Stats()
	fmt.Printf("compatibility %.0f%% (%d of %d)\n", 100*st.Shadow.Compatibility, st.Shadow.Matched, st.Shadow.Compared)
	for _, m := range b.Mismatches() {
		fmt.Printf("mismatch %s: legacy %q, pool %q\n", m.Command.Name, m.Legacy.Response.Output, m.Intelligent.Response.Output)
	}
	fmt.Println("served by the pool:", st.Modes[bridge.ModeFull].Paths[bridge.PathIntelligent].Calls)
	// Output:
	// shadow IMPLEMENT done
	// shadow ANALYZE done
	// shadow DESIGN done
	// shadow TEST done
	// full IMPLEMENT done
	// compatibility 75% (3 of 4)
	// mismatch design: legacy "DESIGN done", pool "DESIGN drafted"
	// served by the pool: 1
}

// Observers receive every outcome synchronously; they must be fast.
func ExampleObserverFuncs() {
	var served, fellBack int
	obs := bridge.ObserverFuncs{
		Outcome: func(o bridge.Outcome) {
			if o.Kind == bridge.KindServed {
				served++
			}
			if o.FellBack {
				fellBack++
			}
		},
		Transition: func(t bridge.Transition) {
			fmt.Printf("%s: %s -> %s\n", t.Reason, t.From, t.To)
		},
	}
	failing := bridge.ExecutorFunc(func(context.Context, bridge.Command) (bridge.Response, error) {
		return bridge.Response{}, fmt.Errorf("specialist unavailable")
	})
	legacy := bridge.ExecutorFunc(func(context.Context, bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: "ok"}, nil
	})
	b, _ := bridge.New(legacy, failing,
		bridge.WithClock(clock.NewMock()), bridge.WithMode(bridge.ModeFull), bridge.WithObserver(obs))
	for i := 0; i < 12; i++ {
		_, _ = b.Execute(context.Background(), bridge.Command{Name: "analyze"})
	}
	_ = b.Close(context.Background())
	fmt.Println("served", served, "fell back", fellBack, "mode", b.Mode())
	// Output:
	// auto_fallback: full -> fallback
	// served 12 fell back 10 mode fallback
}

func ExampleParseMode() {
	m, err := bridge.ParseMode("hybrid")
	fmt.Println(m, err)
	_, err = bridge.ParseMode("turbo")
	fmt.Println(err)
	// Output:
	// hybrid <nil>
	// bridge: unknown mode: "turbo" (want shadow, hybrid, full or fallback)
}

// existingSystem is the host's legacy system as the README's wiring shows
// it: the code that executed commands before the pool.
type existingSystem struct{}

func (existingSystem) ExecuteCommand(_ context.Context, name string, args []string, _ map[string]any) (string, error) {
	return "legacy " + name + " " + strings.Join(args, " "), nil
}

// wireHost is the README's wiring of a host, as it is there.
func wireHost(ctx context.Context, p *pool.Pool, existing existingSystem, logger *slog.Logger, sessionID string) error {
	// readme:begin bridge wiring
	legacy := bridge.ExecutorFunc(func(ctx context.Context, c bridge.Command) (bridge.Response, error) {
		out, err := existing.ExecuteCommand(ctx, c.Name, c.Args, c.Options) // your current code
		return bridge.Response{Output: out}, err
	})
	poolExecutor, err := bridge.NewPoolExecutor(p) // routes commands to departments (bridge.DefaultRoutes)
	if err != nil {
		return err
	}
	b, err := bridge.New(legacy, poolExecutor,
		bridge.WithMode(bridge.ModeShadow), // the default: the safe start
		bridge.WithLogger(logger),
	)
	if err != nil {
		return err
	}
	defer b.Close(ctx) // waits for in-flight shadow runs

	var exec bridge.Executor = b // wherever the host called its legacy executor
	resp, err := exec.Execute(ctx, bridge.Command{Name: "implement", Args: []string{"login page"}, RoutingKey: sessionID})
	fmt.Println(resp.Output, err)
	// readme:end
	stepThrough(b)
	fmt.Println(b.Mode(), b.Percentage())
	return nil
}

// stepThrough is the README's move from shadow to full and back, at run
// time.
func stepThrough(b *bridge.Bridge) {
	// readme:begin bridge steps
	b.SetMode(bridge.ModeHybrid)
	b.SetPercentage(25) // 25 → 50 → 75 → 100; a routing key always takes the same path
	b.SetMode(bridge.ModeFull)
	b.SetMode(bridge.ModeFallback) // emergency: everything back to legacy at once
	// readme:end
}

// The README's wiring, compiled and run on fake specialists of the host's
// own departments (pool/pooltest): legacy answers in shadow mode while the
// pool runs the command beside it.
func Example_readmeWiring() {
	clk := clock.NewMock()
	fleet := pooltest.New(clk)
	p, err := pool.New([]pool.Spec{fleet.Spec("react-lead", "FULLSTACK")}, pool.WithClock(clk))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(context.Background())
	logger := slog.New(slog.DiscardHandler)
	if err := wireHost(context.Background(), p, existingSystem{}, logger, "session-42"); err != nil {
		fmt.Println(err)
	}
	// Output:
	// legacy implement login page <nil>
	// fallback 25
}
