package lab

import (
	"testing"

	"github.com/bumba/pooling/internal/trace"
)

// synthetic is the day-long Azure-style trace of 1 000 functions and
// about 12 M invocations (trace.Synthetic), prepared at 20 % warm.
func synthetic(b *testing.B) *prepared {
	b.Helper()
	tr, err := trace.Synthetic(trace.SyntheticOptions{}, trace.Options{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	p, err := prepare(tr, 0.2)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func perTask(b *testing.B, p *prepared) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(p.ks)), "ns/task")
}

// BenchmarkLabLedger books every request of the synthetic day through
// the ledger alone (the always-warm row): the lab's own cost per task.
func BenchmarkLabLedger(b *testing.B) {
	p := synthetic(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := runAlwaysWarm(p, Config{}); err != nil {
			b.Fatal(err)
		}
	}
	perTask(b, p)
}

// BenchmarkLabDemandLRU replays the synthetic day through the demand
// adapter with LRU: ledger, adapter and hashicorp's LRU per task.
func BenchmarkLabDemandLRU(b *testing.B) {
	p := synthetic(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := runDemand(p, "lru", newLRU(p.cap)); err != nil {
			b.Fatal(err)
		}
	}
	perTask(b, p)
}

// BenchmarkLabDemandBelady is the same with Belady's heap (and its
// next-use pass over the trace).
func BenchmarkLabDemandBelady(b *testing.B) {
	p := synthetic(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := runDemand(p, "belady", newBelady(p)); err != nil {
			b.Fatal(err)
		}
	}
	perTask(b, p)
}

// BenchmarkReplayPoolSynthetic replays the synthetic day through the
// library's pool with its defaults: the lab's harness plus the pool's own
// cost per task (the target: 12 M tasks in under 60 s).
func BenchmarkReplayPoolSynthetic(b *testing.B) {
	p := synthetic(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := runDefault(p, Config{}); err != nil {
			b.Fatal(err)
		}
	}
	perTask(b, p)
}
