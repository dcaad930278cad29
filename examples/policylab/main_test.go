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
	want := []string{"pool", "always-warm", "lru", "wtinylfu", "2q", "arc", "s3fifo", "sieve", "prototype", "prototype-capped",
		"keepalive-10m", "keepalive-20m", "hybrid-histogram", "belady"}
	require.Len(t, rows, len(want))
	byName := map[string]map[string]any{}
	for i, row := range rows {
		assert.Equal(t, want[i], row["policy"])
		byName[want[i]] = row
		for _, field := range []string{"capacity", "warmShare", "hitRate", "coldStarts", "pureMisses", "coldStartsVsOpt", "pureMissesVsOpt",
			"p75ColdStartShare", "memoryEfficiency", "wastedMemoryTimeNorm", "addedLatencyMs", "peakWarm", "overCapacity", "elapsedMs", "concurrency"} {
			assert.Contains(t, row, field, "%s lacks %s", row["policy"], field)
		}
		for key := range row {
			assert.NotContains(t, key, "_", "camelCase keys")
		}
	}
	assert.InDelta(t, 1.0, byName["belady"]["coldStartsVsOpt"], 1e-9, "belady against itself")
	assert.InDelta(t, 1.0, byName["belady"]["pureMissesVsOpt"], 1e-9)
	assert.InDelta(t, 100.0, byName["keepalive-10m"]["wastedMemoryTimeNorm"], 1e-9, "keepalive-10m is the unit")
	assert.Contains(t, byName["pool"], "predictorDropShare")
	assert.NotContains(t, byName["lru"], "predictorDropShare")
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
		{"-trace", "main.go"},                    // no format detected
		{"-format", "azure2021", "-start-gaps", "3"},
		{"-format", "keys", "-warm", "5,5"},
		{"-format", "keys", "-warm", "150"},
		{"-format", "keys", "-concurrency", "0"},
		{"-format", "arc"}, // no embedded copy
	} {
		var out, errw strings.Builder
		code := run(args, &out, &errw)
		assert.Equal(t, 2, code, "%v: %s", args, errw.String())
		assert.Equal(t, 1, strings.Count(errw.String(), "\n"), "%v: one line: %q", args, errw.String())
		assert.True(t, strings.HasPrefix(errw.String(), "policylab: "), errw.String())
	}
}

func TestHelpListsEveryFlagAndExitsZero(t *testing.T) {
	var out, errw strings.Builder
	code := run([]string{"-h"}, &out, &errw)
	require.Equal(t, 0, code, errw.String())
	for _, f := range []string{"-format", "-trace", "-warm", "-json", "-plot", "-seed", "-policies", "-start-gaps",
		"-concurrency", "-tick", "-max-requests", "-max-per-minute", "-synthetic-functions", "-synthetic-tasks", "-timings"} {
		assert.Regexp(t, "(?m)^  "+f+"( |$)", out.String(), f)
	}
	assert.Empty(t, errw.String())
}

// One command sweeps the capacities into one table and one plot.
func TestWarmSweep(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "sweep.svg")
	var out, errw strings.Builder
	code := run([]string{"-format", "azure2021", "-warm", "5,10,20%,0.3,50", "-policies", "pool,lru,belady,keepalive-10m", "-plot", svg}, &out, &errw)
	require.Equal(t, 0, code, errw.String())
	assert.Contains(t, out.String(), "warm capacity 5%, 10%, 20%, 30%, 50%")
	assert.Equal(t, 5, strings.Count(out.String(), " lru "), out.String())
	b, err := os.ReadFile(svg)
	require.NoError(t, err)
	for _, name := range []string{"pool", "lru", "belady", "keepalive-10m"} {
		assert.Contains(t, string(b), ">"+name+"<", "legend")
	}

	out.Reset()
	code = run([]string{"-format", "azure2021", "-warm", "10,50", "-policies", "lru", "-json"}, &out, &errw)
	require.Equal(t, 0, code, errw.String())
	var rows []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out.String()), &rows))
	require.Len(t, rows, 2)
	assert.InDelta(t, 0.1, rows[0]["warmShare"], 1e-9)
	assert.InDelta(t, 0.5, rows[1]["warmShare"], 1e-9)
}

func TestStartGapsAndConcurrency(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "k.txt")
	require.NoError(t, os.WriteFile(keys, []byte("1\n2\n1\n3\n1\n2\n"), 0o644))
	runJSON := func(args ...string) map[string]any {
		t.Helper()
		var out, errw strings.Builder
		code := run(append(args, "-json", "-policies", "belady"), &out, &errw)
		require.Equal(t, 0, code, errw.String())
		var rows []map[string]any
		require.NoError(t, json.Unmarshal([]byte(out.String()), &rows))
		return rows[0]
	}
	// Room for everything: 1 2 1 3 1 2 misses only first uses (3). With a
	// start of 3 gaps, the 1 at access 2 joins 1's start (ready at 3).
	one := runJSON("-trace", keys, "-warm", "1")
	three := runJSON("-trace", keys, "-warm", "1", "-start-gaps", "3")
	assert.EqualValues(t, 3, one["coldStarts"])
	assert.EqualValues(t, 4, three["coldStarts"])
	assert.EqualValues(t, 3, three["pureMisses"])

	var out, errw strings.Builder
	code := run([]string{"-format", "bumba", "-concurrency", "3", "-policies", "pool", "-json"}, &out, &errw)
	require.Equal(t, 0, code, errw.String())
	var rows []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out.String()), &rows))
	assert.EqualValues(t, 3, rows[0]["concurrency"])
	assert.Contains(t, rows[0], "predictorDropShare")
}

// The same -seed gives a byte-identical report: the wall times are left
// out unless -timings asks for them. (The policies replayed here are the
// deterministic ones; see the README for the pool row and W-TinyLFU.)
func TestSameSeedSameReport(t *testing.T) {
	args := []string{"-format", "azure2021", "-policies", "lru,2q,arc,s3fifo,sieve,belady,keepalive-10m,always-warm", "-seed", "7"}
	var reports [2]string
	for i := range reports {
		var out, errw strings.Builder
		require.Equal(t, 0, run(args, &out, &errw), errw.String())
		reports[i] = out.String()
	}
	assert.Equal(t, reports[0], reports[1])
	assert.NotContains(t, reports[0], "wall s")

	var out, errw strings.Builder
	require.Equal(t, 0, run(append(args, "-timings"), &out, &errw), errw.String())
	assert.Contains(t, out.String(), "wall s")

	out.Reset()
	require.Equal(t, 0, run(append(args, "-json"), &out, &errw), errw.String())
	assert.Contains(t, out.String(), `"elapsedMs": 0`)
}
