package workload_test

import (
	"fmt"

	"github.com/bumba/pooling/internal/catalog"
	"github.com/bumba/pooling/internal/workload"
)

func Example() {
	cat, err := catalog.Load()
	if err != nil {
		panic(err)
	}
	cfg := workload.DefaultConfig()
	cfg.Seed = 7
	events, err := workload.Generate(cat, cfg)
	if err != nil {
		panic(err)
	}
	sum := workload.Summarize(events)
	fmt.Println(sum.Tasks, "tasks,", sum.WorkflowTasks, "in", len(sum.Instances), "workflow instances, at most", sum.MaxInFlight, "at once")
	first := sum.Instances[0]
	fmt.Println(first.Workflow, first.Variant, first.Steps)
	// Output:
	// 2000 tasks, 1202 in 296 workflow instances, at most 2 at once
	// MICROSERVICES_DEPLOYMENT repeat [microservices-lead kubernetes-architect observability-architect observability-architect security-architect]
}
