package bridge

import (
	"context"
	"strconv"
	"testing"
)

// The benchmarks measure the bridge's overhead over calling the executor
// directly, with the real clock (the default) and a trivial executor, so
// that nearly all the time measured is the bridge's own.

var benchResp = Response{Output: "done"}

func benchExec() Executor {
	return ExecutorFunc(func(context.Context, Command) (Response, error) { return benchResp, nil })
}

func benchBridge(b *testing.B, opts ...Option) *Bridge {
	b.Helper()
	br, err := New(benchExec(), benchExec(), opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = br.Close(context.Background()) })
	return br
}

var benchSink Response

func runSerial(b *testing.B, e Executor, c Command) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r, err := e.Execute(ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		benchSink = r
	}
}

func runParallel(b *testing.B, e Executor, keyed bool) {
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		keys := make([]string, 64)
		for i := range keys {
			keys[i] = "session-" + strconv.Itoa(i)
		}
		i := 0
		for pb.Next() {
			c := Command{Name: "implement"}
			if keyed {
				c.RoutingKey = keys[i&63]
			}
			i++
			if _, err := e.Execute(ctx, c); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkOverhead(b *testing.B) {
	plain := Command{Name: "implement", Args: []string{"feature"}}
	withKey := Command{Name: "implement", Args: []string{"feature"}, RoutingKey: "session-1234"}
	nop := ObserverFuncs{Outcome: func(Outcome) {}}

	b.Run("Direct", func(b *testing.B) { runSerial(b, benchExec(), plain) })
	b.Run("Full", func(b *testing.B) { runSerial(b, benchBridge(b, WithMode(ModeFull)), plain) })
	b.Run("Full/Observer", func(b *testing.B) {
		runSerial(b, benchBridge(b, WithMode(ModeFull), WithObserver(nop)), plain)
	})
	b.Run("Hybrid50/Key", func(b *testing.B) {
		runSerial(b, benchBridge(b, WithMode(ModeHybrid), WithPercentage(50)), withKey)
	})
	b.Run("Hybrid50/Random", func(b *testing.B) {
		runSerial(b, benchBridge(b, WithMode(ModeHybrid), WithPercentage(50)), plain)
	})
	b.Run("Fallback", func(b *testing.B) { runSerial(b, benchBridge(b, WithMode(ModeFallback)), plain) })
	b.Run("Shadow", func(b *testing.B) { runSerial(b, benchBridge(b, WithMode(ModeShadow)), plain) })
}

func BenchmarkOverheadParallel(b *testing.B) {
	b.Run("Direct", func(b *testing.B) { runParallel(b, benchExec(), false) })
	b.Run("Full", func(b *testing.B) { runParallel(b, benchBridge(b, WithMode(ModeFull)), false) })
	b.Run("Hybrid50/Key", func(b *testing.B) {
		runParallel(b, benchBridge(b, WithMode(ModeHybrid), WithPercentage(50)), true)
	})
	b.Run("Hybrid50/Random", func(b *testing.B) {
		runParallel(b, benchBridge(b, WithMode(ModeHybrid), WithPercentage(50)), false)
	})
}
