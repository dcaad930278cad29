// Package workload generates seeded, reproducible BUMBA workloads from the
// specialist catalogue, for tests, examples and benchmarks.
//
// A workload is a time-ordered list of events, each a pool.Task and its
// offset from the start. It mixes instances of the catalogue's workflows
// (some of them varied: a step skipped, repeated, or an ad-hoc step
// inserted), several in flight at once with their steps interleaved, with
// ad-hoc tasks whose specialists follow a Zipf-like popularity, so that a
// few are hot. Some ad-hoc tasks name only a department. Arrivals come in
// bursts and are broken by idle gaps long enough for cooldowns to expire.
// Every event records the workflow instance it belongs to, so Summarize can
// give the ground truth a predictor is judged against.
package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/bumba/pooling/internal/catalog"
	"github.com/bumba/pooling/pool"
)

// Variant says how a workflow instance deviates from its catalogue
// workflow.
type Variant uint8

// Variants.
const (
	// VariantNone: the catalogue's steps, in order.
	VariantNone Variant = iota
	// VariantSkip: one step left out.
	VariantSkip
	// VariantRepeat: one step done twice in a row.
	VariantRepeat
	// VariantInsert: one ad-hoc step, of a specialist not in the
	// workflow, inserted after the first step.
	VariantInsert
)

// String returns "none", "skip", "repeat" or "insert".
func (v Variant) String() string {
	switch v {
	case VariantNone:
		return "none"
	case VariantSkip:
		return "skip"
	case VariantRepeat:
		return "repeat"
	case VariantInsert:
		return "insert"
	}
	return fmt.Sprintf("Variant(%d)", uint8(v))
}

// Event is one task of a workload.
type Event struct {
	// At is the offset from the start of the workload at which the task
	// arrives. Events are sorted by At; several may share one.
	At time.Duration
	// Task is what to execute. Payload is nil; Department is always set,
	// Specialist is empty for department-only tasks.
	Task pool.Task
	// Workflow is the catalogue workflow the task is a step of, "" for an
	// ad-hoc task.
	Workflow string
	// Instance numbers workflow instances from 1, unique per instance; 0
	// for ad-hoc tasks.
	Instance int
	// Step is the task's 0-based position in its instance's actual
	// sequence (after the variant is applied); 0 for ad-hoc tasks.
	Step int
	// Variant is how the instance deviates from its workflow.
	Variant Variant
}

// CommandFor returns the BUMBA command name tasks of a department use.
// Unknown departments get "implement".
func CommandFor(department string) string {
	switch department {
	case "ANALYTICS", "DATA_SCIENCE", "MONITORING":
		return "analyze"
	case "ARCHITECTURE", "DESIGN":
		return "design"
	case "CLOUD", "DEVOPS", "INFRASTRUCTURE":
		return "deploy"
	case "QUALITY", "TESTING":
		return "test"
	case "SECURITY":
		return "secure"
	case "PERFORMANCE":
		return "optimize"
	case "RESEARCH", "ML_AI":
		return "research"
	}
	return "implement" // BACKEND, FRONTEND, FULLSTACK, MOBILE, DATA_ENGINEERING
}

// Generate builds a workload from the catalogue. The same catalogue, cfg
// and cfg.Seed always give the same events.
func Generate(cat *catalog.Catalog, cfg Config) ([]Event, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case cat == nil:
		return nil, fmt.Errorf("workload: nil catalogue: %w", ErrInvalidConfig)
	case len(cat.Specialists) == 0:
		return nil, fmt.Errorf("workload: catalogue has no specialists: %w", ErrInvalidConfig)
	case cfg.WorkflowShare > 0 && len(cat.Workflows) == 0:
		return nil, fmt.Errorf("workload: Config.WorkflowShare = %v but the catalogue has no workflows: %w", cfg.WorkflowShare, ErrInvalidConfig)
	}
	// The second PCG word is a fixed stream constant, so Seed alone decides.
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	g := &generator{
		cat:    cat,
		cfg:    cfg,
		rng:    rng,
		hot:    newSampler(rng, cat.Specialists, cfg.HotSetSkew),
		events: make([]Event, 0, cfg.Tasks),
		byID:   make(map[string]catalog.Specialist, len(cat.Specialists)),
	}
	for _, s := range cat.Specialists {
		g.byID[s.ID] = s
	}
	g.run()
	return g.events, nil
}

type generator struct {
	cat  *catalog.Catalog
	cfg  Config
	rng  *rand.Rand
	hot  *sampler
	byID map[string]catalog.Specialist

	now       time.Duration
	burstLeft int         // short gaps still due in the current burst
	active    []*instance // in start order, so choices are reproducible
	instances int
	events    []Event
}

// instance is a workflow instance in flight.
type instance struct {
	id      int
	name    string
	variant Variant
	steps   []string
	next    int           // index of the next step to issue
	ready   time.Duration // earliest time of the next step
}

func (g *generator) run() {
	for len(g.events) < g.cfg.Tasks {
		remaining := g.cfg.Tasks - len(g.events)
		pending := 0
		for _, in := range g.active {
			pending += len(in.steps) - in.next
		}
		// Once open instances fill what is left, only their steps are
		// issued, so that none is cut short.
		forced := pending >= remaining
		var ev Event
		ok := false
		if forced || g.rng.Float64() < g.cfg.WorkflowShare {
			ev, ok = g.workflowStep(remaining, pending)
		}
		if !ok {
			ev = g.adHoc()
		}
		ev.At = g.now
		g.events = append(g.events, ev)
		g.now += g.gap()
	}
}

// workflowStep issues the next step of an instance in flight or the first
// step of a new one; false when neither is possible.
func (g *generator) workflowStep(remaining, pending int) (Event, bool) {
	var ready []*instance
	for _, in := range g.active {
		if in.ready <= g.now {
			ready = append(ready, in)
		}
	}
	var in *instance
	if len(g.active) < g.cfg.Concurrency && (len(ready) == 0 || g.rng.IntN(len(ready)+1) == 0) {
		if cand := g.newInstance(); pending+len(cand.steps) <= remaining {
			g.instances++
			cand.id = g.instances
			g.active = append(g.active, cand)
			in = cand
		}
	}
	if in == nil && len(ready) > 0 {
		in = ready[g.rng.IntN(len(ready))]
	}
	if in == nil && len(g.active) > 0 {
		// Nothing is ready: the next workflow task is the earliest due
		// step, so time moves on to it.
		in = g.active[0]
		for _, a := range g.active[1:] {
			if a.ready < in.ready {
				in = a
			}
		}
		g.now = in.ready
	}
	if in == nil {
		return Event{}, false
	}

	id := in.steps[in.next]
	sp := g.byID[id]
	ev := Event{
		Task:     g.task(sp),
		Workflow: in.name,
		Instance: in.id,
		Step:     in.next,
		Variant:  in.variant,
	}
	in.next++
	in.ready = g.now + g.cfg.StepGap
	if in.next == len(in.steps) {
		g.active = slices.DeleteFunc(g.active, func(a *instance) bool { return a == in })
	}
	return ev, true
}

// newInstance draws a workflow and its variant.
func (g *generator) newInstance() *instance {
	wf := g.cat.Workflows[g.rng.IntN(len(g.cat.Workflows))]
	in := &instance{name: wf.Name, steps: slices.Clone(wf.Steps)}
	if g.rng.Float64() >= g.cfg.VariantRate {
		return in
	}
	n := len(in.steps)
	switch v := Variant(1 + g.rng.IntN(3)); v {
	case VariantSkip:
		if n < 2 {
			return in // skipping the only step would leave no workflow
		}
		i := g.rng.IntN(n)
		in.steps = slices.Delete(in.steps, i, i+1)
		in.variant = v
	case VariantRepeat:
		i := g.rng.IntN(n)
		in.steps = slices.Insert(in.steps, i, in.steps[i])
		in.variant = v
	case VariantInsert:
		if extra, ok := g.outsider(wf.Steps); ok {
			in.steps = slices.Insert(in.steps, 1+g.rng.IntN(n), extra)
			in.variant = v
		}
	}
	return in
}

// outsider draws a specialist, by popularity, that is not among steps.
func (g *generator) outsider(steps []string) (string, bool) {
	for range 16 {
		if s := g.hot.pick(g.rng); !slices.Contains(steps, s.ID) {
			return s.ID, true
		}
	}
	// Rare: the hot set is the workflow. Take any outsider, in catalogue
	// order so the choice stays reproducible.
	for _, s := range g.cat.Specialists {
		if !slices.Contains(steps, s.ID) {
			return s.ID, true
		}
	}
	return "", false
}

func (g *generator) adHoc() Event {
	sp := g.hot.pick(g.rng)
	t := g.task(sp)
	if g.rng.Float64() < g.cfg.DepartmentOnlyShare {
		t.Specialist = ""
	}
	return Event{Task: t}
}

func (g *generator) task(sp catalog.Specialist) pool.Task {
	return pool.Task{
		Specialist: sp.ID,
		Department: sp.Department,
		Command:    CommandFor(sp.Department),
		Priority:   g.priority(sp.Priority),
	}
}

func (g *generator) priority(p pool.Priority) pool.Priority {
	if g.rng.Float64() >= g.cfg.PriorityNoise {
		return p
	}
	switch p {
	case pool.PriorityHigh, pool.PriorityLow:
		return pool.PriorityMedium
	}
	if g.rng.IntN(2) == 0 {
		return pool.PriorityHigh
	}
	return pool.PriorityLow
}

// gap returns the time to the next task: short inside a burst, long for an
// idle gap, exponential around MeanGap otherwise.
func (g *generator) gap() time.Duration {
	if g.burstLeft == 0 {
		if g.cfg.IdleProb > 0 && g.rng.Float64() < g.cfg.IdleProb {
			return roundMS(float64(g.cfg.IdleGap) * (0.5 + g.rng.Float64()))
		}
		if g.cfg.BurstProb > 0 && g.rng.Float64() < g.cfg.BurstProb {
			// A burst of k tasks, this one included, has k-1 short gaps.
			g.burstLeft = 1 + g.rng.IntN(g.cfg.BurstSize-1)
		}
	}
	if g.burstLeft > 0 {
		g.burstLeft--
		return roundMS(g.rng.ExpFloat64() * float64(g.cfg.BurstGap))
	}
	return roundMS(g.rng.ExpFloat64() * float64(g.cfg.MeanGap))
}

// roundMS keeps offsets readable in test failures and reports.
func roundMS(ns float64) time.Duration {
	return time.Duration(math.Min(ns, float64(math.MaxInt64/2))).Round(time.Millisecond)
}

// sampler draws specialists with Zipf-like popularity.
type sampler struct {
	items []catalog.Specialist // most popular first
	cum   []float64            // cumulative weights
}

func newSampler(rng *rand.Rand, specs []catalog.Specialist, skew float64) *sampler {
	// Ranks are a seeded permutation: which specialists are hot depends on
	// the seed, not on catalogue order.
	perm := rng.Perm(len(specs))
	z := &sampler{items: make([]catalog.Specialist, len(specs)), cum: make([]float64, len(specs))}
	total := 0.0
	for rank, i := range perm {
		z.items[rank] = specs[i]
		total += math.Pow(float64(rank+1), -skew)
		z.cum[rank] = total
	}
	return z
}

func (z *sampler) pick(rng *rand.Rand) catalog.Specialist {
	x := rng.Float64() * z.cum[len(z.cum)-1]
	i := sort.SearchFloat64s(z.cum, x)
	if i == len(z.items) {
		i--
	}
	return z.items[i]
}
