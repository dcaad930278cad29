package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestJSONHasEveryPolicyAndField(t *testing.T) {
	var out, errw strings.Builder
	code := run([]string{"-format", "azure2021", "-json"}, &out, &errw)
	require.Equal(t, 0, code, errw.String())
	var rows []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out.String()), &rows))
	require.Len(t, rows, 9)
	want := []string{"pool", "always-warm", "lru", "wtinylfu", "prototype", "keepalive-10m", "keepalive-20m", "hybrid-histogram", "belady"}
	for i, row := range rows {
		assert.Equal(t, want[i], row["policy"])
		for _, field := range []string{"hit_rate", "cold_starts", "cold_starts_vs_opt", "p75_cold_start_pct", "memory_efficiency", "wasted_memory_time_norm", "added_latency_ms"} {
			assert.Contains(t, row, field, "%s lacks %s", row["policy"], field)
		}
	}
	assert.InDelta(t, 1.0, rows[8]["cold_starts_vs_opt"], 1e-9, "belady against itself")
	assert.InDelta(t, 100.0, rows[5]["wasted_memory_time_norm"], 1e-9, "keepalive-10m is the unit")
}

func TestTableAndPlot(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "tradeoff.svg")
	var out, errw strings.Builder
	code := run([]string{"-format", "azure2021", "-trace", "../../internal/trace/data/azure2021/Azure2021_200.csv", "-policies", "lru,belady", "-plot", svg}, &out, &errw)
	require.Equal(t, 0, code, errw.String())
	assert.Contains(t, out.String(), "199 requests")
	assert.Contains(t, out.String(), "belady")
	b, err := os.ReadFile(svg)
	require.NoError(t, err)
	assert.Contains(t, string(b), "<svg")
	assert.Contains(t, string(b), "belady")
}

func TestBadInvocationsExitTwoWithOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"-format", "nope"},
		{"-bogus"},
		{},
		{"-format", "azure2021", "-trace", "/nonexistent/trace.csv"},
		{"-format", "keys", "-warm", "0"},
		{"-format", "keys", "-policies", "fifo"},
		{"-format", "keys", "-trace", "main.go"}, // not a keys trace
	} {
		var out, errw strings.Builder
		code := run(args, &out, &errw)
		assert.Equal(t, 2, code, "%v: %s", args, errw.String())
		assert.Equal(t, 1, strings.Count(errw.String(), "\n"), "%v: one line: %q", args, errw.String())
		assert.True(t, strings.HasPrefix(errw.String(), "policylab: "), errw.String())
	}
}
