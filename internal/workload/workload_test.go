package workload_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/bumba/pooling/internal/catalog"
	"github.com/bumba/pooling/internal/workload"
	"github.com/bumba/pooling/pool"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func load(t *testing.T) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Load()
	require.NoError(t, err)
	return cat
}

func generate(t *testing.T, cat *catalog.Catalog, cfg workload.Config) []workload.Event {
	t.Helper()
	ev, err := workload.Generate(cat, cfg)
	require.NoError(t, err)
	require.Len(t, ev, cfg.Tasks)
	return ev
}

func TestDeterministic(t *testing.T) {
	cat := load(t)
	cfg := workload.DefaultConfig()
	a := generate(t, cat, cfg)
	b := generate(t, cat, cfg)
	assert.Equal(t, a, b, "same seed, same events")

	cfg.Seed = 2
	c := generate(t, cat, cfg)
	assert.NotEqual(t, a, c, "another seed, other events")
}

func TestSortedAndWellFormed(t *testing.T) {
	cat := load(t)
	for seed := range uint64(5) {
		cfg := workload.DefaultConfig()
		cfg.Seed = seed
		ev := generate(t, cat, cfg)
		assert.True(t, slices.IsSortedFunc(ev, func(a, b workload.Event) int {
			return int(a.At - b.At)
		}), "seed %d: events sorted by At", seed)
		assert.Zero(t, ev[0].At)
		for i, e := range ev {
			assert.Nil(t, e.Task.Payload)
			assert.NotEmpty(t, e.Task.Department, i)
			assert.Equal(t, workload.CommandFor(e.Task.Department), e.Task.Command, i)
			assert.Contains(t, []pool.Priority{pool.PriorityLow, pool.PriorityMedium, pool.PriorityHigh}, e.Task.Priority, i)
			if e.Task.Specialist != "" {
				s, ok := cat.Specialist(e.Task.Specialist)
				require.True(t, ok, e.Task.Specialist)
				assert.Equal(t, s.Department, e.Task.Department)
			}
			if e.Instance == 0 {
				assert.Empty(t, e.Workflow)
				assert.Zero(t, e.Step)
				assert.Equal(t, workload.VariantNone, e.Variant)
			} else {
				assert.NotEmpty(t, e.Task.Specialist, "workflow steps name their specialist")
			}
		}
	}
}

// Each instance's steps are its catalogue workflow's, in order, modulo its
// variant; every instance is complete; steps keep StepGap apart.
func TestGroundTruth(t *testing.T) {
	cat := load(t)
	cfg := workload.DefaultConfig()
	cfg.VariantRate = 0.5
	ev := generate(t, cat, cfg)
	sum := workload.Summarize(ev)

	require.NotEmpty(t, sum.Instances)
	for i, in := range sum.Instances {
		assert.Equal(t, i+1, in.Instance, "instances numbered from 1 in start order")
		wf, ok := cat.Workflow(in.Workflow)
		require.True(t, ok, in.Workflow)
		assert.True(t, matches(wf.Steps, in.Steps, in.Variant), "instance %d (%s, %v): %v", in.Instance, in.Workflow, in.Variant, in.Steps)
	}
	// Step numbers are consecutive within an instance, and spaced.
	lastStep := map[int]workload.Event{}
	for _, e := range ev {
		if e.Instance == 0 {
			continue
		}
		prev, seen := lastStep[e.Instance]
		if seen {
			assert.Equal(t, prev.Step+1, e.Step)
			assert.GreaterOrEqual(t, e.At-prev.At, cfg.StepGap)
		} else {
			assert.Zero(t, e.Step)
		}
		lastStep[e.Instance] = e
	}
	for _, v := range []workload.Variant{workload.VariantNone, workload.VariantSkip, workload.VariantRepeat, workload.VariantInsert} {
		assert.Positive(t, sum.InstancesPerVariant[v], v.String())
	}
	total := 0
	for _, w := range cat.Workflows {
		assert.Positive(t, sum.InstancesPerWorkflow[w.Name], w.Name)
		total += sum.InstancesPerWorkflow[w.Name]
	}
	assert.Equal(t, len(sum.Instances), total)
}

// matches reports whether got is want changed as v says.
func matches(want, got []string, v workload.Variant) bool {
	switch v {
	case workload.VariantNone:
		return slices.Equal(want, got)
	case workload.VariantSkip:
		for i := range want {
			if slices.Equal(slices.Delete(slices.Clone(want), i, i+1), got) {
				return true
			}
		}
	case workload.VariantRepeat:
		for i := range want {
			if slices.Equal(slices.Insert(slices.Clone(want), i, want[i]), got) {
				return true
			}
		}
	case workload.VariantInsert:
		for i := 1; i < len(got); i++ {
			if !slices.Contains(want, got[i]) && slices.Equal(slices.Delete(slices.Clone(got), i, i+1), want) {
				return true
			}
		}
	}
	return false
}

func TestSharesMatchConfig(t *testing.T) {
	cat := load(t)
	cfg := workload.DefaultConfig()
	cfg.Tasks = 5000
	ev := generate(t, cat, cfg)
	sum := workload.Summarize(ev)

	assert.Equal(t, cfg.Tasks, sum.Tasks)
	assert.Equal(t, sum.Tasks, sum.WorkflowTasks+sum.AdHocTasks)
	assert.InDelta(t, cfg.WorkflowShare, float64(sum.WorkflowTasks)/float64(sum.Tasks), 0.03)
	assert.InDelta(t, cfg.DepartmentOnlyShare, float64(sum.DepartmentOnly)/float64(sum.AdHocTasks), 0.03)
	variants := len(sum.Instances) - sum.InstancesPerVariant[workload.VariantNone]
	assert.InDelta(t, cfg.VariantRate, float64(variants)/float64(len(sum.Instances)), 0.05)

	// Interleaving: as many instances in flight as allowed, never more.
	assert.Equal(t, cfg.Concurrency, sum.MaxInFlight)

	// Priority noise: the share of tasks whose priority differs from their
	// specialist's.
	off, named := 0, 0
	for _, e := range ev {
		if e.Task.Specialist == "" {
			continue
		}
		s, _ := cat.Specialist(e.Task.Specialist)
		named++
		if s.Priority != e.Task.Priority {
			off++
		}
	}
	assert.InDelta(t, cfg.PriorityNoise, float64(off)/float64(named), 0.02)
}

func TestHotSet(t *testing.T) {
	cat := load(t)
	cfg := workload.DefaultConfig()
	cfg.WorkflowShare = 0
	cfg.DepartmentOnlyShare = 0
	cfg.Tasks = 10000
	sum := workload.Summarize(generate(t, cat, cfg))

	counts := make([]int, 0, len(sum.TasksPerSpecialist))
	for _, n := range sum.TasksPerSpecialist {
		counts = append(counts, n)
	}
	slices.Sort(counts)
	slices.Reverse(counts)
	top := 0
	for _, n := range counts[:len(cat.Specialists)/5] {
		top += n
	}
	// Zipf s=1.1 over 83: the top 20 % take about 70 % of ad-hoc tasks.
	assert.Greater(t, float64(top)/float64(cfg.Tasks), 0.6)

	cfg.HotSetSkew = 0 // uniform
	sum = workload.Summarize(generate(t, cat, cfg))
	for _, s := range cat.Specialists {
		assert.InDelta(t, float64(cfg.Tasks)/83, sum.TasksPerSpecialist[s.ID], 60, s.ID)
	}
}

// gaps counts the idle gaps (at least half IdleGap) and the burst-like
// gaps (at most twice BurstGap) between consecutive events.
func gaps(ev []workload.Event, cfg workload.Config) (idle, short int) {
	for i := 1; i < len(ev); i++ {
		gap := ev[i].At - ev[i-1].At
		if gap >= cfg.IdleGap/2 {
			idle++
		}
		if gap <= 2*cfg.BurstGap {
			short++
		}
	}
	return idle, short
}

func TestBurstsAndIdleGaps(t *testing.T) {
	cat := load(t)
	cfg := workload.DefaultConfig()
	cfg.Tasks = 5000
	ev := generate(t, cat, cfg)
	idle, short := gaps(ev, cfg)

	// About IdleProb of the gaps outside bursts are idle; exponential
	// MeanGap gaps of a minute and a half are vanishingly rare.
	assert.InDelta(t, cfg.IdleProb*float64(cfg.Tasks), idle, 25)
	assert.Greater(t, workload.Summarize(ev).LongestGap, cfg.IdleGap/2)

	calm := cfg
	calm.BurstProb, calm.IdleProb = 0, 0
	ev = generate(t, cat, calm)
	calmIdle, calmShort := gaps(ev, cfg)
	assert.Zero(t, calmIdle)
	assert.Less(t, workload.Summarize(ev).LongestGap, cfg.IdleGap/2)
	// Bursts add about BurstProb × 4 short gaps per task to the few
	// (about 5 %) that exponential 2 s gaps give on their own.
	assert.Greater(t, short, calmShort+cfg.Tasks/10, "short gaps: %d with bursts, %d without", short, calmShort)
}

func TestMeanGap(t *testing.T) {
	cat := load(t)
	cfg := workload.DefaultConfig()
	cfg.Tasks, cfg.WorkflowShare, cfg.BurstProb, cfg.IdleProb = 5000, 0, 0, 0
	sum := workload.Summarize(generate(t, cat, cfg))
	mean := sum.Duration / time.Duration(cfg.Tasks-1)
	assert.InDelta(t, float64(cfg.MeanGap), float64(mean), float64(cfg.MeanGap)/10)
}

func TestExtremeShares(t *testing.T) {
	cat := load(t)
	cfg := workload.DefaultConfig()
	cfg.WorkflowShare = 0
	cfg.Concurrency = 0 // unused without workflows
	sum := workload.Summarize(generate(t, cat, cfg))
	assert.Zero(t, sum.WorkflowTasks)
	assert.Empty(t, sum.Instances)

	cfg = workload.DefaultConfig()
	cfg.WorkflowShare = 1
	cfg.Concurrency = 4
	cfg.Tasks = 997
	sum = workload.Summarize(generate(t, cat, cfg))
	// Only the tail, where no whole instance fits, is ad hoc.
	assert.Less(t, sum.AdHocTasks, 5)
	assert.Equal(t, 4, sum.MaxInFlight)

	cfg = workload.DefaultConfig()
	cfg.Tasks = 1
	assert.Len(t, generate(t, cat, cfg), 1)
}

func TestInvalidConfig(t *testing.T) {
	cat := load(t)
	tests := []struct {
		edit func(*workload.Config)
		want string
	}{
		{func(c *workload.Config) { c.Tasks = 0 }, "Config.Tasks = 0: want at least 1"},
		{func(c *workload.Config) { c.WorkflowShare = 1.5 }, "Config.WorkflowShare = 1.5: want a value in [0, 1]"},
		{func(c *workload.Config) { c.WorkflowShare = math.NaN() }, "Config.WorkflowShare = NaN"},
		{func(c *workload.Config) { c.Concurrency = 0 }, "Config.Concurrency = 0"},
		{func(c *workload.Config) { c.MeanGap = 0 }, "Config.MeanGap = 0s"},
		{func(c *workload.Config) { c.StepGap = -1 }, "Config.StepGap = -1ns"},
		{func(c *workload.Config) { c.BurstProb = -0.1 }, "Config.BurstProb = -0.1"},
		{func(c *workload.Config) { c.BurstSize = 1 }, "Config.BurstSize = 1"},
		{func(c *workload.Config) { c.BurstGap = -time.Second }, "Config.BurstGap = -1s"},
		{func(c *workload.Config) { c.IdleProb = 2 }, "Config.IdleProb = 2"},
		{func(c *workload.Config) { c.IdleGap = 0 }, "Config.IdleGap = 0s"},
		{func(c *workload.Config) { c.VariantRate = 1.01 }, "Config.VariantRate = 1.01"},
		{func(c *workload.Config) { c.DepartmentOnlyShare = -1 }, "Config.DepartmentOnlyShare = -1"},
		{func(c *workload.Config) { c.HotSetSkew = -1 }, "Config.HotSetSkew = -1"},
		{func(c *workload.Config) { c.HotSetSkew = math.Inf(1) }, "Config.HotSetSkew = +Inf"},
		{func(c *workload.Config) { c.PriorityNoise = 3 }, "Config.PriorityNoise = 3"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			cfg := workload.DefaultConfig()
			tt.edit(&cfg)
			ev, err := workload.Generate(cat, cfg)
			require.ErrorIs(t, err, workload.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.want)
			assert.Nil(t, ev)
		})
	}

	_, err := workload.Generate(nil, workload.DefaultConfig())
	require.ErrorIs(t, err, workload.ErrInvalidConfig)
	noWorkflows := *cat
	noWorkflows.Workflows = nil
	_, err = workload.Generate(&noWorkflows, workload.DefaultConfig())
	require.ErrorIs(t, err, workload.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "no workflows")
}

func TestCommandFor(t *testing.T) {
	cat := load(t)
	for _, d := range cat.Departments {
		assert.Contains(t, []string{"implement", "analyze", "design", "test", "deploy", "secure", "optimize", "research"}, workload.CommandFor(d), d)
	}
	assert.Equal(t, "secure", workload.CommandFor("SECURITY"))
	assert.Equal(t, "test", workload.CommandFor("TESTING"))
	assert.Equal(t, "implement", workload.CommandFor("UNKNOWN"))
}

func TestSummarize(t *testing.T) {
	task := func(id string) pool.Task {
		return pool.Task{Specialist: id, Department: "D", Priority: pool.PriorityHigh}
	}
	ev := []workload.Event{
		{At: 0, Task: task("a"), Workflow: "W", Instance: 1},
		{At: time.Second, Task: task("x")},
		{At: 2 * time.Second, Task: task("a"), Workflow: "W", Instance: 2, Variant: workload.VariantSkip},
		{At: 3 * time.Second, Task: task("b"), Workflow: "W", Instance: 1, Step: 1},
		{At: 10 * time.Second, Task: pool.Task{Department: "D", Priority: pool.PriorityLow}},
		{At: 11 * time.Second, Task: task("c"), Workflow: "W", Instance: 2, Step: 1, Variant: workload.VariantSkip},
	}
	s := workload.Summarize(ev)
	assert.Equal(t, workload.Summary{
		Tasks: 6, WorkflowTasks: 4, AdHocTasks: 2, DepartmentOnly: 1,
		Instances: []workload.InstanceTruth{
			{Instance: 1, Workflow: "W", Steps: []string{"a", "b"}, Start: 0, End: 3 * time.Second},
			{Instance: 2, Workflow: "W", Variant: workload.VariantSkip, Steps: []string{"a", "c"}, Start: 2 * time.Second, End: 11 * time.Second},
		},
		InstancesPerWorkflow: map[string]int{"W": 2},
		InstancesPerVariant:  map[workload.Variant]int{workload.VariantNone: 1, workload.VariantSkip: 1},
		TasksPerSpecialist:   map[string]int{"a": 2, "b": 1, "c": 1, "x": 1},
		TasksPerPriority:     map[pool.Priority]int{pool.PriorityHigh: 5, pool.PriorityLow: 1},
		MaxInFlight:          2,
		Duration:             11 * time.Second,
		LongestGap:           7 * time.Second,
	}, s)
	assert.Equal(t, "insert", workload.VariantInsert.String())
}
