package trace

import (
	"math"
	"time"

	"github.com/bumba/pooling/internal/catalog"
	"github.com/bumba/pooling/internal/workload"
	"github.com/bumba/pooling/pool"
)

const sourceBumba = "simulated BUMBA workload (internal/workload over the embedded specialist catalogue); generated, no external data"

// FromWorkload turns a simulated BUMBA workload into a trace named "bumba".
//
// Each event becomes one request: Key is the task's specialist, Group its
// department, Priority the task's priority, Memory the catalogue's warm
// memory (5 MiB), ColdStart the catalogue's cold start (1 s) and Duration
// the catalogue's reference task time (100 ms). A department-only task
// (no specialist named) is resolved to the first specialist of its
// department in catalogue order, a deterministic stand-in for the pool's
// choice; a department the catalogue does not know keeps its department
// name as the key. A nil catalogue counts as one without specialists, with
// the default costs (5 MiB, 1 s, no task time). Events are ordered by At
// (stably: events at the same time keep their order, which for workflow
// steps is meaningful), so the input need not be sorted.
func FromWorkload(cat *catalog.Catalog, events []workload.Event) *Trace {
	memory, coldStart, task := defaultMemory, defaultColdStart, time.Duration(0)
	first := map[string]string{} // department → its first specialist
	if cat != nil {
		memory, coldStart, task = cat.Costs.WarmMemoryBytes, cat.Costs.ColdStart, cat.Costs.Task
		for _, s := range cat.Specialists {
			if _, ok := first[s.Department]; !ok {
				first[s.Department] = s.ID
			}
		}
	}
	b := newBuilder("bumba", sourceBumba, "bumba", math.MaxInt)
	t := b.t
	t.Priorities = make([]pool.Priority, 0, len(events))
	for _, e := range events {
		key := e.Task.Specialist
		if key == "" {
			var ok bool
			if key, ok = first[e.Task.Department]; !ok {
				key = e.Task.Department
			}
		}
		k := b.specialist(key, e.Task.Department, memory, coldStart)
		t.Specialists[k].Duration = task
		_ = b.add(0, e.At, k)
		t.Priorities = append(t.Priorities, e.Task.Priority)
	}
	sortByTime(t, nil)
	return finish(t)
}
