package monitor

import (
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/bumba/pooling/bridge"
)

// BenchmarkRetention30Days collects 30 simulated days at the default 30 s
// interval (86 400 samples, driven without clock sleeps) and reports what
// the store holds: bound-bytes is the computed capacity of its rings,
// held-bytes what they have allocated (equal once full), heap-bytes the
// live heap the monitor added, measured after a GC.
func BenchmarkRetention30Days(b *testing.B) {
	const samples = 30 * 24 * 120
	var held, bound, heap int64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		e := newEnv(b, WithLogger(discard()))
		simulate(e, samples, DefaultInterval)
		runtime.GC()
		runtime.ReadMemStats(&after)
		held, bound = e.m.store.heldBytes(), e.m.store.boundBytes()
		heap = int64(after.HeapAlloc) - int64(before.HeapAlloc)
		runtime.KeepAlive(e)
	}
	if held > bound {
		b.Fatalf("held %d bytes, over the bound %d", held, bound)
	}
	b.ReportMetric(float64(bound), "bound-bytes")
	b.ReportMetric(float64(held), "held-bytes")
	b.ReportMetric(float64(heap), "heap-bytes")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/samples, "ns/sample")
}

// BenchmarkCollect is one collection with the default rules, sources that
// answer at once and a discarding logger.
func BenchmarkCollect(b *testing.B) {
	e := newEnv(b)
	m, err := New(WithClock(e.clk), WithPool(e.pool), WithBridge(e.bridge), WithLogger(discard()))
	if err != nil {
		b.Fatal(err)
	}
	t := e.clk.Now()
	b.ReportAllocs()
	for b.Loop() {
		t = t.Add(DefaultInterval)
		m.collectAt(t)
	}
}

// BenchmarkBridgeObserver is the cost BridgeObserver adds to a request.
func BenchmarkBridgeObserver(b *testing.B) {
	e := newEnv(b)
	obs := e.m.BridgeObserver()
	o := bridge.Outcome{Kind: bridge.KindServed, Path: bridge.PathIntelligent, Latency: 120 * time.Millisecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			obs.OnOutcome(o)
		}
	})
}

func discard() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
}
