package pool

import (
	"slices"
	"strings"
	"sync"
	"time"
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
// measured completion rate (0.9 until measured). Every 128 tasks the detector mines successor
// counts at lags 1–3 (weighted 3, 2, 1) for chains of three to six
// specialists whose every link has a head seen at least three times and a
// confidence ≥ 0.4 (weighted count / 3 × head occurrences: 1 when the next
// step always comes right after, 0.67 when always one task later) and that
// span two or more departments; those chains become learned workflows.
type SequencePredictor struct {
	mu        sync.Mutex
	window    int
	workflows bool
	seq       uint64

	// Specialists are interned: the model works on small integers.
	index map[string]int32
	names []string
	depts []string

	hist    []histEntry // ring of the last window tasks
	head    int         // where the next task goes in hist
	count   int         // tasks in hist
	order1  []*successors
	order2  map[uint64]*successors
	lagged  []*successors // lag 1–3 successors, for mining
	byFirst [][]*flow

	flows     []*flow
	stepsOf   [][]flowStep // the workflows each specialist is a step of
	matches   []match
	detected  []detection // recent detections, newest last
	declared  int
	stats     WorkflowStats
	lastMined uint64

	// The Markov model's precision, measured: each task's most likely
	// successor is checked against the next window tasks. Its predictions
	// are scaled by it, so a model that guesses coincidences (independent
	// arrivals have orders too) stops costing evictions.
	guesses              []int32 // ring, one per task: its top successor or -1
	guessHits, guessMiss uint32
}

type histEntry struct {
	id      int32
	claimed bool // part of a seen workflow instance
	seq     uint64
}

type flowStep struct {
	f *flow
	j int
}

type detection struct {
	f      *flow
	second uint64 // the task at which the workflow was named
}

type flow struct {
	name      string
	steps     []int32
	detected  uint64
	completed uint64
	started   uint64 // first steps seen (matches begun)
}

// match is the online matcher's reading of a workflow in progress.
type match struct {
	f       *flow
	next    int // index of the next step expected
	matched int // steps matched so far
	lastSeq uint64
}

const successorSlots = 8

// successors keeps the most frequent successors of a context (space-saving:
// a new successor replaces the least counted when the slots are full).
type successors struct {
	total uint32 // sum of n
	limit uint32 // counts halve when total reaches it
	occ   uint32 // occurrences of the context itself (lagged only)
	ids   [successorSlots]int32
	n     [successorSlots]uint32
}

func (s *successors) add(id int32, w uint32) {
	s.total += w
	low := 0
	for i := range s.ids {
		if s.ids[i] == id && s.n[i] > 0 {
			s.n[i] += w
			s.maybeHalve()
			return
		}
		if s.n[i] < s.n[low] {
			low = i
		}
	}
	s.ids[low] = id
	s.n[low] += w
	s.maybeHalve()
}

func (s *successors) maybeHalve() {
	if s.total < s.limit {
		return
	}
	s.total = 0
	s.occ /= 2
	for i := range s.n {
		s.n[i] /= 2
		s.total += s.n[i]
	}
}

// NewSequencePredictor returns the default Predictor looking back over window
// tasks, knowing the declared workflows; detect turns workflow detection on.
func NewSequencePredictor(window int, detect bool, declared ...Workflow) *SequencePredictor {
	p := &SequencePredictor{
		window:    max(window, 2),
		workflows: detect,
		index:     make(map[string]int32),
		order2:    make(map[uint64]*successors),
	}
	p.hist = make([]histEntry, p.window)
	p.guesses = make([]int32, p.window)
	for i := range p.guesses {
		p.guesses[i] = -1
	}
	for _, w := range declared {
		if len(w.Steps) < 2 {
			continue
		}
		steps := make([]int32, len(w.Steps))
		for i, id := range w.Steps {
			steps[i] = p.intern(id, "")
		}
		p.addFlow(&flow{name: w.Name, steps: steps})
		p.declared++
	}
	p.stats.Declared = p.declared
	return p
}

// intern returns id's number, adding it (with its department, if known).
func (p *SequencePredictor) intern(id, dept string) int32 {
	if n, ok := p.index[id]; ok {
		if dept != "" && p.depts[n] == "" {
			p.depts[n] = dept
		}
		return n
	}
	n := int32(len(p.names))
	p.index[id] = n
	p.names = append(p.names, id)
	p.depts = append(p.depts, dept)
	p.order1 = append(p.order1, nil)
	p.lagged = append(p.lagged, nil)
	p.byFirst = append(p.byFirst, nil)
	p.stepsOf = append(p.stepsOf, nil)
	return n
}

func (p *SequencePredictor) addFlow(f *flow) {
	p.flows = append(p.flows, f)
	p.byFirst[f.steps[0]] = append(p.byFirst[f.steps[0]], f)
	for j, id := range f.steps {
		p.stepsOf[id] = append(p.stepsOf[id], flowStep{f, j})
	}
}

// WorkflowStats implements WorkflowReporter.
func (p *SequencePredictor) WorkflowStats() WorkflowStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Learned = len(p.flows) - p.declared
	return s
}

// Workflows returns the declared and then the learned workflows.
func (p *SequencePredictor) Workflows() []Workflow {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Workflow, len(p.flows))
	for i, f := range p.flows {
		steps := make([]string, len(f.steps))
		for j, n := range f.steps {
			steps[j] = p.names[n]
		}
		out[i] = Workflow{Name: f.name, Steps: steps}
	}
	return out
}

// Observe implements Predictor.
func (p *SequencePredictor) Observe(_ time.Time, id, department string, dst []Prediction) []Prediction {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	cur := p.intern(id, department)
	n := p.count
	p.checkGuesses(cur)
	prev1, prev2 := int32(-1), int32(-1)
	if n >= 1 {
		prev1 = p.back(0).id
		p.succ(&p.order1[prev1], 256).add(cur, 1)
	}
	if n >= 2 {
		prev2 = p.back(1).id
		k := pairKey(prev2, prev1)
		s := p.order2[k]
		if s == nil {
			s = &successors{limit: 256}
			p.order2[k] = s
		}
		s.add(cur, 1)
	}
	if p.workflows {
		// Successors at lag 1, 2, 3 weigh 3, 2, 1 and feed workflow mining:
		// concurrent workflows interleave, so a next step is often not the
		// very next task. Repeats of one specialist are not a sequence.
		p.succ(&p.lagged[cur], 768).occ++
		for lag := 1; lag <= 3 && lag <= n; lag++ {
			if prev := p.back(lag - 1).id; prev != cur {
				p.succ(&p.lagged[prev], 768).add(cur, uint32(4-lag))
			}
		}
	}
	p.hist[p.head] = histEntry{id: cur, seq: p.seq}
	p.head = (p.head + 1) % p.window
	p.count = min(p.count+1, p.window)

	if p.workflows {
		dst = p.advanceWorkflows(cur, dst)
		// Mining costs O(specialists): run it as often as that stays a
		// small share of the work per task.
		if p.seq-p.lastMined >= uint64(max(128, 2*len(p.names))) {
			p.lastMined = p.seq
			p.mine()
		}
	}
	return p.markov(prev1, cur, dst)
}

// checkGuesses scores the Markov guesses of the last window tasks against
// cur, the newest task.
func (p *SequencePredictor) checkGuesses(cur int32) {
	for i, g := range p.guesses {
		if g == cur {
			p.guessHits++
			p.guesses[i] = -1
		}
	}
	if p.guessHits+p.guessMiss >= 1024 {
		p.guessHits /= 2
		p.guessMiss /= 2
	}
}

// guess records the Markov model's top successor for the task at p.seq; the
// guess it replaces, a window old and never seen, is a miss.
func (p *SequencePredictor) guess(id int32) {
	i := int(p.seq % uint64(len(p.guesses)))
	if p.guesses[i] >= 0 {
		p.guessMiss++
	}
	p.guesses[i] = id
}

// precision is the share of Markov guesses seen within the window, with a
// uniform prior (½ before any is scored).
func (p *SequencePredictor) precision() float64 {
	return float64(p.guessHits+1) / float64(p.guessHits+p.guessMiss+2)
}

// keepLast keeps the last n elements in place, so the backing array is
// reused rather than regrown.
func keepLast[T any](s []T, n int) []T {
	if len(s) <= n {
		return s
	}
	copy(s, s[len(s)-n:])
	return s[:n]
}

// back returns the task age places before the newest (0: the newest).
func (p *SequencePredictor) back(age int) *histEntry {
	return &p.hist[(p.head-1-age+2*p.window)%p.window]
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

func (p *SequencePredictor) succ(slot **successors, limit uint32) *successors {
	if *slot == nil {
		*slot = &successors{limit: limit}
	}
	return *slot
}

// markov appends the successors of the current context.
func (p *SequencePredictor) markov(prev, cur int32, dst []Prediction) []Prediction {
	ctx := p.order1[cur]
	if prev >= 0 {
		if s := p.order2[pairKey(prev, cur)]; s != nil && s.total >= 2 {
			ctx = s
		}
	}
	if ctx == nil || ctx.total == 0 {
		p.guess(-1)
		return dst
	}
	start := len(dst)
	top, topN := int32(-1), uint32(0)
	prec := p.precision()
	for i := range ctx.ids {
		if ctx.n[i] == 0 {
			continue
		}
		if ctx.n[i] > topN {
			top, topN = ctx.ids[i], ctx.n[i]
		}
		dst = appendMax(dst, start, Prediction{ID: p.names[ctx.ids[i]], Probability: prec * float64(ctx.n[i]) / float64(ctx.total)})
	}
	p.guess(top)
	slices.SortFunc(dst[start:], func(a, b Prediction) int {
		switch {
		case a.Probability > b.Probability:
			return -1
		case a.Probability < b.Probability:
			return 1
		}
		return 0
	})
	return dst
}

// appendMax appends q unless dst[start:] already names q.ID, in which case
// the larger probability is kept.
func appendMax(dst []Prediction, start int, q Prediction) []Prediction {
	for i := start; i < len(dst); i++ {
		if dst[i].ID == q.ID {
			if q.Probability > dst[i].Probability {
				dst[i].Probability = q.Probability
			}
			return dst
		}
	}
	return append(dst, q)
}

func (p *SequencePredictor) advanceWorkflows(id int32, dst []Prediction) []Prediction {
	// Drop matches that ended or made no progress inside the window, now
	// and then: the loop below skips them meanwhile.
	if len(p.matches) >= 2*p.window {
		live := p.matches[:0]
		for _, m := range p.matches {
			if p.seq-m.lastSeq <= uint64(p.window) && m.next < len(m.f.steps) {
				live = append(live, m)
			}
		}
		p.matches = live
	}

	// A task advances at most one match per workflow, the oldest that wants
	// it: two interleaved instances of one workflow stay two readings.
	var advanced [4]*flow
	nAdv := 0
	for i := range p.matches {
		m := &p.matches[i]
		if m.next >= len(m.f.steps) || p.seq-m.lastSeq > uint64(p.window) || slices.Contains(advanced[:nAdv], m.f) {
			continue
		}
		step := -1
		switch {
		case m.f.steps[m.next] == id:
			step = m.next
		case m.next+1 < len(m.f.steps) && m.f.steps[m.next+1] == id && m.matched == m.next:
			step = m.next + 1 // one skipped step
		}
		if step < 0 {
			continue
		}
		if nAdv < len(advanced) {
			advanced[nAdv] = m.f
			nAdv++
		}
		m.next = step + 1
		m.matched++
		m.lastSeq = p.seq
		if m.matched == 2 {
			m.f.detected++
			p.stats.Detections++
			p.detected = append(p.detected, detection{m.f, p.seq})
		}
		if m.matched >= 2 && m.next < len(m.f.steps) {
			prob := 0.9
			if m.f.detected >= 5 {
				prob = min(1, float64(m.f.completed)/float64(m.f.detected))
			}
			for j := m.next; j < len(m.f.steps) && j < m.next+1; j++ {
				dst = appendMax(dst, 0, Prediction{ID: p.names[m.f.steps[j]], Probability: prob})
			}
		}
	}
	for _, f := range p.byFirst[id] {
		f.started++
		p.matches = append(p.matches, match{f: f, next: 1, matched: 1, lastSeq: p.seq})
		// The chance that this first step begins an instance, measured
		// with a uniform prior: detections per first steps seen.
		prob := float64(f.detected+1) / float64(f.started+1)
		dst = appendMax(dst, 0, Prediction{ID: p.names[f.steps[1]], Probability: min(prob, 1)})
	}
	p.matches = keepLast(p.matches, 4*p.window)
	p.detected = keepLast(p.detected, 4*p.window)
	p.see(id)
	return dst
}

// see counts workflow instances independently of the online matcher: when
// the task is a workflow's third step or later, the window is searched back
// for the earlier steps in order (one may be missing), among tasks no seen
// instance has claimed. A found instance is Seen, and Recognised if the
// matcher named that workflow at the instance's second task.
func (p *SequencePredictor) see(id int32) {
	for _, fs := range p.stepsOf[id] {
		f, j := fs.f, fs.j
		if j < 2 && !(j == len(f.steps)-1 && j >= 1) {
			continue // too early to be an instance (two-step workflows: at the second)
		}
		var found [8]int // ages in hist, newest first
		n, skipped, gotFirst := 1, false, false
		pos := 1 // the current task is age 0
		for k := j - 1; k >= 0; k-- {
			at := -1
			for q := pos; q < p.count; q++ {
				if h := p.back(q); h.id == f.steps[k] && !h.claimed {
					at = q
					break
				}
			}
			if at < 0 {
				if skipped || k == 0 {
					break
				}
				skipped = true
				continue
			}
			if n < len(found) {
				found[n] = at
				n++
			}
			gotFirst = k == 0
			pos = at + 1
		}
		if !gotFirst || n < min(3, len(f.steps)) {
			continue
		}
		p.stats.Seen++
		f.completed++
		// found runs newest first. Named by the second task: after the
		// first and no later than the second (a repeated step counts once).
		first, second := p.back(found[n-1]).seq, p.back(found[n-2]).seq
		for _, d := range p.detected {
			if d.f == f && d.second > first && d.second <= second {
				p.stats.Recognised++
				break
			}
		}
		for _, q := range found[:n] {
			p.back(q).claimed = true
		}
		return // one task completes at most one instance
	}
}

// mine turns confident lag-1–3 successor chains into learned workflows.
func (p *SequencePredictor) mine() {
	known := make(map[uint64]bool, 4*len(p.flows))
	for _, f := range p.flows {
		for i := 0; i+1 < len(f.steps); i++ {
			known[pairKey(f.steps[i], f.steps[i+1])] = true
		}
	}
	// Heads in name order, so that what is learned does not depend on the
	// order specialists were first seen.
	heads := make([]int32, 0, len(p.names))
	for n, s := range p.lagged {
		if s != nil && s.occ >= 3 {
			heads = append(heads, int32(n))
		}
	}
	slices.SortFunc(heads, func(a, b int32) int { return strings.Compare(p.names[a], p.names[b]) })
	for _, head := range heads {
		chain := []int32{head}
		depts := map[string]bool{p.depts[head]: true}
		cur := head
		for len(chain) < 6 {
			s := p.lagged[cur]
			if s == nil || s.occ < 3 {
				break
			}
			best, bestN := int32(-1), uint32(0)
			for i := range s.ids {
				if s.n[i] > bestN && !slices.Contains(chain, s.ids[i]) {
					best, bestN = s.ids[i], s.n[i]
				}
			}
			// Confidence: the weighted share of cur's occurrences that
			// best followed within three tasks (1 if always right after).
			if best < 0 || float64(bestN)/float64(3*s.occ) < 0.4 {
				break
			}
			chain = append(chain, best)
			depts[p.depts[best]] = true
			cur = best
		}
		if len(chain) < 3 || len(depts) < 2 {
			continue
		}
		novel := false
		for i := 0; i+1 < len(chain); i++ {
			if !known[pairKey(chain[i], chain[i+1])] {
				novel = true
			}
		}
		if !novel {
			continue
		}
		for i := 0; i+1 < len(chain); i++ {
			known[pairKey(chain[i], chain[i+1])] = true
		}
		p.addFlow(&flow{name: "learned:" + p.names[head], steps: chain})
	}
}
