package catalog_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/bumba/pooling/internal/catalog"
	"github.com/bumba/pooling/pool"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLoadCounts(t *testing.T) {
	c, err := catalog.Load()
	require.NoError(t, err)

	assert.Len(t, c.Specialists, 83)
	assert.Len(t, c.Departments, 19)
	assert.True(t, slices.IsSorted(c.Departments))
	assert.Len(t, c.Workflows, 13)
	assert.True(t, slices.IsSortedFunc(c.Workflows, func(a, b catalog.Workflow) int {
		return strings.Compare(a.Name, b.Name)
	}))
	assert.NotEmpty(t, c.About)

	byPrio := map[pool.Priority]int{}
	ids := map[string]bool{}
	for _, s := range c.Specialists {
		byPrio[s.Priority]++
		assert.False(t, ids[s.ID], "duplicate %s", s.ID)
		ids[s.ID] = true
		assert.NotEmpty(t, s.Type, s.ID)
		assert.Contains(t, c.Departments, s.Department)
	}
	assert.Equal(t, map[pool.Priority]int{pool.PriorityHigh: 29, pool.PriorityMedium: 42, pool.PriorityLow: 12}, byPrio)

	perDept := map[string]int{}
	for _, s := range c.Specialists {
		perDept[s.Department]++
	}
	assert.Equal(t, 8, perDept["BACKEND"])
	assert.Equal(t, 8, perDept["FRONTEND"])
	assert.Equal(t, 3, perDept["DESIGN"])
	assert.Len(t, c.InDepartment("MOBILE"), 5)
	assert.Empty(t, c.InDepartment("NOPE"))

	for _, w := range c.Workflows {
		assert.Len(t, w.Steps, 4, w.Name)
		for _, id := range w.Steps {
			assert.True(t, ids[id], "%s: %s", w.Name, id)
		}
	}
	w, ok := c.Workflow("FULL_STACK_FEATURE")
	require.True(t, ok)
	assert.Equal(t, []string{"api-architect", "database-architect", "react-lead", "frontend-testing"}, w.Steps)
	_, ok = c.Workflow("NOPE")
	assert.False(t, ok)

	s, ok := c.Specialist("react-lead")
	require.True(t, ok)
	assert.Equal(t, catalog.Specialist{ID: "react-lead", Type: "react-architect", Department: "FRONTEND", Priority: pool.PriorityHigh}, s)
	_, ok = c.Specialist("nope")
	assert.False(t, ok)
}

func TestLoadCosts(t *testing.T) {
	c, err := catalog.Load()
	require.NoError(t, err)
	assert.Equal(t, catalog.ReferenceCosts{
		ColdStart:           time.Second,
		WarmStart:           50 * time.Millisecond,
		Task:                100 * time.Millisecond,
		ColdMemoryBytes:     104858, // 0.1 MB rounded
		WarmingMemoryBytes:  5 * 1 << 20 / 2,
		WarmMemoryBytes:     5 * 1 << 20,
		ActiveMemoryBytes:   15 * 1 << 20 / 2,
		CoolingMemoryBytes:  5 * 1 << 20 / 2,
		ErrorMemoryBytes:    1 << 19,
		BaselineMemoryBytes: 5 * 1 << 20,
	}, c.Costs)
	assert.Equal(t, map[string]float64{"high": 1.0, "medium": 0.6, "low": 0.3}, c.PriorityWeights)
	// The legacy always-warm host: 83 × 5 MB ≈ 415 MB.
	assert.Equal(t, int64(415*1<<20), int64(len(c.Specialists))*c.Costs.BaselineMemoryBytes)
}

// Load parses afresh each time, so one caller's edits never leak to another.
func TestLoadIndependentCopies(t *testing.T) {
	a, err := catalog.Load()
	require.NoError(t, err)
	a.Specialists[0].ID = "changed"
	a.Workflows[0].Steps[0] = "changed"
	a.PriorityWeights["high"] = 0
	b, err := catalog.Load()
	require.NoError(t, err)
	assert.NotEqual(t, "changed", b.Specialists[0].ID)
	assert.NotEqual(t, "changed", b.Workflows[0].Steps[0])
	assert.Equal(t, 1.0, b.PriorityWeights["high"])
}

const validCosts = `"reference_costs": {"memory_mb_by_state": {"cold": 0.1, "warming": 2.5, "warm": 5.0, "active": 7.5, "cooling": 2.5, "error": 0.5},
  "cold_start_ms": 1000, "warm_start_ms": 50, "task_ms": 100, "always_warm_baseline_mb_per_specialist": 5.0},
  "priority_weights": {"high": 1.0, "medium": 0.6, "low": 0.3}`

func doc(specialists, workflows string) string {
	return `{"about": "x", ` + validCosts + `, "specialists": [` + specialists + `], "workflows": {` + workflows + `}}`
}

func TestParseValid(t *testing.T) {
	c, err := catalog.Parse([]byte(doc(
		`{"id": "a", "type": "t", "department": "D2", "priority": "low"},
		 {"id": "b", "type": "t", "department": "D1", "priority": "high"}`,
		`"Z": ["a", "b"], "A": ["b"]`)))
	require.NoError(t, err)
	assert.Equal(t, []string{"D1", "D2"}, c.Departments)
	assert.Equal(t, []catalog.Workflow{{Name: "A", Steps: []string{"b"}}, {Name: "Z", Steps: []string{"a", "b"}}}, c.Workflows)
}

func TestParseInvalid(t *testing.T) {
	spec := func(id, dept, prio string) string {
		return `{"id": "` + id + `", "type": "t", "department": "` + dept + `", "priority": "` + prio + `"}`
	}
	ok := spec("a", "D", "low")
	tests := []struct {
		name string
		data string
		want string
	}{
		{"not json", `{`, "decode"},
		{"unknown field", `{"extra": 1}`, `unknown field "extra"`},
		{"no specialists", doc(``, ``), "no specialists"},
		{"empty id", doc(spec("", "D", "low"), ``), "specialists[0]: empty id"},
		{"empty department", doc(spec("a", "", "low"), ``), `specialist "a": empty department`},
		{"duplicate id", doc(ok+","+spec("a", "E", "high"), ``), `specialist "a": duplicate id`},
		{"bad priority", doc(spec("a", "D", "urgent"), ``), `specialist "a"`},
		{"unknown step", doc(ok, `"W": ["a", "ghost"]`), `workflow "W": step 1: unknown specialist "ghost"`},
		{"empty workflow", doc(ok, `"W": []`), `workflow "W": no steps`},
		{"missing weight", strings.Replace(doc(ok, ``), `"low": 0.3}`, `"lo": 0.3}`, 1), `priority_weights: missing "low"`},
		{"bad cold start", strings.Replace(doc(ok, ``), `"cold_start_ms": 1000`, `"cold_start_ms": -1`, 1), "reference_costs.cold_start_ms = -1"},
		{"missing state", strings.Replace(doc(ok, ``), `"error": 0.5`, `"broken": 0.5`, 1), `memory_mb_by_state: missing "error"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := catalog.Parse([]byte(tt.data))
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tt.want)
			if tt.name != "not json" && tt.name != "unknown field" {
				assert.True(t, errors.Is(err, catalog.ErrInvalid), "%v", err)
			}
		})
	}
}
