// Command quickstart runs the simulated 83-specialist BUMBA framework through
// a pool with 17 warm slots under the generated workload, on a fast-forwarded
// clock, and prints what the pool measured. BUMBA_POOL_* variables apply.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/bumba/pooling/internal/simrun"
	"github.com/bumba/pooling/internal/workload"
	"github.com/bumba/pooling/pool"
)

func main() {
	// The simulation runs on a fake clock: on one processor the same -seed
	// gives byte-identical output (parallelism only reorders goroutines).
	runtime.GOMAXPROCS(1)
	os.Exit(command(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: quickstart [-seed N] [-tasks N]

Runs the simulated 83-specialist BUMBA framework through a pool with 17 warm
slots under the generated workload, on a fast-forwarded clock, and prints
what the pool measured. BUMBA_POOL_* variables apply.
Exit status: 0 done, 1 failed, 2 bad flags.

Flags:
`

// command is the command line: it parses args, runs and returns the exit
// status.
func command(args []string, stdout, stderr io.Writer) int {
	cfg := workload.DefaultConfig()
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "workload `seed`: the same seed gives the same workload")
	fs.IntVar(&cfg.Tasks, "tasks", cfg.Tasks, "how many `tasks` the workload has")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintln(stderr, "quickstart:", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "quickstart: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if cfg.Tasks < 1 {
		fmt.Fprintf(stderr, "quickstart: -tasks %d: want 1 or more\n", cfg.Tasks)
		return 2
	}
	env, err := pool.OptionsFromEnv(os.LookupEnv)
	if err == nil {
		_, err = run(stdout, cfg, env...)
	}
	if err != nil {
		fmt.Fprintln(stderr, "quickstart:", err)
		return 1
	}
	return 0
}

func run(w io.Writer, cfg workload.Config, opts ...pool.Option) (pool.Stats, error) {
	h, err := simrun.Load(simrun.Config{Declare: true, PoolOptions: append([]pool.Option{pool.WithMaxWarm(17)}, opts...)})
	if err != nil {
		return pool.Stats{}, err
	}
	events, err := workload.Generate(h.Catalog, cfg)
	if err != nil {
		return pool.Stats{}, err
	}
	res := h.Replay(context.Background(), events)
	h.Quiesce()
	st := h.Pool.Stats()
	const mb = 1 << 20
	fmt.Fprintf(w, "replayed %d tasks over %v of simulated time (%d errors)\n", res.Events, res.Duration.Round(time.Second), res.Errors)
	fmt.Fprintf(w, "specialists      %d (max warm %d, warm now %d)\n", st.Specialists, st.MaxWarm, st.Warm+st.Active)
	fmt.Fprintf(w, "warm hit rate    %.1f%% (%d hits, %d misses, %d cold starts)\n", 100*st.WarmHitRate, st.WarmHits, st.Misses, st.ColdStarts)
	fmt.Fprintf(w, "pre-warms        %d, used %d, wasted %d: prediction accuracy %.1f%%\n", st.Prewarms, st.PrewarmsUsed, st.PrewarmsWasted, 100*st.PredictionAccuracy)
	fmt.Fprintf(w, "workflows        %d seen (the workload ran %d), %d recognised at their second task: %.1f%%\n",
		st.Workflows.Seen, len(workload.Summarize(events).Instances), st.Workflows.Recognised, 100*st.WorkflowDetectionRate)
	fmt.Fprintf(w, "memory           %.1f MB warm of %.1f MB all-warm at the end of the run: %.1f MB saved, efficiency %.1f%%\n",
		float64(st.MemoryCurrent)/mb, float64(st.MemoryBaseline)/mb, float64(st.MemorySaved)/mb, 100*st.MemoryEfficiency)
	fmt.Fprintf(w, "average wait     %v per task (cold start %v)\n", (res.Waited / time.Duration(max(1, res.Events))).Round(time.Millisecond), st.AverageStart)
	if res.FirstError != nil {
		return st, res.FirstError
	}
	return st, h.Close()
}
