package pool_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
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
// k warm (all of them held: the cap is at least k), and the tasks for them
// in a shuffled order, so the mix is as large as the warm set.
func warmPool(b *testing.B, n, k int) (*pool.Pool, []pool.Task) {
	b.Helper()
	p, err := pool.New(benchSpecs(n), pool.WithMaxWarm(max(k, (n+4)/5)))
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
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(tasks), func(i, j int) { tasks[i], tasks[j] = tasks[j], tasks[i] })
	p.Wait()
	return p, tasks
}

// sizes are the specialist counts the benchmarks run at; the warm set and
// the task mix are as large as the pool.
var sizes = []int{83, 1000, 10000}

// BenchmarkExecuteWarm compares a warm hit through the pool with a direct
// call to the same kind of instance. Every specialist is warm and tasks
// cycle over all of them in a shuffled order, so the policy and the
// Predictor see a mix as large as the pool.
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
	for _, n := range sizes {
		b.Run(fmt.Sprintf("pool-%d", n), func(b *testing.B) {
			p, tasks := warmPool(b, n, n)
			before := p.Stats().ObservationsDropped
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				res, err := p.Execute(ctx, tasks[i%n])
				if err != nil || !res.Warm {
					b.Fatal(err, res.Warm)
				}
			}
			p.Wait()
			b.ReportMetric(float64(p.Stats().ObservationsDropped-before)/float64(b.N), "drops/op")
		})
	}
}

// BenchmarkExecuteWarmDepartment is BenchmarkExecuteWarm for tasks that
// name only a department (19 departments).
func BenchmarkExecuteWarmDepartment(b *testing.B) {
	ctx := context.Background()
	for _, n := range sizes {
		b.Run(fmt.Sprintf("pool-%d", n), func(b *testing.B) {
			p, _ := warmPool(b, n, n)
			tasks := make([]pool.Task, 19)
			for i := range tasks {
				tasks[i] = pool.Task{Department: fmt.Sprintf("d%02d", i), Command: "implement"}
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := p.Execute(ctx, tasks[i%19]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExecuteWarmParallel is BenchmarkExecuteWarm under b.RunParallel:
// goroutines hit different warm specialists, as concurrent agents would.
// drops/op is the share of tasks the Predictor never saw.
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
	for _, n := range sizes {
		b.Run(fmt.Sprintf("pool-%d", n), func(b *testing.B) {
			p, tasks := warmPool(b, n, n)
			before := p.Stats().ObservationsDropped
			var seed atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := int(seed.Add(7919))
				for pb.Next() {
					i++
					if _, err := p.Execute(ctx, tasks[i%n]); err != nil {
						b.Error(err)
						return
					}
				}
			})
			p.Wait()
			b.ReportMetric(float64(p.Stats().ObservationsDropped-before)/float64(b.N), "drops/op")
		})
	}
}

// BenchmarkEviction is a task for a cold specialist in a full pool of w
// warm ones: one eviction (policy, Balancer, close) and one start, on a
// virtual clock with instant starts.
func BenchmarkEviction(b *testing.B) {
	ctx := context.Background()
	for _, w := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("warm-%d", w), func(b *testing.B) {
			n := 2 * w
			clk := vclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			p, err := pool.New(benchSpecs(n), pool.WithClock(clk), pool.WithMaxWarm(w), pool.WithPredictor(silentPredictor{}),
				pool.WithCooldown(time.Hour))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = p.Close(ctx) })
			ids := make([]pool.Task, n)
			for i := range ids {
				ids[i] = pool.Task{Specialist: fmt.Sprintf("s%05d", i)}
			}
			for i := range w {
				clk.Set(clk.Now().Add(time.Millisecond))
				if _, err := p.Execute(ctx, ids[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				clk.Set(clk.Now().Add(time.Millisecond))
				// Cycling over twice the cap: every task misses and evicts.
				if _, err := p.Execute(ctx, ids[(w+i)%n]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(p.Stats().Evictions)/float64(b.N), "evictions/op")
		})
	}
}

type silentPredictor struct{}

func (silentPredictor) Observe(_ time.Time, _, _ string, dst []pool.Prediction) []pool.Prediction {
	return dst
}

// BenchmarkMaintain is a maintenance pass with 10 000 specialists warm and
// 10 000 s of virtual time passed each time (so every deadline that falls
// due is looked at), on a clock whose timers never fire, so that Maintain
// does the work measured: the cost is per deadline due, not per specialist.
func BenchmarkMaintain(b *testing.B) {
	clk := vclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	p, err := pool.New(benchSpecs(10_000), pool.WithClock(clk), pool.WithMaxWarm(10_000),
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
		clk.Set(clk.Now().Add(time.Second))
		p.Maintain()
	}
}
