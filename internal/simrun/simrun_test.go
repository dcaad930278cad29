package simrun_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/bumba/pooling/internal/simrun"
	"github.com/bumba/pooling/internal/workload"
	"github.com/bumba/pooling/pool"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The harness moves the clock exactly as far as a cold start needs.
func TestExecuteAdvancesOnlyTheStartLatency(t *testing.T) {
	h, err := simrun.Load(simrun.Config{StartLatency: 1500 * time.Millisecond})
	require.NoError(t, err)
	defer func() { require.NoError(t, h.Close()) }()
	res, err := h.Execute(context.Background(), pool.Task{Specialist: "api-architect"})
	require.NoError(t, err)
	assert.False(t, res.Warm)
	assert.Equal(t, 1500*time.Millisecond, res.Waited)
	assert.Equal(t, 1500*time.Millisecond, h.Elapsed())
	res, err = h.Execute(context.Background(), pool.Task{Specialist: "api-architect"})
	require.NoError(t, err)
	assert.True(t, res.Warm)
	assert.Equal(t, 1500*time.Millisecond, h.Elapsed(), "a warm hit takes no simulated time")
}

func TestReplayKeepsArrivalTimes(t *testing.T) {
	h, err := simrun.Load(simrun.Config{})
	require.NoError(t, err)
	defer func() { require.NoError(t, h.Close()) }()
	cfg := workload.DefaultConfig()
	cfg.Tasks = 50
	events, err := workload.Generate(h.Catalog, cfg)
	require.NoError(t, err)
	res := h.Replay(context.Background(), events)
	require.NoError(t, res.FirstError)
	assert.Equal(t, 50, res.Events)
	assert.GreaterOrEqual(t, res.Duration, events[len(events)-1].At, "no event ran before its arrival")
	assert.Less(t, res.Duration, events[len(events)-1].At+time.Minute)
	assert.Equal(t, uint64(50), h.Pool.Stats().Tasks)
}
