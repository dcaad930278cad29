// Command deployment runs the whole production rollout of the intelligent
// pool on the simulated 83-specialist BUMBA framework, on a fast-forwarded
// clock: legacy (every specialist warm) and the pool behind the bridge,
// the realistic workload, and migrate.DefaultPlan — preparation → shadow
// 30 min → hybrid 25/50/75 % → full → optimisation 1 h → verification —
// watched by the monitor and the rollback manager. It prints progress and
// then the deployment report.
//
//	go run ./examples/deployment [-json] [-out FILE] [-fault errors|latency|memory [-fault-phase STEP]] [-seed N] [-state FILE]
//
// With -fault the fault is injected when the rollout reaches the step (default
// hybrid-50) and the run shows the automatic rollback and its record.
// Exit status: 0 for a completed rollout or a fault handled by an automatic
// rollback, 1 otherwise, 2 for bad flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
)

func main() {
	// The simulation runs on a fake clock: parallelism buys it nothing but
	// a different interleaving on every run. On one processor the same
	// -seed gives a byte-identical report.
	runtime.GOMAXPROCS(1)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
