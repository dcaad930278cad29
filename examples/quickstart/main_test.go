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

// -h prints the usage with every flag and its help, and exits 0; a bad
// flag exits 2 with one line.
func TestHelpAndBadFlags(t *testing.T) {
	var stdout, stderr strings.Builder
	require.Equal(t, 0, command([]string{"-h"}, &stdout, &stderr))
	out := stdout.String()
	assert.Contains(t, out, "usage: quickstart")
	for _, f := range []string{"-seed seed", "workload seed: the same seed gives the same workload", "-tasks tasks", "how many tasks the workload has"} {
		assert.Contains(t, out, f)
	}
	assert.Empty(t, stderr.String())

	for _, args := range [][]string{{"-nope"}, {"extra"}, {"-tasks", "0"}} {
		stdout.Reset()
		stderr.Reset()
		assert.Equal(t, 2, command(args, &stdout, &stderr), args)
		assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), stderr.String())
		assert.Empty(t, stdout.String())
	}
}
