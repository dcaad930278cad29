package lab

import (
	"flag"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/internal/trace"
)

var restartAll = flag.Bool("restart-all", false, "measure the restart loss on every embedded trace (minutes; for BENCHMARKS.md)")

// TestRestartLoss checks that a restart from the pool's snapshot keeps what
// the pool learned: on the BUMBA workload it loses at most 1 % of the
// unsplit replay's hits, and fewer than a cold restart.
func TestRestartLoss(t *testing.T) {
	full, err := trace.Embedded("bumba", trace.Options{Seed: 1})
	require.NoError(t, err)
	var rs []trace.Request
	for i, r := range full.All() {
		if i == 4000 {
			break
		}
		rs = append(rs, r)
	}
	r, err := RestartLoss(trace.FromRequests("bumba-4000", rs), Config{})
	require.NoError(t, err)
	t.Logf("whole %d hits, restored %d (loss %.2f %%), cold %d (loss %.2f %%)",
		r.Whole.Hits, r.Restored.Hits, 100*r.RestoredLoss, r.Cold.Hits, 100*r.ColdLoss)
	require.Equal(t, r.Whole.Requests, r.Restored.Requests)
	require.LessOrEqual(t, r.RestoredLoss, 0.01)
	require.Less(t, r.RestoredLoss, r.ColdLoss, "a restored restart must keep more hits than a cold one")

	// With -restart-all, every embedded trace, printing the table of
	// BENCHMARKS.md ("Warm restart"):
	//
	//	go test ./internal/lab -run RestartLoss -restart-all -v -timeout 60m
	if !*restartAll {
		return
	}
	fmt.Println("| trace | requests | whole hits | restored hits | restored loss | cold hits | cold loss |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for _, name := range trace.EmbeddedNames() {
		tr, err := trace.Embedded(name, trace.Options{Seed: 1})
		require.NoError(t, err)
		r, err := RestartLoss(tr, Config{})
		require.NoError(t, err)
		fmt.Printf("| %s | %d | %d | %d | %.2f %% | %d | %.2f %% |\n", name, r.Whole.Requests,
			r.Whole.Hits, r.Restored.Hits, 100*r.RestoredLoss, r.Cold.Hits, 100*r.ColdLoss)
		require.LessOrEqual(t, r.RestoredLoss, 0.01, name)
	}
}
