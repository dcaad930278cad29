// Package sequence is the pool's default sequence model on specialist
// indices: an order-1/order-2 Markov model of which specialist follows
// which, and a workflow detector that knows declared workflows and learns
// recurring cross-department sequences. The pool's SequencePredictor wraps
// it with names; the pool feeds it indices directly.
//
// Every structure is bounded: per specialist a fixed block of successors
// (order 1, and lags 1–3 for mining); order-2 contexts in a table of
// the power of two at or above 4 × specialists entries (at least 1 024, at
// most 2^20) that replaces
// the least counted of a probe window when full; at most 2 learned
// workflows per first step and max(16, specialists / 2) in all (the least
// detected goes); the window's history, matches and detections are rings.
// So memory is O(specialists) whatever the task stream, and each task costs
// O(1) plus the matches its specialist can advance (bounded by the window).
package sequence

import (
	"math"
	"slices"
)

// Prediction names a specialist expected among the next tasks and how
// likely it is.
type Prediction struct {
	K           int32
	Probability float64
}

// Stats counts what the workflow detector saw.
//
// An instance of a known workflow is Seen once at least three of its steps
// (all of them for a shorter workflow) have run in order inside the window,
// allowing one step to be skipped; it was Recognised if the detector named
// the workflow at the instance's second task. Detections counts every time
// a workflow was named at a second task.
type Stats struct {
	Declared, Learned            int
	Seen, Recognised, Detections uint64
}

// Model is the sequence model. Not safe for concurrent use.
type Model struct {
	window    int
	workflows bool
	seq       uint64

	depts []int32 // department of each specialist (−1 unknown)

	hist  []histEntry // ring of the last window tasks
	head  int
	count int

	order1 []successors
	order2 pairTable
	lagged []successors // lag 1–3 successors, for mining

	byFirst [][]*flow
	stepsOf [][]flowStep
	flows   []*flow
	matches []match
	// detected is a ring of recent detections.
	detected []detection
	declared int
	stats    Stats
	mineAt   int32 // next head to mine
	maxFlows int

	// Precision of the Markov model: each task's top successor is checked
	// against the next window tasks.
	guesses              []int32 // ring, one per task: its top successor or −1
	pending              []uint16
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
	steps     []int32
	learned   bool
	detected  uint64
	completed uint64
	started   uint64 // first steps seen (matches begun)
	use       uint32 // detections since the last ageing, for eviction
}

type match struct {
	f       *flow
	next    int // index of the next step expected
	matched int // steps matched so far
	lastSeq uint64
}

const successorSlots = 8

// successors keeps the most frequent successors of a context (space-saving:
// a new successor replaces the least counted when the slots are full).
// Counts halve when the total reaches limit, so the model follows a
// changing workload.
type successors struct {
	total uint32
	limit uint32
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

// New returns a model looking back over window tasks (at least 2); detect
// turns workflow detection on.
func New(window int, detect bool) *Model {
	m := &Model{window: max(window, 2), workflows: detect}
	m.hist = make([]histEntry, m.window)
	m.guesses = make([]int32, m.window)
	for i := range m.guesses {
		m.guesses[i] = -1
	}
	m.order2.init(1024)
	m.maxFlows = 16
	return m
}

// Add registers one more specialist, in department dept (any small
// integer; −1 unknown), and returns its index.
func (m *Model) Add(dept int32) int32 {
	k := int32(len(m.depts))
	m.depts = append(m.depts, dept)
	m.order1 = append(m.order1, successors{limit: 256})
	m.lagged = append(m.lagged, successors{limit: 768})
	m.byFirst = append(m.byFirst, nil)
	m.stepsOf = append(m.stepsOf, nil)
	m.pending = append(m.pending, 0)
	if n := len(m.depts); 4*n > m.order2.cap() && m.order2.cap() < maxPairs {
		m.order2.grow(min(4*n, maxPairs))
	}
	m.maxFlows = max(16, len(m.depts)/2)
	return k
}

// SetDepartment records k's department if it was unknown.
func (m *Model) SetDepartment(k, dept int32) {
	if m.depts[k] < 0 {
		m.depts[k] = dept
	}
}

// Declare adds a declared workflow (at least two steps).
func (m *Model) Declare(steps []int32) {
	if len(steps) < 2 {
		return
	}
	m.addFlow(&flow{steps: slices.Clone(steps)})
	m.declared++
	m.stats.Declared = m.declared
}

func (m *Model) addFlow(f *flow) {
	m.flows = append(m.flows, f)
	m.byFirst[f.steps[0]] = append(m.byFirst[f.steps[0]], f)
	for j, id := range f.steps {
		m.stepsOf[id] = append(m.stepsOf[id], flowStep{f, j})
	}
}

func (m *Model) removeFlow(f *flow) {
	m.flows = slices.DeleteFunc(m.flows, func(g *flow) bool { return g == f })
	m.byFirst[f.steps[0]] = slices.DeleteFunc(m.byFirst[f.steps[0]], func(g *flow) bool { return g == f })
	for _, id := range f.steps {
		m.stepsOf[id] = slices.DeleteFunc(m.stepsOf[id], func(s flowStep) bool { return s.f == f })
	}
	m.matches = slices.DeleteFunc(m.matches, func(x match) bool { return x.f == f })
	for i := range m.detected {
		if m.detected[i].f == f {
			m.detected[i].f = nil
		}
	}
}

// Stats returns what the workflow detector counted.
func (m *Model) Stats() Stats {
	s := m.stats
	s.Learned = len(m.flows) - m.declared
	return s
}

// Workflows calls fn for the declared and then the learned workflows.
func (m *Model) Workflows(fn func(steps []int32, learned bool)) {
	for _, f := range m.flows {
		fn(f.steps, f.learned)
	}
}

// Observe records a task for k and appends the specialists expected next,
// in no particular order, to dst.
func (m *Model) Observe(k int32, dst []Prediction) []Prediction {
	m.seq++
	n := m.count
	m.checkGuesses(k)
	prev1 := int32(-1)
	if n >= 1 {
		prev1 = m.back(0).id
		m.order1[prev1].add(k, 1)
	}
	if n >= 2 {
		m.order2.get(pairKey(m.back(1).id, prev1)).add(k, 1)
	}
	if m.workflows {
		// Successors at lag 1, 2, 3 weigh 3, 2, 1 and feed mining:
		// concurrent workflows interleave, so a next step is often not the
		// very next task. Repeats of one specialist are not a sequence.
		m.lagged[k].occ++
		for lag := 1; lag <= 3 && lag <= n; lag++ {
			if prev := m.back(lag - 1).id; prev != k {
				m.lagged[prev].add(k, uint32(4-lag))
			}
		}
	}
	m.hist[m.head] = histEntry{id: k, seq: m.seq}
	m.head = (m.head + 1) % m.window
	m.count = min(m.count+1, m.window)

	if m.workflows {
		if len(m.stepsOf[k]) > 0 {
			dst = m.advanceWorkflows(k, dst)
		}
		if m.seq%mineEvery == 0 {
			m.mineOne()
		}
	}
	return m.markov(prev1, k, dst)
}

// checkGuesses scores the Markov guesses of the last window tasks against
// the newest task; only a specialist with a guess pending costs a scan.
func (m *Model) checkGuesses(cur int32) {
	if m.pending[cur] > 0 {
		for i, g := range m.guesses {
			if g == cur {
				m.guessHits++
				m.guesses[i] = -1
			}
		}
		m.pending[cur] = 0
	}
	if m.guessHits+m.guessMiss >= 1024 {
		m.guessHits /= 2
		m.guessMiss /= 2
	}
}

// guess records the top successor for the task at m.seq; the guess it
// replaces, a window old and never seen, is a miss.
func (m *Model) guess(id int32) {
	i := int(m.seq % uint64(len(m.guesses)))
	if old := m.guesses[i]; old >= 0 {
		m.guessMiss++
		m.pending[old]--
	}
	m.guesses[i] = id
	if id >= 0 {
		m.pending[id]++
	}
}

// Precision is the share of Markov guesses seen within the window, with a
// uniform prior (½ before any is scored).
func (m *Model) Precision() float64 {
	return float64(m.guessHits+1) / float64(m.guessHits+m.guessMiss+2)
}

func (m *Model) back(age int) *histEntry {
	i := m.head - 1 - age
	if i < 0 {
		i += m.window
	}
	return &m.hist[i]
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// markov appends the successors of the current context.
func (m *Model) markov(prev, cur int32, dst []Prediction) []Prediction {
	ctx := &m.order1[cur]
	if prev >= 0 {
		if s := m.order2.find(pairKey(prev, cur)); s != nil && s.total >= 2 {
			ctx = s
		}
	}
	if ctx.total == 0 {
		m.guess(-1)
		return dst
	}
	start := len(dst)
	top, topN := int32(-1), uint32(0)
	prec := m.Precision()
	for i := range ctx.ids {
		if ctx.n[i] == 0 {
			continue
		}
		if ctx.n[i] > topN {
			top, topN = ctx.ids[i], ctx.n[i]
		}
		dst = appendMax(dst, start, Prediction{K: ctx.ids[i], Probability: prec * float64(ctx.n[i]) / float64(ctx.total)})
	}
	m.guess(top)
	return dst
}

// appendMax appends q unless dst[start:] already names q.K, in which case
// the larger probability is kept.
func appendMax(dst []Prediction, start int, q Prediction) []Prediction {
	for i := start; i < len(dst); i++ {
		if dst[i].K == q.K {
			dst[i].Probability = max(dst[i].Probability, q.Probability)
			return dst
		}
	}
	return append(dst, q)
}

func (m *Model) advanceWorkflows(id int32, dst []Prediction) []Prediction {
	// Drop matches that ended or made no progress inside the window, now
	// and then: the loop below skips them meanwhile.
	if len(m.matches) >= 2*m.window {
		m.matches = slices.DeleteFunc(m.matches, func(x match) bool {
			return m.seq-x.lastSeq > uint64(m.window) || x.next >= len(x.f.steps)
		})
	}
	// A task advances at most one match per workflow, the oldest that wants
	// it: two interleaved instances of one workflow stay two readings.
	var advanced [4]*flow
	nAdv := 0
	for i := range m.matches {
		x := &m.matches[i]
		if x.next >= len(x.f.steps) || m.seq-x.lastSeq > uint64(m.window) || slices.Contains(advanced[:nAdv], x.f) {
			continue
		}
		step := -1
		switch {
		case x.f.steps[x.next] == id:
			step = x.next
		case x.next+1 < len(x.f.steps) && x.f.steps[x.next+1] == id && x.matched == x.next:
			step = x.next + 1 // one skipped step
		}
		if step < 0 {
			continue
		}
		if nAdv < len(advanced) {
			advanced[nAdv] = x.f
			nAdv++
		}
		x.next = step + 1
		x.matched++
		x.lastSeq = m.seq
		if x.matched == 2 {
			x.f.detected++
			x.f.use++
			m.stats.Detections++
			m.detected = append(m.detected, detection{x.f, m.seq})
		}
		if x.matched >= 2 && x.next < len(x.f.steps) {
			prob := 0.9 // prior until five detections are measured
			if x.f.detected >= 5 {
				prob = min(1, float64(x.f.completed)/float64(x.f.detected))
			}
			dst = appendMax(dst, 0, Prediction{K: x.f.steps[x.next], Probability: prob})
		}
	}
	for _, f := range m.byFirst[id] {
		f.started++
		m.matches = append(m.matches, match{f: f, next: 1, matched: 1, lastSeq: m.seq})
		// The chance that this first step begins an instance, measured
		// with a uniform prior: detections per first steps seen.
		prob := float64(f.detected+1) / float64(f.started+1)
		dst = appendMax(dst, 0, Prediction{K: f.steps[1], Probability: min(prob, 1)})
	}
	m.matches = keepLast(m.matches, 4*m.window)
	m.detected = keepLast(m.detected, 4*m.window)
	m.see(id)
	return dst
}

func keepLast[T any](s []T, n int) []T {
	if len(s) <= n {
		return s
	}
	copy(s, s[len(s)-n:])
	clear(s[n:])
	return s[:n]
}

// see counts workflow instances independently of the online matcher: when
// the task is a workflow's third step or later, the window is searched back
// for the earlier steps in order (one may be missing), among tasks no seen
// instance has claimed. A found instance is Seen, and Recognised if the
// matcher named that workflow at the instance's second task.
func (m *Model) see(id int32) {
	for _, fs := range m.stepsOf[id] {
		f, j := fs.f, fs.j
		if j < 2 && !(j == len(f.steps)-1 && j >= 1) {
			continue // too early to be an instance (two-step workflows: at the second)
		}
		var found [8]int // ages in hist, newest first
		n, skipped, gotFirst := 1, false, false
		pos := 1 // the current task is age 0
		for k := j - 1; k >= 0; k-- {
			at := -1
			for q := pos; q < m.count; q++ {
				if h := m.back(q); h.id == f.steps[k] && !h.claimed {
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
		m.stats.Seen++
		f.completed++
		first, second := m.back(found[n-1]).seq, m.back(found[n-2]).seq
		for _, d := range m.detected {
			if d.f == f && d.second > first && d.second <= second {
				m.stats.Recognised++
				break
			}
		}
		for _, q := range found[:n] {
			m.back(q).claimed = true
		}
		return // one task completes at most one instance
	}
}

// mineEvery is how many tasks pass between two heads mined: mining costs
// more than the rest of a task's learning, and a recurring chain is seen
// many times over before it matters whether it is learned a few tasks
// sooner.
const mineEvery = 8

// mineOne looks at one head every mineEvery tasks, round robin, for a confident chain
// of lag-1–3 successors: three to six specialists whose every link has a
// head seen at least three times and a confidence of at least 0.4 (weighted
// count / 3 × head occurrences: 1 when the next step always comes right
// after, 0.67 when always one task later) at 95 % (the lower Wilson bound:
// a link seen a few times by chance does not pass) and that span two or
// more departments. A chain with a link no workflow has yet becomes a
// learned workflow.
func (m *Model) mineOne() {
	if len(m.depts) == 0 {
		return
	}
	head := m.mineAt
	m.mineAt = (m.mineAt + 1) % int32(len(m.depts))
	if head == 0 {
		m.age()
	}
	if m.lagged[head].occ < 3 {
		return
	}
	var buf [6]int32
	chain := append(buf[:0], head)
	cur := head
	for len(chain) < 6 {
		s := &m.lagged[cur]
		if s.occ < 3 {
			break
		}
		best, bestN := int32(-1), uint32(0)
		for i := range s.ids {
			if s.n[i] > bestN && !slices.Contains(chain, s.ids[i]) {
				best, bestN = s.ids[i], s.n[i]
			}
		}
		share := min(float64(bestN)/float64(3*s.occ), 1)
		if best < 0 || share < 0.4 || wilsonLow(share, float64(s.occ)) < 0.4 {
			break
		}
		chain = append(chain, best)
		cur = best
	}
	if len(chain) < 3 || !m.crossDepartment(chain) || !m.novel(chain) {
		return
	}
	f := &flow{steps: slices.Clone(chain), learned: true, use: 1}
	if learned := m.learnedFrom(head); len(learned) >= 2 {
		m.removeFlow(leastUsed(learned))
	} else if len(m.flows)-m.declared >= m.maxFlows {
		m.removeFlow(leastUsed(m.learned()))
	}
	m.addFlow(f)
}

func (m *Model) crossDepartment(chain []int32) bool {
	for _, k := range chain[1:] {
		if m.depts[k] != m.depts[chain[0]] {
			return true
		}
	}
	return false
}

// novel reports whether chain has a link no workflow has.
func (m *Model) novel(chain []int32) bool {
	for i := 0; i+1 < len(chain); i++ {
		known := false
		for _, fs := range m.stepsOf[chain[i]] {
			if fs.j+1 < len(fs.f.steps) && fs.f.steps[fs.j+1] == chain[i+1] {
				known = true
				break
			}
		}
		if !known {
			return true
		}
	}
	return false
}

func (m *Model) learned() []*flow {
	var out []*flow
	for _, f := range m.flows {
		if f.learned {
			out = append(out, f)
		}
	}
	return out
}

func (m *Model) learnedFrom(head int32) []*flow {
	var out []*flow
	for _, f := range m.byFirst[head] {
		if f.learned {
			out = append(out, f)
		}
	}
	return out
}

func leastUsed(fs []*flow) *flow {
	low := fs[0]
	for _, f := range fs[1:] {
		if f.use < low.use {
			low = f
		}
	}
	return low
}

// age halves every learned workflow's recent use once per mining round, so
// one that stopped occurring is the first to go.
func (m *Model) age() {
	for _, f := range m.flows {
		f.use /= 2
	}
}

// wilsonLow is the lower bound of the Wilson score interval at 95 % for a
// share p measured over n trials.
func wilsonLow(p, n float64) float64 {
	const z = 1.96
	if n <= 0 {
		return 0
	}
	z2 := z * z
	return (p + z2/(2*n) - z*math.Sqrt(p*(1-p)/n+z2/(4*n*n))) / (1 + z2/n)
}
