package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/bumba/pooling/internal/workload"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQuickstartSavesThreeQuartersOfTheMemory(t *testing.T) {
	cfg := workload.DefaultConfig()
	cfg.Tasks = 400
	var out strings.Builder
	st, err := run(&out, cfg)
	require.NoError(t, err)
	assert.Equal(t, uint64(400), st.Tasks)
	assert.Equal(t, 17, st.MaxWarm)
	assert.GreaterOrEqual(t, st.MemoryEfficiency, 0.75)
	assert.Contains(t, out.String(), "replayed 400 tasks")
	assert.Contains(t, out.String(), "efficiency")
}
