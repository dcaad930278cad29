package pool

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/bumba/pooling/pool/internal/sequence"
)

// Prediction names a specialist expected among the next tasks and how
// likely it is.
type Prediction struct {
	ID          string
	Probability float64
}

// Predictor learns the task sequence and names what is likely next.
//
// Observe is called for each task, on the Execute path, with the specialist
// chosen for it; it appends its predictions, most likely first, to dst and
// returns the extended slice. The pool calls it one task at a time; a task
// that arrives while another is being observed is not observed (counted in
// Stats.ObservationsDropped) rather than made to wait. It must be quick: it
// runs before every task.
type Predictor interface {
	Observe(at time.Time, id, department string, dst []Prediction) []Prediction
}

// WorkflowReporter is implemented by predictors that detect workflows; the
// pool's Stats include what it reports.
type WorkflowReporter interface {
	WorkflowStats() WorkflowStats
}

// Workflow is a named, ordered sequence of specialists that tends to run
// together (design → implement → test …).
type Workflow struct {
	Name  string
	Steps []string
}

// WorkflowStats counts what a workflow detector saw.
//
// An instance of a known workflow is Seen once at least three of its steps
// (all of them for a shorter workflow) have run in order inside the
// prediction window, allowing one step to be skipped; it was Recognised if
// the detector named the workflow at the instance's second task.
type WorkflowStats struct {
	Declared   int
	Learned    int
	Seen       uint64
	Recognised uint64
	// Detections counts every time a workflow was named at a second task,
	// including starts that never went on to be seen.
	Detections uint64
}

// DetectionRate is Recognised / Seen (0 before any instance was seen).
func (w WorkflowStats) DetectionRate() float64 {
	if w.Seen == 0 {
		return 0
	}
	return float64(w.Recognised) / float64(w.Seen)
}

// SequencePredictor is the default Predictor: an order-1/order-2 Markov model
// of which specialist follows which, plus a workflow detector that knows
// declared workflows and learns recurring cross-department sequences.
//
// Markov: successor counts are kept per previous specialist and per pair of
// previous specialists; order 2 is used when its context has been seen at
// least twice, else order 1. Counts are halved when a context reaches 256
// observations, so the model follows a changing workload. A successor's
// share of its context's counts is multiplied by the model's precision: the
// share of its recent top guesses that came true within the window (with a
// uniform prior). Independent arrivals also come in some order; a model that
// only sees coincidences so predicts little.
//
// Workflows: a partial match starts at any task that is some workflow's first
// step, and the workflow's second step is predicted with the measured share
// of first steps that went on to a second (uniform prior: ½ before any). The
// match advances when a later task (inside the window) is the next step or
// the one after it. At the match's second task the workflow is detected and,
// at each step from then on, the next step is predicted with the workflow's
// measured completion rate (0.9 until five detections). One specialist every
// eight tasks, round robin, is mined: its lag 1–3 successor counts (weighted 3, 2,
// 1) are followed for a chain of three to six specialists whose every link
// has a head seen at least three times and a confidence ≥ 0.4 (weighted
// count / 3 × head occurrences: 1 when the next step always comes right
// after, 0.67 when always one task later) and that spans two or more
// departments; such a chain with a link no workflow has becomes a learned
// workflow.
//
// Bounds: memory is O(specialists seen), whatever the task stream, and the
// specialists it learns are bounded too: it keeps the IDs (and departments)
// of the pool it serves, plus at most MaxPredictorIDs more that Observe
// names (a host calling it with IDs of its own); a task for a further
// unknown ID is not learned and gets no prediction. Per specialist: a fixed
// block of successors per specialist; order-2 contexts in a table of
// the power of two at or above 4 × specialists slots (at least 1 024, at
// most 2^20) where a new context
// replaces the least counted of its probe window; at most two learned
// workflows per first step and max(16, specialists / 2) in all, the least
// detected recently giving way to a new one; the window's history, matches
// and detections in rings. A task costs O(1) plus the matches its
// specialist can advance (bounded by the window).
type SequencePredictor struct {
	mu      sync.Mutex
	bound   int    // IDs bound by a pool (bind)
	unknown uint64 // tasks for IDs beyond the bound, not learned
	m       *sequence.Model
	index   map[string]int32
	names   []string
	depts   map[string]int32
	buf     []sequence.Prediction
	// declared are the declared workflows' names, in order.
	declared []string
}

// NewSequencePredictor returns the default Predictor looking back over window
// tasks, knowing the declared workflows; detect turns workflow detection on.
func NewSequencePredictor(window int, detect bool, declared ...Workflow) *SequencePredictor {
	p := &SequencePredictor{
		m:     sequence.New(window, detect),
		index: make(map[string]int32),
		depts: make(map[string]int32),
	}
	for _, w := range declared {
		if len(w.Steps) < 2 {
			continue
		}
		steps := make([]int32, len(w.Steps))
		for i, id := range w.Steps {
			steps[i] = p.intern(id, "")
		}
		if slices.Contains(steps, -1) {
			continue // beyond MaxPredictorIDs
		}
		p.m.Declare(steps)
		p.declared = append(p.declared, w.Name)
	}
	return p
}

// MaxPredictorIDs bounds the specialist IDs (and departments) a
// SequencePredictor learns beyond those of the pool it serves.
const MaxPredictorIDs = 1 << 16

// intern returns id's number, adding it (with its department, if known);
// −1 when id is new and the predictor knows as many IDs as it may.
func (p *SequencePredictor) intern(id, dept string) int32 {
	return p.internBounded(id, dept, p.bound+MaxPredictorIDs)
}

func (p *SequencePredictor) internBounded(id, dept string, limit int) int32 {
	k, known := p.index[id]
	if !known && len(p.names) >= limit {
		return -1
	}
	d := int32(-1)
	if dept != "" {
		var ok bool
		if d, ok = p.depts[dept]; !ok && len(p.depts) < limit {
			d = int32(len(p.depts))
			p.depts[dept] = d
		} else if !ok {
			d = -1
		}
	}
	if known {
		if d >= 0 {
			p.m.SetDepartment(k, d)
		}
		return k
	}
	k = p.m.Add(d)
	p.index[id] = k
	p.names = append(p.names, id)
	return k
}

// WorkflowStats implements WorkflowReporter.
func (p *SequencePredictor) WorkflowStats() WorkflowStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.m.Stats()
	return WorkflowStats{Declared: s.Declared, Learned: s.Learned, Seen: s.Seen, Recognised: s.Recognised, Detections: s.Detections}
}

// Workflows returns the declared and then the learned workflows; a learned
// one is named "learned:" and its first step.
func (p *SequencePredictor) Workflows() []Workflow {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Workflow
	declared := 0
	p.m.Workflows(func(steps []int32, learned bool) {
		w := Workflow{Steps: make([]string, len(steps))}
		for j, k := range steps {
			w.Steps[j] = p.names[k]
		}
		if learned {
			w.Name = "learned:" + w.Steps[0]
		} else {
			w.Name = p.declared[declared]
			declared++
		}
		out = append(out, w)
	})
	return out
}

// Observe implements Predictor: predictions most likely first.
func (p *SequencePredictor) Observe(_ time.Time, id, department string, dst []Prediction) []Prediction {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := p.intern(id, department)
	if k < 0 {
		p.unknown++
		return dst
	}
	p.buf = p.m.Observe(k, p.buf[:0])
	start := len(dst)
	for _, q := range p.buf {
		dst = append(dst, Prediction{ID: p.names[q.K], Probability: q.Probability})
	}
	slices.SortStableFunc(dst[start:], func(a, b Prediction) int { return cmp.Compare(b.Probability, a.Probability) })
	return dst
}

// bind interns the pool's specialists (in order) and returns the maps
// between the pool's indices and the predictor's: a predictor used before,
// or shared, may number them differently.
func (p *SequencePredictor) bind(list []*specialist) (toSeq, fromSeq []int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	toSeq = make([]int32, len(list))
	for i, s := range list {
		toSeq[i] = p.internBounded(s.spec.ID, s.spec.Department, math.MaxInt) // the pool's own: always
	}
	p.bound = max(p.bound, len(list))
	fromSeq = make([]int32, len(p.names))
	for i := range fromSeq {
		fromSeq[i] = -1
	}
	for i, k := range toSeq {
		fromSeq[k] = int32(i)
	}
	return toSeq, fromSeq
}

// observeIndex is Observe on the predictor's own numbering, for the pool.
func (p *SequencePredictor) observeIndex(k int32, dst []sequence.Prediction) []sequence.Prediction {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m.Observe(k, dst)
}
