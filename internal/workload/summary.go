package workload

import (
	"time"

	"github.com/bumba/pooling/pool"
)

// Summary is the ground truth of a workload: what it contains, as a
// predictor or a report should see it.
type Summary struct {
	// Tasks is the number of events.
	Tasks int
	// WorkflowTasks are the events that are workflow steps (inserted
	// ad-hoc steps included); AdHocTasks the others.
	WorkflowTasks, AdHocTasks int
	// DepartmentOnly counts the tasks that name no specialist.
	DepartmentOnly int
	// Instances lists the workflow instances in the order they started.
	Instances []InstanceTruth
	// InstancesPerWorkflow counts instances by workflow name.
	InstancesPerWorkflow map[string]int
	// InstancesPerVariant counts instances by variant.
	InstancesPerVariant map[Variant]int
	// TasksPerSpecialist counts the tasks naming each specialist.
	TasksPerSpecialist map[string]int
	// TasksPerPriority counts tasks by priority.
	TasksPerPriority map[pool.Priority]int
	// MaxInFlight is the largest number of workflow instances open at once
	// (first step issued, last step not yet).
	MaxInFlight int
	// Duration is the offset of the last event.
	Duration time.Duration
	// LongestGap is the longest time between two consecutive events.
	LongestGap time.Duration
}

// InstanceTruth is one workflow instance as it happened.
type InstanceTruth struct {
	Instance int
	Workflow string
	Variant  Variant
	// Steps are the specialist IDs in the order issued.
	Steps []string
	// Start and End are the offsets of the first and last step.
	Start, End time.Duration
}

// Summarize computes the ground truth of events as Generate returns them.
func Summarize(events []Event) Summary {
	s := Summary{
		Tasks:                len(events),
		InstancesPerWorkflow: map[string]int{},
		InstancesPerVariant:  map[Variant]int{},
		TasksPerSpecialist:   map[string]int{},
		TasksPerPriority:     map[pool.Priority]int{},
	}
	last := map[int]int{} // instance → index of its last event
	for i, e := range events {
		if e.Instance != 0 {
			last[e.Instance] = i
		}
	}
	index := map[int]int{} // instance → position in s.Instances
	open := 0
	for i, e := range events {
		if i > 0 {
			s.LongestGap = max(s.LongestGap, e.At-events[i-1].At)
		}
		s.Duration = e.At
		s.TasksPerPriority[e.Task.Priority]++
		if e.Task.Specialist == "" {
			s.DepartmentOnly++
		} else {
			s.TasksPerSpecialist[e.Task.Specialist]++
		}
		if e.Instance == 0 {
			s.AdHocTasks++
			continue
		}
		s.WorkflowTasks++
		k, seen := index[e.Instance]
		if !seen {
			k = len(s.Instances)
			index[e.Instance] = k
			s.Instances = append(s.Instances, InstanceTruth{
				Instance: e.Instance, Workflow: e.Workflow, Variant: e.Variant, Start: e.At,
			})
			s.InstancesPerWorkflow[e.Workflow]++
			s.InstancesPerVariant[e.Variant]++
			open++
			s.MaxInFlight = max(s.MaxInFlight, open)
		}
		in := &s.Instances[k]
		in.Steps = append(in.Steps, e.Task.Specialist)
		in.End = e.At
		if last[e.Instance] == i {
			open--
		}
	}
	return s
}
