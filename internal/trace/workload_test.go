package trace_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/internal/catalog"
	"github.com/bumba/pooling/internal/trace"
	"github.com/bumba/pooling/internal/workload"
	"github.com/bumba/pooling/pool"
)

func TestFromWorkloadSmall(t *testing.T) {
	cat, err := catalog.Load()
	require.NoError(t, err)
	dept := cat.Specialists[0].Department
	firstOfDept := cat.InDepartment(dept)[0].ID
	named := cat.Specialists[len(cat.Specialists)-1]
	events := []workload.Event{
		{At: 2 * time.Second, Task: pool.Task{Specialist: named.ID, Department: named.Department, Priority: pool.PriorityLow}},
		{At: time.Second, Task: pool.Task{Department: dept, Priority: pool.PriorityHigh}},
		{At: time.Second, Task: pool.Task{Department: "NOWHERE"}},
	}
	tr := trace.FromWorkload(cat, events)
	assert.Equal(t, "bumba", tr.Name)
	assert.NotEmpty(t, tr.Source)
	c := cat.Costs
	assert.Equal(t, []trace.Request{
		// Sorted by At, ties in event order; department-only → the
		// department's first specialist; unknown department → its name.
		{At: time.Second, Key: firstOfDept, Group: dept, Memory: 5 << 20, ColdStart: time.Second, Duration: 100 * time.Millisecond, Priority: pool.PriorityHigh},
		{At: time.Second, Key: "NOWHERE", Group: "NOWHERE", Memory: 5 << 20, ColdStart: time.Second, Duration: 100 * time.Millisecond},
		{At: 2 * time.Second, Key: named.ID, Group: named.Department, Memory: c.WarmMemoryBytes, ColdStart: c.ColdStart, Duration: c.Task, Priority: pool.PriorityLow},
	}, all(tr))
	assert.Equal(t, 3, tr.Keys())

	tr = trace.FromWorkload(nil, events[:2])
	assert.Equal(t, trace.Request{At: time.Second, Key: dept, Group: dept, Memory: 5 << 20, ColdStart: time.Second, Priority: pool.PriorityHigh}, all(tr)[0])
}

func TestFromWorkloadGenerated(t *testing.T) {
	cat, err := catalog.Load()
	require.NoError(t, err)
	cfg := workload.DefaultConfig()
	cfg.Seed = 7
	events, err := workload.Generate(cat, cfg)
	require.NoError(t, err)
	sum := workload.Summarize(events)
	require.Positive(t, sum.DepartmentOnly)

	tr := trace.FromWorkload(cat, events)
	require.Len(t, all(tr), sum.Tasks)
	checkSortedByAt(t, tr)
	perKey := map[string]int{}
	perPriority := map[pool.Priority]int{}
	for i, r := range all(tr) {
		e := events[i] // already sorted: the order is kept
		assert.Equal(t, e.At, r.At)
		assert.Equal(t, e.Task.Department, r.Group)
		if e.Task.Specialist != "" {
			assert.Equal(t, e.Task.Specialist, r.Key)
		} else {
			assert.Equal(t, cat.InDepartment(e.Task.Department)[0].ID, r.Key)
		}
		perKey[r.Key]++
		perPriority[r.Priority]++
	}
	assert.Equal(t, sum.TasksPerPriority, perPriority)
	assert.Len(t, perKey, tr.Keys())

	same, err := trace.Embedded("bumba", trace.Options{Seed: 7})
	require.NoError(t, err)
	assert.Equal(t, all(tr), all(same))
	assert.Contains(t, same.Source, "Seed 7")
	opened, err := trace.Open("bumba", "", trace.Options{Seed: 7})
	require.NoError(t, err)
	assert.Equal(t, same, opened)
	other, err := trace.Embedded("bumba", trace.Options{Seed: 8})
	require.NoError(t, err)
	assert.NotEqual(t, all(tr), all(other))
}

func checkSortedByAt(t *testing.T, tr *trace.Trace) {
	t.Helper()
	for i := 1; i < tr.Len(); i++ {
		require.LessOrEqual(t, tr.At[i-1], tr.At[i], "request %d", i)
	}
}
