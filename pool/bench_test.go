package pool_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bumba/pooling/internal/vclock"
	"github.com/bumba/pooling/pool"
)

// benchInst does no work, so the benchmarks measure the pool alone.
type benchInst struct{ out any }

func (b *benchInst) Execute(context.Context, pool.Task) (pool.Result, error) {
	return pool.Result{Output: b.out}, nil
}
func (b *benchInst) Close() error { return nil }

func benchSpecs(n int) []pool.Spec {
	specs := make([]pool.Spec, n)
	for i := range specs {
		id := fmt.Sprintf("s%05d", i)
		out := any(id)
		specs[i] = pool.Spec{
			ID: id, Department: fmt.Sprintf("d%02d", i%19), Memory: 5 << 20,
			Start: func(context.Context) (pool.Instance, error) { return &benchInst{out: out}, nil },
		}
	}
	return specs
}

// warmPool returns a pool of n specialists on the real clock with the first
// k warm, and the tasks for them.
func warmPool(b *testing.B, n, k int) (*pool.Pool, []pool.Task) {
	b.Helper()
	p, err := pool.New(benchSpecs(n))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	tasks := make([]pool.Task, k)
	for i := range tasks {
		tasks[i] = pool.Task{Specialist: fmt.Sprintf("s%05d", i), Command: "implement"}
		if _, err := p.Execute(context.Background(), tasks[i]); err != nil {
			b.Fatal(err)
		}
	}
	return p, tasks
}

// BenchmarkExecuteWarm compares a warm hit through the pool with a direct
// call to the same kind of instance, at 83, 1 000 and 10 000 specialists.
// Tasks cycle over 8 warm specialists, so the predictor sees a real sequence.
func BenchmarkExecuteWarm(b *testing.B) {
	ctx := context.Background()
	b.Run("direct", func(b *testing.B) {
		inst := &benchInst{out: any("s00000")}
		t := pool.Task{Specialist: "s00000"}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := inst.Execute(ctx, t); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, n := range []int{83, 1000, 10000} {
		b.Run(fmt.Sprintf("pool-%d", n), func(b *testing.B) {
			p, tasks := warmPool(b, n, 8)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				res, err := p.Execute(ctx, tasks[i&7])
				if err != nil || !res.Warm {
					b.Fatal(err, res.Warm)
				}
			}
		})
	}
}

// BenchmarkExecuteWarmParallel is the same under b.RunParallel: goroutines
// hit different warm specialists, as concurrent agents would.
func BenchmarkExecuteWarmParallel(b *testing.B) {
	ctx := context.Background()
	b.Run("direct", func(b *testing.B) {
		inst := &benchInst{out: any("s00000")}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			t := pool.Task{Specialist: "s00000"}
			for pb.Next() {
				if _, err := inst.Execute(ctx, t); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	for _, n := range []int{83, 1000, 10000} {
		b.Run(fmt.Sprintf("pool-%d", n), func(b *testing.B) {
			p, tasks := warmPool(b, n, 8)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					if _, err := p.Execute(ctx, tasks[i&7]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkMaintain is one maintenance pass that also refreshes the
// characteristic time and the one-off return rate — a scan of every
// specialist and a sort — with 10 000 specialists that have all had tasks
// (2 000 warm, none due to cool), on a virtual clock whose ticker never
// fires, so that Maintain does the work measured.
func BenchmarkMaintain(b *testing.B) {
	clk := vclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p, err := pool.New(benchSpecs(10_000), pool.WithClock(clk), pool.WithMaxWarm(2_000),
		pool.WithMaintenanceInterval(time.Second), pool.WithCooldown(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	for i := range 10_000 {
		if _, err := p.Execute(context.Background(), pool.Task{Specialist: fmt.Sprintf("s%05d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		clk.Set(clk.Now().Add(10 * time.Second)) // due, and a refresh each time
		p.Maintain()
	}
}
