package pool_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
)

var driftTasks = flag.Int("pool.drift", 0, "tasks of TestPredictorHeapLevelsOffUnderDrift after its fill phase (0: 100 000, 20 000 under -race)")

type nopInst struct{}

func (nopInst) Execute(context.Context, pool.Task) (pool.Result, error) { return pool.Result{}, nil }
func (nopInst) Close() error                                            { return nil }

// TestPredictorHeapLevelsOffUnderDrift runs a pool of 10 000 specialists on
// a fake clock through a drifting stream of short sequences (each phase
// links other specialists, so the Markov tables, the order-2 contexts and
// the learned workflows keep meeting new ones). Once its structures have
// filled, the heap stays flat: what the pool and its default Predictor
// learn is bounded (see SequencePredictor, pool/internal/sequence,
// pool/internal/policy). Run it long with -pool.drift=10000000 (BENCHMARKS.md).
func TestPredictorHeapLevelsOffUnderDrift(t *testing.T) {
	const n = 10000
	tasks := *driftTasks
	if tasks == 0 {
		tasks = 100000
		if raceOn {
			tasks = 20000
		}
	}
	specs := make([]pool.Spec, n)
	for i := range specs {
		specs[i] = pool.Spec{ID: fmt.Sprintf("s%05d", i), Department: fmt.Sprintf("d%02d", i%40), Memory: 1 << 20,
			Start: func(context.Context) (pool.Instance, error) { return nopInst{}, nil }}
	}
	clk := clock.NewMock()
	p, err := pool.New(specs, pool.WithClock(clk), pool.WithMaxWarm(1000))
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close(context.Background())) }()
	r := rand.New(rand.NewPCG(1, 1))
	ctx := context.Background()
	done := 0
	feed := func(count, phase int) {
		for i := 0; i < count; {
			// Short chains that change with the phase: sequences drift.
			k := r.IntN(n)
			for step := range 1 + r.IntN(4) {
				_, err := p.Execute(ctx, pool.Task{Specialist: specs[(k+step*(phase+1))%n].ID})
				require.NoError(t, err)
				i++
				if done++; done%200 == 0 {
					clk.Add(time.Second) // a task every 5 ms of clock
				}
			}
		}
	}
	heap := func() uint64 {
		p.Wait()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	feed(tasks/4, 0) // fill: the tables, contexts and workflows reach their bounds
	base := heap()
	const phases = 8
	for phase := 1; phase <= phases; phase++ {
		feed(tasks/phases, phase)
	}
	grown := int64(heap()) - int64(base)
	st := p.Stats()
	t.Logf("%d specialists, %d tasks after filling: heap %d → %d bytes (%+d, %.2f B/task); %d learned workflows",
		n, tasks, base, int64(base)+grown, grown, float64(grown)/float64(tasks), st.Workflows.Learned)
	// Unbounded, the predictor grew ~41 B per task (4 MB here at 100 000
	// tasks, 410 MB at 10 M); bounded, the heap stays within 2 MiB of where
	// it was, however long the run.
	require.Less(t, grown, int64(2<<20), "heap grew after the learned structures filled")
	require.LessOrEqual(t, st.Workflows.Learned, max(16, n/2))
	require.Zero(t, st.ObservationsDropped)
}
