// Package catalog reads the BUMBA specialist catalogue: the 83 specialists,
// their departments and priorities, the named cross-department workflows and
// the reference costs the original pooling subsystem modelled.
//
// The catalogue is embedded, so that tests, examples and benchmarks run on a
// fresh machine with nothing else. It is small, so Load parses it on every
// call instead of caching it in a package variable: callers own their copy
// and may change it freely.
package catalog

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/bumba/pooling/pool"
)

//go:embed bumba-specialists.json
var embedded []byte

// ErrInvalid is wrapped by every error Parse returns for a catalogue that
// does not hold together (as opposed to one that is not JSON at all).
var ErrInvalid = errors.New("invalid catalogue")

// Catalog is the parsed catalogue.
type Catalog struct {
	// About is the catalogue's provenance note.
	About string
	// Specialists in catalogue order.
	Specialists []Specialist
	// Departments, sorted, each named by at least one specialist.
	Departments []string
	// Workflows sorted by name.
	Workflows []Workflow
	// Costs are the reference costs of the original subsystem.
	Costs ReferenceCosts
	// PriorityWeights maps "high", "medium" and "low" to their usage-score
	// weights.
	PriorityWeights map[string]float64
}

// Specialist is one entry of the catalogue.
type Specialist struct {
	// ID is unique across the catalogue.
	ID string
	// Type is the specialist's kind (several IDs may share one).
	Type string
	// Department groups specialists.
	Department string
	// Priority is high, medium or low.
	Priority pool.Priority
}

// Workflow is a named cross-department sequence of specialists.
type Workflow struct {
	Name  string
	Steps []string
}

// ReferenceCosts are the costs the original subsystem modelled for one
// specialist. Memory figures are in bytes, converted from the catalogue's
// megabytes (1 MB = 1<<20 bytes, rounded to the nearest byte).
type ReferenceCosts struct {
	// ColdStart is the time to start a cold specialist.
	ColdStart time.Duration
	// WarmStart is the time to hand a task to a warm specialist.
	WarmStart time.Duration
	// Task is the time one task takes.
	Task time.Duration

	// Memory held by a specialist in each state of the original
	// subsystem's lifecycle; WarmMemoryBytes (5 MB) is what a warm,
	// idle specialist holds.
	ColdMemoryBytes    int64
	WarmingMemoryBytes int64
	WarmMemoryBytes    int64
	ActiveMemoryBytes  int64
	CoolingMemoryBytes int64
	ErrorMemoryBytes   int64
	// BaselineMemoryBytes is what one specialist costs in the legacy
	// always-warm host; 83 of them make the ~415 MB baseline.
	BaselineMemoryBytes int64
}

// Load parses the embedded catalogue.
func Load() (*Catalog, error) {
	return Parse(embedded)
}

// Specialist returns the specialist with the given ID.
func (c *Catalog) Specialist(id string) (Specialist, bool) {
	for _, s := range c.Specialists {
		if s.ID == id {
			return s, true
		}
	}
	return Specialist{}, false
}

// Workflow returns the workflow with the given name.
func (c *Catalog) Workflow(name string) (Workflow, bool) {
	i, ok := slices.BinarySearchFunc(c.Workflows, name, func(w Workflow, n string) int {
		return strings.Compare(w.Name, n)
	})
	if !ok {
		return Workflow{}, false
	}
	return c.Workflows[i], true
}

// InDepartment returns the specialists of one department, in catalogue
// order.
func (c *Catalog) InDepartment(dept string) []Specialist {
	var out []Specialist
	for _, s := range c.Specialists {
		if s.Department == dept {
			out = append(out, s)
		}
	}
	return out
}

// The JSON shape of the catalogue file.
type fileFormat struct {
	About          string              `json:"about"`
	ReferenceCosts fileCosts           `json:"reference_costs"`
	Weights        map[string]float64  `json:"priority_weights"`
	Specialists    []fileSpecialist    `json:"specialists"`
	Workflows      map[string][]string `json:"workflows"`
}

type fileCosts struct {
	MemoryMBByState map[string]float64 `json:"memory_mb_by_state"`
	ColdStartMS     float64            `json:"cold_start_ms"`
	WarmStartMS     float64            `json:"warm_start_ms"`
	TaskMS          float64            `json:"task_ms"`
	BaselineMB      float64            `json:"always_warm_baseline_mb_per_specialist"`
}

type fileSpecialist struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Department string `json:"department"`
	Priority   string `json:"priority"`
}

// Parse reads a catalogue in the format of the embedded file and checks that
// it holds together: unique non-empty IDs, known priorities, workflows made
// of known specialists, positive costs. Unknown fields are rejected so that a
// changed file format is noticed rather than half-read.
func Parse(data []byte) (*Catalog, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f fileFormat
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("catalog: decode: %w", err)
	}
	c := &Catalog{About: f.About}

	if len(f.Specialists) == 0 {
		return nil, invalid("no specialists")
	}
	seen := make(map[string]int, len(f.Specialists))
	depts := make(map[string]bool)
	for i, fs := range f.Specialists {
		switch {
		case fs.ID == "":
			return nil, invalid("specialists[%d]: empty id", i)
		case fs.Department == "":
			return nil, invalid("specialist %q: empty department", fs.ID)
		}
		if j, dup := seen[fs.ID]; dup {
			return nil, invalid("specialist %q: duplicate id (specialists[%d] and [%d])", fs.ID, j, i)
		}
		seen[fs.ID] = i
		p, err := pool.ParsePriority(fs.Priority)
		if err != nil {
			return nil, fmt.Errorf("catalog: specialist %q: %w: %w", fs.ID, ErrInvalid, err)
		}
		depts[fs.Department] = true
		c.Specialists = append(c.Specialists, Specialist{
			ID: fs.ID, Type: fs.Type, Department: fs.Department, Priority: p,
		})
	}
	for d := range depts {
		c.Departments = append(c.Departments, d)
	}
	slices.Sort(c.Departments)

	for name, steps := range f.Workflows {
		if name == "" {
			return nil, invalid("workflow with empty name")
		}
		if len(steps) == 0 {
			return nil, invalid("workflow %q: no steps", name)
		}
		for i, id := range steps {
			if _, ok := seen[id]; !ok {
				return nil, invalid("workflow %q: step %d: unknown specialist %q", name, i, id)
			}
		}
		c.Workflows = append(c.Workflows, Workflow{Name: name, Steps: slices.Clone(steps)})
	}
	// Map order is random; sorting makes everything downstream reproducible.
	slices.SortFunc(c.Workflows, func(a, b Workflow) int { return strings.Compare(a.Name, b.Name) })

	for _, p := range []string{"high", "medium", "low"} {
		w, ok := f.Weights[p]
		if !ok {
			return nil, invalid("priority_weights: missing %q", p)
		}
		if !(w > 0 && w <= 1) {
			return nil, invalid("priority_weights[%q] = %v: want a value in (0, 1]", p, w)
		}
	}
	for p := range f.Weights {
		if _, err := pool.ParsePriority(p); err != nil {
			return nil, invalid("priority_weights: unknown priority %q", p)
		}
	}
	c.PriorityWeights = f.Weights

	costs, err := parseCosts(f.ReferenceCosts)
	if err != nil {
		return nil, err
	}
	c.Costs = costs
	return c, nil
}

func parseCosts(fc fileCosts) (ReferenceCosts, error) {
	var rc ReferenceCosts
	var err error
	ms := func(field string, v float64) time.Duration {
		if err == nil && !(v > 0 && v < float64(math.MaxInt64/int64(time.Millisecond))) {
			err = invalid("reference_costs.%s = %v: want a positive number of milliseconds", field, v)
		}
		return time.Duration(math.Round(v * float64(time.Millisecond)))
	}
	mb := func(field string, v float64) int64 {
		if err == nil && !(v >= 0 && v < 1<<30) {
			err = invalid("reference_costs.%s = %v: want a non-negative number of megabytes", field, v)
		}
		return int64(math.Round(v * (1 << 20)))
	}
	state := func(name string) int64 {
		v, ok := fc.MemoryMBByState[name]
		if !ok && err == nil {
			err = invalid("reference_costs.memory_mb_by_state: missing %q", name)
		}
		return mb("memory_mb_by_state."+name, v)
	}
	rc.ColdStart = ms("cold_start_ms", fc.ColdStartMS)
	rc.WarmStart = ms("warm_start_ms", fc.WarmStartMS)
	rc.Task = ms("task_ms", fc.TaskMS)
	rc.ColdMemoryBytes = state("cold")
	rc.WarmingMemoryBytes = state("warming")
	rc.WarmMemoryBytes = state("warm")
	rc.ActiveMemoryBytes = state("active")
	rc.CoolingMemoryBytes = state("cooling")
	rc.ErrorMemoryBytes = state("error")
	rc.BaselineMemoryBytes = mb("always_warm_baseline_mb_per_specialist", fc.BaselineMB)
	if err == nil && rc.WarmMemoryBytes == 0 {
		err = invalid("reference_costs.memory_mb_by_state.warm = 0: want a positive size")
	}
	return rc, err
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("catalog: %s: %w", fmt.Sprintf(format, args...), ErrInvalid)
}
