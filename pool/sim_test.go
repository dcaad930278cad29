package pool_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/internal/catalog"
	"github.com/bumba/pooling/internal/simrun"
	"github.com/bumba/pooling/internal/workload"
	"github.com/bumba/pooling/pool"
)

// The whole simulated framework under the generated workload: every figure
// the pool reports is checked against what the simulation really did.
func TestSimulatedFrameworkGroundTruth(t *testing.T) {
	cat, err := catalog.Load()
	require.NoError(t, err)
	h, err := simrun.New(cat, simrun.Config{Declare: true})
	require.NoError(t, err)
	cfg := workload.DefaultConfig()
	cfg.Tasks = 800
	events, err := workload.Generate(cat, cfg)
	require.NoError(t, err)

	res := h.Replay(context.Background(), events)
	require.NoError(t, res.FirstError)
	h.Quiesce()
	st := h.Pool.Stats()

	assert.Equal(t, 83, st.Specialists)
	assert.Equal(t, 17, st.MaxWarm)
	assert.Equal(t, uint64(len(events)), st.Tasks, "every accepted task counted once")
	assert.Equal(t, st.Tasks, st.WarmHits+st.Misses)
	assert.LessOrEqual(t, st.Warm+st.Active+st.Warming, 17, "hard cap")

	// Memory: the pool's figure is the simulation's real allocation.
	live, bytes := h.Framework.Live()
	assert.Equal(t, st.Warm+st.Active, live)
	assert.Equal(t, bytes, st.MemoryCurrent)
	assert.Equal(t, int64(83)*cat.Costs.WarmMemoryBytes, st.MemoryBaseline)
	assert.GreaterOrEqual(t, st.MemoryEfficiency, 0.75)

	assert.LessOrEqual(t, st.ColdStarts, st.Misses, "misses share starts")

	// Workflows: the detector sees no more instances than the workload ran.
	truth := workload.Summarize(events)
	assert.LessOrEqual(t, st.Workflows.Seen, uint64(len(truth.Instances)))
	assert.Greater(t, st.Workflows.Seen, uint64(len(truth.Instances)/2), "most instances seen")
	assert.InDelta(t, float64(st.Workflows.Recognised)/float64(st.Workflows.Seen), st.WorkflowDetectionRate, 1e-12)
	assert.Equal(t, 13, st.Workflows.Declared)

	// Prediction accuracy is the used share of decided pre-warms.
	if st.PrewarmsUsed+st.PrewarmsWasted > 0 {
		assert.InDelta(t, float64(st.PrewarmsUsed)/float64(st.PrewarmsUsed+st.PrewarmsWasted), st.PredictionAccuracy, 1e-12)
	}
	var deptTasks uint64
	for _, d := range st.Departments {
		deptTasks += d.Tasks
	}
	assert.Equal(t, st.Tasks, deptTasks)
	assert.Len(t, st.Departments, 19)

	t.Logf("hit rate %.3f, efficiency %.3f, cold starts %d, prewarms %d (used %d, wasted %d), workflows seen %d recognised %d",
		st.WarmHitRate, st.MemoryEfficiency, st.ColdStarts, st.Prewarms, st.PrewarmsUsed, st.PrewarmsWasted, st.Workflows.Seen, st.Workflows.Recognised)
	require.NoError(t, h.Close())
	// Starts: every start the simulation saw was a cold start or a pre-warm
	// (compared after Close, which lets pre-warms in flight finish).
	st = h.Pool.Stats()
	assert.Equal(t, uint64(h.Framework.TotalStarts()), st.ColdStarts+st.Prewarms-st.StartFailures)
	live, bytes = h.Framework.Live()
	assert.Zero(t, live, "Close closed every instance")
	assert.Zero(t, bytes)
}

// The memory the pool reports is memory the process really holds.
func TestReportedMemoryIsRealAllocation(t *testing.T) {
	cat, err := catalog.Load()
	require.NoError(t, err)
	h, err := simrun.New(cat, simrun.Config{Memory: 8 << 20, PoolOptions: []pool.Option{pool.WithPredictor(noPrediction{})}})
	require.NoError(t, err)
	defer func() { require.NoError(t, h.Close()) }()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, s := range cat.Specialists[:10] {
		_, err := h.Execute(context.Background(), pool.Task{Specialist: s.ID})
		require.NoError(t, err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	st := h.Pool.Stats()
	assert.Equal(t, int64(10*8<<20), st.MemoryCurrent)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	assert.InDelta(t, float64(st.MemoryCurrent), float64(grown), float64(4<<20), "heap grew by what the pool reports")
}
