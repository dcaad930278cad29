package bridge_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/bridge"
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
